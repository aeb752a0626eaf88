/**
 * Turns decoded OTLP log records and spans into rows of `audit.records`.
 *
 * Pure functions, no I/O. Every input ends as exactly one outcome: a row, an
 * `ignored` (not an audit record at all), or a rejection whose reason names
 * the field at fault. Nothing here throws.
 *
 * Sources, in order of precedence:
 * - log records (event name `audit`): the `audit.*` and semantic-convention
 *   attributes, else the same fields in the body (the record as a map);
 * - spans following the attribute convention (`audit.action` set, no
 *   `audit.emitter.id`): the span attributes, with timing and outcome derived
 *   from the span when the attributes do not say.
 *
 * Values that cannot be stored verbatim do not cost the record: a row is
 * stored sanitised and flagged (see {@link SANITIZED_ATTRIBUTE}). NUL
 * characters and unpaired surrogates become U+FFFD; a string over
 * {@link TransformLimits.maxValueBytes} (or an indexed column over its own
 * limit) is cut, ending in a visible marker with its original size and
 * SHA-256; JSON nested deeper than {@link MAX_JSON_DEPTH} is cut the same way.
 * Every value of a row is thereby one the database accepts: a batch never
 * fails in the database because of one value. Wrong types, missing ids and
 * out-of-range machine fields (emitter id and sequence) are still rejected.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import * as A from '../contract/attributes.js';
import { ACTOR_TYPES, OUTCOMES, outcomeOf } from '../contract/values.js';
import type { DecodedAttributes, DecodedLogRecord, DecodedScope, DecodedSpan } from '../otlp/schema.js';
import { SINK_DEFAULTS } from './config.js';
import type { AuditRow, RowRejection } from './row.js';

export interface TransformLimits {
  /** Largest single string value (or key), UTF-8 bytes. Default {@link SINK_DEFAULTS.maxValueBytes}. */
  maxValueBytes: number;
  /** Largest row, as JSON, UTF-8 bytes. Default 1048576. */
  maxRecordBytes: number;
}

export const DEFAULT_LIMITS: TransformLimits = Object.freeze({ maxValueBytes: SINK_DEFAULTS.maxValueBytes, maxRecordBytes: 1_048_576 });

/** What was altered to make a row storable: the reason kept with its raw input, and a storable copy of the input. */
export interface Sanitization {
  /** `sanitized: <field>: <what>; …` */
  reason: string;
  /** The input record, JSON-safe (as in a rejection). */
  record?: unknown;
}

export type LogOutcome =
  | { kind: 'row'; row: AuditRow; sanitized?: Sanitization }
  | { kind: 'ignored' }
  | { kind: 'rejected'; rejection: RowRejection };

/** Longest `audit.action`, in characters (code points); longer ones are cut. */
export const MAX_ACTION_LENGTH = 256;
/** Longest `audit.resource.type`, in characters (code points); longer ones are cut. */
export const MAX_RESOURCE_TYPE_LENGTH = 256;
/**
 * Largest actor id, tenant id and resource id, UTF-8 bytes; longer ones are
 * cut. These columns are indexed, and a btree index entry holds at most
 * about 2.7 kB (resource type and id share one).
 */
export const MAX_INDEXED_BYTES = 1024;
/**
 * Key of the attributes column listing the columns a sanitised row had
 * altered (sorted column names, e.g. `["request","user_agent"]`); absent when
 * the row is stored verbatim. A record attribute of that name is kept as
 * `attribute.audit.sanitized`.
 */
export const SANITIZED_ATTRIBUTE = 'audit.sanitized';
/** Largest emitter sequence number: the loss accounting counts up to seq + 1 in a bigint. */
export const MAX_EMITTER_SEQ = 9_223_372_036_854_775_806n;
/**
 * Actions beginning with this prefix are otel-audit's own operation records
 * (`audit.export`, `audit.verify`, `audit.retention`, `audit.erase`,
 * `audit.view`): written by its commands in the database, never accepted
 * over OTLP.
 */
export const RESERVED_ACTION_PREFIX = 'audit.';
/** Longest `audit.emitter.id`, in characters (code points). */
export const MAX_EMITTER_ID_LENGTH = 128;
/** Deepest nesting accepted in JSON values (request, changes, attributes). */
export const MAX_JSON_DEPTH = 64;

/** `event.name` attribute: how emitters before the LogRecord `eventName` field marked events. */
const ATTR_EVENT_NAME = 'event.name';
const UNKNOWN_SERVICE = 'unknown_service';
/** 9999-12-31T23:59:59.999999999Z: the last instant with a four-digit year. */
const MAX_ISO_NANOS = 253_402_300_799_999_999_999n;
/** OTLP status code ERROR. */
const STATUS_ERROR = 2;
/** Top-level keys of the attributes column that the sink fills itself. */
const RESERVED_ATTRIBUTE_KEYS = new Set(['resource', 'scope', 'body', SANITIZED_ATTRIBUTE]);
/** Prefix under which a record attribute named like a reserved key is kept. */
const RESERVED_RENAME_PREFIX = 'attribute.';

const IGNORED: LogOutcome = Object.freeze({ kind: 'ignored' });

/** A rule violation: becomes a rejection with this message as its reason. */
class RowError extends Error {}

function fail(reason: string): never {
  throw new RowError(reason);
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/**
 * A log record as a row. Only audit records (event name `audit`, or attribute
 * `event.name` = `audit` from older emitters) become rows; any other log
 * record is `ignored`.
 */
export function logRecordToRow(rec: DecodedLogRecord, limits: TransformLimits = DEFAULT_LIMITS): LogOutcome {
  try {
    const attrs = asAttributes(rec.attributes);
    if (rec.eventName !== A.AUDIT_EVENT_NAME && own(attrs, ATTR_EVENT_NAME) !== A.AUDIT_EVENT_NAME) return IGNORED;
    const traceId = checkTraceId(rec.traceId);
    const spanId = checkSpanId(rec.spanId);
    const occurredAt = nanosToIso(rec.timeUnixNano) ?? nanosToIso(rec.observedTimeUnixNano);
    if (occurredAt === undefined) {
      fail(
        `missing timestamp: timeUnixNano ${quote(String(rec.timeUnixNano))} and observedTimeUnixNano ` +
          `${quote(String(rec.observedTimeUnixNano))} are zero or invalid`,
      );
    }
    const body = isMap(rec.body) ? rec.body : undefined;
    const builder = new RowBuilder(attrs, body, limits);
    const row = builder.build({
      traceId,
      spanId,
      occurredAt,
      resource: asAttributes(rec.resource),
      scope: rec.scope,
      durationMs: null,
      outcome: () => 'success',
    });
    builder.addBodyExtras(rec.body, row.attributes);
    return builder.outcome(builder.finish(row), rec);
  } catch (err) {
    return rejected(err, rec);
  }
}

/**
 * A span as a row. Spans without `audit.action` are `ignored`, and so are spans
 * carrying `audit.emitter.id`: those were tagged by the otel-audit SDK, whose
 * record of the operation arrives separately as a log record.
 */
export function spanToRow(span: DecodedSpan, limits: TransformLimits = DEFAULT_LIMITS): LogOutcome {
  try {
    const attrs = asAttributes(span.attributes);
    if (!isPresent(own(attrs, A.ATTR_AUDIT_ACTION))) return IGNORED;
    const emitter = own(attrs, A.ATTR_AUDIT_EMITTER_ID);
    if (emitter !== undefined && emitter !== null) return IGNORED;
    const traceId = checkTraceId(span.traceId);
    const spanId = checkSpanId(span.spanId);
    const occurredAt = nanosToIso(span.startTimeUnixNano);
    if (occurredAt === undefined) {
      fail(`missing timestamp: startTimeUnixNano ${quote(String(span.startTimeUnixNano))} is zero or invalid`);
    }
    const builder = new RowBuilder(attrs, undefined, limits);
    const row = builder.build({
      traceId,
      spanId,
      occurredAt,
      resource: asAttributes(span.resource),
      scope: span.scope,
      durationMs: spanDurationMs(span.startTimeUnixNano, span.endTimeUnixNano),
      outcome: (statusCode) => spanOutcome(span, statusCode),
    });
    if (row.outcome === 'failure' && !isPresent(own(attrs, A.ATTR_AUDIT_ERROR_MESSAGE))) {
      const message = spanErrorMessage(span);
      if (message !== undefined) row.attributes[A.ATTR_AUDIT_ERROR_MESSAGE] = builder.clean(message, 'span error message', 'attributes', 0);
    }
    return builder.outcome(builder.finish(row), span);
  } catch (err) {
    return rejected(err, span);
  }
}

/**
 * Unix nanoseconds (decimal string) as ISO-8601 UTC with microseconds
 * (truncated): `'1700000000123456789'` → `'2023-11-14T22:13:20.123456Z'`.
 * Undefined for `'0'`, anything that is not a decimal number, and instants
 * after 9999-12-31 (which neither a four-digit ISO year nor an OTLP fixed64
 * timestamp can express).
 */
export function nanosToIso(ns: string): string | undefined {
  if (typeof ns !== 'string' || !/^\d{1,30}$/.test(ns)) return undefined;
  const n = BigInt(ns);
  if (n <= 0n || n > MAX_ISO_NANOS) return undefined;
  const ms = Number(n / 1_000_000n);
  const micros = Number((n / 1_000n) % 1_000n);
  // toISOString: YYYY-MM-DDTHH:MM:SS.mmmZ; append the microseconds.
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

// ---------------------------------------------------------------------------
// Row building
// ---------------------------------------------------------------------------

/** A value read for a column, with where it came from. */
interface Field {
  value: unknown;
  /** How reasons name it: the attribute key, or `body.<path>`. */
  name: string;
  /** The attribute key, when the value came from the attributes. */
  attrKey: string | undefined;
}

interface BuildInput {
  traceId: string;
  spanId: string;
  occurredAt: string;
  resource: DecodedAttributes;
  scope: DecodedScope;
  /** Duration when no `audit.duration_ms` is given. */
  durationMs: number | null;
  /** Outcome when no `audit.outcome` is given, from the column status code. */
  outcome: (statusCode: number | null) => AuditRow['outcome'];
}

/** Cleaned resource attributes per decoded resource object, the limits they were checked with, and what cleaning altered. */
const CLEAN_RESOURCES = new WeakMap<object, { limits: string; value: Record<string, unknown>; notes: string[] }>();

class RowBuilder {
  /** Attribute keys whose values went into columns (left out of the attributes column). */
  private readonly used = new Set<string>();
  /** Columns altered to be storable. */
  private readonly altered = new Set<string>();
  /** What was altered, for the reason: `<field>: <what>`. */
  private readonly notes: string[] = [];

  private get limitsKey(): string {
    return `${this.limits.maxValueBytes}/${this.limits.maxRecordBytes}`;
  }

  constructor(
    private readonly attrs: DecodedAttributes,
    private readonly body: Record<string, unknown> | undefined,
    private readonly limits: TransformLimits,
  ) {}

  build(input: BuildInput): AuditRow {
    const action = this.action();
    const outcomeField = this.field(A.ATTR_AUDIT_OUTCOME, ['outcome']);
    const actorId = this.text(this.field(A.ATTR_AUDIT_ACTOR_ID, ['actor', 'id']), 'actor_id', true, MAX_INDEXED_BYTES);
    const actorName = this.text(this.field(A.ATTR_AUDIT_ACTOR_NAME, ['actor', 'name']), 'actor_name');
    const actorTypeField = this.field(A.ATTR_AUDIT_ACTOR_TYPE, ['actor', 'type']);
    const actorType = actorTypeField
      ? oneOf(this.text(actorTypeField, 'actor_type'), actorTypeField.name, ACTOR_TYPES)
      : actorId !== null
        ? 'user'
        : 'anonymous';
    const tenantId = this.text(this.field(A.ATTR_AUDIT_TENANT_ID, ['tenant_id']), 'tenant_id', true, MAX_INDEXED_BYTES);
    const resourceType = this.limitChars(this.field(A.ATTR_AUDIT_RESOURCE_TYPE, ['resource', 'type']), 'resource_type', MAX_RESOURCE_TYPE_LENGTH);
    const resourceId = this.text(this.field(A.ATTR_AUDIT_RESOURCE_ID, ['resource', 'id']), 'resource_id', true, MAX_INDEXED_BYTES);
    const module = this.text(this.field(A.ATTR_AUDIT_MODULE, ['module']), 'module');
    const level = this.text(this.field(A.ATTR_AUDIT_LEVEL, ['level']), 'level');
    const httpMethod = this.text(this.field(A.ATTR_HTTP_REQUEST_METHOD, ['http', 'method']), 'http_method');
    const httpRoute = this.text(this.field(A.ATTR_HTTP_ROUTE, ['http', 'route']), 'http_route');
    const urlPath = this.text(this.field(A.ATTR_URL_PATH, ['http', 'path']), 'url_path');
    const statusCode = this.statusCode();
    const clientIp = this.clientIp();
    const userAgent = this.text(this.field(A.ATTR_USER_AGENT_ORIGINAL, ['http', 'user_agent']), 'user_agent');
    const durationMs = this.duration() ?? input.durationMs;
    const request = this.json(this.field(A.ATTR_AUDIT_REQUEST, ['request']), 'request');
    const changeBefore = this.json(this.field(A.ATTR_AUDIT_CHANGE_BEFORE, ['change', 'before']), 'change_before');
    const changeAfter = this.json(this.field(A.ATTR_AUDIT_CHANGE_AFTER, ['change', 'after']), 'change_after');
    const emitterId = this.emitterId();
    const emitterSeq = this.emitterSeq();
    const outcome = outcomeField
      ? oneOf(this.text(outcomeField, 'outcome'), outcomeField.name, OUTCOMES)
      : input.outcome(statusCode);
    const serviceName = this.serviceName(input.resource);

    return {
      traceId: input.traceId,
      spanId: input.spanId,
      occurredAt: input.occurredAt,
      serviceName,
      module,
      actorId,
      actorName,
      actorType,
      tenantId,
      action,
      resourceType,
      resourceId,
      outcome,
      statusCode,
      httpMethod,
      httpRoute,
      urlPath,
      clientIp,
      userAgent,
      durationMs,
      level,
      request,
      changeBefore,
      changeAfter,
      attributes: this.attributesColumn(input.resource, input.scope),
      emitterId,
      emitterSeq,
    };
  }

  /**
   * Body content of a log record that has no column and no attribute
   * counterpart: `error`, `meta.*` and `incomplete` as their attribute names
   * when the attributes lack them, unknown keys (or a body that is not a map)
   * under `body`.
   */
  addBodyExtras(body: unknown, out: Record<string, unknown>): void {
    if (body === null || body === undefined) return;
    if (!isMap(body)) {
      out['body'] = this.clean(body, 'body', 'attributes', 0);
      return;
    }
    const addIfAbsent = (key: string, value: unknown, name: string): void => {
      if (value === undefined || value === null || own(this.attrs, key) !== undefined) return;
      setOwn(out, key, this.clean(value, name, 'attributes', 0));
    };
    addIfAbsent(A.ATTR_AUDIT_ERROR_MESSAGE, own(body, 'error'), 'body.error');
    addIfAbsent(A.ATTR_AUDIT_INCOMPLETE, own(body, 'incomplete'), 'body.incomplete');
    const meta = own(body, 'meta');
    if (isMap(meta)) {
      for (const [k, v] of Object.entries(meta)) addIfAbsent(A.ATTR_AUDIT_META_PREFIX + k, v, childName('body.meta', k));
    }
    const unknown: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(body)) {
      // A `meta` that is not a map has no attribute form: it is kept with the unknown keys.
      if (KNOWN_BODY_KEYS.has(k) && !(k === 'meta' && !isMap(v))) continue;
      setOwn(unknown, k, v);
      n++;
    }
    if (n > 0) out['body'] = this.clean(unknown, 'body', 'attributes', 0);
  }

  /**
   * Keeps the whole row within maxRecordBytes: the largest JSON values
   * (request, changes, then record attributes) are replaced by a cut marker
   * until it fits. A row still too large (its text columns alone) is rejected.
   */
  finish(row: AuditRow): AuditRow {
    let bytes = Buffer.byteLength(JSON.stringify(row), 'utf8');
    if (bytes <= this.limits.maxRecordBytes) return row;
    const original = bytes;
    type Slot = { size: number; column: string; name: string; get(): unknown; set(v: unknown): void };
    const slots: Slot[] = [];
    const jsonSize = (v: unknown): number => (v === null || v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v), 'utf8'));
    const add = (column: string, name: string, get: () => unknown, set: (v: unknown) => void): void => {
      slots.push({ size: jsonSize(get()), column, name, get, set });
    };
    add('request', A.ATTR_AUDIT_REQUEST, () => row.request, (v) => (row.request = v));
    add('change_before', A.ATTR_AUDIT_CHANGE_BEFORE, () => row.changeBefore, (v) => (row.changeBefore = v));
    add('change_after', A.ATTR_AUDIT_CHANGE_AFTER, () => row.changeAfter, (v) => (row.changeAfter = v));
    for (const k of Object.keys(row.attributes)) {
      if (k === 'scope') continue;
      add('attributes', k, () => row.attributes[k], (v) => setOwn(row.attributes, k, v));
    }
    slots.sort((a, b) => b.size - a.size);
    for (const slot of slots) {
      if (bytes <= this.limits.maxRecordBytes) break;
      if (slot.size < 64) continue;
      const json = JSON.stringify(slot.get());
      const marker = `[cut: ${slot.size} bytes as JSON, sha256 ${shortHash(json)}]`;
      slot.set(marker);
      bytes -= slot.size - Buffer.byteLength(JSON.stringify(marker), 'utf8');
      this.alter(slot.column, `${slot.name}: cut (the record was ${original} bytes as JSON; the limit is ${this.limits.maxRecordBytes})`);
    }
    bytes = Buffer.byteLength(JSON.stringify(row), 'utf8');
    if (bytes > this.limits.maxRecordBytes) {
      fail(`record is ${bytes} bytes as JSON even with its JSON values cut; the limit is ${this.limits.maxRecordBytes}`);
    }
    return row;
  }

  /** The row as an outcome, flagged in the attributes column when sanitised. */
  outcome(row: AuditRow, input: unknown): LogOutcome {
    if (this.altered.size === 0) return { kind: 'row', row };
    setOwn(row.attributes, SANITIZED_ATTRIBUTE, [...this.altered].sort());
    const sanitized: Sanitization = { reason: `sanitized: ${this.notes.join('; ')}` };
    const record = jsonSafe(input);
    if (record !== undefined) sanitized.record = record;
    return { kind: 'row', row, sanitized };
  }

  /**
   * A JSON-storable copy of `value`: strings and keys made storable,
   * non-finite numbers as their names (`NaN`, `Infinity`; jsonb has no such
   * numbers), nesting past {@link MAX_JSON_DEPTH} cut. `column` is the column
   * it goes into (flagged when something was altered).
   */
  clean(value: unknown, name: string, column: string, depth: number): unknown {
    if (typeof value === 'string') return this.storable(value, name, column);
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (typeof value === 'boolean' || value === null || value === undefined) return value ?? null;
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (Array.isArray(value) || typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        const json = JSON.stringify(jsonSafe(value)) ?? '';
        this.alter(column, `${name}: nested deeper than ${MAX_JSON_DEPTH} levels, cut`);
        return `[cut: nested deeper than ${MAX_JSON_DEPTH} levels, ${Buffer.byteLength(json, 'utf8')} bytes as JSON, sha256 ${shortHash(json)}]`;
      }
      if (Array.isArray(value)) return value.map((v, i) => this.clean(v, `${name}[${i}]`, column, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        setOwn(out, this.storable(k, `key ${quote(k)} in ${name}`, column), this.clean(v, childName(name, k), column, depth + 1));
      }
      return out;
    }
    return fail(`${name} has type ${typeof value}, which cannot be stored`);
  }

  /** Records that `column` was altered, and how. */
  private alter(column: string, note: string): void {
    this.altered.add(column);
    this.notes.push(note);
  }

  /**
   * `s` as Postgres stores it: NUL and unpaired surrogates replaced by
   * U+FFFD, cut to `maxBytes` UTF-8 bytes (default maxValueBytes) with a
   * marker. Alterations are flagged on `column`.
   */
  private storable(s: string, name: string, column: string, maxBytes = this.limits.maxValueBytes): string {
    const what: string[] = [];
    let out = s;
    if (out.includes('\u0000')) {
      out = out.replaceAll('\u0000', '\uFFFD');
      what.push('NUL replaced');
    }
    if (LONE_SURROGATE.test(out)) {
      out = out.replace(LONE_SURROGATES, '\uFFFD');
      what.push('unpaired surrogate replaced');
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: skip the count for short strings.
    if (out.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(out, 'utf8');
      if (bytes > maxBytes) {
        out = cutBytes(out, bytes, maxBytes);
        what.push(`${bytes} bytes, cut to ${maxBytes}`);
      }
    }
    if (what.length > 0) this.alter(column, `${name}: ${what.join(', ')}`);
    return out;
  }

  /** The attribute, else the body path; null, undefined and '' count as absent. */
  private field(attrKey: string, bodyPath: readonly string[] | undefined): Field | undefined {
    const fromAttr = own(this.attrs, attrKey);
    if (fromAttr !== undefined) this.used.add(attrKey);
    if (isPresent(fromAttr)) return { value: fromAttr, name: attrKey, attrKey };
    if (!bodyPath || !this.body) return undefined;
    let v: unknown = this.body;
    for (const part of bodyPath) v = isMap(v) ? own(v, part) : undefined;
    return isPresent(v) ? { value: v, name: `body.${bodyPath.join('.')}`, attrKey: undefined } : undefined;
  }

  /** Keeps the raw value of a field in the attributes column (its column stays null). */
  private keep(f: Field): void {
    if (f.attrKey !== undefined) this.used.delete(f.attrKey);
  }

  /**
   * A string column, made storable (at most `maxBytes`); integers are
   * accepted (as decimal strings) where `integers` says so.
   */
  private text(f: Field | undefined, column: string, integers = false, maxBytes = this.limits.maxValueBytes): string | null {
    if (!f) return null;
    const v = f.value;
    if (typeof v === 'string') return this.storable(v, f.name, column, Math.min(maxBytes, this.limits.maxValueBytes));
    if (integers && typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    return fail(`${f.name} has type ${typeName(v)}; expected a string`);
  }

  /** A string column of at most `maxChars` characters (code points): longer ones are cut, with a marker. */
  private limitChars(f: Field | undefined, column: string, maxChars: number): string | null {
    const s = this.text(f, column);
    if (s === null || !f) return s;
    const length = codePoints(s);
    if (length <= maxChars) return s;
    this.alter(column, `${f.name}: ${length} characters, cut to ${maxChars}`);
    return cutChars(s, length, maxChars);
  }

  private action(): string {
    const f = this.field(A.ATTR_AUDIT_ACTION, ['action']);
    if (!f) return fail(`missing ${A.ATTR_AUDIT_ACTION}: an audit record must name its action`);
    const action = this.limitChars(f, 'action', MAX_ACTION_LENGTH) ?? '';
    if (action.startsWith(RESERVED_ACTION_PREFIX)) {
      fail(
        `${f.name} ${quote(action)} is reserved: actions beginning "${RESERVED_ACTION_PREFIX}" are otel-audit's own ` +
          'operation records, written by its commands, never accepted over OTLP',
      );
    }
    return action;
  }

  /** Integer 100..599; other integers are kept as attributes; other types are rejected. */
  private statusCode(): number | null {
    const f = this.field(A.ATTR_HTTP_RESPONSE_STATUS_CODE, ['http', 'status_code']);
    if (!f) return null;
    const v = f.value;
    let n: number;
    if (typeof v === 'number' && Number.isInteger(v)) n = v;
    // int64 values beyond the safe range arrive as decimal strings.
    else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) n = Number(v);
    else return fail(`${f.name} has type ${typeName(v)}; expected an integer`);
    if (n >= 100 && n <= 599) return n;
    this.keep(f);
    return null;
  }

  /** A valid IPv4/IPv6 address; anything else leaves the column null and is kept as an attribute. */
  private clientIp(): string | null {
    const f = this.field(A.ATTR_CLIENT_ADDRESS, ['http', 'client_address']);
    const address = this.text(f, 'client_ip');
    if (address === null || !f) return null;
    // Zone ids (fe80::1%eth0) are valid for node:net but not for Postgres inet.
    if (isIP(address) !== 0 && !address.includes('%')) return address;
    this.keep(f);
    return null;
  }

  private duration(): number | null {
    const f = this.field(A.ATTR_AUDIT_DURATION_MS, ['duration_ms']);
    if (!f) return null;
    if (typeof f.value !== 'number') return fail(`${f.name} has type ${typeName(f.value)}; expected a number`);
    if (Number.isFinite(f.value) && f.value >= 0) return f.value;
    this.keep(f);
    return null;
  }

  /** A JSON column: a JSON string is parsed (invalid JSON is stored as the string itself); maps and lists are taken as they are. */
  private json(f: Field | undefined, column: string): unknown {
    if (!f) return null;
    if (typeof f.value !== 'string') return this.clean(f.value, f.name, column, 0);
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.value);
    } catch {
      return this.storable(f.value, f.name, column);
    }
    // An oversize JSON text is cut as text (its members may each be small).
    if (f.value.length * 3 > this.limits.maxValueBytes && Buffer.byteLength(f.value, 'utf8') > this.limits.maxValueBytes) {
      return this.storable(f.value, f.name, column);
    }
    return this.clean(parsed, f.name, column, 0);
  }

  private emitterId(): string | null {
    const f = this.field(A.ATTR_AUDIT_EMITTER_ID, undefined);
    const id = this.text(f, 'emitter_id');
    if (id !== null && f) {
      const length = codePoints(id);
      if (length > MAX_EMITTER_ID_LENGTH) fail(`${f.name} is ${length} characters; the limit is ${MAX_EMITTER_ID_LENGTH}`);
    }
    return id;
  }

  /** A positive integer (number, or decimal string beyond the safe range) as a decimal string. */
  private emitterSeq(): string | null {
    const f = this.field(A.ATTR_AUDIT_EMITTER_SEQ, undefined);
    if (!f) return null;
    const v = f.value;
    let n: bigint;
    if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
    else if (typeof v === 'string' && /^-?\d{1,30}$/.test(v)) n = BigInt(v);
    else return fail(`${f.name} has type ${typeName(v)}; expected a positive integer`);
    if (n <= 0n || n > MAX_EMITTER_SEQ) fail(`${f.name} ${n.toString()} is out of range (1..${MAX_EMITTER_SEQ})`);
    return n.toString();
  }

  private serviceName(resource: DecodedAttributes): string {
    const v = own(resource, A.ATTR_SERVICE_NAME);
    if (!isPresent(v)) return UNKNOWN_SERVICE;
    const name = `resource attribute ${A.ATTR_SERVICE_NAME}`;
    if (typeof v !== 'string') return fail(`${name} has type ${typeName(v)}; expected a string`);
    return this.storable(v, name, 'service_name');
  }

  /** Unused record attributes, then `resource` (without service.name, which has its column) and `scope`. */
  /**
   * The resource part of the attributes column. The records of one request
   * share one decoded resource object (the wire decoder decodes it once), so
   * its checked, cleaned form is kept per object: checked once per request,
   * not once per record. A resource that fails a check is not kept (each of
   * its records is rejected with the reason).
   */
  private cleanResource(resource: DecodedAttributes): Record<string, unknown> {
    const cached = CLEAN_RESOURCES.get(resource);
    if (cached && cached.limits === this.limitsKey) {
      for (const note of cached.notes) this.alter('attributes', note);
      return cached.value;
    }
    const notesBefore = this.notes.length;
    const res: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource)) {
      if (k === A.ATTR_SERVICE_NAME && typeof v === 'string' && v !== '') continue;
      const key = this.storable(k, `resource attribute key ${quote(k)}`, 'attributes');
      setOwn(res, key, this.clean(v, `resource attribute ${displayKey(k)}`, 'attributes', 0));
    }
    CLEAN_RESOURCES.set(resource, { limits: this.limitsKey, value: res, notes: this.notes.slice(notesBefore) });
    return res;
  }

  private attributesColumn(resource: DecodedAttributes, scope: DecodedScope): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.attrs)) {
      if (this.used.has(k)) continue;
      const name = displayKey(k);
      const key = this.storable(k, `attribute key ${quote(k)}`, 'attributes');
      setOwn(out, RESERVED_ATTRIBUTE_KEYS.has(key) ? RESERVED_RENAME_PREFIX + key : key, this.clean(v, name, 'attributes', 0));
    }
    out['resource'] = this.cleanResource(resource);
    const sc: Record<string, unknown> = {
      name: this.clean(scope?.name ?? '', 'scope.name', 'attributes', 0),
      version: this.clean(scope?.version ?? '', 'scope.version', 'attributes', 0),
    };
    const scopeAttrs = isMap(scope?.attributes) ? scope.attributes : {};
    if (Object.keys(scopeAttrs).length > 0) sc['attributes'] = this.clean(scopeAttrs, 'scope.attributes', 'attributes', 0);
    out['scope'] = sc;
    return out;
  }
}

/** Body keys of an SDK record that map to columns or are handled by {@link RowBuilder.addBodyExtras}. */
const KNOWN_BODY_KEYS = new Set([
  'action',
  'outcome',
  'actor',
  'tenant_id',
  'resource',
  'module',
  'level',
  'http',
  'duration_ms',
  'error',
  'request',
  'change',
  'meta',
  'incomplete',
]);

// ---------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------

function spanDurationMs(start: string, end: string): number | null {
  if (!/^\d{1,30}$/.test(start) || !/^\d{1,30}$/.test(end)) return null;
  const s = BigInt(start);
  const e = BigInt(end);
  if (s <= 0n || e < s) return null;
  return Number(e - s) / 1e6;
}

/** The outcome of a span without `audit.outcome`, by the same rules as the SDK's server spans. */
function spanOutcome(span: DecodedSpan, statusCode: number | null): AuditRow['outcome'] {
  return outcomeOf(statusCode, span.status?.code === STATUS_ERROR || hasException(span));
}

function hasException(span: DecodedSpan): boolean {
  return Array.isArray(span.events) && span.events.some((e) => e?.name === 'exception');
}

function spanErrorMessage(span: DecodedSpan): string | undefined {
  const exception = Array.isArray(span.events) ? span.events.find((e) => e?.name === 'exception') : undefined;
  const fromException = exception ? own(asAttributes(exception.attributes), 'exception.message') : undefined;
  if (typeof fromException === 'string' && fromException !== '') return fromException;
  const fromStatus = span.status?.message;
  return typeof fromStatus === 'string' && fromStatus !== '' ? fromStatus : undefined;
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

function checkTraceId(id: unknown): string {
  const hex = typeof id === 'string' ? id.toLowerCase() : '';
  if (!/^[0-9a-f]{32}$/.test(hex) || /^0+$/.test(hex)) {
    fail(`missing or invalid trace id (expected 32 hex digits, not all zero; got ${describeId(id)})`);
  }
  return hex;
}

function checkSpanId(id: unknown): string {
  const hex = typeof id === 'string' ? id.toLowerCase() : '';
  if (!/^[0-9a-f]{16}$/.test(hex) || /^0+$/.test(hex)) {
    fail(`missing or invalid span id (expected 16 hex digits, not all zero; got ${describeId(id)})`);
  }
  return hex;
}

function describeId(id: unknown): string {
  return typeof id === 'string' ? (id === '' ? 'none' : quote(id)) : typeName(id);
}

// Unpaired surrogates: with the `u` flag, a class of surrogates matches only lone ones.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;

/** The first 16 hex digits of the SHA-256 of `s` (UTF-8): tells cut values apart. */
function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16);
}

/**
 * `s` (free of unpaired surrogates, `bytes` long in UTF-8) cut to at most
 * `maxBytes` UTF-8 bytes, ending in `…[cut: <bytes> bytes, sha256 <16 hex>]`
 * (only `…` when the limit is smaller than the marker).
 */
function cutBytes(s: string, bytes: number, maxBytes: number): string {
  let marker = `…[cut: ${bytes} bytes, sha256 ${shortHash(s)}]`;
  let budget = maxBytes - Buffer.byteLength(marker, 'utf8');
  if (budget < 0) {
    marker = '…';
    budget = Math.max(0, maxBytes - 3);
  }
  const buf = Buffer.from(s, 'utf8');
  let end = budget;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end) + marker;
}

/** `s` (`length` code points) cut to `maxChars` code points, ending in `…[cut: <length> characters, sha256 <16 hex>]`. */
function cutChars(s: string, length: number, maxChars: number): string {
  const marker = `…[cut: ${length} characters, sha256 ${shortHash(s)}]`;
  const keep = Math.max(0, maxChars - codePoints(marker));
  return Array.from(s).slice(0, keep).join('') + marker;
}

function oneOf<T extends string>(value: string | null, name: string, allowed: readonly T[]): T {
  if (value !== null && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(`${name} ${quote(value ?? '')} is not one of ${allowed.join(', ')}`);
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** OTLP-style name of a decoded value's type. */
function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int' : 'double';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return 'kvlist';
  return typeof v;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function asAttributes(v: unknown): DecodedAttributes {
  return isMap(v) ? v : {};
}

/** An own property (never one inherited from Object.prototype). */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets an own property, also for the key `__proto__`. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A value quoted for a reason: JSON-escaped (NUL and lone surrogates become escapes), at most 64 characters. */
function quote(s: string): string {
  const cut = s.length > 64 ? `${s.slice(0, 64)}…` : s;
  return JSON.stringify(cut);
}

/** An attribute key as reasons show it: bare when plain, quoted otherwise. */
function displayKey(k: string): string {
  return /^[\w.\-:/@]{1,128}$/.test(k) ? k : quote(k);
}

/** The name of `parent`'s member `key`: `parent.key`, or `parent["odd key"]`. */
function childName(parent: string, key: string): string {
  return /^[\w-]{1,64}$/.test(key) ? `${parent}.${key}` : `${parent}[${quote(key)}]`;
}

// ---------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------

function rejected(err: unknown, input: unknown): LogOutcome {
  const reason =
    err instanceof RowError ? err.message : `internal: ${sanitizeText(err instanceof Error ? err.message : String(err))}`;
  const rejection: RowRejection = { reason };
  const record = jsonSafe(input);
  if (record !== undefined) rejection.record = record;
  return { kind: 'rejected', rejection };
}

/** Text that Postgres can store: NUL and unpaired surrogates escaped, at most 1000 characters. */
function sanitizeText(s: string): string {
  return escapeUnstorable(s.length > 1000 ? `${s.slice(0, 1000)}…` : s);
}

/**
 * A copy of a decoded record that jsonb accepts, for `audit.rejected.record`:
 * strings and keys sanitised as in {@link sanitizeText} (without the length
 * cap), non-finite numbers as names, nesting cut at a fixed depth. Undefined
 * when even that fails.
 */
function jsonSafe(input: unknown): unknown {
  const copy = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return escapeUnstorable(v);
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'boolean' || v === null || v === undefined) return v ?? null;
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    if (depth >= MAX_JSON_DEPTH * 2) return '[nested too deep]';
    if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, escapeUnstorable(k), copy(x, depth + 1));
      return out;
    }
    return String(v);
  };
  try {
    return copy(input, 0);
  } catch {
    return undefined;
  }
}

function escapeUnstorable(s: string): string {
  if (!s.includes('\u0000') && !LONE_SURROGATE.test(s)) return s;
  return s.replaceAll('\u0000', '\\u0000').replace(/[\uD800-\uDFFF]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
