import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { numberProblem, type NumberKind } from './numbers.js';
import type { InvalidNumbers } from './decoded-types.js';
import { loadOtlpSchema } from './schema-loader.js';

/**
 * Range checks of the varints of an ExportTraceServiceRequest, which
 * protobufjs decodes by truncating (a uint32 count of 2^32 becomes 0, an
 * int64 of more than 64 bits wraps, an enum takes any int32). Walks the
 * bytes along the schema and returns, per span in request order, the first
 * problem of the span or of its resource or scope (undefined when none).
 * Malformed bytes are left to the decoder, which runs first and throws.
 */
export function traceNumberProblems(bytes: Uint8Array): (InvalidNumbers | undefined)[] {
  const { exportTraceServiceRequest } = loadOtlpSchema();
  const out: (InvalidNumbers | undefined)[] = [];
  const reader = protobuf.Reader.create(bytes);
  walkRequest(reader, exportTraceServiceRequest, out);
  return out;
}

const SPAN = '.opentelemetry.proto.trace.v1.Span';
const RESOURCE_SPANS = '.opentelemetry.proto.trace.v1.ResourceSpans';
const SCOPE_SPANS = '.opentelemetry.proto.trace.v1.ScopeSpans';

/** The request: resource spans, each a group whose resource's problem marks all its spans. */
function walkRequest(r: protobuf.Reader, type: Type, out: (InvalidNumbers | undefined)[]): void {
  forEachField(r, r.len, type, (field, end) => {
    if (field.resolvedType?.fullName === RESOURCE_SPANS) walkGroup(r, end, field.resolvedType as Type, out);
    else r.pos = end;
  });
}

/** ResourceSpans or ScopeSpans: spans, and a resource or scope whose problem marks each of them. */
function walkGroup(r: protobuf.Reader, end: number, type: Type, out: (InvalidNumbers | undefined)[]): void {
  let own: string | undefined;
  const spans: (InvalidNumbers | undefined)[] = [];
  forEachField(r, end, type, (field, fieldEnd) => {
    const name = field.resolvedType?.fullName;
    if (name === SCOPE_SPANS) walkGroup(r, fieldEnd, field.resolvedType as Type, spans);
    else if (name === SPAN) {
      const problem = walkMessage(r, fieldEnd, field.resolvedType as Type, '');
      spans.push(problem === undefined ? undefined : { reason: problem });
    } else if (field.resolvedType instanceof protobuf.Type) {
      own ??= walkMessage(r, fieldEnd, field.resolvedType, field.name === 'resource' ? 'resource ' : 'scope ');
    } else r.pos = fieldEnd;
  });
  for (const s of spans) out.push(own !== undefined ? { reason: own } : s);
}

/** Any other message: the first varint out of its field's range, named by its path. */
function walkMessage(r: protobuf.Reader, end: number, type: Type, path: string): string | undefined {
  let problem: string | undefined;
  forEachField(r, end, type, (field, fieldEnd, value) => {
    if (field.resolvedType instanceof protobuf.Type) {
      const sub = walkMessage(r, fieldEnd, field.resolvedType, `${path}${field.name}.`);
      problem ??= sub;
    } else if (value !== undefined) {
      problem ??= varintProblem(`${path}${field.name}`, field, value);
    } else r.pos = fieldEnd;
  });
  return problem;
}

const U32_MAX = 2n ** 32n - 1n;
const I32_MIN = -(2n ** 31n);

function varintProblem(name: string, field: protobuf.Field, raw: bigint): string | undefined {
  const bits64 = raw >> 64n === 0n;
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = Object.values(field.resolvedType.values);
    const max = Math.max(...values);
    const kind: NumberKind = { enumMax: max };
    return raw <= BigInt(max) ? undefined : numberProblem(name, bits64 ? BigInt.asIntN(64, raw).toString() : `varint of ${raw}`, kind);
  }
  switch (field.type) {
    case 'uint32':
      return raw <= U32_MAX ? undefined : numberProblem(name, bits64 ? raw.toString() : `varint of ${raw}`, 'uint32');
    case 'int32': {
      const v = BigInt.asIntN(64, raw);
      return bits64 && v >= I32_MIN && v <= U32_MAX >> 1n ? undefined : numberProblem(name, `varint of ${raw}`, 'int32');
    }
    case 'int64':
    case 'uint64':
    case 'sint64':
      return bits64 ? undefined : numberProblem(name, `varint of ${raw}`, field.type === 'int64' ? 'int64' : 'uint64');
    default:
      return undefined;
  }
}

/**
 * Calls fn for each field of a message up to `end`: for varints after
 * reading them (with the value as a bigint of up to 70 bits), for other wire
 * types before, with where the field ends (fn moves the reader there).
 */
function forEachField(r: protobuf.Reader, end: number, type: Type, fn: (field: protobuf.Field, end: number, varint?: bigint) => void): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    if (!field) {
      r.skipType(wire);
      continue;
    }
    if (wire === 0) {
      fn(field, r.pos, readVarint(r));
    } else if (wire === 2) {
      const len = r.uint32();
      const fieldEnd = r.pos + len;
      fn(field, fieldEnd);
      r.pos = fieldEnd;
    } else {
      r.skipType(wire);
    }
  }
}

function readVarint(r: protobuf.Reader): bigint {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    const b = r.buf[r.pos++];
    if (b === undefined) throw new Error('truncated varint');
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return v;
    shift += 7n;
  }
  throw new Error('varint longer than 10 bytes');
}
