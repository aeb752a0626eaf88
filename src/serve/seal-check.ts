/**
 * Whether one record still matches the seal that covers it: the seal digest
 * whose id range holds the record, the row's hash as the seal recorded it
 * (`row_hashes`), and the row's hash now. The whole chain is
 * `otel-audit verify`'s job; this answers for one row, fast.
 */
import { parseRowHashes, rowHash, sha256Hex, type RowText } from '../compliance/digest.js';
import { isoTimestampSql } from '../compliance/iso-timestamp-sql.js';
import type { Transaction } from '../db/database.js';

export interface SealStatus {
  /**
   * `verified`: the row hashes as sealed; `modified`: it does not (edited
   * since); `not_in_seal`: the seal covers its id but lists no such row;
   * `seal_damaged`: the seal's row list no longer matches its own hash;
   * `unsealed`: no seal covers it yet.
   */
  status: 'verified' | 'modified' | 'not_in_seal' | 'seal_damaged' | 'unsealed';
  digest: null | { id: string; first_id: string; last_id: string; created_at: string; hash: string; signed: boolean };
}

interface DigestRow {
  id: string;
  first_id: string;
  last_id: string;
  created_at: string;
  hash: string;
  records_hash: string;
  row_hashes: Buffer;
  signed: boolean;
}

export async function checkSeal(tx: Transaction, row: RowText): Promise<SealStatus> {
  const id = row.id as string;
  const { rows } = await tx.query<DigestRow>(
    `SELECT id::text AS id, first_id::text AS first_id, last_id::text AS last_id,
            ${isoTimestampSql('created_at')} AS created_at,
            hash, records_hash, row_hashes, signature IS NOT NULL AS signed
       FROM audit.digests
      WHERE kind = 'seal' AND last_id >= $1::bigint AND first_id <= $1::bigint
      ORDER BY last_id LIMIT 1`,
    [id],
  );
  const d = rows[0];
  if (!d) return { status: 'unsealed', digest: null };
  const { row_hashes: rowHashes, records_hash: recordsHash, ...digest } = d;
  if (sha256Hex(rowHashes) !== recordsHash) return { status: 'seal_damaged', digest };
  const wanted = BigInt(id);
  const entry = parseRowHashes(rowHashes).find((e) => e.id === wanted);
  if (!entry) return { status: 'not_in_seal', digest };
  return { status: entry.hash.equals(rowHash(row)) ? 'verified' : 'modified', digest };
}
