/**
 * Verification of the tamper-evidence chain: every digest's hash and link,
 * the contiguity of the sealed id ranges, signatures (with a key), and every
 * sealed row against the hash the seal recorded for it.
 */
import type { Database } from '../db/database.js';
import {
  checkSignature,
  digestHash,
  GENESIS_HASH,
  parseRowHashes,
  rowHash,
  rowsInRange,
  sha256Hex,
  type DigestBody,
  type DigestKey,
} from './digest.js';
import { isoTimestampSql } from './iso-timestamp-sql.js';

export type FindingKind =
  | 'edited_row'
  | 'deleted_row'
  | 'inserted_row'
  | 'digest_altered'
  | 'chain_broken'
  | 'range_gap'
  | 'row_list_altered'
  | 'bad_signature'
  | 'unsigned_digest';

export interface Finding {
  kind: FindingKind;
  digestId?: number;
  recordId?: string;
  message: string;
}

export interface DigestStatus {
  id: number;
  kind: 'seal' | 'retention';
  firstId: string;
  lastId: string;
  sealedFrom: string | null;
  sealedTo: string | null;
  rowCount: number;
  hash: string;
  /** Whether the digest (and, when its rows were checked, its rows) verified. */
  ok: boolean;
  /** Whether its rows were compared (digests outside --from/--to are only checked as links). */
  rowsChecked: boolean;
}

export interface VerifyReport {
  ok: boolean;
  digests: DigestStatus[];
  findings: Finding[];
  /** Rows compared with their sealed hashes. */
  checkedRows: number;
  /** Rows with ids above the last sealed one (not sealed yet: nothing to check). */
  unsealedRows: number;
  /** sealed_to of the newest seal. */
  sealedUpTo: string | null;
  /** Highest sealed record id. */
  lastSealedId: string;
  /**
   * Records kept in audit.rejected as conflicts (an existing idempotency key
   * with different content), received in the --from/--to window: reported,
   * not a break of the chain, so they do not make `ok` false. Null when this
   * role may not read audit.rejected.
   */
  conflicts: number | null;
}

export interface VerifyOptions {
  /** Check the rows of seals whose window (sealed_from..sealed_to) overlaps [from, to]; the chain is always checked whole. */
  from?: Date;
  to?: Date;
  /** Also check the rows of the seals whose id range meets firstId..lastId, whatever their time. */
  records?: { firstId: string; lastId: string };
  /** With keys, every digest must carry a valid signature by one of them. */
  keys?: DigestKey[];
}

interface DigestRow {
  id: number;
  kind: 'seal' | 'retention';
  first_id: string;
  last_id: string;
  sealed_from: string | null;
  sealed_to: string | null;
  row_count: string;
  records_hash: string;
  dropped_ids: string | null;
  dropped_partition: string | null;
  prev_hash: string;
  hash: string;
  signature: string | null;
  key_id: string | null;
}

/** Parse an int8multirange's text form (`{[1,5),[7,8)}`) into half-open bigint ranges. */
export function parseMultirange(text: string | null): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const m of (text ?? '').matchAll(/([[(])(-?\d*),(-?\d*)([\])])/g)) {
    const lo = BigInt(m[2] || '0') + (m[1] === '(' ? 1n : 0n);
    const hi = BigInt(m[3] || '0') + (m[4] === ']' ? 1n : 0n);
    out.push([lo, hi]);
  }
  return out;
}

function inRanges(id: bigint, ranges: readonly [bigint, bigint][]): boolean {
  return ranges.some(([lo, hi]) => id >= lo && id < hi);
}

function bodyOf(d: DigestRow): DigestBody {
  return {
    kind: d.kind,
    first_id: d.first_id,
    last_id: d.last_id,
    sealed_from: d.sealed_from,
    sealed_to: d.sealed_to,
    row_count: Number(d.row_count),
    records_hash: d.records_hash,
    dropped_ids: d.dropped_ids,
    dropped_partition: d.dropped_partition,
    prev_hash: d.prev_hash,
  };
}

function overlaps(d: DigestRow, from: Date | undefined, to: Date | undefined): boolean {
  if (from && d.sealed_to !== null && new Date(d.sealed_to) < from) return false;
  if (to && d.sealed_from !== null && new Date(d.sealed_from) > to) return false;
  return true;
}

function meets(d: DigestRow, r: { firstId: string; lastId: string }): boolean {
  return BigInt(d.first_id) <= BigInt(r.lastId) && BigInt(d.last_id) >= BigInt(r.firstId) && BigInt(d.last_id) >= BigInt(d.first_id);
}

export async function verify(db: Database, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { rows: digests } = await db.query<DigestRow>(
    `SELECT id::int AS id, kind, first_id::text AS first_id, last_id::text AS last_id,
            ${isoTimestampSql('sealed_from')} AS sealed_from, ${isoTimestampSql('sealed_to')} AS sealed_to,
            row_count::text AS row_count, records_hash, dropped_ids::text AS dropped_ids, dropped_partition,
            prev_hash, hash, signature, key_id
       FROM audit.digests ORDER BY id`,
  );
  const findings: Finding[] = [];
  const statuses: DigestStatus[] = [];
  const bad = new Set<number>();
  const flag = (f: Finding): void => {
    findings.push(f);
    if (f.digestId !== undefined) bad.add(f.digestId);
  };

  // Ids that retention dropped with their partitions: absent on purpose.
  const dropped = digests.filter((d) => d.kind === 'retention').flatMap((d) => parseMultirange(d.dropped_ids));

  // 1. The chain: each digest's own hash, its link to the one before, the sealed ranges, signatures.
  let prev: DigestRow | undefined;
  let sealedUpTo = 0n;
  for (const d of digests) {
    if (digestHash(bodyOf(d)) !== d.hash) {
      flag({ kind: 'digest_altered', digestId: d.id, message: `digest ${d.id}: its fields do not match its hash (the digest was edited)` });
    }
    const expectedPrev = prev ? prev.hash : GENESIS_HASH;
    if (d.prev_hash !== expectedPrev) {
      flag({
        kind: 'chain_broken',
        digestId: d.id,
        message: prev
          ? `chain broken between digest ${prev.id} and digest ${d.id}: a digest was deleted, inserted or edited there`
          : `digest ${d.id} is the first one left but does not start the chain: earlier digests were deleted`,
      });
    }
    if (d.kind === 'seal') {
      const first = BigInt(d.first_id);
      const last = BigInt(d.last_id);
      if (first !== sealedUpTo + 1n) {
        flag({
          kind: 'range_gap',
          digestId: d.id,
          message:
            first > sealedUpTo + 1n
              ? `record ids ${sealedUpTo + 1n}..${first - 1n} are covered by no digest (before digest ${d.id})`
              : `digest ${d.id} seals ids from ${first} again (already sealed up to ${sealedUpTo})`,
        });
      }
      if (last > sealedUpTo) sealedUpTo = last;
    }
    if (options.keys && options.keys.length > 0) {
      const key = options.keys.find((k) => k.id === d.key_id);
      if (!d.signature) flag({ kind: 'unsigned_digest', digestId: d.id, message: `digest ${d.id} carries no signature` });
      else if (!key) flag({ kind: 'bad_signature', digestId: d.id, message: `digest ${d.id} is signed by key ${d.key_id}, which was not given` });
      else if (!checkSignature(key, d.hash, d.signature)) flag({ kind: 'bad_signature', digestId: d.id, message: `digest ${d.id}: the signature does not match` });
    }
    prev = d;
  }

  // 2. The rows of each seal (in the --from/--to window) against their sealed hashes.
  let checkedRows = 0;
  for (const d of digests) {
    const rowsChecked = d.kind === 'seal' && (overlaps(d, options.from, options.to) || (options.records !== undefined && meets(d, options.records)));
    if (rowsChecked) checkedRows += await checkRows(db, d, dropped, flag);
    statuses.push({
      id: d.id,
      kind: d.kind,
      firstId: d.first_id,
      lastId: d.last_id,
      sealedFrom: d.sealed_from,
      sealedTo: d.sealed_to,
      rowCount: Number(d.row_count),
      hash: d.hash,
      ok: !bad.has(d.id),
      rowsChecked,
    });
  }

  const conflicts = await countConflicts(db, options.from, options.to);
  const unsealed = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit.records WHERE id > $1::bigint', [sealedUpTo.toString()]);
  const lastSeal = [...digests].reverse().find((d) => d.kind === 'seal');
  return {
    ok: findings.length === 0,
    digests: statuses,
    findings,
    checkedRows,
    unsealedRows: Number(unsealed.rows[0]?.n ?? 0),
    sealedUpTo: lastSeal?.sealed_to ?? null,
    lastSealedId: sealedUpTo.toString(),
    conflicts,
  };
}

/** The `reason` of audit.rejected rows that are conflicts: an existing idempotency key with different content. */
export const CONFLICT_REASON = 'conflict';

/** Conflicts received in [from, to]; null when this role may not read audit.rejected. */
async function countConflicts(db: Database, from: Date | undefined, to: Date | undefined): Promise<number | null> {
  const { rows: may } = await db.query<{ ok: boolean }>(
    `SELECT to_regclass('audit.rejected') IS NOT NULL AND has_table_privilege('audit.rejected', 'SELECT') AS ok`,
  );
  if (may[0]?.ok !== true) return null;
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM audit.rejected
      WHERE reason = $1 AND ($2::timestamptz IS NULL OR received_at >= $2) AND ($3::timestamptz IS NULL OR received_at <= $3)`,
    [CONFLICT_REASON, from?.toISOString() ?? null, to?.toISOString() ?? null],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Compare one seal's rows with the database; returns how many rows were compared. */
async function checkRows(db: Database, d: DigestRow, dropped: readonly [bigint, bigint][], flag: (f: Finding) => void): Promise<number> {
  const { rows } = await db.query<{ row_hashes: Uint8Array }>('SELECT row_hashes FROM audit.digests WHERE id = $1', [d.id]);
  const raw = Buffer.from(rows[0]?.row_hashes ?? new Uint8Array());
  const sealed = new Map<bigint, Buffer>();
  let listOk = sha256Hex(raw) === d.records_hash;
  try {
    for (const e of parseRowHashes(raw)) sealed.set(e.id, e.hash);
  } catch {
    listOk = false;
  }
  if (!listOk || sealed.size !== Number(d.row_count)) {
    flag({
      kind: 'row_list_altered',
      digestId: d.id,
      message: `digest ${d.id}: its list of row hashes was altered; ids ${d.first_id}..${d.last_id} cannot be checked row by row`,
    });
    return 0;
  }
  let compared = 0;
  const seen = new Set<bigint>();
  await db.transaction(async (tx) => {
    for await (const rows of rowsInRange(tx, BigInt(d.first_id) - 1n, BigInt(d.last_id))) {
      for (const row of rows) {
        const id = BigInt(row['id'] as string);
        compared++;
        if (seen.has(id)) {
          flag({ kind: 'inserted_row', digestId: d.id, recordId: id.toString(), message: `record ${id}: a second row with this id in the range of digest ${d.id}` });
          continue;
        }
        seen.add(id);
        const want = sealed.get(id);
        if (!want) {
          flag({ kind: 'inserted_row', digestId: d.id, recordId: id.toString(), message: `record ${id}: inserted into the range of digest ${d.id} after it was sealed` });
        } else if (!rowHash(row).equals(want)) {
          flag({ kind: 'edited_row', digestId: d.id, recordId: id.toString(), message: `record ${id}: edited after digest ${d.id} sealed it` });
        }
      }
    }
  });
  for (const id of sealed.keys()) {
    if (!seen.has(id) && !inRanges(id, dropped)) {
      flag({ kind: 'deleted_row', digestId: d.id, recordId: id.toString(), message: `record ${id}: deleted after digest ${d.id} sealed it` });
    }
  }
  return compared;
}
