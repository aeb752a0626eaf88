/** `audit.set()`: enrichments of the current operation's record, and applying them. */

import type { Actor } from './actor.js';
import type { AuditFragment } from './fragment.js';
import { toText } from './record-values.js';
import type { AuditMetaValue, AuditSetInput } from './types.js';

/**
 * The fragment of an `audit.set()` call. Values arrive converted by the API;
 * they are converted again here for direct callers. With `sanitize`, change
 * values pass through `sanitize` (redaction and size cap); without it they
 * are left out.
 */
export function enrichmentOf(input: AuditSetInput, sanitize: ((value: unknown) => string | undefined) | undefined): AuditFragment {
  const f: AuditFragment = { source: 'manual', action: '' };
  if (input.actor) {
    const actor: Actor = { type: input.actor.type ?? 'user' };
    const id = toText(input.actor.id);
    if (id !== undefined) actor.id = id;
    const name = toText(input.actor.name);
    if (name !== undefined) actor.name = name;
    f.actor = actor;
  }
  const tenant = toText(input.tenant);
  if (tenant !== undefined) f.tenant = tenant;
  const resourceType = toText(input.resource?.type);
  if (resourceType !== undefined) f.resourceType = resourceType;
  const resourceId = toText(input.resource?.id);
  if (resourceId !== undefined) f.resourceId = resourceId;
  if (input.outcome) f.outcome = input.outcome;
  if (sanitize && input.before !== undefined) f.before = sanitize(input.before);
  if (sanitize && input.after !== undefined) f.after = sanitize(input.after);
  if (input.meta) {
    const meta: Record<string, AuditMetaValue> = {};
    for (const [k, v] of Object.entries(input.meta)) {
      const value = typeof v === 'boolean' || typeof v === 'number' ? v : toText(v);
      if (value !== undefined) Object.defineProperty(meta, k, { value, enumerable: true, writable: true, configurable: true });
    }
    f.meta = meta;
  }
  return f;
}

/** An automatic fragment with the operation's enrichments applied, in the order they were made. */
export function applyEnrichment(f: AuditFragment, enrich: readonly AuditFragment[]): AuditFragment {
  let out = f;
  for (const e of enrich) {
    out = {
      ...out,
      ...(e.actor ? { actor: e.actor, attemptedPrincipal: false } : {}),
      ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
      ...(e.resourceType !== undefined ? { resourceType: e.resourceType } : {}),
      ...(e.resourceId !== undefined ? { resourceId: e.resourceId } : {}),
      ...(e.outcome ? { outcome: e.outcome } : {}),
      ...(e.before !== undefined ? { before: e.before } : {}),
      ...(e.after !== undefined ? { after: e.after } : {}),
      ...(e.meta ? { meta: { ...out.meta, ...e.meta } } : {}),
    };
  }
  return out;
}
