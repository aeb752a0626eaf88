import { MAX_DEPTH } from './json-walk.js';

/**
 * The request body as the client sent it. A handler may change the parsed
 * body before the record is made (json-server adds the new `id` to
 * `req.body`, handlers delete or rewrite fields, or assign a new body);
 * what it produced belongs in `after` or the response rules, not in
 * `audit.request`. So the body is copied when the body parser assigns it,
 * before any handler runs.
 *
 * Cost, paid only by requests that declare a body: one accessor defined on
 * the request object, and at assignment a copy of the parsed body's objects
 * and arrays (strings and numbers are shared, they cannot change), at most
 * `maxNodes` values deep-copied; values past that are shared and may show a
 * later change. The redactor reads no more than its byte budget of values,
 * so a budget of twice that covers what a record can hold. A string body
 * needs no copy. The copy replaces nothing the record did before: redaction
 * still runs once, when the span ends, on the copy.
 */

/** The copy kept of the parsed body. */
export interface BodySnapshot {
  /** Set once a body was assigned. */
  taken: boolean;
  /** Set once a body other than a placeholder was assigned: later assignments are the app's. */
  final: boolean;
  /** The copy (the value itself when it is a placeholder or cannot change). */
  value: unknown;
}

/** What {@link watchBody} needs to know. */
export interface BodyWatchOptions {
  /** Most values deep-copied. */
  maxNodes: number;
  /** Bodies declared (`Content-Length`) larger than this are not recorded, so not watched. */
  maxDeclaredBytes: number;
}

/**
 * True when the request declares a body small enough to be recorded: a
 * positive `Content-Length` up to `maxDeclaredBytes`, or a chunked body.
 */
export function declaresRecordedBody(headers: Record<string, string | string[] | undefined>, maxDeclaredBytes: number): boolean {
  const length = headers['content-length'];
  if (length !== undefined) {
    const declared = Number(Array.isArray(length) ? length[0] : length);
    return declared > 0 && declared <= maxDeclaredBytes;
  }
  return headers['transfer-encoding'] !== undefined;
}

/** Copies values by assignment without triggering the `__proto__` setter. */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of the plain objects and arrays of `value` (what body parsers
 * produce), keys in the same order, at most `budget.nodes` values deep and
 * {@link MAX_DEPTH} + 1 levels; anything else (dates, buffers, class
 * instances, values past the budget) is shared. Never throws: a value that
 * cannot be read is shared as it is.
 */
export function copyBody(value: unknown, budget: { nodes: number }, depth = 0): unknown {
  budget.nodes--;
  if (value === null || typeof value !== 'object' || budget.nodes < 0 || depth > MAX_DEPTH) return value;
  try {
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) return value;
      const out: unknown[] = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = copyBody(value[i], budget, depth + 1);
      return out;
    }
    if (!isPlainObject(value)) return value;
    const source = value as Record<string, unknown>;
    const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    for (const key of Object.keys(source)) setKey(out, key, copyBody(source[key], budget, depth + 1));
    return out;
  } catch {
    return value;
  }
}

/**
 * True for a value a body parser leaves before parsing: nothing, an empty
 * plain object (body-parser 1 sets `req.body = {}` first), or the raw body
 * as bytes or text (restify's body reader assigns them before its parser
 * assigns the parsed value). Raw bodies cannot change in place, so keeping
 * them by reference loses nothing; the cost: a handler that replaces a raw
 * body with a value of its own has that value recorded.
 */
function isPlaceholder(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'string' || value instanceof Uint8Array) return true;
  if (typeof value !== 'object' || !isPlainObject(value)) return false;
  for (const _key in value) return false;
  return true;
}

/**
 * Watches `target.body` (express: the `IncomingMessage`; fastify: its
 * request object; `key` names another property, hapi's `payload`): the
 * first value assigned that is not a placeholder is
 * copied into `snapshot`; later assignments (a handler replacing the body)
 * change the property as before but not the snapshot. A placeholder (an
 * empty object, which body-parser 1 assigns before parsing and multer fills
 * field by field) is kept by reference until a body replaces it, so a body
 * filled in place is recorded as it was before this copy existed. The property keeps
 * behaving as a plain writable, enumerable data property for the app.
 * Returns false (and leaves the object alone) when the property cannot be
 * redefined.
 */
export function watchBody(target: object, snapshot: BodySnapshot, maxNodes: number, key = 'body'): boolean {
  try {
    const existing = Object.getOwnPropertyDescriptor(target, key);
    if (existing && (!existing.configurable || !('value' in existing))) return false;
    let current: unknown = existing?.value;
    const take = (value: unknown): void => {
      if (snapshot.final || value === undefined) return;
      snapshot.taken = true;
      snapshot.final = !isPlaceholder(value);
      // A placeholder is kept as it is: parsers such as multer fill it in place.
      snapshot.value = snapshot.final ? copyBody(value, { nodes: maxNodes }) : value;
    };
    take(current);
    Object.defineProperty(target, key, {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (value: unknown) => {
        take(value);
        current = value;
      },
    });
    return true;
  } catch {
    return false;
  }
}
