import type { AuditRecord } from '../record.js';

function scalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function flat(attrs: unknown): boolean {
  if (attrs === null || typeof attrs !== 'object') return false;
  for (const k in attrs) if (!scalar((attrs as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * True when a record can be encoded as it is, as a spool line and as an
 * OTLP log record: ids and times are strings, attribute and resource values
 * are strings, booleans or finite numbers (no bigint, undefined, object or
 * function). A cheap walk, no serialisation.
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
      flat(r.resource)
    );
  } catch {
    // A throwing getter or a revoked proxy: not encodable either.
    return false;
  }
}
