/** A value of a flat record attribute. */
export type AuditAttributeValue = string | number | boolean;


/**
 * One finished audit record, as it is queued, spooled and exported. Plain
 * JSON: a spool line is exactly `JSON.stringify(record)`.
 */
export interface AuditRecord {
  /** 32 lowercase hex. */
  traceId: string;
  /** 16 lowercase hex: the operation's server span. */
  spanId: string;
  /** W3C trace flags of that span (1 = sampled for the APM). */
  traceFlags: number;
  /** When the operation started (server span start), Unix nanoseconds as a decimal string. */
  timeUnixNano: string;
  /** When the record was finished, Unix nanoseconds as a decimal string. */
  observedTimeUnixNano: string;
  /**
   * The whole record: `audit.*` keys, semantic-convention keys, emitter id
   * and seq. There is no body (spool lines written by 0.1 carry one; it is
   * not read).
   */
  attributes: Record<string, AuditAttributeValue>;
  /** Resource attributes of the emitting process (service.name, ...). */
  resource: Record<string, AuditAttributeValue>;
}

/** Unix milliseconds (fractional) → nanoseconds as a decimal string. */
export function msToNanoString(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

/** Nanoseconds as a decimal string → OpenTelemetry HrTime. */
export function nanoStringToHrTime(ns: string): [number, number] {
  let n: bigint;
  try {
    n = BigInt(ns);
  } catch {
    n = 0n;
  }
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}
