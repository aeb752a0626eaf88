/**
 * Routes and operations: turning concrete request paths into templates,
 * matching templates, deriving an audit action (`user.update`) and resource
 * from a method and route, and the user-configured route table.
 *
 * Every function here reads request paths: input is cut to
 * {@link MAX_PATH_LENGTH} before it is split, segments longer than
 * {@link MAX_SEGMENT_LENGTH} count as identifiers, and every pattern runs in
 * linear time (the lint configuration refuses super-linear ones).
 */

import type { LevelRule } from '../contract/values.js';
import { BoundedCache } from './bounded-cache.js';
import { capText, MAX_PATH_LENGTH, MAX_SEGMENT_LENGTH } from './input-limits.js';
import { TRUNCATION_MARKER } from './redact.js';

/** Where a value is read from in a request/response. */
export type SourceKind = 'param' | 'body' | 'response' | 'query' | 'header';

/** A parsed `'<kind>:<path>'` source specification. */
export interface Source {
  from: SourceKind;
  path: string;
}

/** One user-configured rule of the route table. */
export interface RouteRule {
  /** template (`/users/:id`), or prefix ending in `/*` (`/api/jenkins/*`); optional method filter */
  route: string;
  method?: string | string[];
  action?: string;
  resourceType?: string;
  /** where the resource id comes from: 'param:<name>' | 'body:<dot.path>' | 'response:<dot.path>' | 'query:<name>' */
  resourceId?: string;
  /** where the attempted principal is, for login routes: 'body:<dot.path>' */
  principal?: string;
  level?: LevelRule;
  module?: string;
  /**
   * Record text bodies (`text/plain`, XML, any body the framework left as a
   * string) of this route, with `key=value` pairs of sensitive keys redacted.
   * Default: the `captureTextBodies` option (itself off by default).
   */
  captureText?: boolean;
}

/** Result of a successful route table lookup. */
export interface RouteMatch {
  rule: RouteRule;
  /** Decoded parameter values by the rule's parameter names (`*` for a wildcard remainder). */
  params: Record<string, string>;
  /** The rule's template, for template (non-prefix) rules. */
  template?: string;
}

/** Compiled route table. */
export interface RouteTable {
  /**
   * Finds the rule for a request. `pathOrRoute` is a concrete path
   * (`/users/42`) or an already-templated route (`/users/:id`). For a
   * templated input, `inputParams` (the framework's parameter values by the
   * input's parameter names) supplies the values of matching rule parameters.
   */
  match(method: string, pathOrRoute: string, inputParams?: Readonly<Record<string, string>>): RouteMatch | undefined;
}

/** Audit operation derived from a method and route. */
export interface Operation {
  action: string;
  resourceType: string;
  resourceId?: string;
}

// ---------------------------------------------------------------------------
// Paths and templates

/** Removes `?query` and `#fragment`. */
function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

/**
 * The first {@link MAX_PATH_LENGTH} units of a path. When that cuts a
 * segment longer than {@link MAX_SEGMENT_LENGTH} (an identifier either
 * way), the segment is kept with a truncation marker, so the record still
 * names its resource; a shorter partial segment could pass for a name and is
 * dropped.
 */
function capPath(path: string): string {
  if (path.length <= MAX_PATH_LENGTH) return path;
  const head = capText(path, MAX_PATH_LENGTH);
  const next = path[head.length];
  if (next === '/' || next === '?' || next === '#') return head;
  const slash = head.lastIndexOf('/');
  if (head.length - slash - 1 > MAX_SEGMENT_LENGTH) {
    const rest = path.length - head.length;
    return `${head}…${TRUNCATION_MARKER} ${rest} chars]`;
  }
  return slash > 0 ? head.slice(0, slash + 1) : head;
}

/** Non-empty path segments (duplicate and trailing slashes collapse) of the path cut by {@link capPath}. */
function splitSegments(path: string): string[] {
  return stripQuery(capPath(path))
    .split('/')
    .filter((s) => s.length > 0);
}

const INTEGER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX = /^[0-9a-f]{16,}$/i;
/** ULID: 48-bit timestamp (first char 0–7) + randomness, Crockford base32. */
const ULID = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/i;
const LONG_TOKEN = /^(?=[a-z]*\d)[a-z0-9]{20,}$/i;

/**
 * Does this path segment look like an identifier rather than a static name?
 * Segments longer than {@link MAX_SEGMENT_LENGTH} always do.
 */
export function isIdSegment(segment: string): boolean {
  return (
    segment.length > MAX_SEGMENT_LENGTH ||
    INTEGER.test(segment) ||
    UUID.test(segment) ||
    LONG_HEX.test(segment) ||
    ULID.test(segment) ||
    LONG_TOKEN.test(segment)
  );
}

/**
 * Turns a concrete path into a route template: drops the query string,
 * replaces id-like segments (integers, UUIDs, hex ≥ 16 chars, ULIDs,
 * alphanumeric tokens with digits ≥ 20 chars) by `:id`, collapses duplicate
 * slashes and drops a trailing slash. `/users/42/?x=1` → `/users/:id`.
 * Only the first {@link MAX_PATH_LENGTH} units of the path are read, and
 * segments longer than {@link MAX_SEGMENT_LENGTH} become `:id`.
 */
export function templatePath(path: string): string {
  const segments = splitSegments(path).map((s) => (isIdSegment(s) ? ':id' : s));
  const lead = path.startsWith('/') || segments.length === 0 ? '/' : '';
  return lead + segments.join('/');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

interface ParsedTemplate {
  /** `{ param: name }` for `:name`; `{ literal, key }` for static segments (`key`: decoded, lowercase). */
  segments: ({ param: string } | { literal: string; key: string })[];
  /** Name of the trailing wildcard (`*` for `/*`), if any. */
  wildcard: string | undefined;
  staticCount: number;
}

const PARAM_NAME = /^:([A-Za-z0-9_$]+)/;

function parseTemplate(template: string): ParsedTemplate {
  const raw = splitSegments(template);
  let wildcard: string | undefined;
  const last = raw[raw.length - 1];
  if (last !== undefined && last.startsWith('*')) {
    wildcard = last.length > 1 ? last.slice(1) : '*';
    raw.pop();
  }
  const segments = raw.map((s) => {
    const m = PARAM_NAME.exec(s);
    return m ? { param: m[1] as string } : { literal: s, key: safeDecode(s).toLowerCase() };
  });
  return { segments, wildcard, staticCount: segments.filter((s) => 'literal' in s).length };
}

/**
 * Matches `input` segments against a parsed template. With `templated`,
 * `:x` input segments are placeholders that match only parameter segments;
 * their values come from `inputParams` when known.
 */
function matchParsed(
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
    const placeholder = templated ? PARAM_NAME.exec(s) : null;
    if ('literal' in t) {
      if (placeholder || safeDecode(s).toLowerCase() !== t.key) return undefined;
    } else if (placeholder) {
      const value = inputParams !== undefined ? ownString(inputParams, placeholder[1] as string) : undefined;
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

function ownString(obj: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
  const v: unknown = obj[key];
  return typeof v === 'string' ? v : undefined;
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

// ---------------------------------------------------------------------------
// Singular forms

const UNCOUNTABLE = new Set([
  'news',
  'data',
  'metadata',
  'media',
  'series',
  'species',
  'info',
  'information',
  'equipment',
  'feedback',
  'analytics',
  'alias',
  'bias',
  'canvas',
  'gas',
  'atlas',
  'axis',
  'chaos',
  'kudos',
  'dns',
  'sms',
  'https',
  'aws',
  'gps',
]);

const IRREGULAR: Record<string, string> = {
  people: 'person',
  children: 'child',
  men: 'man',
  women: 'woman',
  mice: 'mouse',
  geese: 'goose',
  feet: 'foot',
  teeth: 'tooth',
  indices: 'index',
  matrices: 'matrix',
  vertices: 'vertex',
  appendices: 'appendix',
  criteria: 'criterion',
  phenomena: 'phenomenon',
  analyses: 'analysis',
  bases: 'base',
  diagnoses: 'diagnosis',
  theses: 'thesis',
  crises: 'crisis',
  aliases: 'alias',
  quizzes: 'quiz',
  biases: 'bias',
  canvases: 'canvas',
  caches: 'cache',
  niches: 'niche',
  knives: 'knife',
  wives: 'wife',
  lives: 'life',
  leaves: 'leaf',
  shelves: 'shelf',
  halves: 'half',
  wolves: 'wolf',
  movies: 'movie',
  cookies: 'cookie',
  zombies: 'zombie',
  selfies: 'selfie',
  calories: 'calorie',
  rookies: 'rookie',
  genies: 'genie',
  pies: 'pie',
  ties: 'tie',
  lies: 'lie',
  menus: 'menu',
  emus: 'emu',
  gnus: 'gnu',
  excuses: 'excuse',
  fuses: 'fuse',
  abuses: 'abuse',
  muses: 'muse',
  heroes: 'hero',
  potatoes: 'potato',
  tomatoes: 'tomato',
  echoes: 'echo',
  vetoes: 'veto',
};

function singularizeWord(word: string): string {
  if (word.length <= 2 || UNCOUNTABLE.has(word)) return word;
  const irregular = IRREGULAR[word];
  if (irregular !== undefined && Object.prototype.hasOwnProperty.call(IRREGULAR, word)) return irregular;
  if (/[^aeiou]ies$/.test(word)) return word.slice(0, -3) + 'y'; // policies → policy
  if (/(?:ss|x|ch|sh|zz)es$/.test(word)) return word.slice(0, -2); // addresses, boxes, batches, wishes, quizzes
  if (/[aeiou]uses$/.test(word)) return word.slice(0, -1); // houses, causes
  if (/uses$/.test(word)) return word.slice(0, -2); // statuses, buses, campuses
  if (/(?:ss|us|sis)$/.test(word)) return word; // address, status, analysis
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}

/**
 * Singular form of a (lowercased) resource name: `users` → `user`,
 * `policies` → `policy`, `addresses` → `address`, `statuses` → `status`,
 * `boxes` → `box`, `batches` → `batch`; `news` and `data` stay. In kebab or
 * snake case only the last word changes: `api-keys` → `api-key`,
 * `api_keys` → `api_key`.
 */
export function singularize(word: string): string {
  const lower = word.toLowerCase();
  const cut = Math.max(lower.lastIndexOf('-'), lower.lastIndexOf('_')) + 1;
  return cut > 0 ? lower.slice(0, cut) + singularizeWord(lower.slice(cut)) : singularizeWord(lower);
}

// ---------------------------------------------------------------------------
// Operations

const VERSION_SEGMENT = /^v\d+(?:\.\d+)*$/i;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface RouteSegment {
  text: string;
  isParam: boolean;
  /** Parameter value when known. */
  value: string | undefined;
}

function isParamSegment(s: string): boolean {
  return s.startsWith(':') || s.startsWith('*') || (s.startsWith('{') && s.endsWith('}'));
}

function paramName(s: string): string {
  if (s.startsWith('{')) return s.slice(1, -1);
  if (s === '*') return '*';
  const m = /^[:*]([A-Za-z0-9_$]+)/.exec(s);
  return m ? (m[1] as string) : s.slice(1);
}

/**
 * Without leading and trailing underscores. A loop, not `/^_+|_+$/g`: that
 * pattern retries its `_+$` branch at every underscore of a run, quadratic
 * in the run's length.
 */
function trimUnderscores(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 95) start++;
  while (end > start && s.charCodeAt(end - 1) === 95) end--;
  return s.slice(start, end);
}

/** Resource type as used in actions: lowercase, singular, `[a-z0-9_]` only. */
function resourceTypeOf(segment: string): string {
  const type = trimUnderscores(singularize(safeDecode(capText(segment, MAX_SEGMENT_LENGTH))).replace(/[^a-z0-9_]+/g, '_'));
  return type.length > 0 ? type : 'root';
}

function actionVerb(segment: string): string {
  const verb = trimUnderscores(
    safeDecode(capText(segment, MAX_SEGMENT_LENGTH))
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_'),
  );
  return verb.length > 0 ? verb : 'action';
}

/**
 * Derives the audit operation of a request from its method and route
 * template (a concrete path works too: id-like segments count as parameters).
 *
 * Leading `api` and version (`v1`) segments are ignored. The resource type is
 * the singular of the last static segment; when parameters follow it, their
 * values form the resource id. The verb is `create` (POST), `update`
 * (PUT/PATCH), `delete` (DELETE), `read` (GET/HEAD on an item), `list`
 * (GET/HEAD on a collection) or the lowercased method. A mutating request
 * to a singular static segment right after a parameter is a named action on
 * that item: `POST /builds/:id/cancel` → `build.cancel`; a plural one is a
 * sub-collection: `POST /jobs/:job/builds` → `build.create`,
 * `GET /users/:id/posts` → `post.list`. A route without static segments has
 * the resource type `root`.
 */
export function deriveOperation(
  method: string,
  route: string,
  params: Readonly<Record<string, string>>,
): Operation {
  const verbMethod = method.toUpperCase();
  const segments: RouteSegment[] = splitSegments(route).map((text) => {
    if (isParamSegment(text)) {
      const name = paramName(text);
      return { text, isParam: true, value: ownString(params, name) };
    }
    if (isIdSegment(text)) return { text, isParam: true, value: safeDecode(text) };
    return { text, isParam: false, value: undefined };
  });
  // Leading `api` / version segments never name the resource.
  let first = 0;
  while (first < segments.length) {
    const s = segments[first] as RouteSegment;
    if (s.isParam || (s.text.toLowerCase() !== 'api' && !VERSION_SEGMENT.test(s.text))) break;
    first++;
  }
  const segs = segments.slice(first);

  let lastStatic = -1;
  for (let i = segs.length - 1; i >= 0; i--) {
    if (!(segs[i] as RouteSegment).isParam) {
      lastStatic = i;
      break;
    }
  }

  const collectionVerb = (): string => {
    switch (verbMethod) {
      case 'POST':
        return 'create';
      case 'PUT':
      case 'PATCH':
        return 'update';
      case 'DELETE':
        return 'delete';
      case 'GET':
      case 'HEAD':
        return 'list';
      default:
        return verbMethod.toLowerCase();
    }
  };
  const itemVerb = (): string => {
    const v = collectionVerb();
    return v === 'list' ? 'read' : v;
  };
  const idFrom = (parts: readonly RouteSegment[]): string | undefined => {
    if (parts.length === 0 || parts.some((p) => p.value === undefined)) return undefined;
    return parts.map((p) => p.value as string).join('/');
  };
  const build = (resourceType: string, verb: string, resourceId: string | undefined): Operation =>
    resourceId === undefined
      ? { action: `${resourceType}.${verb}`, resourceType }
      : { action: `${resourceType}.${verb}`, resourceType, resourceId };

  if (lastStatic === -1) {
    const trailing = segs;
    return trailing.length > 0 ? build('root', itemVerb(), idFrom(trailing)) : build('root', collectionVerb(), undefined);
  }

  const staticSeg = segs[lastStatic] as RouteSegment;
  const trailing = segs.slice(lastStatic + 1);
  if (trailing.length > 0) {
    return build(resourceTypeOf(staticSeg.text), itemVerb(), idFrom(trailing));
  }

  // Route ends with a static segment. Right after a parameter, with a
  // mutating method and a singular name, it is a named action on the item.
  const before = segs[lastStatic - 1];
  if (before?.isParam && MUTATING.has(verbMethod)) {
    const name = safeDecode(staticSeg.text).toLowerCase();
    if (singularize(name) === name) {
      let owner = lastStatic - 1;
      while (owner >= 0 && (segs[owner] as RouteSegment).isParam) owner--;
      const ownerSeg = segs[owner];
      if (ownerSeg !== undefined) {
        const itemParams = segs.slice(owner + 1, lastStatic);
        return build(resourceTypeOf(ownerSeg.text), actionVerb(name), idFrom(itemParams));
      }
    }
  }
  return build(resourceTypeOf(staticSeg.text), collectionVerb(), undefined);
}

// ---------------------------------------------------------------------------
// Value sources

const SOURCE = /^\s*(param|body|response|query|header)\s*:([\s\S]*)$/i;

/**
 * Parses a source specification `'<kind>:<path>'` where kind is `param`,
 * `body`, `response`, `query` or `header` (case-insensitive). Header names
 * are lowercased (Node's form). Returns `undefined` for anything else or an
 * empty path.
 */
export function parseSource(spec: string): Source | undefined {
  if (typeof spec !== 'string') return undefined;
  const m = SOURCE.exec(spec);
  if (!m) return undefined;
  const from = (m[1] as string).toLowerCase() as SourceKind;
  const path = (m[2] as string).trim();
  if (path.length === 0) return undefined;
  return { from, path: from === 'header' ? path.toLowerCase() : path };
}

/**
 * Reads `a.b.0.c` from a value, following own properties only (array indices
 * included; Map keys too). Returns `undefined` for a missing step, a
 * non-object along the way, or a throwing getter. An empty path returns the
 * value itself.
 */
export function getPath(obj: unknown, dotPath: string): unknown {
  if (dotPath === '') return obj;
  let current: unknown = obj;
  try {
    for (const key of dotPath.split('.')) {
      if (current === null || (typeof current !== 'object' && typeof current !== 'function')) return undefined;
      if (current instanceof Map) {
        current = current.get(key);
        continue;
      }
      if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
    return current;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Route table

interface CompiledRule {
  rule: RouteRule;
  parsed: ParsedTemplate;
  /** Normalised template for template rules. */
  template: string | undefined;
  methods: Set<string> | undefined;
  order: number;
}

function compileMethods(method: RouteRule['method']): Set<string> | undefined {
  if (method === undefined) return undefined;
  const list = (Array.isArray(method) ? method : [method])
    .flatMap((m) => String(m).split(','))
    .map((m) => m.trim().toUpperCase())
    .filter((m) => m.length > 0);
  if (list.length === 0 || list.includes('*') || list.includes('ALL')) return undefined;
  const set = new Set(list);
  // As in Express, a GET route also answers HEAD.
  if (set.has('GET')) set.add('HEAD');
  return set;
}

function normaliseTemplate(parsed: ParsedTemplate): string {
  const parts = parsed.segments.map((s) => ('param' in s ? `:${s.param}` : s.literal));
  return '/' + parts.join('/');
}

/**
 * Compiles user route rules into a table. Lookup order: template rules before
 * prefix (`/*`) rules; among templates, more static segments first; among
 * prefixes, longer prefixes first; then rules with a method filter before
 * rules without one; remaining ties keep configuration order. Method
 * filters compare case-insensitively (`*`/`ALL` or no filter: any method; a
 * GET filter also admits HEAD).
 */
export function compileRouteTable(rules: readonly RouteRule[]): RouteTable {
  const compiled: CompiledRule[] = [];
  rules.forEach((rule, order) => {
    if (rule === null || typeof rule !== 'object' || typeof rule.route !== 'string') return;
    const parsed = parseTemplate(rule.route);
    compiled.push({
      rule,
      parsed,
      template: parsed.wildcard === undefined ? normaliseTemplate(parsed) : undefined,
      methods: compileMethods(rule.method),
      order,
    });
  });
  compiled.sort((a, b) => {
    const aPrefix = a.parsed.wildcard !== undefined ? 1 : 0;
    const bPrefix = b.parsed.wildcard !== undefined ? 1 : 0;
    if (aPrefix !== bPrefix) return aPrefix - bPrefix;
    if (aPrefix === 1 && a.parsed.segments.length !== b.parsed.segments.length) {
      return b.parsed.segments.length - a.parsed.segments.length;
    }
    if (a.parsed.staticCount !== b.parsed.staticCount) return b.parsed.staticCount - a.parsed.staticCount;
    const aFiltered = a.methods !== undefined ? 0 : 1;
    const bFiltered = b.methods !== undefined ? 0 : 1;
    if (aFiltered !== bFiltered) return aFiltered - bFiltered;
    return a.order - b.order;
  });

  return {
    match(method, pathOrRoute, inputParams) {
      const m = String(method).toUpperCase();
      const input = splitSegments(String(pathOrRoute));
      const templated = input.some((s) => PARAM_NAME.test(s));
      for (const c of compiled) {
        if (c.methods !== undefined && !c.methods.has(m)) continue;
        const params = matchParsed(c.parsed, input, templated, inputParams);
        if (params === undefined) continue;
        return c.template === undefined ? { rule: c.rule, params } : { rule: c.rule, params, template: c.template };
      }
      return undefined;
    },
  };
}
