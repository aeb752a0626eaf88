/**
 * Reads a record's fields (its attributes, else its body) into the columns
 * of a row, checking each against its column's rules.
 */
import { isIP } from 'node:net';
import * as A from '../contract/attributes.js';
import { ACTOR_TYPES, LEVELS, OUTCOMES } from '../contract/values.js';
import type { DecodedAttributes, DecodedScope } from '../otlp/decoded-types.js';
import { attributesColumn } from './attributes-column.js';
import { codePoints, isMap, isPresent, own, quote, typeName } from './decoded-values.js';
import { fail, oneOf } from './row-checks.js';
import type { AuditRow } from './row.js';
import type { Sanitizer } from './sanitizer.js';
import { cutChars } from './storable.js';
import { MAX_ACTION_LENGTH, MAX_EMITTER_ID_LENGTH, MAX_EMITTER_SEQ, MAX_INDEXED_BYTES, MAX_RESOURCE_TYPE_LENGTH } from './transform-limits.js';

/**
 * Actions beginning with this prefix are otel-audit's own operation records
 * (`audit.export`, `audit.verify`, `audit.retention`, `audit.erase`,
 * `audit.view`): written by its commands in the database, never accepted
 * over OTLP.
 */
export const RESERVED_ACTION_PREFIX = 'audit.';
const UNKNOWN_SERVICE = 'unknown_service';
/** Lowest and highest HTTP status code stored in `status_code`. */
const MIN_STATUS_CODE = 100;
const MAX_STATUS_CODE = 599;

/** A value read for a column, with where it came from. */
interface Field {
  value: unknown;
  /** How reasons name it: the attribute key, or `body.<path>`. */
  name: string;
  /** The attribute key, when the value came from the attributes. */
  attrKey: string | undefined;
}

/** What a row takes from its source besides the record's fields. */
export interface BuildInput {
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

export class RowBuilder {
  /** Attribute keys whose values went into columns (left out of the attributes column). */
  private readonly used = new Set<string>();

  constructor(
    private readonly attrs: DecodedAttributes,
    private readonly body: Record<string, unknown> | undefined,
    private readonly sanitizer: Sanitizer,
  ) {}

  build(input: BuildInput): AuditRow {
    const action = this.action();
    const outcomeField = this.field(A.ATTR_AUDIT_OUTCOME, ['outcome']);
    const actorId = this.text(this.field(A.ATTR_AUDIT_ACTOR_ID, ['actor', 'id']), 'actor_id', true, MAX_INDEXED_BYTES);
    const actorName = this.text(this.field(A.ATTR_AUDIT_ACTOR_NAME, ['actor', 'name']), 'actor_name');
    const actorType = this.choice(this.field(A.ATTR_AUDIT_ACTOR_TYPE, ['actor', 'type']), 'actor_type', ACTOR_TYPES) ?? (actorId !== null ? 'user' : 'anonymous');
    const tenantId = this.text(this.field(A.ATTR_AUDIT_TENANT_ID, ['tenant_id']), 'tenant_id', true, MAX_INDEXED_BYTES);
    const resourceType = this.limitChars(this.field(A.ATTR_AUDIT_RESOURCE_TYPE, ['resource', 'type']), 'resource_type', MAX_RESOURCE_TYPE_LENGTH);
    const resourceId = this.text(this.field(A.ATTR_AUDIT_RESOURCE_ID, ['resource', 'id']), 'resource_id', true, MAX_INDEXED_BYTES);
    const module = this.text(this.field(A.ATTR_AUDIT_MODULE, ['module']), 'module');
    const level = this.choice(this.field(A.ATTR_AUDIT_LEVEL, ['level']), 'level', LEVELS) ?? null;
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
    const outcome = this.choice(outcomeField, 'outcome', OUTCOMES) ?? input.outcome(statusCode);
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
      attributes: attributesColumn(this.attrs, this.used, input.resource, input.scope, this.sanitizer),
      emitterId,
      emitterSeq,
    };
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
  private text(f: Field | undefined, column: string, integers = false, maxBytes = this.sanitizer.limits.maxValueBytes): string | null {
    if (!f) return null;
    const v = f.value;
    if (typeof v === 'string') return this.sanitizer.storable(v, f.name, column, Math.min(maxBytes, this.sanitizer.limits.maxValueBytes));
    if (integers && typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    return fail(`${f.name} has type ${typeName(v)}; expected a string`);
  }

  /** A column of allowed values (the contract's): undefined when absent; any other value refuses the record. */
  private choice<T extends string>(f: Field | undefined, column: string, allowed: readonly T[]): T | undefined {
    return f ? oneOf(this.text(f, column), f.name, allowed) : undefined;
  }

  /** A string column of at most `maxChars` characters (code points): longer ones are cut, with a marker. */
  private limitChars(f: Field | undefined, column: string, maxChars: number): string | null {
    const s = this.text(f, column);
    if (s === null || !f) return s;
    const length = codePoints(s);
    if (length <= maxChars) return s;
    this.sanitizer.alter(column, `${f.name}: ${length} characters, cut to ${maxChars}`);
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
    if (n >= MIN_STATUS_CODE && n <= MAX_STATUS_CODE) return n;
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
    if (typeof f.value !== 'string') return this.sanitizer.clean(f.value, f.name, column);
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.value);
    } catch {
      return this.sanitizer.storable(f.value, f.name, column);
    }
    // An oversize JSON text is cut as text (its members may each be small).
    if (this.sanitizer.overValueLimit(f.value)) return this.sanitizer.storable(f.value, f.name, column);
    return this.sanitizer.clean(parsed, f.name, column);
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
    return this.sanitizer.storable(v, name, 'service_name');
  }
}
