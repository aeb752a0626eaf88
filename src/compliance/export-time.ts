/**
 * The time bounds of an export (`--from`, `--to`): ISO 8601 dates or
 * timestamps, kept to the microsecond (Postgres' precision), normalised to
 * UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
 */

/** A parsed bound: its normalised text (microseconds) and its instant in milliseconds. */
export interface TimeBound {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, what Postgres is given and what manifests say. */
  iso: string;
  /** Milliseconds since the epoch (the microseconds below the millisecond are cut off). */
  ms: number;
  /** Microseconds since the epoch, exact: for comparing bounds. */
  us: bigint;
}

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses `2026-11-01` (midnight UTC), `2026-11-01T08:30`, `2026-11-01T08:30:15`,
 * `2026-11-01T08:30:15.123456Z`, `2026-11-01 08:30:15+02:00`, … A timestamp
 * without a zone is UTC. Fractions beyond microseconds must be zeros (Postgres
 * keeps microseconds: a finer bound would be rounded). Throws a readable error.
 */
export function parseTimeBound(text: string, name = 'time'): TimeBound {
  const m = PATTERN.exec(text.trim());
  if (!m) {
    throw new Error(`${name} "${text}" is not an ISO 8601 date or timestamp (e.g. 2026-11-01 or 2026-11-01T08:30:00Z)`);
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new Error(`${name} "${text}" is not a valid date and time`);
  }
  if (fraction.length > 6 && !/^0+$/.test(fraction.slice(6))) {
    throw new Error(`${name} "${text}": Postgres keeps microseconds; give at most 6 fractional digits`);
  }
  const micros = (fraction + '000000').slice(0, 6);
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) throw new Error(`${name} "${text}": bad time zone offset ${zone}`);
    offsetMinutes = sign * (oh * 60 + om);
  }
  const date = new Date(0);
  // setUTCFullYear takes years below 100 literally (Date.UTC would add 1900).
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const seconds = date.getTime();
  if (!Number.isFinite(seconds) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) {
    throw new Error(`${name} "${text}" is out of range (years 0001 to 9999)`);
  }
  const iso = `${date.toISOString().slice(0, 19)}.${micros}Z`;
  return { iso, ms: seconds + Math.floor(Number(micros) / 1000), us: BigInt(seconds) * 1000n + BigInt(Number(micros)) };
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}
