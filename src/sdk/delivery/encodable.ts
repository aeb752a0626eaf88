import type { AuditRecord } from '../record.js';

/** Deepest body nesting accepted (the SDK's bodies are three levels deep). */
const MAX_DEPTH = 16;

function scalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function json(v: unknown, depth: number): boolean {
  if (v === null || scalar(v)) return true;
  if (depth >= MAX_DEPTH || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.every((x) => json(x, depth + 1));
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) if (!json((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

function flat(attrs: unknown): boolean {
  if (attrs === null || typeof attrs !== 'object') return false;
  for (const k in attrs) if (!scalar((attrs as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * True when a record can be encoded as it is, as a spool line and as an
 * OTLP log record: ids and times are strings, attribute and resource values
 * are strings, booleans or finite numbers, the body is plain JSON (no
 * bigint, undefined, function, class instance or cycle). A cheap walk, no
 * serialisation.
 */
export function isEncodable(r: AuditRecord): boolean {
  try {
    return (
      r !== null &&
      typeof r === 'object' &&
      typeof r.traceId === 'string' &&
      typeof r.spanId === 'string' &&
      typeof r.traceFlags === 'number' &&
      typeof r.timeUnixNano === 'string' &&
      typeof r.observedTimeUnixNano === 'string' &&
      flat(r.attributes) &&
      flat(r.resource) &&
      r.body !== null &&
      typeof r.body === 'object' &&
      json(r.body, 0)
    );
  } catch {
    // A throwing getter or a revoked proxy: not encodable either.
    return false;
  }
}
