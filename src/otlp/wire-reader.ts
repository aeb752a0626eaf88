import { isUtf8 } from 'node:buffer';
import { ANY_VALUE, ANY_VALUE_MAX_DEPTH, ARRAY_VALUE, KEY_VALUE, KEY_VALUE_LIST, RESOURCE, SCOPE, tagOf, WIRE } from './logs-fields.js';
import type { DecodedAttributes, DecodedScope } from './decoded-types.js';
import { numberProblem, type NumberKind } from './numbers.js';

/**
 * The protobuf wire format as the OTLP decoders read it (wire-logs.ts,
 * wire-traces.ts): varints, fixed-width numbers, strings, ids as hex, and
 * the messages both signals share (AnyValue, KeyValue, Resource,
 * InstrumentationScope). Malformed input throws; a varint beyond its
 * field's range is noted in {@link WireReader.problem} and left out.
 */

/** Nesting limit of AnyValue lists and maps. */
export const MAX_DEPTH = ANY_VALUE_MAX_DEPTH;

const { varint: VARINT, i64: I64, len: LEN } = WIRE;

/** Largest uint32. */
export const U32_MAX = 0xffff_ffff;

export class WireReader {
  pos = 0;
  readonly buf: Buffer;
  /** The first out-of-range value met since it was last reset. */
  problem: string | undefined;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  varint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /**
   * int64 as a number when safe, else its signed decimal string (as the
   * schema path gives it); null (and a problem noted) when the varint holds
   * more than 64 bits.
   */
  int64(name: string): number | string | null {
    const start = this.pos;
    const n = this.varint();
    if (Number.isSafeInteger(n) && this.pos - start < 8) return n;
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt((this.buf[p] as number) & 0x7f) << shift;
      shift += 7n;
    }
    if (v >> 64n !== 0n) {
      this.problem ??= numberProblem(`${name} intValue`, `varint of ${v.toString()}`, 'int64');
      return null;
    }
    const signed = BigInt.asIntN(64, v);
    const asNumber = Number(signed);
    return Number.isSafeInteger(asNumber) ? asNumber : signed.toString();
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
  }

  fixed64(): string {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v.toString();
  }

  fixed32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix; returns where the field ends. */
  end(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.buf.length) throw new Error('truncated length-delimited field');
    return end;
  }

  /** A proto3 string: valid UTF-8 or the request is malformed (a genuine U+FFFD is valid). */
  string(): string {
    const end = this.end();
    const s = this.buf.toString('utf8', this.pos, end);
    // Invalid UTF-8 decodes to U+FFFD: only then is the slow check needed.
    if (s.includes('\uFFFD') && !isUtf8(this.buf.subarray(this.pos, end))) {
      throw new Error(`invalid UTF-8 in a string field at byte ${this.pos}`);
    }
    this.pos = end;
    return s;
  }

  hex(): string {
    const end = this.end();
    const s = this.buf.toString('hex', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.varint();
        return;
      case 1:
        this.need(8);
        this.pos += 8;
        return;
      case 2:
        this.pos = this.end();
        return;
      case 5:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new Error(`invalid wire type ${tag & 7}`);
    }
  }

  /** A varint of a field with values up to `max`; 0 (and a problem noted) beyond. */
  bounded(name: string, max: number, kind: NumberKind): number {
    const v = this.varint();
    if (v <= max) return v;
    this.problem ??= numberProblem(name, v, kind);
    return 0;
  }

  anyValue(end: number, depth: number, name: string): unknown {
    if (depth > MAX_DEPTH) throw new Error('AnyValue nested too deeply');
    let out: unknown = null;
    while (this.pos < end) {
      const tag = this.varint();
      switch (tag) {
        case tagOf(ANY_VALUE.stringValue, LEN):
          out = this.string();
          break;
        case tagOf(ANY_VALUE.boolValue, VARINT):
          out = this.varint() !== 0;
          break;
        case tagOf(ANY_VALUE.intValue, VARINT):
          out = this.int64(name);
          break;
        case tagOf(ANY_VALUE.doubleValue, I64):
          out = this.double();
          break;
        case tagOf(ANY_VALUE.arrayValue, LEN): {
          const e = this.end();
          const values: unknown[] = [];
          while (this.pos < e) {
            const t = this.varint();
            if (t === tagOf(ARRAY_VALUE.values, LEN)) values.push(this.anyValue(this.end(), depth + 1, `${name}[${values.length}]`));
            else this.skip(t);
          }
          out = values;
          break;
        }
        case tagOf(ANY_VALUE.kvlistValue, LEN): {
          const e = this.end();
          const map: DecodedAttributes = {};
          while (this.pos < e) {
            const t = this.varint();
            if (t === tagOf(KEY_VALUE_LIST.values, LEN)) this.keyValue(this.end(), map, depth + 1, name, '.');
            else this.skip(t);
          }
          out = map;
          break;
        }
        case tagOf(ANY_VALUE.bytesValue, LEN): {
          const e = this.end();
          out = this.buf.toString('base64', this.pos, e);
          this.pos = e;
          break;
        }
        default:
          this.skip(tag);
      }
    }
    if (this.pos !== end) throw new Error('AnyValue overran its length');
    return out;
  }

  /** One KeyValue into `into`; a repeated key keeps its last value; `__proto__` is plain data. */
  keyValue(end: number, into: DecodedAttributes, depth: number, prefix: string, sep = ' '): void {
    let key = '';
    let value: unknown = null;
    while (this.pos < end) {
      const tag = this.varint();
      if (tag === tagOf(KEY_VALUE.key, LEN)) key = this.string();
      else if (tag === tagOf(KEY_VALUE.value, LEN)) value = this.anyValue(this.end(), depth, `${prefix}${sep}${JSON.stringify(key)}`);
      else this.skip(tag);
    }
    if (this.pos !== end) throw new Error('KeyValue overran its length');
    if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
    else into[key] = value;
  }

  /** A Resource: its attributes. */
  resource(end: number): DecodedAttributes {
    const attrs: DecodedAttributes = {};
    while (this.pos < end) {
      const tag = this.varint();
      if (tag === tagOf(RESOURCE.attributes, LEN)) this.keyValue(this.end(), attrs, 0, 'resource attribute');
      else if (tag === tagOf(RESOURCE.droppedAttributesCount, VARINT)) this.bounded('resource droppedAttributesCount', U32_MAX, 'uint32');
      else this.skip(tag);
    }
    if (this.pos !== end) throw new Error('Resource overran its length');
    return attrs;
  }

  /** An InstrumentationScope. */
  scope(end: number): DecodedScope {
    const scope: DecodedScope = { name: '', version: '', attributes: {} };
    while (this.pos < end) {
      const tag = this.varint();
      if (tag === tagOf(SCOPE.name, LEN)) scope.name = this.string();
      else if (tag === tagOf(SCOPE.version, LEN)) scope.version = this.string();
      else if (tag === tagOf(SCOPE.attributes, LEN)) this.keyValue(this.end(), scope.attributes, 0, 'scope attribute');
      else if (tag === tagOf(SCOPE.droppedAttributesCount, VARINT)) this.bounded('scope droppedAttributesCount', U32_MAX, 'uint32');
      else this.skip(tag);
    }
    if (this.pos !== end) throw new Error('InstrumentationScope overran its length');
    return scope;
  }
}
