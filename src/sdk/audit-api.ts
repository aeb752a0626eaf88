import { diag } from '@opentelemetry/api';
import type { Actor } from './actor.js';
import type { AuditFragment } from './fragment.js';
import { getActiveProcessor } from './global.js';
import { toText } from './record-values.js';
import type { AuditActorInput, AuditMetaValue, AuditRecordInput, AuditSetInput } from './types.js';

let warnedInactive = false;
let apiErrors = 0;

function inactive(): void {
  if (warnedInactive) return;
  warnedInactive = true;
  diag.warn('otel-audit: audit API called but the audit SDK is not started (use --import otel-audit/register or startAudit())');
}

let unconverted = 0;

/** A value the API cannot turn into text was left out: reported once, then counted. */
function dropped(what: string, v: unknown): undefined {
  unconverted++;
  if (unconverted === 1 || unconverted % 10_000 === 0) {
    diag.warn(`otel-audit: audit API ${what} of type ${v === null ? 'null' : typeof v} cannot be recorded and was left out (${unconverted} so far)`);
  }
  return undefined;
}

/**
 * An id, name, tenant or resource type as text: strings as they are;
 * numbers (finite) and bigints in decimal; valid Dates as ISO 8601;
 * booleans as `true`/`false`; objects with a `toString` of their own
 * (database ids such as MongoDB's ObjectId) as that string. Anything else
 * is left out (reported).
 */
function idText(what: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const t = toText(v);
  if (t !== undefined) return t;
  if (typeof v === 'object') {
    const own = (v as { toString?: unknown }).toString;
    if (typeof own === 'function' && own !== Object.prototype.toString && own !== Array.prototype.toString) {
      try {
        const s: unknown = own.call(v);
        if (typeof s === 'string') return s;
      } catch {
        // a throwing toString: left out below
      }
    }
  }
  return dropped(what, v);
}

/**
 * Meta values: strings, booleans and finite numbers as they are; bigints
 * in decimal, valid Dates as ISO 8601 strings; anything else is left out
 * (reported).
 */
function cleanMeta(meta: Record<string, unknown> | undefined): Record<string, AuditMetaValue> | undefined {
  if (meta === null || typeof meta !== 'object') return undefined;
  const out: Record<string, AuditMetaValue> = {};
  for (const [k, v] of Object.entries(meta)) {
    let value: AuditMetaValue | undefined;
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) value = v;
    else if (v !== undefined) value = toText(v) ?? dropped(`meta value "${k.slice(0, 64)}"`, v);
    if (value !== undefined) Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function actorOf(input: AuditActorInput | undefined): Actor | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const actor: Actor = { type: input.type === 'service' || input.type === 'anonymous' ? input.type : 'user' };
  const id = idText('actor id', input.id);
  if (id !== undefined) actor.id = id;
  const name = idText('actor name', input.name);
  if (name !== undefined) actor.name = name;
  return actor;
}

function resourceOf(input: { type?: unknown; id?: unknown } | undefined): { type?: string; id?: string } | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const out: { type?: string; id?: string } = {};
  const type = idText('resource type', input.type);
  if (type !== undefined) out.type = type;
  const id = idText('resource id', input.id);
  if (id !== undefined) out.id = id;
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
 * (the server request the active span belongs to); the same action in the
 * same request is the same record, so middleware and handler describing one
 * operation never produce two, and two requests sharing a trace id never
 * produce one. Ids and meta values are converted to text here; calls past
 * the per-operation bound are ignored. Never throws into the caller.
 */
export const audit = {
  /** Describe (or enrich) an audited operation of the current request. */
  record(input: AuditRecordInput): void {
    guard(() => {
      const receiver = getActiveProcessor();
      if (!receiver) return inactive();
      if (!input || typeof input.action !== 'string' || input.action.length === 0) {
        diag.warn('otel-audit: audit.record() needs an action; ignored');
        return;
      }
      // Past the operation's bound nothing of the call is looked at.
      if (receiver.admit && !receiver.admit()) return;
      const f: AuditFragment = { source: 'manual', action: input.action };
      const resource = resourceOf(input.resource);
      if (resource?.type !== undefined) f.resourceType = resource.type;
      if (resource?.id !== undefined) f.resourceId = resource.id;
      const actor = actorOf(input.actor);
      if (actor) f.actor = actor;
      const tenant = idText('tenant', input.tenant);
      if (tenant !== undefined) f.tenant = tenant;
      if (input.outcome) f.outcome = input.outcome;
      // Snapshot now: the caller may mutate these objects afterwards.
      if (input.before !== undefined) f.before = receiver.sanitize(input.before);
      if (input.after !== undefined) f.after = receiver.sanitize(input.after);
      const meta = cleanMeta(input.meta);
      if (meta) f.meta = meta;
      receiver.addFragment(f);
    });
  },

  /** Enrich the current operation's record (actor, tenant, resource, meta); never creates a record. */
  set(input: AuditSetInput): void {
    guard(() => {
      const receiver = getActiveProcessor();
      if (!receiver) return inactive();
      if (input === null || typeof input !== 'object') return;
      if (receiver.admit && !receiver.admit()) return;
      const clean: AuditSetInput = {};
      const actor = actorOf(input.actor);
      if (actor) clean.actor = actor;
      const tenant = idText('tenant', input.tenant);
      if (tenant !== undefined) clean.tenant = tenant;
      const resource = resourceOf(input.resource);
      if (resource) clean.resource = resource;
      if (input.outcome) clean.outcome = input.outcome;
      if (input.before !== undefined) clean.before = input.before;
      if (input.after !== undefined) clean.after = input.after;
      const meta = cleanMeta(input.meta);
      if (meta) clean.meta = meta;
      receiver.enrich(clean, true);
    });
  },
};
