/**
 * What changed between a record's `change_before` and `change_after`: one
 * entry per leaf that was added, removed or changed, with its path
 * (`address.city`, `tags[2]`). Objects are compared key by key, arrays index
 * by index; anything else by value.
 */

export interface DiffEntry {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Most entries reported; a diff cut short says so. */
export const MAX_DIFF_ENTRIES = 1_000;

export interface Diff {
  entries: DiffEntry[];
  truncated: boolean;
  /** Why there are no entries although values were recorded: they read as `[encrypted]`, `[erased]` or `[undecryptable]`. */
  unreadable?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const part = PLAIN_KEY.test(key) ? key : JSON.stringify(key);
  return path === '' ? part : `${path}.${part}`;
}

export function jsonDiff(before: unknown, after: unknown): Diff {
  const entries: DiffEntry[] = [];
  let truncated = false;
  const push = (e: DiffEntry): void => {
    if (entries.length < MAX_DIFF_ENTRIES) entries.push(e);
    else truncated = true;
  };
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (truncated) return;
    if (isObject(a) && isObject(b)) {
      for (const key of Object.keys(a)) {
        if (key in b) walk(child(path, key), a[key], b[key]);
        else push({ path: child(path, key), kind: 'removed', before: a[key] });
      }
      for (const key of Object.keys(b)) if (!(key in a)) push({ path: child(path, key), kind: 'added', after: b[key] });
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const n = Math.max(a.length, b.length);
      for (let i = 0; i < n; i++) {
        if (i >= b.length) push({ path: child(path, i), kind: 'removed', before: a[i] });
        else if (i >= a.length) push({ path: child(path, i), kind: 'added', after: b[i] });
        else walk(child(path, i), a[i], b[i]);
      }
      return;
    }
    if (a === undefined && b === undefined) return;
    if (a === undefined || a === null) {
      if (b !== undefined && b !== null) push({ path, kind: 'added', after: b });
      return;
    }
    if (b === undefined || b === null) {
      push({ path, kind: 'removed', before: a });
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) push({ path, kind: 'changed', before: a, after: b });
  };
  // A record that creates (or deletes) an object lists its keys, not one root entry.
  const a = before ?? (isObject(after) ? {} : undefined);
  const b = after ?? (isObject(before) ? {} : undefined);
  walk('', a, b);
  return { entries, truncated };
}
