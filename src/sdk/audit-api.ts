import { diag } from '@opentelemetry/api';
import type { Actor } from './actor.js';
import type { AuditFragment } from './fragment.js';
import { getActiveProcessor } from './global.js';
import type { AuditMetaValue, AuditRecordInput, AuditSetInput } from './types.js';

let warnedInactive = false;
let apiErrors = 0;

function inactive(): void {
  if (warnedInactive) return;
  warnedInactive = true;
  diag.warn('otel-audit: audit API called but the audit SDK is not started (use --import otel-audit/register or startAudit())');
}

function cleanMeta(meta: Record<string, AuditMetaValue> | undefined): Record<string, AuditMetaValue> | undefined {
  if (!meta) return undefined;
  const out: Record<string, AuditMetaValue> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
  }
  return out;
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    apiErrors++;
    if (apiErrors === 1) diag.error('otel-audit: audit API error (the call was ignored)', err);
  }
}

/**
 * The manual audit API. Calls enrich the record of the current operation
 * (the active trace); the same action in the same trace is the same record,
 * so middleware and handler describing one operation never produce two.
 * Never throws into the caller.
 */
export const audit = {
  /** Describe (or enrich) an audited operation of the current trace. */
  record(input: AuditRecordInput): void {
    guard(() => {
      const sink = getActiveProcessor();
      if (!sink) return inactive();
      if (!input || typeof input.action !== 'string' || input.action.length === 0) {
        diag.warn('otel-audit: audit.record() needs an action; ignored');
        return;
      }
      const f: AuditFragment = { source: 'manual', action: input.action };
      if (input.resource?.type !== undefined) f.resourceType = String(input.resource.type);
      if (input.resource?.id !== undefined && input.resource.id !== null) f.resourceId = String(input.resource.id);
      if (input.actor) f.actor = { ...input.actor, type: input.actor.type ?? 'user' } as Actor;
      if (input.tenant !== undefined) f.tenant = input.tenant;
      if (input.outcome) f.outcome = input.outcome;
      // Snapshot now: the caller may mutate these objects afterwards.
      if (input.before !== undefined) f.before = sink.sanitize(input.before);
      if (input.after !== undefined) f.after = sink.sanitize(input.after);
      const meta = cleanMeta(input.meta);
      if (meta) f.meta = meta;
      sink.addFragment(f);
    });
  },

  /** Enrich the current operation's record (actor, tenant, resource, meta); never creates a record. */
  set(input: AuditSetInput): void {
    guard(() => {
      const sink = getActiveProcessor();
      if (!sink) return inactive();
      const meta = cleanMeta(input.meta);
      sink.enrich(meta ? { ...input, meta } : { ...input, meta: undefined }, true);
    });
  },
};
