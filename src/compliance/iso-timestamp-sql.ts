/**
 * SQL that prints a timestamptz as ISO 8601 in UTC with microseconds
 * (`2026-11-01T08:30:15.123456Z`), whatever the session's time zone and
 * DateStyle: how digests hash a time and how exports write it.
 */
export function isoTimestampSql(expr: string): string {
  return `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
