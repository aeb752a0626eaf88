/**
 * Turns decoded OTLP log records and spans into rows of `audit.records`.
 *
 * Pure functions, no I/O. Every input ends as exactly one outcome: a row, an
 * `ignored` (not an audit record at all), or a rejection whose reason names
 * the field at fault. Nothing here throws.
 *
 * Sources, in order of precedence:
 * - log records (event name `audit`): the `audit.*` and semantic-convention
 *   attributes, else the same fields in the body (the record as a map);
 * - spans following the attribute convention (`audit.action` set, no
 *   `audit.emitter.id`): the span attributes, with timing and outcome derived
 *   from the span when the attributes do not say.
 *
 * Values that cannot be stored verbatim do not cost the record: a row is
 * stored sanitised and flagged (see {@link SANITIZED_ATTRIBUTE}). NUL
 * characters and unpaired surrogates become U+FFFD; a string over
 * {@link TransformLimits.maxValueBytes} (or an indexed column over its own
 * limit) is cut, ending in a visible marker with its original size and
 * SHA-256; JSON nested deeper than `MAX_JSON_DEPTH` (transform-limits.ts) is cut the same way.
 * Every value of a row is thereby one the database accepts: a batch never
 * fails in the database because of one value. Wrong types, values outside
 * the contract's allowed values (outcome, actor type, level), missing ids and
 * out-of-range machine fields (emitter id and sequence) are still rejected.
 */
import * as A from '../contract/attributes.js';
import type { DecodedAttributes, DecodedLogRecord, DecodedScope, DecodedSpan } from '../otlp/decoded-types.js';
import { addBodyExtras, SANITIZED_ATTRIBUTE } from './attributes-column.js';
import { asAttributes, isMap, isPresent, own, setOwn } from './decoded-values.js';
import { fitRecord } from './record-size.js';
import { RowBuilder, type BuildInput } from './row-builder.js';
import { checkSpanId, checkTime, checkTraceId, RowError } from './row-checks.js';
import type { AuditRow, RowRejection } from './row.js';
import { Sanitizer, type Sanitization } from './sanitizer.js';
import { spanDurationMs, spanErrorMessage, spanOutcome } from './span-fields.js';
import { escapedCopy, sanitizeText } from './storable.js';
import { DEFAULT_LIMITS, type TransformLimits } from './transform-limits.js';

export type LogOutcome =
  | { kind: 'row'; row: AuditRow; sanitized?: Sanitization }
  | { kind: 'ignored' }
  | { kind: 'rejected'; rejection: RowRejection };

/** `event.name` attribute: how emitters before the LogRecord `eventName` field marked events. */
const ATTR_EVENT_NAME = 'event.name';

const IGNORED: LogOutcome = Object.freeze({ kind: 'ignored' });

/** Where a row comes from: the record's fields and what its envelope says. */
interface Source extends Omit<BuildInput, 'traceId' | 'spanId' | 'occurredAt' | 'resource'> {
  attrs: DecodedAttributes;
  body: Record<string, unknown> | undefined;
  traceId: unknown;
  spanId: unknown;
  /** Candidate timestamps, field name → Unix nanoseconds, in order of preference. */
  times: Record<string, string>;
  resource: unknown;
  scope: DecodedScope;
}

/**
 * The row of `source`, flagged when sanitised, or the rejection of `input`.
 * `complete` adds what only one kind of source has to the built row.
 */
function toRow(input: unknown, source: Source, limits: TransformLimits, complete: (row: AuditRow, s: Sanitizer) => void): LogOutcome {
  try {
    const traceId = checkTraceId(source.traceId);
    const spanId = checkSpanId(source.spanId);
    const occurredAt = checkTime(source.times);
    const s = new Sanitizer(limits);
    const row = new RowBuilder(source.attrs, source.body, s).build({
      ...source,
      traceId,
      spanId,
      occurredAt,
      resource: asAttributes(source.resource),
    });
    complete(row, s);
    fitRecord(row, s);
    const sanitized = s.sanitization(input);
    if (sanitized === undefined) return { kind: 'row', row };
    setOwn(row.attributes, SANITIZED_ATTRIBUTE, s.alteredColumns());
    return { kind: 'row', row, sanitized };
  } catch (err) {
    return rejected(err, input);
  }
}

/**
 * A log record as a row. Only audit records (event name `audit`, or attribute
 * `event.name` = `audit` from older emitters) become rows; any other log
 * record is `ignored`.
 */
export function logRecordToRow(rec: DecodedLogRecord, limits: TransformLimits = DEFAULT_LIMITS): LogOutcome {
  const attrs = asAttributes(rec.attributes);
  if (rec.eventName !== A.AUDIT_EVENT_NAME && own(attrs, ATTR_EVENT_NAME) !== A.AUDIT_EVENT_NAME) return IGNORED;
  const source: Source = {
    attrs,
    body: isMap(rec.body) ? rec.body : undefined,
    traceId: rec.traceId,
    spanId: rec.spanId,
    times: { timeUnixNano: rec.timeUnixNano, observedTimeUnixNano: rec.observedTimeUnixNano },
    resource: rec.resource,
    scope: rec.scope,
    durationMs: null,
    outcome: () => 'success',
  };
  return toRow(rec, source, limits, (row, s) => addBodyExtras(rec.body, attrs, row.attributes, s));
}

/**
 * A span as a row. Spans without `audit.action` are `ignored`, and so are spans
 * carrying `audit.emitter.id`: those were tagged by the otel-audit SDK, whose
 * record of the operation arrives separately as a log record.
 */
export function spanToRow(span: DecodedSpan, limits: TransformLimits = DEFAULT_LIMITS): LogOutcome {
  const attrs = asAttributes(span.attributes);
  if (!isPresent(own(attrs, A.ATTR_AUDIT_ACTION))) return IGNORED;
  const emitter = own(attrs, A.ATTR_AUDIT_EMITTER_ID);
  if (emitter !== undefined && emitter !== null) return IGNORED;
  const source: Source = {
    attrs,
    body: undefined,
    traceId: span.traceId,
    spanId: span.spanId,
    times: { startTimeUnixNano: span.startTimeUnixNano },
    resource: span.resource,
    scope: span.scope,
    durationMs: spanDurationMs(span.startTimeUnixNano, span.endTimeUnixNano),
    outcome: (statusCode) => spanOutcome(span, statusCode),
  };
  return toRow(span, source, limits, (row, s) => {
    if (row.outcome !== 'failure' || isPresent(own(attrs, A.ATTR_AUDIT_ERROR_MESSAGE))) return;
    const message = spanErrorMessage(span);
    if (message !== undefined) row.attributes[A.ATTR_AUDIT_ERROR_MESSAGE] = s.clean(message, 'span error message', 'attributes');
  });
}

/** The rejection of `input`: a failed check's reason, or an unexpected error as `internal: …`. */
function rejected(err: unknown, input: unknown): LogOutcome {
  const reason =
    err instanceof RowError ? err.message : `internal: ${sanitizeText(err instanceof Error ? err.message : String(err))}`;
  const rejection: RowRejection = { reason };
  const record = escapedCopy(input);
  if (record !== undefined) rejection.record = record;
  return { kind: 'rejected', rejection };
}
