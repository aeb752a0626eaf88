/**
 * How column values are read on each driver, so that both return the same JS
 * values (the table in `types.ts`): pg's parsers with a few exceptions, and
 * PGlite's with the ones that differ from pg replaced.
 */
import pg from 'pg';

/** Type OIDs (`pg_type.oid`) whose parsing is chosen here. */
const OID = {
  INT8: 20,
  BYTEA: 17,
  NUMERIC: 1700,
  DATE: 1082,
  TIMESTAMP: 1114,
  INTERVAL: 1186,
  POINT: 600,
  CIRCLE: 718,
  TEXT_ARRAY: 1009,
  DATE_ARRAY: 1182,
  TIMESTAMP_ARRAY: 1115,
  NUMERIC_ARRAY: 1231,
  INTERVAL_ARRAY: 1187,
  POINT_ARRAY: 1017,
} as const;

const keepText = (value: string): string => value;
// pg-types' TypeId enum lists element types only; array OIDs are plain numbers.
const parseTextArray = pg.types.getTypeParser(OID.TEXT_ARRAY as number) as (value: string) => unknown;

/** pg's parsers, except where PGlite (as configured below) would differ. */
export function pgTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (format === 'binary') return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  switch (oid) {
    case OID.DATE:
    case OID.TIMESTAMP:
      // pg would read these as local time of this process; keep the text.
      return keepText;
    case OID.INTERVAL:
    case OID.POINT:
    case OID.CIRCLE:
      // pg builds objects of its own for these; PGlite gives the text.
      return keepText;
    case OID.DATE_ARRAY:
    case OID.TIMESTAMP_ARRAY:
    case OID.NUMERIC_ARRAY: // pg reads numeric[] as floats (losing precision), unlike numeric
    case OID.INTERVAL_ARRAY:
    case OID.POINT_ARRAY:
      return parseTextArray;
    default:
      return pg.types.getTypeParser(oid) as (value: string) => unknown;
  }
}

/** PGlite's `parsers` option: the types where its defaults differ from pg's. */
export const PGLITE_PARSERS: Record<number, (value: string) => unknown> = {
  [OID.INT8]: keepText, // PGlite gives a number, or a bigint past 2^53; pg gives a string
  [OID.NUMERIC]: keepText, // also for numeric[]
  [OID.DATE]: keepText,
  [OID.TIMESTAMP]: keepText,
  [OID.BYTEA]: parseBytea, // Buffer like pg, not Uint8Array
};

function parseBytea(text: string): Buffer {
  // Postgres' default bytea_output is hex: `\x0102…`.
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1');
}
