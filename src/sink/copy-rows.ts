/**
 * A batch's rows as binary COPY data for the staging table (copy-sql.ts):
 * per row its ordinal, then each written column's value as the unnest
 * writer passes it (batch-params.ts), in the column's binary form.
 */
import { WRITTEN_COLUMNS, type ColumnType } from '../contract/columns.js';
import { RECORD_VALUES, type HashedRow } from './batch-params.js';
import { BinaryCopyWriter } from './copy-binary.js';
import { stagingType } from './copy-sql.js';

/** Fields per staged row: the ordinal and the written columns. */
const FIELDS = 1 + WRITTEN_COLUMNS.length;
/** Bytes reserved per row up front (the buffer grows when rows are larger). */
const BYTES_PER_ROW_GUESS = 1024;

type Put = (w: BinaryCopyWriter, v: unknown) => void;

/** How a non-null value of each staging type is written. Values are what the unnest writer binds: strings, numbers, Buffers. */
const PUT: Record<ColumnType, Put> = {
  text: (w, v) => w.text(String(v)),
  inet: (w, v) => w.text(String(v)),
  jsonb: (w, v) => w.jsonb(String(v)),
  int4: (w, v) => w.int4(Number(v)),
  int8: (w, v) => w.int8(String(v)),
  float8: (w, v) => w.float8(Number(v)),
  timestamptz: (w, v) => w.timestamptz(String(v)),
  bytea: (w, v) => w.bytea(v as Buffer),
};

/** Per written column, in order: read the value, write it. */
const COLUMNS: readonly { value: (k: HashedRow) => unknown; put: Put }[] = WRITTEN_COLUMNS.map((c, i) => ({
  value: RECORD_VALUES[i] as (k: HashedRow) => unknown,
  put: PUT[stagingType(c.type)],
}));

/** The staging table's COPY data for `rows`, ordinals from 1. Throws CopyValueError for a value its type cannot hold. */
export function stagingCopyData(rows: readonly HashedRow[]): Buffer {
  const w = new BinaryCopyWriter(rows.length * BYTES_PER_ROW_GUESS);
  for (let i = 0; i < rows.length; i++) {
    const k = rows[i] as HashedRow;
    w.row(FIELDS);
    w.int4(i + 1);
    for (const c of COLUMNS) {
      const v = c.value(k);
      if (v === null || v === undefined) w.null();
      else c.put(w, v);
    }
  }
  return w.finish();
}
