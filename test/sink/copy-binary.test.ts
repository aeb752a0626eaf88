import { describe, expect, it } from 'vitest';
import { keysOf } from '../../src/sink/batch-store.js';
import { contentHash, identityOf } from '../../src/sink/content-hash.js';
import { BinaryCopyWriter, CopyValueError } from '../../src/sink/copy-binary.js';
import type { AuditRow } from '../../src/sink/row.js';

const HEADER_BYTES = 19;

/** The bytes of one row of one field written by `put`, after the header and the row's field count. */
function field(put: (w: BinaryCopyWriter) => void): Buffer {
  const w = new BinaryCopyWriter(1);
  w.row(1);
  put(w);
  const out = w.finish();
  expect(out.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(out.readInt16BE(HEADER_BYTES)).toBe(1);
  expect(out.readInt16BE(out.length - 2)).toBe(-1);
  return out.subarray(HEADER_BYTES + 2, out.length - 2);
}

const micros = (iso: string): bigint => {
  const f = field((w) => w.timestamptz(iso));
  expect(f.readInt32BE(0)).toBe(8);
  return f.readBigInt64BE(4);
};

describe('binary COPY data', () => {
  it('timestamps are microseconds since 2000-01-01, exact at both ends of the four-digit years', () => {
    expect(micros('2000-01-01T00:00:00.000001Z')).toBe(1n);
    expect(micros('1999-12-31T23:59:59.999999Z')).toBe(-1n);
    expect(micros('9999-12-31T23:59:59.999999Z')).toBe(252_455_615_999_999_999n);
    expect(micros('0001-01-01T00:00:00.000000Z')).toBe(-63_082_281_600_000_000n);
  });

  it('text and jsonb are UTF-8 with their length; jsonb carries its version byte; NULL is length -1', () => {
    expect(field((w) => w.text('é€'))).toEqual(Buffer.from([0, 0, 0, 5, 0xc3, 0xa9, 0xe2, 0x82, 0xac]));
    expect(field((w) => w.jsonb('{}'))).toEqual(Buffer.from([0, 0, 0, 3, 1, 0x7b, 0x7d]));
    expect(field((w) => w.null())).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(field((w) => w.int8('-2'))).toEqual(Buffer.from([0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]));
  });

  it('grows past its first size without losing bytes', () => {
    const w = new BinaryCopyWriter(1);
    const s = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) {
      w.row(1);
      w.text(s);
    }
    const out = w.finish();
    expect(out.length).toBe(HEADER_BYTES + 200 * (2 + 4 + 1000) + 2);
    expect(out.subarray(out.length - 1002, out.length - 2).toString()).toBe(s);
  });

  it('refuses values their type cannot hold, classed as the database would (out of range, bad datetime)', () => {
    const w = new BinaryCopyWriter();
    const err = (put: () => void): unknown => {
      try {
        put();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(err(() => w.int4(2 ** 31))).toMatchObject({ code: '22003' });
    expect(err(() => w.int4(1.5))).toBeInstanceOf(CopyValueError);
    expect(err(() => w.int8('9223372036854775808'))).toMatchObject({ code: '22003' });
    expect(err(() => w.int8('12x'))).toMatchObject({ code: '22003' });
    expect(err(() => w.timestamptz('2026-11-21T12:00:00Z'))).toMatchObject({ code: '22007' });
    expect(err(() => w.timestamptz('2026-13-45T12:00:00.000000Z'))).toMatchObject({ code: '22007' });
  });
});

describe('keys of submitted rows', () => {
  it('are each row\'s content hash and identity, in order', () => {
    const base = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), occurredAt: '2026-11-21T12:00:00.000001Z', serviceName: 's', action: 'x.y', attributes: {} };
    const rows = [base, { ...base, action: 'x.z' }] as unknown as AuditRow[];
    expect(keysOf(rows)).toEqual(rows.map((r) => ({ hash: contentHash(r), id: identityOf(r) })));
  });
});
