/**
 * Postgres' binary COPY format, written into one growing buffer: a header,
 * per row a field count and per field its length (-1 for NULL) and bytes,
 * then a trailer. Binary rather than text because Postgres then parses no
 * numbers or timestamps and the sink escapes nothing (measured in
 * bench/README.md, "sink-ingest").
 */

/** `PGCOPY\n\377\r\n\0`, then flags and header-extension length (both 0). */
const HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Field count -1: no more rows. */
const TRAILER = -1;
/** Length of a NULL field. */
const NULL_LENGTH = -1;
/** jsonb's binary form: a version byte, then the JSON text. */
const JSONB_VERSION = 1;
/** 2000-01-01T00:00:00Z, Postgres' epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
/** What the sink's rows hold in `occurred_at` (src/sink/row.ts): ISO-8601 UTC with exactly six fractional digits. */
const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\d{3})Z$/;
/** Bytes a buffer starts with; it doubles when full. */
const INITIAL_BYTES = 64 * 1024;
/** UTF-8 bytes per UTF-16 code unit at most. */
const MAX_UTF8_PER_UNIT = 3;
const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/**
 * A value the binary format cannot carry in its column's type. Classed as
 * the database would class the same value in a parameter (SQLSTATE 22003,
 * out of range; 22007, bad datetime), so the writer sets its export aside
 * as it does for data the database refuses.
 */
export class CopyValueError extends Error {
  constructor(
    message: string,
    readonly code: '22003' | '22007',
  ) {
    super(message);
  }
}

export class BinaryCopyWriter {
  private buf: Buffer;
  private at = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, HEADER.length));
    HEADER.copy(this.buf, 0);
    this.at = HEADER.length;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
  }

  null(): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(NULL_LENGTH, this.at);
  }

  /** text (and any type whose binary form is its UTF-8 text). */
  text(s: string): void {
    this.room(4 + s.length * MAX_UTF8_PER_UNIT);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeInt32BE(n, this.at);
    this.at += 4 + n;
  }

  /** jsonb from its JSON text. */
  jsonb(json: string): void {
    this.room(5 + json.length * MAX_UTF8_PER_UNIT);
    const n = this.buf.write(json, this.at + 5, 'utf8');
    this.buf.writeInt32BE(n + 1, this.at);
    this.buf[this.at + 4] = JSONB_VERSION;
    this.at += 5 + n;
  }

  int4(v: number): void {
    if (!Number.isInteger(v) || v < INT4_MIN || v > INT4_MAX) throw new CopyValueError(`${v} is not an int4`, '22003');
    this.room(8);
    this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at + 4);
  }

  /** int8 from its decimal text (bigints do not fit a JS number). */
  int8(decimal: string): void {
    let v: bigint;
    try {
      v = BigInt(decimal);
    } catch {
      throw new CopyValueError(`${JSON.stringify(decimal)} is not an int8`, '22003');
    }
    if (v < INT8_MIN || v > INT8_MAX) throw new CopyValueError(`${decimal} is out of range for int8`, '22003');
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeBigInt64BE(v, this.at + 4);
  }

  float8(v: number): void {
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(v, this.at + 4);
  }

  /** timestamptz from ISO-8601 UTC with microseconds (`2026-11-21T12:00:00.123456Z`): microseconds since 2000-01-01. */
  timestamptz(iso: string): void {
    const m = ISO_MICROS.exec(iso);
    const ms = m ? Date.parse(iso) : NaN;
    if (!m || Number.isNaN(ms)) throw new CopyValueError(`${JSON.stringify(iso)} is not an ISO-8601 UTC time with microseconds`, '22007');
    // Past 2^53 as a number of microseconds: computed as a bigint.
    const micros = BigInt(ms - PG_EPOCH_MS) * 1000n + BigInt(Number(m[1]));
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeBigInt64BE(micros, this.at + 4);
  }

  bytea(b: Buffer): void {
    this.room(4 + b.length);
    this.buf.writeInt32BE(b.length, this.at);
    b.copy(this.buf, this.at + 4);
    this.at += 4 + b.length;
  }

  /** The COPY data: what was written, with the trailer. The writer is spent. */
  finish(): Buffer {
    this.room(2);
    this.at = this.buf.writeInt16BE(TRAILER, this.at);
    return this.buf.subarray(0, this.at);
  }
}
