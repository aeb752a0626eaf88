import * as A from './attributes.js';
import type { AuditFragment } from './fragment.js';
import { msToNanoString, type AuditAttributeValue, type AuditRecord, type JsonValue } from './record.js';

/** Everything a record needs beyond its merged fragment. */
export interface RecordContext {
  traceId: string;
  emitterId: string;
  emitterSeq: number;
  resource: Record<string, AuditAttributeValue>;
  /** Flushed before the trace ended (timeout, memory bound, shutdown). */
  incomplete?: boolean;
  nowMs: number;
}

type Attrs = Record<string, AuditAttributeValue>;

function put(out: Attrs, key: string, v: AuditAttributeValue | undefined): void {
  if (v !== undefined && v !== '') out[key] = v;
}

/**
 * Who did what to which resource, with what outcome: the attributes the
 * operation's server span is tagged with, so that the APM shows them too.
 * Request and change values stay off the span (they are for the audit
 * record only, and would otherwise reach every trace backend).
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
 * The `audit.*` log attributes of a fragment. Levels decide what is kept:
 * `minimal` is who/what/when/outcome only, `basic` drops the request body
 * (the tagger already left it out), `full` keeps everything. Written key by
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
  if (f.level !== 'minimal') {
    put(out, A.ATTR_AUDIT_REQUEST, f.request);
    put(out, A.ATTR_AUDIT_CHANGE_BEFORE, f.before);
    put(out, A.ATTR_AUDIT_CHANGE_AFTER, f.after);
    put(out, A.ATTR_USER_AGENT_ORIGINAL, http?.userAgent);
    if (f.meta) for (const k in f.meta) put(out, A.ATTR_AUDIT_META_PREFIX + k, f.meta[k]);
  }
  if (f.attemptedPrincipal) out[`${A.ATTR_AUDIT_META_PREFIX}attempted_principal`] = true;
  return out;
}

/** Build the finished record of a merged fragment. */
export function buildRecord(f: AuditFragment, ctx: RecordContext): AuditRecord {
  const attributes = fragmentAttributes(f);
  attributes[A.ATTR_AUDIT_EMITTER_ID] = ctx.emitterId;
  attributes[A.ATTR_AUDIT_EMITTER_SEQ] = ctx.emitterSeq;
  if (ctx.incomplete) attributes[A.ATTR_AUDIT_INCOMPLETE] = true;
  const minimal = f.level === 'minimal';
  // Built key by key (this runs once per record). Request and change values
  // stay the capped JSON text they already are, instead of being parsed back.
  const body: { [key: string]: JsonValue } = { action: f.action, outcome: f.outcome ?? 'success' };
  const actor: { [key: string]: JsonValue } = { type: f.actor?.type ?? 'anonymous' };
  if (f.actor?.id !== undefined) actor['id'] = f.actor.id;
  if (f.actor?.name !== undefined) actor['name'] = f.actor.name;
  body['actor'] = actor;
  if (f.tenant !== undefined) body['tenant_id'] = f.tenant;
  if (f.resourceType !== undefined || f.resourceId !== undefined) {
    const resource: { [key: string]: JsonValue } = {};
    if (f.resourceType !== undefined) resource['type'] = f.resourceType;
    if (f.resourceId !== undefined) resource['id'] = f.resourceId;
    body['resource'] = resource;
  }
  if (f.module !== undefined) body['module'] = f.module;
  if (f.level !== undefined) body['level'] = f.level;
  const h = f.http;
  if (h) {
    const http: { [key: string]: JsonValue } = {};
    if (h.method !== undefined) http['method'] = h.method;
    if (h.route !== undefined) http['route'] = h.route;
    if (h.path !== undefined) http['path'] = h.path;
    if (h.statusCode !== undefined) http['status_code'] = h.statusCode;
    if (h.clientAddress !== undefined) http['client_address'] = h.clientAddress;
    if (!minimal && h.userAgent !== undefined) http['user_agent'] = h.userAgent;
    body['http'] = http;
  }
  if (f.durationMs !== undefined) body['duration_ms'] = f.durationMs;
  if (f.error !== undefined) body['error'] = f.error;
  if (!minimal) {
    if (f.request !== undefined) body['request'] = f.request;
    if (f.before !== undefined || f.after !== undefined) {
      const change: { [key: string]: JsonValue } = {};
      if (f.before !== undefined) change['before'] = f.before;
      if (f.after !== undefined) change['after'] = f.after;
      body['change'] = change;
    }
    if (f.meta && Object.keys(f.meta).length > 0) body['meta'] = { ...f.meta };
  }
  if (ctx.incomplete) body['incomplete'] = true;
  return {
    traceId: ctx.traceId,
    spanId: f.spanId ?? '0000000000000000',
    traceFlags: f.traceFlags ?? 0,
    timeUnixNano: f.startNs ?? msToNanoString(f.startMs ?? ctx.nowMs),
    observedTimeUnixNano: msToNanoString(ctx.nowMs),
    attributes,
    body,
    resource: ctx.resource,
  };
}
