/**
 * Makes the values of one row storable and remembers what that altered: the
 * columns (flagged on the row) and a note per alteration (the reason kept
 * with the raw input in `audit.rejected`).
 */
import { childName, quote, setOwn } from './decoded-values.js';
import { fail } from './row-checks.js';
import { cutBytes, escapedCopy, jsonScalar, LONE_SURROGATE, LONE_SURROGATES, NOT_SCALAR, shortHash } from './storable.js';
import { MAX_JSON_DEPTH, type TransformLimits } from './transform-limits.js';

/** Bytes a UTF-16 code unit takes in UTF-8 at most. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** What was altered to make a row storable: the reason kept with its raw input, and a storable copy of the input. */
export interface Sanitization {
  /** `sanitized: <field>: <what>; …` */
  reason: string;
  /** The input record, JSON-safe (as in a rejection). */
  record?: unknown;
}

export class Sanitizer {
  /** Columns altered to be storable. */
  private readonly altered = new Set<string>();
  /** What was altered, for the reason: `<field>: <what>`. */
  private readonly notes: string[] = [];

  constructor(readonly limits: TransformLimits) {}

  /** Identifies the limits, for results cached across rows. */
  get limitsKey(): string {
    return `${this.limits.maxValueBytes}/${this.limits.maxRecordBytes}`;
  }

  /** The columns altered so far, sorted. */
  alteredColumns(): string[] {
    return [...this.altered].sort();
  }

  /** How many notes there are: pass it to {@link notesSince} to get the later ones. */
  get noteCount(): number {
    return this.notes.length;
  }

  notesSince(count: number): string[] {
    return this.notes.slice(count);
  }

  /** What was altered, with a storable copy of `input`; undefined when nothing was. */
  sanitization(input: unknown): Sanitization | undefined {
    if (this.altered.size === 0) return undefined;
    const sanitized: Sanitization = { reason: `sanitized: ${this.notes.join('; ')}` };
    const record = escapedCopy(input);
    if (record !== undefined) sanitized.record = record;
    return sanitized;
  }

  /** Records that `column` was altered, and how. */
  alter(column: string, note: string): void {
    this.altered.add(column);
    this.notes.push(note);
  }

  /**
   * `s` as Postgres stores it: NUL and unpaired surrogates replaced by
   * U+FFFD, cut to `maxBytes` UTF-8 bytes (default maxValueBytes) with a
   * marker. Alterations are flagged on `column`.
   */
  storable(s: string, name: string, column: string, maxBytes = this.limits.maxValueBytes): string {
    const what: string[] = [];
    let out = s;
    if (out.includes('\u0000')) {
      out = out.replaceAll('\u0000', '\uFFFD');
      what.push('NUL replaced');
    }
    if (LONE_SURROGATE.test(out)) {
      out = out.replace(LONE_SURROGATES, '\uFFFD');
      what.push('unpaired surrogate replaced');
    }
    // Skip the byte count for strings too short to exceed the limit.
    if (out.length * MAX_UTF8_BYTES_PER_UNIT > maxBytes) {
      const bytes = Buffer.byteLength(out, 'utf8');
      if (bytes > maxBytes) {
        out = cutBytes(out, bytes, maxBytes);
        what.push(`${bytes} bytes, cut to ${maxBytes}`);
      }
    }
    if (what.length > 0) this.alter(column, `${name}: ${what.join(', ')}`);
    return out;
  }

  /** Whether `s` may exceed maxValueBytes (cheap: counts bytes only when it might). */
  overValueLimit(s: string): boolean {
    const max = this.limits.maxValueBytes;
    return s.length * MAX_UTF8_BYTES_PER_UNIT > max && Buffer.byteLength(s, 'utf8') > max;
  }

  /**
   * A JSON-storable copy of `value`: strings and keys made storable,
   * scalars as {@link jsonScalar} has them, nesting past
   * {@link MAX_JSON_DEPTH} cut. `column` is the column it goes into (flagged
   * when something was altered).
   */
  clean(value: unknown, name: string, column: string, depth = 0): unknown {
    if (typeof value === 'string') return this.storable(value, name, column);
    const scalar = jsonScalar(value);
    if (scalar !== NOT_SCALAR) return scalar;
    if (Array.isArray(value) || typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        const json = JSON.stringify(escapedCopy(value)) ?? '';
        this.alter(column, `${name}: nested deeper than ${MAX_JSON_DEPTH} levels, cut`);
        return `[cut: nested deeper than ${MAX_JSON_DEPTH} levels, ${Buffer.byteLength(json, 'utf8')} bytes as JSON, sha256 ${shortHash(json)}]`;
      }
      if (Array.isArray(value)) return value.map((v, i) => this.clean(v, `${name}[${i}]`, column, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        setOwn(out, this.storable(k, `key ${quote(k)} in ${name}`, column), this.clean(v, childName(name, k), column, depth + 1));
      }
      return out;
    }
    return fail(`${name} has type ${typeof value}, which cannot be stored`);
  }
}
