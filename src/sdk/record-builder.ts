import type { Actor } from './actor.js';
import * as A from '../contract/attributes.js';
import { levelContents } from '../contract/values.js';
import type { AuditFragment, HttpFacts } from './fragment.js';
import { msToNanoString, type AuditAttributeValue, type AuditRecord } from './record.js';
import { REDACTED, sensitiveKeyTest, TRUNCATION_MARKER } from './redact.js';
import {
  cleanErrorText, cleanName, cleanText, MAX_META_KEY_LENGTH, MAX_META_KEYS, storableJson, toText, unreservedAction,
  type RecordValueLimits,
} from './record-values.js';
import type { AuditMetaValue } from './types.js';

/** Everything a record needs beyond its merged fragment. */
export interface RecordContext {
  traceId: string;
  emitterId: string;
  emitterSeq: number;
  resource: Record<string, AuditAttributeValue>;
  /** Flushed before the operation ended (timeout, memory bound, shutdown). */
  incomplete?: boolean;
  nowMs: number;
  /** Bounds of the record's values. Default: 4096 bytes, the built-in redaction keys. */
  limits?: RecordValueLimits;
}

let defaultLimits: RecordValueLimits | undefined;

/** Limits of the default configuration (`maxValueBytes` 4096, built-in keys). */
export function defaultRecordLimits(): RecordValueLimits {
  defaultLimits ??= { maxValueBytes: 4096, isSensitive: sensitiveKeyTest([]) };
  return defaultLimits;
}

type Attrs = Record<string, AuditAttributeValue>;

function put(out: Attrs, key: string, v: AuditAttributeValue | undefined): void {
  if (v !== undefined && v !== '') out[key] = v;
}

function text(v: unknown, max: number): string | undefined {
  const t = toText(v);
  return t === undefined || t === '' ? undefined : cleanText(t, max);
}

function cleanMeta(meta: Record<string, AuditMetaValue>, limits: RecordValueLimits): Record<string, AuditMetaValue> | undefined {
  const out: Record<string, AuditMetaValue> = {};
  let kept = 0;
  let more = 0;
  for (const rawKey of Object.keys(meta)) {
    const raw: unknown = meta[rawKey];
    let value: AuditMetaValue | undefined;
    if (typeof raw === 'boolean' || (typeof raw === 'number' && Number.isFinite(raw))) value = raw;
    else value = text(raw, limits.maxValueBytes);
    if (value === undefined) continue;
    if (kept >= MAX_META_KEYS) {
      more++;
      continue;
    }
    const key = cleanText(rawKey, MAX_META_KEY_LENGTH);
    if (limits.isSensitive(key)) value = REDACTED;
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    kept++;
  }
  if (more > 0) out['truncated'] = `${TRUNCATION_MARKER}: ${more} more keys]`;
  return kept > 0 ? out : undefined;
}

function cleanHttp(h: HttpFacts, max: number): HttpFacts {
  const out: HttpFacts = {};
  const method = text(h.method, 64);
  if (method !== undefined) out.method = method;
  const route = text(h.route, max);
  if (route !== undefined) out.route = route;
  const path = text(h.path, max);
  if (path !== undefined) out.path = path;
  if (typeof h.statusCode === 'number' && Number.isInteger(h.statusCode)) out.statusCode = h.statusCode;
  const client = text(h.clientAddress, max);
  if (client !== undefined) out.clientAddress = client;
  const ua = text(h.userAgent, max);
  if (ua !== undefined) out.userAgent = ua;
  return out;
}

/**
 * The fragment with every value a record may carry: strings storable (NUL
 * and lone surrogates become U+FFFD) and capped at `maxValueBytes` with a
 * `…[truncated N chars]` marker; action and resource type dotted lower case
 * and bounded; ids converted to text (bigint, number, Date); meta values
 * masked by key, at most {@link MAX_META_KEYS} keys; error messages masked
 * for `key=value` pairs of sensitive keys. Every record and every span tag
 * is built from this form.
 */
export function sanitizeFragment(f: AuditFragment, limits: RecordValueLimits): AuditFragment {
  const max = limits.maxValueBytes;
  const out: AuditFragment = { ...f, action: unreservedAction(cleanName(toText(f.action) ?? '') ?? 'unknown') };
  if (f.resourceType !== undefined) {
    const t = cleanName(toText(f.resourceType) ?? '');
    if (t === undefined) delete out.resourceType;
    else out.resourceType = t;
  }
  if (f.resourceId !== undefined) {
    const id = text(f.resourceId, max);
    if (id === undefined) delete out.resourceId;
    else out.resourceId = id;
  }
  if (f.actor) {
    const actor: Actor = { type: (text(f.actor.type, 64) ?? 'anonymous') as Actor['type'] };
    const id = text(f.actor.id, max);
    if (id !== undefined) actor.id = id;
    const name = text(f.actor.name, max);
    if (name !== undefined) actor.name = name;
    out.actor = actor;
  }
  if (f.tenant !== undefined) {
    const tenant = text(f.tenant, max);
    if (tenant === undefined) delete out.tenant;
    else out.tenant = tenant;
  }
  if (f.module !== undefined) {
    const module = text(f.module, max);
    if (module === undefined) delete out.module;
    else out.module = module;
  }
  if (f.error !== undefined) {
    const error = toText(f.error);
    if (error === undefined || error === '') delete out.error;
    else out.error = cleanErrorText(error, limits);
  }
  if (f.request !== undefined) out.request = storableJson(f.request);
  if (f.before !== undefined) out.before = storableJson(f.before);
  if (f.after !== undefined) out.after = storableJson(f.after);
  if (f.meta) {
    const meta = cleanMeta(f.meta, limits);
    if (meta) out.meta = meta;
    else delete out.meta;
  }
  if (f.http) out.http = cleanHttp(f.http, max);
  return out;
}

/**
 * Who did what to which resource, with what outcome: the attributes the
 * operation's server span is tagged with, so that the APM shows them too.
 * Request and change values stay off the span (they are for the audit
 * record only, and would otherwise reach every trace backend). Takes a
 * fragment already passed through {@link sanitizeFragment}.
 */
export function spanAttributes(f: AuditFragment): Attrs {
  const out: Attrs = {};
  put(out, A.ATTR_AUDIT_ACTION, f.action);
  put(out, A.ATTR_AUDIT_OUTCOME, f.outcome ?? 'success');
  put(out, A.ATTR_AUDIT_ACTOR_ID, f.actor?.id);
  put(out, A.ATTR_AUDIT_ACTOR_NAME, f.actor?.name);
  put(out, A.ATTR_AUDIT_ACTOR_TYPE, f.actor?.type ?? 'anonymous');
  put(out, A.ATTR_AUDIT_TENANT_ID, f.tenant);
  put(out, A.ATTR_AUDIT_RESOURCE_TYPE, f.resourceType);
  put(out, A.ATTR_AUDIT_RESOURCE_ID, f.resourceId);
  put(out, A.ATTR_AUDIT_MODULE, f.module);
  put(out, A.ATTR_AUDIT_LEVEL, f.level);
  return out;
}

/**
 * The `audit.*` log attributes of a fragment. Its level decides what is
 * kept ({@link levelContents}; the tagger already left out a request body
 * that `basic` does not hold). Written key by
 * key into one object: this runs once per record.
 */
export function fragmentAttributes(f: AuditFragment): Attrs {
  const out = spanAttributes(f);
  put(out, A.ATTR_AUDIT_ERROR_MESSAGE, f.error);
  const http = f.http;
  if (http) {
    put(out, A.ATTR_HTTP_REQUEST_METHOD, http.method);
    put(out, A.ATTR_HTTP_ROUTE, http.route);
    put(out, A.ATTR_URL_PATH, http.path);
    put(out, A.ATTR_HTTP_RESPONSE_STATUS_CODE, http.statusCode);
    put(out, A.ATTR_CLIENT_ADDRESS, http.clientAddress);
  }
  put(out, A.ATTR_AUDIT_DURATION_MS, f.durationMs);
  const holds = levelContents(f.level);
  if (holds.request) put(out, A.ATTR_AUDIT_REQUEST, f.request);
  if (holds.details) {
    put(out, A.ATTR_AUDIT_CHANGE_BEFORE, f.before);
    put(out, A.ATTR_AUDIT_CHANGE_AFTER, f.after);
    put(out, A.ATTR_USER_AGENT_ORIGINAL, http?.userAgent);
    if (f.meta) for (const k in f.meta) put(out, A.ATTR_AUDIT_META_PREFIX + k, f.meta[k]);
    if (f.ui) for (const k in f.ui) put(out, A.ATTR_AUDIT_UI_PREFIX + k, f.ui[k]);
  }
  if (f.attemptedPrincipal) out[`${A.ATTR_AUDIT_META_PREFIX}attempted_principal`] = true;
  put(out, A.ATTR_AUDIT_OUTBOX_ID, f.outboxId);
  return out;
}

/** Build the finished record of a merged fragment; every value passes {@link sanitizeFragment}. */
export function buildRecord(raw: AuditFragment, ctx: RecordContext): AuditRecord {
  const f = sanitizeFragment(raw, ctx.limits ?? defaultRecordLimits());
  const incomplete = ctx.incomplete === true || f.incomplete === true;
  const attributes = fragmentAttributes(f);
  attributes[A.ATTR_AUDIT_EMITTER_ID] = ctx.emitterId;
  attributes[A.ATTR_AUDIT_EMITTER_SEQ] = ctx.emitterSeq;
  if (incomplete) attributes[A.ATTR_AUDIT_INCOMPLETE] = true;
  if (f.aborted) attributes[A.ATTR_AUDIT_ABORTED] = true;
  if (f.manualIgnored) attributes[A.ATTR_AUDIT_MANUAL_IGNORED] = f.manualIgnored;
  return {
    traceId: ctx.traceId,
    spanId: f.spanId ?? '0000000000000000',
    traceFlags: f.traceFlags ?? 0,
    timeUnixNano: f.startNs ?? msToNanoString(f.startMs ?? ctx.nowMs),
    observedTimeUnixNano: msToNanoString(ctx.nowMs),
    attributes,
    resource: ctx.resource,
  };
}
