/**
 * Value sources of route rules (`'body:user.name'`, `'header:x-id'`) and
 * reading a dotted path out of a request value.
 */

/** Where a value is read from in a request/response. */
export type SourceKind = 'param' | 'body' | 'response' | 'query' | 'header';

/** A parsed `'<kind>:<path>'` source specification. */
export interface Source {
  from: SourceKind;
  path: string;
}

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
