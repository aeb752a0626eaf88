/**
 * The `attributes` column: what a record carries beyond its columns (unused
 * record attributes, resource and scope, body content without a column), and
 * the flag of a sanitised row.
 */
import * as A from '../contract/attributes.js';
import type { DecodedAttributes, DecodedScope } from '../otlp/decoded-types.js';
import { childName, displayKey, isMap, own, quote, setOwn } from './decoded-values.js';
import type { Sanitizer } from './sanitizer.js';
import { share } from './shared-values.js';

/**
 * Key of the attributes column listing the columns a sanitised row had
 * altered (sorted column names, e.g. `["request","user_agent"]`); absent when
 * the row is stored verbatim. A record attribute of that name is kept as
 * `attribute.audit.sanitized`.
 */
export const SANITIZED_ATTRIBUTE = 'audit.sanitized';
/** Column every cleaned value here is flagged on. */
const COLUMN = 'attributes';
/** Top-level keys of the attributes column that the sink fills itself. */
const RESERVED_ATTRIBUTE_KEYS = new Set(['resource', 'scope', 'body', SANITIZED_ATTRIBUTE]);
/** Prefix under which a record attribute named like a reserved key is kept. */
const RESERVED_RENAME_PREFIX = 'attribute.';

/** Body keys of an SDK record that map to columns or are handled by {@link addBodyExtras}. */
const KNOWN_BODY_KEYS = new Set([
  'action',
  'outcome',
  'actor',
  'tenant_id',
  'resource',
  'module',
  'level',
  'http',
  'duration_ms',
  'error',
  'request',
  'change',
  'meta',
  'incomplete',
]);

/** Cleaned resource attributes per decoded resource object, the limits they were checked with, and what cleaning altered. */
const CLEAN_RESOURCES = new WeakMap<object, { limits: string; value: Record<string, unknown>; notes: string[] }>();

/**
 * The resource part of the attributes column (without service.name, which
 * has its column). The records of one request share one decoded resource
 * object (the wire decoder decodes it once), so its checked, cleaned form is
 * kept per object: checked once per request, not once per record. A resource
 * that fails a check is not kept (each of its records is rejected with the
 * reason).
 */
function cleanResource(resource: DecodedAttributes, s: Sanitizer): Record<string, unknown> {
  const cached = CLEAN_RESOURCES.get(resource);
  if (cached && cached.limits === s.limitsKey) {
    for (const note of cached.notes) s.alter(COLUMN, note);
    return cached.value;
  }
  const notesBefore = s.noteCount;
  const res: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k === A.ATTR_SERVICE_NAME && typeof v === 'string' && v !== '') continue;
    const key = s.storable(k, `resource attribute key ${quote(k)}`, COLUMN);
    setOwn(res, key, s.clean(v, `resource attribute ${displayKey(k)}`, COLUMN));
  }
  // Shared by every row of the request: frozen, and hashed once (shared-values.ts).
  CLEAN_RESOURCES.set(resource, { limits: s.limitsKey, value: share(res), notes: s.notesSince(notesBefore) });
  return res;
}

/** Record attributes not in `used`, then `resource` and `scope`. */
export function attributesColumn(
  attrs: DecodedAttributes,
  used: ReadonlySet<string>,
  resource: DecodedAttributes,
  scope: DecodedScope,
  s: Sanitizer,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (used.has(k)) continue;
    const key = s.storable(k, `attribute key ${quote(k)}`, COLUMN);
    setOwn(out, RESERVED_ATTRIBUTE_KEYS.has(key) ? RESERVED_RENAME_PREFIX + key : key, s.clean(v, displayKey(k), COLUMN));
  }
  out['resource'] = cleanResource(resource, s);
  const sc: Record<string, unknown> = {
    name: s.clean(scope?.name ?? '', 'scope.name', COLUMN),
    version: s.clean(scope?.version ?? '', 'scope.version', COLUMN),
  };
  const scopeAttrs = isMap(scope?.attributes) ? scope.attributes : {};
  if (Object.keys(scopeAttrs).length > 0) sc['attributes'] = s.clean(scopeAttrs, 'scope.attributes', COLUMN);
  out['scope'] = sc;
  return out;
}

/**
 * Body content of a log record that has no column and no attribute
 * counterpart, added to `out`: `error`, `meta.*` and `incomplete` as their
 * attribute names when the attributes lack them, unknown keys (or a body that
 * is not a map) under `body`.
 */
export function addBodyExtras(body: unknown, attrs: DecodedAttributes, out: Record<string, unknown>, s: Sanitizer): void {
  if (body === null || body === undefined) return;
  if (!isMap(body)) {
    out['body'] = s.clean(body, 'body', COLUMN);
    return;
  }
  const addIfAbsent = (key: string, value: unknown, name: string): void => {
    if (value === undefined || value === null || own(attrs, key) !== undefined) return;
    setOwn(out, key, s.clean(value, name, COLUMN));
  };
  addIfAbsent(A.ATTR_AUDIT_ERROR_MESSAGE, own(body, 'error'), 'body.error');
  addIfAbsent(A.ATTR_AUDIT_INCOMPLETE, own(body, 'incomplete'), 'body.incomplete');
  const meta = own(body, 'meta');
  if (isMap(meta)) {
    for (const [k, v] of Object.entries(meta)) addIfAbsent(A.ATTR_AUDIT_META_PREFIX + k, v, childName('body.meta', k));
  }
  const unknown: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(body)) {
    // A `meta` that is not a map has no attribute form: it is kept with the unknown keys.
    if (KNOWN_BODY_KEYS.has(k) && !(k === 'meta' && !isMap(v))) continue;
    setOwn(unknown, k, v);
    n++;
  }
  if (n > 0) out['body'] = s.clean(unknown, 'body', COLUMN);
}
