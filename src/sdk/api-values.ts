/**
 * The values of the manual API (`audit.record`, `audit.set`,
 * `audit.inTransaction`) as the record takes them: ids as text, meta values
 * as scalars; anything that cannot be recorded is left out and counted.
 */
import { diag } from '@opentelemetry/api';
import type { Actor } from './actor.js';
import { toText } from './record-values.js';
import type { AuditActorInput, AuditMetaValue } from './types.js';

let unconverted = 0;

/** A value the API cannot turn into text was left out: reported once, then counted. */
export function dropped(what: string, v: unknown): undefined {
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
export function idText(what: string, v: unknown): string | undefined {
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
export function cleanMeta(meta: Record<string, unknown> | undefined): Record<string, AuditMetaValue> | undefined {
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

export function actorOf(input: AuditActorInput | undefined): Actor | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const actor: Actor = { type: input.type === 'service' || input.type === 'anonymous' ? input.type : 'user' };
  const id = idText('actor id', input.id);
  if (id !== undefined) actor.id = id;
  const name = idText('actor name', input.name);
  if (name !== undefined) actor.name = name;
  return actor;
}

export function resourceOf(input: { type?: unknown; id?: unknown } | undefined): { type?: string; id?: string } | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const out: { type?: string; id?: string } = {};
  const type = idText('resource type', input.type);
  if (type !== undefined) out.type = type;
  const id = idText('resource id', input.id);
  if (id !== undefined) out.id = id;
  return out;
}
