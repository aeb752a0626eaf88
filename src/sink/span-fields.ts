/**
 * What a span says about its operation when its attributes do not: duration,
 * outcome and error message.
 */
import { outcomeOf, type Outcome } from '../contract/values.js';
import type { DecodedSpan, DecodedSpanEvent } from '../otlp/decoded-types.js';
import { asAttributes, own } from './decoded-values.js';

/** OTLP status code ERROR. */
const STATUS_ERROR = 2;
/** Name of the span event that records an exception (semantic conventions). */
const EXCEPTION_EVENT = 'exception';
const ATTR_EXCEPTION_MESSAGE = 'exception.message';
const NANOS_PER_MS = 1e6;

/** From start to end, ms; null when either is invalid or the span ends before it starts. */
export function spanDurationMs(start: string, end: string): number | null {
  if (!/^\d{1,30}$/.test(start) || !/^\d{1,30}$/.test(end)) return null;
  const s = BigInt(start);
  const e = BigInt(end);
  if (s <= 0n || e < s) return null;
  return Number(e - s) / NANOS_PER_MS;
}

/** The outcome of a span without `audit.outcome`, by the same rules as the SDK's server spans. */
export function spanOutcome(span: DecodedSpan, statusCode: number | null): Outcome {
  return outcomeOf(statusCode, span.status?.code === STATUS_ERROR || exceptionEvent(span) !== undefined);
}

function exceptionEvent(span: DecodedSpan): DecodedSpanEvent | undefined {
  return Array.isArray(span.events) ? span.events.find((e) => e?.name === EXCEPTION_EVENT) : undefined;
}

/** The message of the span's exception event, else of its status. */
export function spanErrorMessage(span: DecodedSpan): string | undefined {
  const exception = exceptionEvent(span);
  const fromException = exception ? own(asAttributes(exception.attributes), ATTR_EXCEPTION_MESSAGE) : undefined;
  if (typeof fromException === 'string' && fromException !== '') return fromException;
  const fromStatus = span.status?.message;
  return typeof fromStatus === 'string' && fromStatus !== '' ? fromStatus : undefined;
}
