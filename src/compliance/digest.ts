/**
 * What the tamper-evidence chain hashes, and how (`audit.digests`):
 *
 * - a row's hash: SHA-256 of the RFC 8785 canonical JSON of its columns
 *   ({@link ROW_COLUMNS}: the sealed columns of audit.records, from
 *   src/contract/columns.ts), timestamps as ISO 8601 UTC with microseconds,
 *   bigints as strings, jsonb columns as JSON values;
 * - a seal's `row_hashes`: per row in id order, the id (8 bytes big-endian)
 *   and the row's hash (32 bytes); `records_hash` is the SHA-256 of it;
 * - a digest's `hash`: SHA-256 of the canonical JSON of its fields
 *   ({@link DigestBody}), which include the previous digest's hash;
 * - optionally a signature of `hash` with an Ed25519 key or an HMAC-SHA-256
 *   secret, with the key's fingerprint in `key_id`.
 */
import { createHash, createHmac, hash, createPrivateKey, createPublicKey, sign as edSign, timingSafeEqual, verify as edVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SEALED_COLUMNS, type SealedColumn } from '../contract/columns.js';
import type { Transaction } from '../db/database.js';
import { canonicalJson } from '../contract/canonical.js';
import { isoTimestampSql } from './iso-timestamp-sql.js';

/** prev_hash of the first digest. */
export const GENESIS_HASH = '0'.repeat(64);

/** Advisory lock taken by whoever appends to the chain (sealing, retention; also in migration 000003). */
export const CHAIN_LOCK_KEY = '7235471165427386001';

type ColumnKind = 'text' | 'bigint' | 'int' | 'float' | 'time' | 'json';

/** How a row's hash reads a column of each SQL type (an inet as its text). */
const KIND_OF_TYPE: Record<SealedColumn['type'], ColumnKind> = {
  int8: 'bigint',
  int4: 'int',
  float8: 'float',
  text: 'text',
  inet: 'text',
  timestamptz: 'time',
  jsonb: 'json',
};

/** The columns of audit.records a row's hash covers ({@link SEALED_COLUMNS}), and how each is read. */
export const ROW_COLUMNS: readonly (readonly [string, ColumnKind])[] = SEALED_COLUMNS.map((c) => [c.name, KIND_OF_TYPE[c.type]] as const);

/** SELECT list reading {@link ROW_COLUMNS} as text, the same way on Postgres and PGlite. */
export const ROW_SELECT = ROW_COLUMNS.map(([name, kind]) => (kind === 'time' ? `${isoTimestampSql(name)} AS ${name}` : `${name}::text AS ${name}`)).join(', ');

export type RowText = Record<string, string | null>;

/** The row as the JSON value that is hashed. */
export function rowValue(row: RowText): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of ROW_COLUMNS) {
    const v = row[name];
    if (v === null || v === undefined) out[name] = null;
    else if (kind === 'int' || kind === 'float') out[name] = Number(v);
    else if (kind === 'json') out[name] = JSON.parse(v) as unknown;
    else out[name] = v;
  }
  return out;
}

/** The columns in RFC 8785 member order, with their JSON member prefix (`"name":`). */
const SORTED_COLUMNS = [...ROW_COLUMNS].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, kind], i) => ({
  name,
  kind,
  prefix: `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`,
}));

/**
 * canonicalJson(rowValue(row)), built directly: the members' order is known,
 * only the jsonb values need parsing and canonicalising.
 */
export function canonicalRow(row: RowText): string {
  let out = '';
  for (const c of SORTED_COLUMNS) {
    const v = row[c.name];
    out += c.prefix;
    if (v === null || v === undefined) out += 'null';
    else if (c.kind === 'int' || c.kind === 'float') out += canonicalJson(Number(v));
    else if (c.kind === 'json') out += canonicalJson(JSON.parse(v) as unknown);
    else out += JSON.stringify(v);
  }
  return `${out}}`;
}

export function rowHash(row: RowText): Buffer {
  return hash('sha256', canonicalRow(row), 'buffer');
}

let cursors = 0;

/**
 * The rows with ids in (after, last], in id order, read through one
 * server-side cursor (one plan, one index scan) `fetchRows` at a time.
 */
export async function* rowsInRange(tx: Transaction, after: bigint, last: bigint, fetchRows = 5_000): AsyncGenerator<RowText[]> {
  const name = `otel_audit_rows_${++cursors}`;
  await tx.query(
    `DECLARE ${name} NO SCROLL CURSOR FOR SELECT ${ROW_SELECT} FROM audit.records
      WHERE id > ${after.toString()}::bigint AND id <= ${last.toString()}::bigint ORDER BY records.id`,
  );
  try {
    for (;;) {
      const { rows } = await tx.query<RowText>(`FETCH ${fetchRows} FROM ${name}`);
      if (rows.length > 0) yield rows;
      if (rows.length < fetchRows) return;
    }
  } finally {
    await tx.query(`CLOSE ${name}`);
  }
}

/** Size of one entry of `row_hashes`. */
export const ROW_ENTRY_BYTES = 40;

export function rowEntry(id: bigint, hash: Buffer): Buffer {
  const b = Buffer.allocUnsafe(ROW_ENTRY_BYTES);
  b.writeBigInt64BE(id, 0);
  hash.copy(b, 8);
  return b;
}

/** The entries of `row_hashes`; throws when its length is not a whole number of entries. */
export function parseRowHashes(buf: Buffer): { id: bigint; hash: Buffer }[] {
  if (buf.length % ROW_ENTRY_BYTES !== 0) throw new Error(`row_hashes has ${buf.length} bytes, not a multiple of ${ROW_ENTRY_BYTES}`);
  const out: { id: bigint; hash: Buffer }[] = [];
  for (let o = 0; o < buf.length; o += ROW_ENTRY_BYTES) out.push({ id: buf.readBigInt64BE(o), hash: buf.subarray(o + 8, o + ROW_ENTRY_BYTES) });
  return out;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The fields of a digest its hash covers. */
export interface DigestBody {
  kind: 'seal' | 'retention';
  first_id: string;
  last_id: string;
  sealed_from: string | null;
  sealed_to: string | null;
  row_count: number;
  records_hash: string;
  dropped_ids: string | null;
  dropped_partition: string | null;
  prev_hash: string;
}

export function digestHash(body: DigestBody): string {
  return sha256Hex(canonicalJson(body));
}

/** A key that signs digests (and checks their signatures). */
export type DigestKey =
  | { alg: 'ed25519'; id: string; publicKey: KeyObject; privateKey?: KeyObject }
  | { alg: 'hmac-sha256'; id: string; secret: Buffer };

/**
 * A key file: an Ed25519 private key (PEM, signs and verifies), an Ed25519
 * public key (PEM, verifies only) or anything else, taken as an HMAC secret
 * (its bytes, without a trailing newline).
 */
export function loadDigestKey(path: string): DigestKey {
  const raw = readFileSync(path);
  const text = raw.toString('utf8');
  if (text.includes('-----BEGIN PRIVATE KEY-----') || text.includes('-----BEGIN PUBLIC KEY-----')) {
    const isPrivate = text.includes('PRIVATE KEY');
    const privateKey = isPrivate ? createPrivateKey(text) : undefined;
    const publicKey = privateKey ? createPublicKey(privateKey) : createPublicKey(text);
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path}: only Ed25519 keys sign digests (this is ${publicKey.asymmetricKeyType})`);
    const id = sha256Hex(publicKey.export({ type: 'spki', format: 'der' })).slice(0, 16);
    return privateKey ? { alg: 'ed25519', id, publicKey, privateKey } : { alg: 'ed25519', id, publicKey };
  }
  const secret = Buffer.from(text.replace(/\r?\n$/, ''), 'utf8');
  if (secret.length < 16) throw new Error(`${path}: an HMAC secret needs at least 16 bytes`);
  return { alg: 'hmac-sha256', id: sha256Hex(Buffer.concat([Buffer.from('otel-audit hmac key id\0'), secret])).slice(0, 16), secret };
}

export interface Signature {
  signature: string;
  alg: 'ed25519' | 'hmac-sha256';
  keyId: string;
}

/** Sign a digest's hash; undefined for a public key (it cannot sign). */
export function signHash(key: DigestKey, hash: string): Signature | undefined {
  if (key.alg === 'hmac-sha256') return { signature: createHmac('sha256', key.secret).update(hash).digest('base64'), alg: key.alg, keyId: key.id };
  if (!key.privateKey) return undefined;
  return { signature: edSign(null, Buffer.from(hash), key.privateKey).toString('base64'), alg: key.alg, keyId: key.id };
}

export function checkSignature(key: DigestKey, hash: string, signature: string): boolean {
  if (key.alg === 'hmac-sha256') {
    const want = createHmac('sha256', key.secret).update(hash).digest();
    const got = Buffer.from(signature, 'base64');
    return got.length === want.length && timingSafeEqual(want, got);
  }
  return edVerify(null, Buffer.from(hash), key.publicKey, Buffer.from(signature, 'base64'));
}
