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

function parseJson(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function compact(obj: Record<string, JsonValue | undefined>): { [key: string]: JsonValue } | undefined {
  const out: { [key: string]: JsonValue } = {};
  let n = 0;
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    out[k] = v;
    n++;
  }
  return n > 0 ? out : undefined;
}

/**
 * The `audit.*` span/log attributes of a fragment. Levels decide what is
 * kept: `minimal` is who/what/when/outcome only, `basic` drops the request
 * body (the tagger already left it out), `full` keeps everything.
 */
export function fragmentAttributes(f: AuditFragment): Record<string, AuditAttributeValue> {
  const minimal = f.level === 'minimal';
  const attrs: Record<string, AuditAttributeValue | undefined> = {
    [A.ATTR_AUDIT_ACTION]: f.action,
    [A.ATTR_AUDIT_OUTCOME]: f.outcome ?? 'success',
    [A.ATTR_AUDIT_ACTOR_ID]: f.actor?.id,
    [A.ATTR_AUDIT_ACTOR_NAME]: f.actor?.name,
    [A.ATTR_AUDIT_ACTOR_TYPE]: f.actor?.type ?? 'anonymous',
    [A.ATTR_AUDIT_TENANT_ID]: f.tenant,
    [A.ATTR_AUDIT_RESOURCE_TYPE]: f.resourceType,
    [A.ATTR_AUDIT_RESOURCE_ID]: f.resourceId,
    [A.ATTR_AUDIT_MODULE]: f.module,
    [A.ATTR_AUDIT_LEVEL]: f.level,
    [A.ATTR_AUDIT_ERROR_MESSAGE]: f.error,
    [A.ATTR_HTTP_REQUEST_METHOD]: f.http?.method,
    [A.ATTR_HTTP_ROUTE]: f.http?.route,
    [A.ATTR_URL_PATH]: f.http?.path,
    [A.ATTR_HTTP_RESPONSE_STATUS_CODE]: f.http?.statusCode,
    [A.ATTR_CLIENT_ADDRESS]: f.http?.clientAddress,
    [A.ATTR_AUDIT_DURATION_MS]: f.durationMs,
  };
  if (!minimal) {
    attrs[A.ATTR_AUDIT_REQUEST] = f.request;
    attrs[A.ATTR_AUDIT_CHANGE_BEFORE] = f.before;
    attrs[A.ATTR_AUDIT_CHANGE_AFTER] = f.after;
    attrs[A.ATTR_USER_AGENT_ORIGINAL] = f.http?.userAgent;
    for (const [k, v] of Object.entries(f.meta ?? {})) attrs[A.ATTR_AUDIT_META_PREFIX + k] = v;
  }
  if (f.attemptedPrincipal) attrs[`${A.ATTR_AUDIT_META_PREFIX}attempted_principal`] = true;
  const out: Record<string, AuditAttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** Build the finished record of a merged fragment. */
export function buildRecord(f: AuditFragment, ctx: RecordContext): AuditRecord {
  const attributes = fragmentAttributes(f);
  attributes[A.ATTR_AUDIT_EMITTER_ID] = ctx.emitterId;
  attributes[A.ATTR_AUDIT_EMITTER_SEQ] = ctx.emitterSeq;
  if (ctx.incomplete) attributes[A.ATTR_AUDIT_INCOMPLETE] = true;
  const minimal = f.level === 'minimal';
  const body = compact({
    action: f.action,
    outcome: f.outcome ?? 'success',
    actor: compact({ id: f.actor?.id, name: f.actor?.name, type: f.actor?.type ?? 'anonymous' }),
    tenant_id: f.tenant,
    resource: compact({ type: f.resourceType, id: f.resourceId }),
    module: f.module,
    level: f.level,
    http: compact({
      method: f.http?.method,
      route: f.http?.route,
      path: f.http?.path,
      status_code: f.http?.statusCode,
      client_address: f.http?.clientAddress,
      user_agent: minimal ? undefined : f.http?.userAgent,
    }),
    duration_ms: f.durationMs,
    error: f.error,
    request: minimal ? undefined : parseJson(f.request),
    change: minimal ? undefined : compact({ before: parseJson(f.before), after: parseJson(f.after) }),
    meta: minimal ? undefined : compact({ ...(f.meta ?? {}) }),
    incomplete: ctx.incomplete ? true : undefined,
  }) ?? {};
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
