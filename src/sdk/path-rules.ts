/**
 * The one matcher of rules keyed by route: the route table (`routes`), the
 * levels (`levels`), the modules (`modules`) and the ignore list (`ignore`).
 *
 * A key is a template (`/users/:id`, or a plain path `/login`) or a prefix
 * ending in `/*` (`/api/jenkins/*`, which also matches `/api/jenkins`
 * itself). Static segments compare case-insensitively after percent
 * decoding. A request is looked up by its route and its path together; of
 * the rules matching either, the first in this order wins:
 *
 * 1. templates before prefixes;
 * 2. among templates, more static segments first; among prefixes, longer
 *    prefixes (more segments) first;
 * 3. rules with a method filter before rules without one;
 * 4. configuration order (the order of an object's keys for maps).
 *
 * Method filters compare case-insensitively (`*`/`ALL` or no filter: any
 * method; a GET filter also admits HEAD).
 */

import { splitSegments } from './path-segments.js';
import { matchParsed, normaliseTemplate, parseTemplate, segmentParam, type ParsedTemplate } from './route-template.js';

/** What every rule has: its key and an optional method filter. */
export interface PathRule {
  /** template (`/users/:id`), or prefix ending in `/*` (`/api/jenkins/*`) */
  route: string;
  method?: string | string[];
}

/** A rule found for a request. */
export interface RuleMatch<R> {
  rule: R;
  /** Decoded parameter values by the rule's parameter names (`*` for a wildcard remainder). */
  params: Record<string, string>;
  /** The rule's template, for template (non-prefix) rules. */
  template?: string;
}

/** Compiled rules. */
export interface RuleTable<R> {
  /**
   * The first rule, in precedence order, that matches one of `inputs`: a
   * concrete path (`/users/42`) or an already-templated route
   * (`/users/:id`). For a templated input, `inputParams` (the framework's
   * parameter values by the input's parameter names) supplies the values of
   * matching rule parameters.
   */
  match(method: string, inputs: string | readonly string[], inputParams?: Readonly<Record<string, string>>): RuleMatch<R> | undefined;
}

interface SplitInput {
  readonly segments: readonly string[];
  /** The input is a route template (has parameter segments). */
  readonly templated: boolean;
}

/**
 * Inputs already split, by text: each request matches its path and route against
 * several tables (routes, levels, modules, quiet rules), and a route
 * template recurs on every request of its route. Bounded: emptied when full.
 */
const splitCache = new Map<string, SplitInput>();
const MAX_SPLIT_CACHE = 1024;

function splitInput(input: string): SplitInput {
  const key = String(input);
  const hit = splitCache.get(key);
  if (hit !== undefined) return hit;
  const segments = splitSegments(key);
  const split: SplitInput = { segments, templated: segments.some((seg) => segmentParam(seg) !== undefined) };
  if (splitCache.size >= MAX_SPLIT_CACHE) splitCache.clear();
  splitCache.set(key, split);
  return split;
}

interface CompiledRule<R> {
  rule: R;
  parsed: ParsedTemplate;
  /** Normalised template for template rules. */
  template: string | undefined;
  methods: Set<string> | undefined;
  order: number;
}

function compileMethods(method: PathRule['method']): Set<string> | undefined {
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

/** Negative when `a` takes precedence over `b` (see the module comment). */
function precedence<R>(a: CompiledRule<R>, b: CompiledRule<R>): number {
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
}

/** Compiles rules into a table; entries that are not rules (no string `route`) are skipped. */
export function compilePathRules<R extends PathRule>(rules: readonly R[]): RuleTable<R> {
  const compiled: CompiledRule<R>[] = [];
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
  compiled.sort(precedence);

  return {
    match(method, inputs, inputParams) {
      // Most level and module tables are empty: nothing is split for them.
      if (compiled.length === 0) return undefined;
      const m = String(method).toUpperCase();
      const split = typeof inputs === 'string' ? [splitInput(inputs)] : inputs.map(splitInput);
      for (const c of compiled) {
        if (c.methods !== undefined && !c.methods.has(m)) continue;
        for (const input of split) {
          const params = matchParsed(c.parsed, input.segments, input.templated, inputParams);
          if (params === undefined) continue;
          return c.template === undefined ? { rule: c.rule, params } : { rule: c.rule, params, template: c.template };
        }
      }
      return undefined;
    },
  };
}

/** A rule of a `{ route: value }` map (`levels`, `modules`). */
export interface KeyedRule<T> extends PathRule {
  value: T;
}

/** Compiles a `{ route: value }` map; key order is configuration order. */
export function compileKeyedRules<T>(map: Readonly<Record<string, T>>): RuleTable<KeyedRule<T>> {
  return compilePathRules(Object.entries(map).map(([route, value]) => ({ route, value })));
}

/**
 * Compiles a list of paths that stand for themselves and everything under
 * them (the ignore list): `/healthz` matches `/healthz` and `/healthz/live`,
 * as the prefix `/healthz/*` would.
 */
export function compileSubtreeRules(paths: readonly string[]): RuleTable<PathRule> {
  // `/healthz/` + `/*` is the same prefix: duplicate slashes collapse.
  return compilePathRules(paths.filter((p) => typeof p === 'string').map((p) => ({ route: p.endsWith('/*') ? p : `${p}/*` })));
}
