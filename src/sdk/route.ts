/**
 * The user-configured route table: per route, the action, resource, attempted
 * principal, level, module and text-body capture of its requests. Lookup
 * follows the precedence of {@link compilePathRules}.
 */

import type { LevelRule } from '../contract/values.js';
import { compilePathRules, type PathRule, type RuleMatch, type RuleTable } from './path-rules.js';

/** One user-configured rule of the route table. */
export interface RouteRule extends PathRule {
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
export type RouteMatch = RuleMatch<RouteRule>;

/** Compiled route table. */
export type RouteTable = RuleTable<RouteRule>;

/**
 * Compiles user route rules into a table, looked up in the order of
 * {@link compilePathRules}: template rules before prefix (`/*`) rules; among
 * templates, more static segments first; among prefixes, longer prefixes
 * first; then rules with a method filter before rules without one;
 * remaining ties keep configuration order.
 */
export function compileRouteTable(rules: readonly RouteRule[]): RouteTable {
  return compilePathRules(rules);
}
