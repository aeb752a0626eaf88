/**
 * The `audit.ui.*` entries of a request's W3C baggage header: what the page
 * said about the user interaction that caused the call (see the browser
 * entry, `otel-audit/browser`). Only keys under `audit.ui.` are read, within
 * fixed bounds, and redacted like error messages.
 */
import { ATTR_AUDIT_UI_PREFIX } from '../contract/attributes.js';
import { REDACTED } from './redact.js';
import { redactText } from './redact-text.js';
import { cleanText } from './record-values.js';

/** Characters of the header read (the W3C baggage limit); the rest is ignored. */
export const MAX_BAGGAGE_CHARS = 8192;
/** List members of the header looked at (the W3C baggage limit). */
export const MAX_BAGGAGE_MEMBERS = 180;
/** `audit.ui.*` entries kept per request; later ones are ignored. */
export const MAX_UI_ENTRIES = 8;
/** Longest key kept after `audit.ui.`, and the characters allowed in it. */
const UI_KEY = /^[a-z][a-z0-9_]{0,31}$/;
/** UTF-8 bytes of a value kept (longer values end in the truncation marker). */
export const MAX_UI_VALUE_BYTES = 256;

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The entries under `audit.ui.` (keys without the prefix), or undefined when
 * there are none. `isSensitive` is the record's redaction test: a value under
 * a sensitive key becomes `[REDACTED]`, and `key=value` pairs of sensitive
 * keys and card numbers inside a value are masked. Never throws.
 */
export function uiBaggage(header: string | string[] | undefined, isSensitive: (key: string) => boolean): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  let text = Array.isArray(header) ? header.join(',') : header;
  // Cheap exit: most requests carry no baggage of ours.
  if (!text.includes(ATTR_AUDIT_UI_PREFIX)) return undefined;
  if (text.length > MAX_BAGGAGE_CHARS) {
    // A member cut by the bound is dropped whole.
    const cut = text.lastIndexOf(',', MAX_BAGGAGE_CHARS);
    text = cut === -1 ? '' : text.slice(0, cut);
  }
  let out: Record<string, string> | undefined;
  let kept = 0;
  for (const member of text.split(',', MAX_BAGGAGE_MEMBERS)) {
    const eq = member.indexOf('=');
    if (eq === -1) continue;
    const key = member.slice(0, eq).trim();
    if (!key.startsWith(ATTR_AUDIT_UI_PREFIX)) continue;
    const name = key.slice(ATTR_AUDIT_UI_PREFIX.length);
    if (!UI_KEY.test(name) || (out !== undefined && Object.hasOwn(out, name))) continue;
    // Properties (`;prop=…`) are not part of the value.
    const semi = member.indexOf(';', eq);
    const raw = decode(member.slice(eq + 1, semi === -1 ? undefined : semi).trim()).trim();
    if (raw === '') continue;
    const value = isSensitive(name) ? REDACTED : cleanText(redactText(raw, { isSensitive, maxLength: MAX_UI_VALUE_BYTES * 2 }), MAX_UI_VALUE_BYTES);
    out ??= {};
    out[name] = value;
    if (++kept >= MAX_UI_ENTRIES) break;
  }
  return out;
}
