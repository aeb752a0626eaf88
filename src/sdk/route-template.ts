/**
 * Route templates (`/users/:id/keys/:keyId`, optionally ending in a
 * wildcard `/*`; hapi's `/users/{id}`, ending in `{path*}` or `{name?}`):
 * parsing, and matching against concrete paths or other templates.
 */

import { BoundedCache } from './bounded-cache.js';
import { MAX_PATH_LENGTH } from './input-limits.js';
import { safeDecode, splitSegments } from './path-segments.js';

/** A template split into its parts. */
export interface ParsedTemplate {
  /** `{ param: name }` for `:name`; `{ literal, key }` for static segments (`key`: decoded, lowercase). */
  segments: ({ param: string } | { literal: string; key: string })[];
  /** Name of the trailing wildcard (`*` for `/*`), if any. */
  wildcard: string | undefined;
  staticCount: number;
}

/** A parameter segment (`:name`) and its name. */
export const PARAM_NAME = /^:([A-Za-z0-9_$]+)/;

/** hapi's parameter segment (`{name}`), optional (`{name?}`) or spanning segments (`{name*}`, `{name*2}`). */
const BRACED_PARAM = /^\{([A-Za-z0-9_$]+)(\?|\*\d*)?\}$/;

/** The parameter name of a segment (`:name`, `{name}`), or undefined for a static one. */
export function segmentParam(segment: string): string | undefined {
  const m = PARAM_NAME.exec(segment) ?? BRACED_PARAM.exec(segment);
  return m === null || m[2] !== undefined ? undefined : m[1];
}

export function parseTemplate(template: string): ParsedTemplate {
  const raw = splitSegments(template);
  let wildcard: string | undefined;
  const last = raw[raw.length - 1];
  // hapi's optional and multi-segment parameters match like a wildcard: any remainder.
  const braced = last === undefined ? null : BRACED_PARAM.exec(last);
  if (last !== undefined && last.startsWith('*')) {
    wildcard = last.length > 1 ? last.slice(1) : '*';
    raw.pop();
  } else if (braced?.[2] !== undefined) {
    wildcard = braced[1];
    raw.pop();
  }
  const segments = raw.map((s) => {
    const param = segmentParam(s);
    return param !== undefined ? { param } : { literal: s, key: safeDecode(s).toLowerCase() };
  });
  return { segments, wildcard, staticCount: segments.filter((s) => 'literal' in s).length };
}

/** The template as written by its parts (`/users/:id`), without a wildcard. */
export function normaliseTemplate(parsed: ParsedTemplate): string {
  const parts = parsed.segments.map((s) => ('param' in s ? `:${s.param}` : s.literal));
  return '/' + parts.join('/');
}

/** An own string property of a parameter map, never one inherited. */
export function ownString(obj: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
  const v: unknown = obj[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Matches `input` segments against a parsed template. With `templated`,
 * `:x` (and `{x}`) input segments are placeholders that match only parameter segments;
 * their values come from `inputParams` when known.
 */
export function matchParsed(
  tpl: ParsedTemplate,
  input: readonly string[],
  templated: boolean,
  inputParams: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  if (tpl.wildcard === undefined ? input.length !== tpl.segments.length : input.length < tpl.segments.length) {
    return undefined;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < tpl.segments.length; i++) {
    const t = tpl.segments[i] as ParsedTemplate['segments'][number];
    const s = input[i] as string;
    const placeholder = templated ? segmentParam(s) : undefined;
    if ('literal' in t) {
      if (placeholder !== undefined || safeDecode(s).toLowerCase() !== t.key) return undefined;
    } else if (placeholder !== undefined) {
      const value = inputParams !== undefined ? ownString(inputParams, placeholder) : undefined;
      if (value !== undefined) params[t.param] = value;
    } else {
      params[t.param] = safeDecode(s);
    }
  }
  if (tpl.wildcard !== undefined) {
    params[tpl.wildcard] = input.slice(tpl.segments.length).map(safeDecode).join('/');
  }
  return params;
}

/**
 * Matches a route template (`/users/:id/keys/:keyId`, optionally ending in a
 * wildcard `/*` that matches any remainder, including none) against a
 * concrete path. Static segments compare case-insensitively. Returns the
 * decoded parameters (the wildcard remainder under `*`), or `undefined`.
 */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  return matchParsed(parsedTemplate(template), splitSegments(path), false, undefined);
}

/** Budget of the parsed-template cache. */
export const MAX_PARSED_CACHE_BYTES = 256 * 1024;

/**
 * Parsed templates of recent routes: a service has few routes and this runs
 * on every request. Bounded in bytes: unmatched paths make routes of their
 * own, and a client choosing a new path each time must not grow it.
 */
const PARSED = new BoundedCache<ParsedTemplate>({
  maxBytes: MAX_PARSED_CACHE_BYTES,
  maxKeyLength: MAX_PATH_LENGTH,
  // Each literal segment is held twice (as written and as its lowercase key).
  valueBytes: (tpl) => 64 + tpl.segments.reduce((n, s) => n + 48 + ('literal' in s ? s.literal.length * 4 : s.param.length * 2), 0),
});

/** Bytes held by the parsed-template cache (for tests and diagnostics). */
export function parsedTemplateCacheBytes(): number {
  return PARSED.bytes;
}

function parsedTemplate(template: string): ParsedTemplate {
  let tpl = PARSED.get(template);
  if (!tpl) {
    tpl = parseTemplate(template);
    PARSED.set(template, tpl);
  }
  return tpl;
}
