import type { Actor } from './actor.js';
import type { AuditLevel, AuditMetaValue, AuditOutcome } from './types.js';

/** HTTP facts of the operation (semantic-convention attributes). */
export interface HttpFacts {
  method?: string;
  route?: string;
  path?: string;
  statusCode?: number;
  clientAddress?: string;
  userAgent?: string;
}

/**
 * One description of an audited operation: the automatic one derived from a
 * server span, or one from `audit.record()`. Fragments of one operation (one
 * server request) are merged into records by {@link mergeFragments}.
 */
export interface AuditFragment {
  source: 'auto' | 'manual';
  action: string;
  resourceType?: string;
  resourceId?: string;
  actor?: Actor;
  tenant?: string;
  outcome?: AuditOutcome;
  error?: string;
  module?: string;
  level?: AuditLevel;
  /** Sanitised, capped JSON. */
  request?: string;
  /** Sanitised, capped JSON. */
  before?: string;
  /** Sanitised, capped JSON. */
  after?: string;
  meta?: Record<string, AuditMetaValue>;
  /** `audit.ui.*` entries of the request's baggage (keys without the prefix), already bounded and redacted. */
  ui?: Record<string, string>;
  http?: HttpFacts;
  /** Span that describes the operation. */
  spanId?: string;
  traceFlags?: number;
  /** Start of the operation, Unix ms. */
  startMs?: number;
  /** Start of the operation, Unix nanoseconds as a decimal string (exact, from the span). */
  startNs?: string;
  durationMs?: number;
  /** Principal taken from a login body rather than an authenticated identity. */
  attemptedPrincipal?: boolean;
  /** The operation had not finished when the record was made (still running, or aborted). */
  incomplete?: boolean;
  /** The connection closed before the response was complete. */
  aborted?: boolean;
  /** Manual API calls of the operation ignored past its bound. */
  manualIgnored?: number;
  /** Id of the transactional outbox row written for this (action, resource) (`audit.inTransaction`). */
  outboxId?: string;
}

function sameResource(a: AuditFragment, b: AuditFragment): boolean {
  if (a.resourceId !== undefined && b.resourceId !== undefined) {
    return a.resourceId === b.resourceId && (a.resourceType === b.resourceType || !a.resourceType || !b.resourceType);
  }
  // A fragment with an unknown resource id merges into the same-action record.
  if (a.resourceType && b.resourceType && a.resourceType !== b.resourceType) return false;
  return true;
}

/** Fields of `over` that are set win over those of `base`; a known resource id wins over an unknown one. */
function mergeInto(base: AuditFragment, over: AuditFragment): AuditFragment {
  const out: AuditFragment = { ...base };
  for (const [k, v] of Object.entries(over) as [keyof AuditFragment, unknown][]) {
    if (v === undefined || k === 'meta' || k === 'ui' || k === 'http' || k === 'source') continue;
    if (k === 'actor' && (v as Actor).type === 'anonymous' && base.actor && base.actor.type !== 'anonymous') continue;
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  if (base.meta || over.meta) out.meta = { ...base.meta, ...over.meta };
  if (base.ui || over.ui) out.ui = { ...base.ui, ...over.ui };
  if (base.http || over.http) out.http = { ...base.http, ...over.http };
  if (base.source === 'auto' || over.source === 'auto') {
    // Timing and span identity of the operation come from its server span.
    const auto = base.source === 'auto' ? base : over;
    if (auto.spanId) out.spanId = auto.spanId;
    if (auto.startMs !== undefined) out.startMs = auto.startMs;
    if (auto.startNs !== undefined) out.startNs = auto.startNs;
    if (auto.durationMs !== undefined) out.durationMs = auto.durationMs;
    out.source = 'auto';
  }
  if (base.resourceId !== undefined && over.resourceId === undefined) out.resourceId = base.resourceId;
  if (!over.resourceType && base.resourceType) out.resourceType = base.resourceType;
  return out;
}

/**
 * Merge the fragments of one operation (one server request, never a whole
 * trace) into records: one per (action, resource).
 * Manual fragments are applied after automatic ones, so what the handler says
 * wins over what was derived from the request.
 */
export function mergeFragments(fragments: readonly AuditFragment[]): AuditFragment[] {
  const ordered = [...fragments.filter((f) => f.source === 'auto'), ...fragments.filter((f) => f.source === 'manual')];
  const records: AuditFragment[] = [];
  for (const f of ordered) {
    const i = records.findIndex((r) => r.action === f.action && sameResource(r, f));
    if (i < 0) records.push({ ...f });
    else records[i] = mergeInto(records[i] as AuditFragment, f);
  }
  return records;
}

/** Fields a record takes from its operation's server span when it has none of its own. */
const OPERATION_FIELDS = [
  'actor', 'tenant', 'outcome', 'error', 'module', 'level', 'request',
  'spanId', 'traceFlags', 'startMs', 'startNs', 'durationMs', 'attemptedPrincipal',
] as const satisfies readonly (keyof AuditFragment)[];

function inherit<K extends keyof AuditFragment>(out: AuditFragment, ctx: AuditFragment, key: K): void {
  if (out[key] === undefined && ctx[key] !== undefined) out[key] = ctx[key];
}

/** Apply the operation's context (from its server span) to a record that lacks it. */
export function withDefaults(record: AuditFragment, ctx: AuditFragment | undefined): AuditFragment {
  if (!ctx || ctx === record) return record;
  const out: AuditFragment = { ...record, http: { ...ctx.http, ...record.http } };
  for (const key of OPERATION_FIELDS) inherit(out, ctx, key);
  return out;
}
