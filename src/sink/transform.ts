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
 * Strings anywhere in a row must be storable by Postgres `text`/`jsonb`: no
 * NUL characters, no U+FFFD (what the decoder makes of invalid UTF-8), no
 * unpaired surrogates, and no longer than {@link TransformLimits.maxValueBytes}.
 */
import { isIP } from 'node:net';
import * as A from '../sdk/attributes.js';
import type { DecodedAttributes, DecodedLogRecord, DecodedScope, DecodedSpan } from '../otlp/schema.js';
import type { AuditRow, RowRejection } from './row.js';

export interface TransformLimits {
  /** Largest single string value (or key), UTF-8 bytes. Default 65536. */
  maxValueBytes: number;
  /** Largest row, as JSON, UTF-8 bytes. Default 1048576. */
  maxRecordBytes: number;
}

export const DEFAULT_LIMITS: TransformLimits = Object.freeze({ maxValueBytes: 65_536, maxRecordBytes: 1_048_576 });

export type LogOutcome =
  | { kind: 'row'; row: AuditRow }
  | { kind: 'ignored' }
  | { kind: 'rejected'; rejection: RowRejection };

/** Longest `audit.action`, in characters (code points). */
export const MAX_ACTION_LENGTH = 256;
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
const OUTCOMES = ['success', 'failure', 'denied'] as const;
const ACTOR_TYPES = ['user', 'service', 'anonymous'] as const;
/** Largest `bigint` Postgres stores (emitter_seq). */
const MAX_BIGINT = 9_223_372_036_854_775_807n;
/** 9999-12-31T23:59:59.999999999Z: the last instant with a four-digit year. */
const MAX_ISO_NANOS = 253_402_300_799_999_999_999n;
/** OTLP status code ERROR. */
const STATUS_ERROR = 2;
/** Top-level keys of the attributes column that the sink fills itself. */
const RESERVED_ATTRIBUTE_KEYS = new Set(['resource', 'scope', 'body']);
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
    return { kind: 'row', row: builder.finish(row) };
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
      if (message !== undefined) row.attributes[A.ATTR_AUDIT_ERROR_MESSAGE] = builder.clean(message, 'span error message', 0);
    }
    return { kind: 'row', row: builder.finish(row) };
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

/** Cleaned resource attributes per decoded resource object, and the limits they were checked with. */
const CLEAN_RESOURCES = new WeakMap<object, { limits: string; value: Record<string, unknown> }>();

class RowBuilder {
  /** Attribute keys whose values went into columns (left out of the attributes column). */
  private readonly used = new Set<string>();

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
    const actorId = this.text(this.field(A.ATTR_AUDIT_ACTOR_ID, ['actor', 'id']), true);
    const actorName = this.text(this.field(A.ATTR_AUDIT_ACTOR_NAME, ['actor', 'name']));
    const actorTypeField = this.field(A.ATTR_AUDIT_ACTOR_TYPE, ['actor', 'type']);
    const actorType = actorTypeField
      ? oneOf(this.text(actorTypeField), actorTypeField.name, ACTOR_TYPES)
      : actorId !== null
        ? 'user'
        : 'anonymous';
    const tenantId = this.text(this.field(A.ATTR_AUDIT_TENANT_ID, ['tenant_id']), true);
    const resourceType = this.text(this.field(A.ATTR_AUDIT_RESOURCE_TYPE, ['resource', 'type']));
    const resourceId = this.text(this.field(A.ATTR_AUDIT_RESOURCE_ID, ['resource', 'id']), true);
    const module = this.text(this.field(A.ATTR_AUDIT_MODULE, ['module']));
    const level = this.text(this.field(A.ATTR_AUDIT_LEVEL, ['level']));
    const httpMethod = this.text(this.field(A.ATTR_HTTP_REQUEST_METHOD, ['http', 'method']));
    const httpRoute = this.text(this.field(A.ATTR_HTTP_ROUTE, ['http', 'route']));
    const urlPath = this.text(this.field(A.ATTR_URL_PATH, ['http', 'path']));
    const statusCode = this.statusCode();
    const clientIp = this.clientIp();
    const userAgent = this.text(this.field(A.ATTR_USER_AGENT_ORIGINAL, ['http', 'user_agent']));
    const durationMs = this.duration() ?? input.durationMs;
    const request = this.json(this.field(A.ATTR_AUDIT_REQUEST, ['request']));
    const changeBefore = this.json(this.field(A.ATTR_AUDIT_CHANGE_BEFORE, ['change', 'before']));
    const changeAfter = this.json(this.field(A.ATTR_AUDIT_CHANGE_AFTER, ['change', 'after']));
    const emitterId = this.emitterId();
    const emitterSeq = this.emitterSeq();
    const outcome = outcomeField
      ? oneOf(this.text(outcomeField), outcomeField.name, OUTCOMES)
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
      out['body'] = this.clean(body, 'body', 0);
      return;
    }
    const addIfAbsent = (key: string, value: unknown, name: string): void => {
      if (value === undefined || value === null || own(this.attrs, key) !== undefined) return;
      setOwn(out, key, this.clean(value, name, 0));
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
    if (n > 0) out['body'] = this.clean(unknown, 'body', 0);
  }

  /** Checks the size of the whole row. */
  finish(row: AuditRow): AuditRow {
    const bytes = Buffer.byteLength(JSON.stringify(row), 'utf8');
    if (bytes > this.limits.maxRecordBytes) {
      fail(`record is ${bytes} bytes as JSON; the limit is ${this.limits.maxRecordBytes}`);
    }
    return row;
  }

  /**
   * A JSON-storable copy of `value`: strings checked, non-finite numbers as
   * their names (`NaN`, `Infinity`; jsonb has no such numbers), keys checked.
   */
  clean(value: unknown, name: string, depth: number): unknown {
    if (typeof value === 'string') {
      this.checkString(value, name);
      return value;
    }
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (typeof value === 'boolean' || value === null || value === undefined) return value ?? null;
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (depth >= MAX_JSON_DEPTH) fail(`${name} is nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) return value.map((v, i) => this.clean(v, `${name}[${i}]`, depth + 1));
    if (typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        this.checkString(k, `key ${quote(k)} in ${name}`);
        setOwn(out, k, this.clean(v, childName(name, k), depth + 1));
      }
      return out;
    }
    return fail(`${name} has type ${typeof value}, which cannot be stored`);
  }

  private checkString(s: string, name: string): void {
    checkString(s, name, this.limits.maxValueBytes);
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

  /** A string column; integers are accepted (as decimal strings) where `integers` says so. */
  private text(f: Field | undefined, integers = false): string | null {
    if (!f) return null;
    const v = f.value;
    if (typeof v === 'string') {
      this.checkString(v, f.name);
      return v;
    }
    if (integers && typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    return fail(`${f.name} has type ${typeName(v)}; expected a string`);
  }

  private action(): string {
    const f = this.field(A.ATTR_AUDIT_ACTION, ['action']);
    if (!f) return fail(`missing ${A.ATTR_AUDIT_ACTION}: an audit record must name its action`);
    const action = this.text(f) ?? '';
    const length = codePoints(action);
    if (length > MAX_ACTION_LENGTH) fail(`${f.name} is ${length} characters; the limit is ${MAX_ACTION_LENGTH}`);
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
    const address = this.text(f);
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
  private json(f: Field | undefined): unknown {
    if (!f) return null;
    if (typeof f.value !== 'string') return this.clean(f.value, f.name, 0);
    this.checkString(f.value, f.name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.value);
    } catch {
      return f.value;
    }
    return this.clean(parsed, f.name, 0);
  }

  private emitterId(): string | null {
    const f = this.field(A.ATTR_AUDIT_EMITTER_ID, undefined);
    const id = this.text(f);
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
    if (n <= 0n || n > MAX_BIGINT) fail(`${f.name} ${n.toString()} is not a positive 64-bit integer`);
    return n.toString();
  }

  private serviceName(resource: DecodedAttributes): string {
    const v = own(resource, A.ATTR_SERVICE_NAME);
    if (!isPresent(v)) return UNKNOWN_SERVICE;
    const name = `resource attribute ${A.ATTR_SERVICE_NAME}`;
    if (typeof v !== 'string') return fail(`${name} has type ${typeName(v)}; expected a string`);
    this.checkString(v, name);
    return v;
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
    if (cached && cached.limits === this.limitsKey) return cached.value;
    const res: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource)) {
      if (k === A.ATTR_SERVICE_NAME && typeof v === 'string' && v !== '') continue;
      this.checkString(k, `resource attribute key ${quote(k)}`);
      setOwn(res, k, this.clean(v, `resource attribute ${displayKey(k)}`, 0));
    }
    CLEAN_RESOURCES.set(resource, { limits: this.limitsKey, value: res });
    return res;
  }

  private attributesColumn(resource: DecodedAttributes, scope: DecodedScope): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.attrs)) {
      if (this.used.has(k)) continue;
      const name = displayKey(k);
      this.checkString(k, `attribute key ${quote(k)}`);
      setOwn(out, RESERVED_ATTRIBUTE_KEYS.has(k) ? RESERVED_RENAME_PREFIX + k : k, this.clean(v, name, 0));
    }
    out['resource'] = this.cleanResource(resource);
    const sc: Record<string, unknown> = {
      name: this.clean(scope?.name ?? '', 'scope.name', 0),
      version: this.clean(scope?.version ?? '', 'scope.version', 0),
    };
    const scopeAttrs = isMap(scope?.attributes) ? scope.attributes : {};
    if (Object.keys(scopeAttrs).length > 0) sc['attributes'] = this.clean(scopeAttrs, 'scope.attributes', 0);
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
  if (statusCode === 401 || statusCode === 403) return 'denied';
  if (span.status?.code === STATUS_ERROR || hasException(span) || (statusCode !== null && statusCode >= 400)) {
    return 'failure';
  }
  return 'success';
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

/** A string Postgres can store as text and jsonb, within the size limit. */
function checkString(s: string, name: string, maxBytes: number): void {
  if (s.includes('\u0000')) fail(`${name} contains a NUL character`);
  if (s.includes('\uFFFD')) fail(`${name} contains invalid UTF-8 (U+FFFD)`);
  if (LONE_SURROGATE.test(s)) fail(`${name} contains an unpaired surrogate (invalid Unicode)`);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: skip the count for short strings.
  if (s.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > maxBytes) fail(`value of ${name} is ${bytes} bytes; the limit is ${maxBytes}`);
  }
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
