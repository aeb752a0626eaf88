import { ANY_VALUE, ANY_VALUE_MAX_DEPTH, ARRAY_VALUE, KEY_VALUE, KEY_VALUE_LIST, tagOf, WIRE } from './logs-fields.js';

/** Scratch buffer a writer starts with, bytes (a batch of 512 audit records is about 400 KiB). */
const INITIAL_BYTES = 64 * 1024;
/** A scratch buffer that grew beyond this is let go after the batch that needed it. */
const KEEP_BYTES = 4 * 1024 * 1024;
/** Strings shorter than this take at most 127 UTF-8 bytes: their length fits the one byte reserved. */
const SHORT_STRING = 43;
const TWO_32 = 2 ** 32;
const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/** A value that has no AnyValue form (undefined, bigint, function, symbol, a cycle or too deep). */
export class UnencodableValueError extends TypeError {
  readonly code = 'UNENCODABLE_VALUE';
}

const { varint: VARINT, i64: I64, len: LEN } = WIRE;
const T_STRING = tagOf(ANY_VALUE.stringValue, LEN);
const T_BOOL = tagOf(ANY_VALUE.boolValue, VARINT);
const T_INT = tagOf(ANY_VALUE.intValue, VARINT);
const T_DOUBLE = tagOf(ANY_VALUE.doubleValue, I64);
const T_ARRAY = tagOf(ANY_VALUE.arrayValue, LEN);
const T_KVLIST = tagOf(ANY_VALUE.kvlistValue, LEN);
const T_BYTES = tagOf(ANY_VALUE.bytesValue, LEN);
const T_ARRAY_ITEM = tagOf(ARRAY_VALUE.values, LEN);
const T_KEY = tagOf(KEY_VALUE.key, LEN);
const T_VALUE = tagOf(KEY_VALUE.value, LEN);

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/**
 * Writes protobuf into one scratch buffer that is reused from batch to
 * batch (no per-message buffers: a nested message reserves one byte for its
 * length and moves its content only when the length needs more). Values
 * follow OTLP's AnyValue rules as the OpenTelemetry JavaScript serializer
 * applies them: integers in the int64 range are `int_value`, other numbers
 * `double_value`, Uint8Arrays `bytes_value`, arrays and plain objects
 * `array_value` / `kvlist_value`, null an empty AnyValue.
 */
export class ProtoWriter {
  buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  pos = 0;

  /** The bytes written, as a buffer of their own; the writer starts over. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    return out;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer up to 2^53. */
  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (n < TWO_32) {
      let v = n >>> 0;
      while (v > 127) {
        buf[pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      while (n > 127) {
        buf[pos++] = (n % 128) | 128;
        n = Math.floor(n / 128);
      }
      buf[pos++] = n;
    }
    this.pos = pos;
  }

  /** An integer of the int64 range: negative ones as their 64-bit two's complement (ten bytes). */
  int64(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return this.varint(n);
    this.ensure(10);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v > 127n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 given as a decimal string (Unix nanoseconds); text that is not an integer counts as 0. */
  fixed64Decimal(s: string): void {
    let v: bigint;
    try {
      v = BigInt.asUintN(64, BigInt(s));
    } catch {
      v = 0n;
    }
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  double(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  /** A length-delimited UTF-8 string. */
  string(s: string): void {
    const length = s.length;
    if (length < SHORT_STRING) {
      this.ensure(1 + length * 3);
      const buf = this.buf;
      // Short ASCII strings (most keys and values) are copied here: cheaper
      // than a call into the UTF-8 encoder for each of them.
      let p = this.pos + 1;
      for (let i = 0; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) {
          p = this.pos + 1 + buf.write(s, this.pos + 1, 'utf8');
          break;
        }
        buf[p++] = c;
      }
      buf[this.pos] = p - this.pos - 1;
      this.pos = p;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** Hex text as length-delimited bytes (trace and span ids). */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const written = this.buf.write(hex, this.pos, n, 'hex');
    if (written < n) this.buf.fill(0, this.pos + written, this.pos + n);
    this.pos += n;
  }

  /** Length-delimited bytes. */
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  /** Bytes as they are (an already encoded message with its tag). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Start a length-delimited message (its tag already written); returns where its length goes. */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** End the message begun at `at`: write its length, moving the content when the length takes more than one byte. */
  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 128) {
      this.buf[at] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copy(this.buf, at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = at;
    this.varint(length);
    this.pos = end;
  }

  /** One KeyValue (`field` is the repeated field that holds it). */
  keyValue(field: number, key: string, value: unknown, depth: number): void {
    this.varint(tagOf(field, LEN));
    const at = this.begin();
    this.varint(T_KEY);
    this.string(key);
    this.varint(T_VALUE);
    const v = this.begin();
    this.anyValue(value, depth);
    this.end(v);
    this.end(at);
  }

  /** Every own enumerable key of `attrs` as a KeyValue of `field`, in key order. */
  attributes(field: number, attrs: Readonly<Record<string, unknown>>): void {
    for (const key in attrs) {
      if (Object.hasOwn(attrs, key)) this.keyValue(field, key, attrs[key], 0);
    }
  }

  /** The content of an AnyValue. Throws {@link UnencodableValueError} for values it has no form for. */
  anyValue(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.varint(T_STRING);
        this.string(value);
        return;
      case 'boolean':
        this.varint(T_BOOL);
        this.varint(value ? 1 : 0);
        return;
      case 'number':
        if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_END) {
          this.varint(T_INT);
          this.int64(value);
        } else {
          this.varint(T_DOUBLE);
          this.double(value);
        }
        return;
      case 'object':
        if (value === null) return;
        if (depth >= ANY_VALUE_MAX_DEPTH) throw new UnencodableValueError(`AnyValue nested deeper than ${ANY_VALUE_MAX_DEPTH}`);
        if (value instanceof Uint8Array) {
          this.varint(T_BYTES);
          this.bytes(value);
        } else if (Array.isArray(value)) {
          this.varint(T_ARRAY);
          const at = this.begin();
          for (const item of value as unknown[]) {
            this.varint(T_ARRAY_ITEM);
            const i = this.begin();
            this.anyValue(item, depth + 1);
            this.end(i);
          }
          this.end(at);
        } else {
          this.varint(T_KVLIST);
          const at = this.begin();
          const map = value as Record<string, unknown>;
          for (const key in map) {
            if (Object.hasOwn(map, key)) this.keyValue(KEY_VALUE_LIST.values, key, map[key], depth + 1);
          }
          this.end(at);
        }
        return;
      default:
        throw new UnencodableValueError(`a ${typeof value} has no AnyValue form`);
    }
  }
}
