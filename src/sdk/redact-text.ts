/** Redaction of free text: bodies kept as text and error messages. */

import { maskCardNumbers } from './card-numbers.js';
import { capText } from './input-limits.js';
import { REDACTED, sensitiveKeyTest, TRUNCATION_MARKER, UNREADABLE } from './redact.js';

/** `<key …>value<` : an XML / HTML element holding a value (name, optional attributes, text up to the next tag). */
const ELEMENT_VALUE = /<([\w.:-]{1,128})(\s[^<>]{0,1024})?>([^<]*)/g;

/**
 * The `key=` of `key=value`, `key: value`, `"key": "value"`: a key (up to 128
 * name characters), an optional closing quote, `=` or `:`. Every quantifier
 * is bounded, so a failed attempt costs at most 128 steps.
 */
const KEY_SEPARATOR = /([\w.%[\]-]{1,128})("?[ \t]{0,8}[=:][ \t]{0,8})/g;

/** Longest quoted value looked for. */
const MAX_QUOTED = 4096;

/** Authorization schemes whose credentials follow after a space (`Authorization: Bearer <token>`). */
const SCHEMES = new Set(['bearer', 'basic', 'digest', 'token', 'apikey']);

function isValueEnd(c: string): boolean {
  return c === '&' || c === ';' || c === ',' || c === '"' || c === "'" || c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** End of the value starting at `start`: a quoted string (quotes included), else up to a separator or whitespace. */
function valueEnd(text: string, start: number): number {
  const q = text[start];
  if (q === '"' || q === "'") {
    const close = text.indexOf(q, start + 1);
    const nl = text.indexOf('\n', start + 1);
    if (close !== -1 && close - start <= MAX_QUOTED && (nl === -1 || nl > close)) return close + 1;
  }
  let end = start;
  while (end < text.length && !isValueEnd(text[end] as string)) end++;
  // `Bearer <token>`: the credential is the word after the scheme.
  if (text[end] === ' ' && SCHEMES.has(text.slice(start, end).toLowerCase())) {
    end++;
    while (end < text.length && !isValueEnd(text[end] as string)) end++;
  }
  return end;
}

/** Replaces the values of sensitive keys in `key=value` forms (see {@link redactText}). */
function redactKeyValues(text: string, sensitive: (key: string) => boolean): string {
  const re = new RegExp(KEY_SEPARATOR.source, 'g');
  let out = '';
  let copied = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (!sensitive(m[1] as string)) continue;
    const start = re.lastIndex;
    const end = valueEnd(text, start);
    if (end === start) continue;
    const q = text[start];
    const quoted = (q === '"' || q === "'") && text[end - 1] === q && end - start >= 2;
    out += text.slice(copied, start) + (quoted ? `${q}${REDACTED}${q}` : REDACTED);
    copied = end;
    re.lastIndex = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Decodes `%xx` escapes of a form key; the key itself when it is not valid. */
function decodeFormKey(key: string): string {
  if (!key.includes('%')) return key;
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** Options of {@link redactText}. */
export interface RedactTextOptions {
  /** Sensitive keys besides `DEFAULT_REDACT_KEYS`. Default: none. */
  keys?: readonly string[];
  /** Decides which keys are sensitive instead of `keys` (e.g. one made by {@link sensitiveKeyTest}). */
  isSensitive?: (key: string) => boolean;
  /** Longest text kept (UTF-16 units); longer text is cut first and marked. Default: 4096. */
  maxLength?: number;
}

/**
 * Redacts free text that may carry credentials: request bodies kept as text
 * (`text/plain`, form-encoded, XML) and error messages. The text is first cut
 * to `maxLength` (ending in `…[truncated N chars]`), so the work is bounded
 * by the cap, not by the input. Then the values of sensitive keys (matched
 * as in `createRedactor`) become {@link REDACTED} in `key=value`,
 * `key: value` and `"key": "value"` forms and in XML elements
 * (`<password>…</password>`), and payment card numbers become
 * {@link CARD_REDACTED}. Never throws.
 */
export function redactText(text: string, options: RedactTextOptions = {}): string {
  try {
    const maxLength = Math.max(0, options.maxLength ?? 4096);
    const test = options.isSensitive ?? sensitiveKeyTest(options.keys ?? []);
    const sensitive = (key: string): boolean => test(decodeFormKey(key));
    const head = capText(String(text), maxLength);
    let out = head.replace(ELEMENT_VALUE, (whole: string, name: string, attrs: string | undefined) =>
      sensitive(name) ? `<${name}${attrs ?? ''}>${REDACTED}` : whole,
    );
    out = maskCardNumbers(redactKeyValues(out, sensitive));
    return head.length < text.length ? `${out}…${TRUNCATION_MARKER} ${text.length - head.length} chars]` : out;
  } catch {
    return UNREADABLE;
  }
}
