/**
 * Match a path or route against a rule key: an exact path or template
 * (`/users/:id`), or a prefix ending in `/*` (`/api/jenkins/*`, which also
 * matches `/api/jenkins` itself). Longest key wins.
 */
export function matchPathRule<T>(rules: Record<string, T>, path: string, route?: string): T | undefined {
  let best: { len: number; value: T } | undefined;
  for (const [key, value] of Object.entries(rules)) {
    const len = keyMatches(key, path, route, false);
    if (len >= 0 && (!best || len > best.len)) best = { len, value };
  }
  return best?.value;
}

/** True when the path is listed, as itself, as a sub-path of an entry, or under a `/*` prefix. */
export function isListed(entries: readonly string[], path: string, route?: string): boolean {
  return entries.some((e) => keyMatches(e, path, route, true) >= 0);
}

function keyMatches(key: string, path: string, route: string | undefined, subPaths: boolean): number {
  if (key.endsWith('/*')) {
    const base = key.slice(0, -2);
    for (const p of [path, route]) {
      if (p !== undefined && (p === base || p.startsWith(base + '/'))) return base.length;
    }
    return -1;
  }
  for (const p of [path, route]) {
    if (p === undefined) continue;
    if (p === key) return key.length + 1;
    if (subPaths && p.startsWith(key.endsWith('/') ? key : key + '/')) return key.length;
  }
  return -1;
}
