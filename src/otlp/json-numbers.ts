import { OTLP_ENUM_NAMES } from './enums.js';
import { jsonNumberOk, numberProblem, SEVERITY_NUMBER_MAX, SPAN_KIND_MAX, STATUS_CODE_MAX, type NumberKind } from './numbers.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An enum field: its largest value and its names (protobuf JSON also allows names). */
interface EnumKind {
  enumMax: number;
  names: Readonly<Record<string, number>>;
}

const SEVERITY: EnumKind = { enumMax: SEVERITY_NUMBER_MAX, names: OTLP_ENUM_NAMES.severityNumber };
const SPAN_KIND: EnumKind = { enumMax: SPAN_KIND_MAX, names: OTLP_ENUM_NAMES.spanKind };
const STATUS_CODE: EnumKind = { enumMax: STATUS_CODE_MAX, names: OTLP_ENUM_NAMES.statusCode };

/** The longest nesting of AnyValues looked into (deeper input is refused by the transform). */
const MAX_DEPTH = 64;

/** A field's name in reasons, or how to make it: names are built only for a problem (most requests have none). */
type Name = string | (() => string);
const nameOf = (name: Name): string => (typeof name === 'string' ? name : name());

/**
 * Checks the numeric fields of one part of an OTLP/JSON request. In `fix`
 * mode it also removes every offending value, so that the rest of the
 * record still converts (and is refused with {@link problem} as the reason).
 */
export class JsonNumberCheck {
  /** The first problem found. */
  problem: string | undefined;

  constructor(private readonly fix: boolean) {}

  /** A scalar field of `obj`. */
  field(obj: Json, key: string, kind: NumberKind | EnumKind, name: Name = key): void {
    const value = obj[key];
    if (typeof kind === 'object' && 'names' in kind && typeof value === 'string' && Object.hasOwn(kind.names, value)) return;
    const k: NumberKind = typeof kind === 'object' ? { enumMax: kind.enumMax } : kind;
    if (jsonNumberOk(value, k)) {
      // An enum given as a decimal string: the number from here on.
      if (typeof kind === 'object' && typeof value === 'string') obj[key] = Number(value);
      return;
    }
    this.problem ??= numberProblem(nameOf(name), value, k);
    if (this.fix) delete obj[key];
  }

  anyValue(v: unknown, name: Name, depth = 0): void {
    if (!isObject(v) || depth > MAX_DEPTH) return;
    // An absent member is in range: only the members present are looked at.
    if (v['intValue'] !== undefined) this.field(v, 'intValue', 'int64', () => `${nameOf(name)} intValue`);
    if (v['doubleValue'] !== undefined) this.field(v, 'doubleValue', 'double', () => `${nameOf(name)} doubleValue`);
    const arr = v['arrayValue'];
    if (isObject(arr) && Array.isArray(arr['values'])) arr['values'].forEach((x, i) => this.anyValue(x, () => `${nameOf(name)}[${i}]`, depth + 1));
    const kv = v['kvlistValue'];
    if (isObject(kv)) this.attributes(kv['values'], name, depth + 1, '.');
  }

  attributes(list: unknown, prefix: Name, depth = 0, sep = ' '): void {
    if (!Array.isArray(list)) return;
    for (const kv of list) {
      if (!isObject(kv)) continue;
      this.anyValue(kv['value'], () => `${nameOf(prefix)}${sep}${JSON.stringify(String(kv['key'] ?? ''))}`, depth);
    }
  }

  /** Resource or InstrumentationScope. */
  resource(r: unknown, name: string): void {
    if (!isObject(r)) return;
    this.attributes(r['attributes'], `${name} attribute`);
    this.field(r, 'droppedAttributesCount', 'uint32', `${name} droppedAttributesCount`);
  }

  /** A list of objects with attributes (a span's events or links) and the numeric fields given. */
  private nested(list: unknown, name: string, ...fields: readonly (readonly [string, NumberKind])[]): void {
    if (!Array.isArray(list)) return;
    list.forEach((item, i) => {
      if (!isObject(item)) return;
      for (const [key, kind] of fields) this.field(item, key, kind, `${name}[${i}].${key}`);
      this.attributes(item['attributes'], `${name}[${i}] attribute`);
    });
  }

  logRecord(lr: Json): void {
    this.field(lr, 'timeUnixNano', 'uint64');
    this.field(lr, 'observedTimeUnixNano', 'uint64');
    this.field(lr, 'severityNumber', SEVERITY);
    this.field(lr, 'droppedAttributesCount', 'uint32');
    this.field(lr, 'flags', 'uint32');
    this.anyValue(lr['body'], 'body');
    this.attributes(lr['attributes'], 'attribute');
  }

  span(sp: Json): void {
    this.field(sp, 'startTimeUnixNano', 'uint64');
    this.field(sp, 'endTimeUnixNano', 'uint64');
    this.field(sp, 'flags', 'uint32');
    this.field(sp, 'kind', SPAN_KIND);
    this.field(sp, 'droppedAttributesCount', 'uint32');
    this.field(sp, 'droppedEventsCount', 'uint32');
    this.field(sp, 'droppedLinksCount', 'uint32');
    this.attributes(sp['attributes'], 'attribute');
    const status = sp['status'];
    if (isObject(status)) this.field(status, 'code', STATUS_CODE, 'status.code');
    this.nested(sp['events'], 'events', ['timeUnixNano', 'uint64'], ['droppedAttributesCount', 'uint32']);
    this.nested(sp['links'], 'links', ['flags', 'uint32'], ['droppedAttributesCount', 'uint32']);
  }
}

/**
 * Runs `check` on `target`; when it finds a problem, returns it with a copy
 * of `original` taken before the offending values are removed from `target`.
 */
export function checkNumbers(target: Json, check: (c: JsonNumberCheck, t: Json) => void, original: () => unknown): { reason: string; record: unknown } | undefined {
  const probe = new JsonNumberCheck(false);
  check(probe, target);
  if (probe.problem === undefined) return undefined;
  const record = structuredClone(original());
  check(new JsonNumberCheck(true), target);
  return { reason: probe.problem, record };
}
