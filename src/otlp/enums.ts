/** Enumerations of the OTLP trace protocol, by their protobuf names. */

/** OTLP `Span.SpanKind` values. */
export const OtlpSpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP `Status.StatusCode` values. */
export const OtlpStatusCode = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
} as const;

const SEVERITY_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;

/**
 * The protobuf names of the OTLP enums, which OTLP/JSON may carry instead of
 * the numbers (`SEVERITY_NUMBER_INFO2`, `SPAN_KIND_SERVER`,
 * `STATUS_CODE_ERROR`), by enum.
 */
export const OTLP_ENUM_NAMES: Readonly<Record<'severityNumber' | 'spanKind' | 'statusCode', Readonly<Record<string, number>>>> = Object.freeze({
  severityNumber: Object.freeze(Object.fromEntries([
    ['SEVERITY_NUMBER_UNSPECIFIED', 0],
    ...SEVERITY_LEVELS.flatMap((level, i) => [1, 2, 3, 4].map((n) => [`SEVERITY_NUMBER_${level}${n === 1 ? '' : n}`, i * 4 + n] as const)),
  ])),
  spanKind: Object.freeze(Object.fromEntries(Object.entries(OtlpSpanKind).map(([name, n]) => [`SPAN_KIND_${name}`, n]))),
  statusCode: Object.freeze(Object.fromEntries(Object.entries(OtlpStatusCode).map(([name, n]) => [`STATUS_CODE_${name}`, n]))),
});
