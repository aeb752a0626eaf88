/**
 * Reading decoded OTLP values safely (own properties only, maps told apart
 * from lists and bytes) and naming them in reasons.
 */
import type { DecodedAttributes } from '../otlp/decoded-types.js';

/** Longest value a reason quotes, in UTF-16 code units. */
const QUOTE_MAX_LENGTH = 64;

/** OTLP-style name of a decoded value's type. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int' : 'double';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return 'kvlist';
  return typeof v;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function asAttributes(v: unknown): DecodedAttributes {
  return isMap(v) ? v : {};
}

/** An own property (never one inherited from Object.prototype). */
export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets an own property, also for the key `__proto__`. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Undefined, null and '' count as absent. */
export function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A value quoted for a reason: JSON-escaped (NUL and lone surrogates become escapes), at most 64 characters. */
export function quote(s: string): string {
  const cut = s.length > QUOTE_MAX_LENGTH ? `${s.slice(0, QUOTE_MAX_LENGTH)}…` : s;
  return JSON.stringify(cut);
}

/** An attribute key as reasons show it: bare when plain, quoted otherwise. */
export function displayKey(k: string): string {
  return /^[\w.\-:/@]{1,128}$/.test(k) ? k : quote(k);
}

/** The name of `parent`'s member `key`: `parent.key`, or `parent["odd key"]`. */
export function childName(parent: string, key: string): string {
  return /^[\w-]{1,64}$/.test(key) ? `${parent}.${key}` : `${parent}[${quote(key)}]`;
}
