/**
 * Sealing: append `seal` digests to the chain for every record committed
 * before now minus a settle delay. One sealer at a time (an advisory lock):
 * with several sinks on one database, the others skip that round.
 */
import type { Database, Transaction } from '../db/database.js';
import { CHAIN_LOCK_KEY, digestHash, GENESIS_HASH, rowEntry, rowHash, rowsInRange, sha256Hex, signHash, type DigestBody, type DigestKey } from './digest.js';

export interface SealOptions {
  /** Only records received at least this long ago are sealed (transactions still open are not). Default 30 s. */
  settleMs?: number;
  /** Most rows per digest; a longer range is sealed as several digests. Default 50,000. */
  maxRows?: number;
  /** Signs each digest. */
  key?: DigestKey;
}

export interface SealedDigest {
  id: string;
  firstId: string;
  lastId: string;
  rowCount: number;
  hash: string;
}

export interface SealResult {
  /** False when another process held the chain lock (it seals this round). */
  locked: boolean;
  digests: SealedDigest[];
}

export const DEFAULT_SETTLE_MS = 30_000;
export const DEFAULT_MAX_ROWS = 50_000;

interface Head {
  hash: string;
  last_sealed_id: string;
  sealed_to: string | null;
}

async function chainHead(tx: Transaction): Promise<Head> {
  const { rows } = await tx.query<{ hash: string | null; last_sealed_id: string; sealed_to: string | null }>(
    `SELECT (SELECT hash FROM audit.digests ORDER BY id DESC LIMIT 1) AS hash,
            (SELECT coalesce(max(last_id), 0)::text FROM audit.digests WHERE kind = 'seal') AS last_sealed_id,
            (SELECT to_char(sealed_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               FROM audit.digests WHERE kind = 'seal' ORDER BY id DESC LIMIT 1) AS sealed_to`,
  );
  const r = rows[0];
  return { hash: r?.hash ?? GENESIS_HASH, last_sealed_id: r?.last_sealed_id ?? '0', sealed_to: r?.sealed_to ?? null };
}

async function insertDigest(tx: Transaction, body: DigestBody, rowHashes: Buffer, key: DigestKey | undefined): Promise<SealedDigest> {
  const hash = digestHash(body);
  const sig = key ? signHash(key, hash) : undefined;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO audit.digests (kind, first_id, last_id, sealed_from, sealed_to, row_count, row_hashes, records_hash,
                                prev_hash, hash, signature, signature_alg, key_id)
     VALUES ('seal', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id::text AS id`,
    [body.first_id, body.last_id, body.sealed_from, body.sealed_to, body.row_count, rowHashes, body.records_hash, body.prev_hash, hash,
      sig?.signature ?? null, sig?.alg ?? null, sig?.keyId ?? null],
  );
  return { id: rows[0]?.id ?? '', firstId: body.first_id, lastId: body.last_id, rowCount: body.row_count, hash };
}

/** Seal what has settled since the last seal (an empty period gives an empty seal). */
export async function sealOnce(db: Database, options: SealOptions = {}): Promise<SealResult> {
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const maxRows = Math.max(1, options.maxRows ?? DEFAULT_MAX_ROWS);
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [CHAIN_LOCK_KEY]);
    if (!lock.rows[0]?.ok) return { locked: false, digests: [] };
    const head = await chainHead(tx);
    const cut = await tx.query<{ cutoff: string }>(
      `SELECT to_char((now() - make_interval(secs => $1::float8 / 1000)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cutoff`,
      [settleMs],
    );
    const cutoff = cut.rows[0]?.cutoff as string;
    if (head.sealed_to !== null && cutoff <= head.sealed_to) return { locked: true, digests: [] };
    // Every id up to the newest settled one. Ids are drawn in insert order,
    // so rows with lower ids were inserted earlier, by transactions that have
    // committed long before the settle delay is over.
    const top = await tx.query<{ top: string | null }>(
      `SELECT max(id)::text AS top FROM audit.records WHERE id > $1::bigint AND received_at < $2::timestamptz`,
      [head.last_sealed_id, cutoff],
    );
    const lastId = BigInt(top.rows[0]?.top ?? head.last_sealed_id);
    const digests: SealedDigest[] = [];
    let prevHash = head.hash;
    let from = head.sealed_to;
    let cursor = BigInt(head.last_sealed_id);
    // One pass over (last sealed, lastId]: a digest closes every maxRows rows.
    let entries: Buffer[] = [];
    const close = async (last: bigint): Promise<void> => {
      const rowHashes = Buffer.concat(entries);
      const body: DigestBody = {
        kind: 'seal',
        first_id: (cursor + 1n).toString(),
        last_id: last.toString(),
        sealed_from: from,
        sealed_to: cutoff,
        row_count: entries.length,
        records_hash: sha256Hex(rowHashes),
        dropped_ids: null,
        dropped_partition: null,
        prev_hash: prevHash,
      };
      const d = await insertDigest(tx, body, rowHashes, options.key);
      digests.push(d);
      prevHash = d.hash;
      from = cutoff;
      cursor = last;
      entries = [];
    };
    for await (const rows of rowsInRange(tx, cursor, lastId)) {
      for (const row of rows) {
        const id = BigInt(row['id'] as string);
        entries.push(rowEntry(id, rowHash(row)));
        if (entries.length === maxRows) await close(id);
      }
    }
    // The last digest reaches lastId (ids never used are part of its range); an empty period gives an empty seal.
    if (entries.length > 0 || cursor < lastId || digests.length === 0) await close(lastId);
    return { locked: true, digests };
  });
}
