import { copyBody, type BodySnapshot, type BodyWatchOptions } from './body-snapshot.js';

/**
 * The body of a Hono request as the client sent it. Hono parses nothing
 * into a request property: a handler reads the body through `c.req`
 * (`json()`, `text()`, `parseBody()`, `arrayBuffer()`, validators), each
 * of which reads the raw request once and keeps the promise in
 * `c.req.bodyCache` under the kind it read (`text` for JSON). Watching
 * that object tells which kind was read and when; the value recorded is
 * parsed from what was read, so whatever a handler does with its own
 * parsed copy never shows in `audit.request`.
 */

/** The part of Hono's `HonoRequest` read here. */
interface HonoRequestLike {
  bodyCache?: unknown;
  raw?: { headers?: { get?: (name: string) => string | null } };
}

function contentType(req: HonoRequestLike): string {
  try {
    return (req.raw?.headers?.get?.('content-type') ?? '').toLowerCase();
  } catch {
    // A request whose headers cannot be read: treated as untyped.
    return '';
  }
}

/** The media type of a `Content-Type` value, without parameters. */
const mediaType = (type: string): string => (type.split(';', 1)[0] ?? '').trim();
const isJson = (type: string): boolean => {
  const media = mediaType(type);
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
};
const isForm = (type: string): boolean => mediaType(type) === 'application/x-www-form-urlencoded';
const isText = (type: string): boolean => type.startsWith('text/') || isJson(type) || isForm(type) || mediaType(type) === 'application/xml';

/** Repeated keys become arrays, as express's and Koa's body parsers do. */
function add(out: Record<string, unknown>, key: string, value: string): void {
  const safeKey = key === '__proto__' ? '__proto__ ' : key;
  const existing = out[safeKey];
  if (existing === undefined) out[safeKey] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else out[safeKey] = [existing, value];
}

function fromText(text: string, type: string, watch: BodyWatchOptions): unknown {
  if (Buffer.byteLength(text) > watch.maxDeclaredBytes) return undefined;
  if (isJson(type)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: recorded as the text it is.
      return text;
    }
  }
  if (isForm(type)) {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [key, value] of new URLSearchParams(text)) if (n++ < watch.maxNodes) add(out, key, value);
    return out;
  }
  return text;
}

/** The string fields of a form (files are not part of the body, as with multer). */
function fromForm(form: { forEach?: unknown }): unknown {
  if (typeof form.forEach !== 'function') return undefined;
  const out: Record<string, unknown> = {};
  (form as { forEach(cb: (value: unknown, key: string) => void): void }).forEach((value, key) => {
    if (typeof value === 'string') add(out, key, value);
  });
  return out;
}

/** What a read of kind `key` resolved to, as the record's body; undefined when it cannot be recorded. */
function bodyOf(key: string, value: unknown, type: string, watch: BodyWatchOptions): unknown {
  if (key === 'text' && typeof value === 'string') return fromText(value, type, watch);
  if (key === 'arrayBuffer' && value instanceof ArrayBuffer) {
    if (!isText(type) || value.byteLength > watch.maxDeclaredBytes) return undefined;
    return fromText(new TextDecoder().decode(value), type, watch);
  }
  // Hono before 4.5 kept the parsed JSON itself, which a handler may then change.
  if (key === 'json') return copyBody(value, { nodes: watch.maxNodes });
  if (key === 'formData' && value !== null && typeof value === 'object') return fromForm(value);
  return undefined;
}

/**
 * Watches the reads of `req`'s body (see above) into `snapshot`: the first
 * read that resolves to a recordable body is recorded. Returns false (and
 * changes nothing) when `req` has no empty `bodyCache`. Never throws.
 */
export function watchHonoBody(req: unknown, snapshot: BodySnapshot, watch: BodyWatchOptions): boolean {
  try {
    if (req === null || typeof req !== 'object') return false;
    const request = req as HonoRequestLike;
    const cache = request.bodyCache;
    if (cache === null || typeof cache !== 'object' || Object.keys(cache).length > 0) return false;
    const take = (key: string, value: unknown): void => {
      if (snapshot.final) return;
      const body = bodyOf(key, value, contentType(request), watch);
      if (body === undefined) return;
      snapshot.taken = true;
      snapshot.final = true;
      snapshot.value = body;
    };
    const takeSafely = (key: string, value: unknown): void => {
      try {
        take(key, value);
      } catch {
        // A body that cannot be read for the record is left out; the app's read is untouched.
      }
    };
    request.bodyCache = new Proxy(cache, {
      set(target, key, value: unknown) {
        const done = Reflect.set(target, key, value);
        if (typeof key !== 'string') return done;
        // A read in progress; its result is taken before the handler's own continuation runs.
        if (value instanceof Promise) value.then((resolved: unknown) => takeSafely(key, resolved), () => undefined);
        // A value put there directly (Hono's form validator stores the FormData it parsed).
        else takeSafely(key, value);
        return done;
      },
    });
    return true;
  } catch {
    // A request object that cannot be watched: its body goes unrecorded.
    return false;
  }
}
