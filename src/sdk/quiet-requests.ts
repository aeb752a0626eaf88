/**
 * Requests that are not audited by default: CORS preflights and static
 * files. Both checks run on every request, so each is a header lookup or a
 * scan of the path's last segment, never a regular expression over the path.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_PATH_LENGTH } from './input-limits.js';

/**
 * Extensions of static assets (scripts, styles, source maps, images, fonts,
 * media) that are not audited by default. Extensions APIs serve as data
 * (`.json`, `.xml`, `.csv`, `.html`, `.txt`, `.pdf`) are left out on purpose.
 */
export const DEFAULT_STATIC_EXTENSIONS: readonly string[] = [
  'js', 'mjs', 'cjs', 'css', 'map',
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'ico', 'webp', 'avif', 'bmp',
  'woff', 'woff2', 'ttf', 'otf', 'eot',
  'mp3', 'mp4', 'webm', 'ogg', 'wav',
  'webmanifest',
];

/** Longest extension looked up; a longer one is not an asset's. */
const MAX_EXTENSION_LENGTH = 16;

/** `.JS` → `js`; blank entries are dropped. */
export function normalizeExtensions(list: readonly string[]): string[] {
  return list.map((e) => e.trim().replace(/^\.+/, '').toLowerCase()).filter((e) => e.length > 0);
}

/**
 * A CORS preflight: `OPTIONS` with an `Access-Control-Request-Method`
 * header (the Fetch standard's definition). Without the request's headers
 * nothing is known, and the request counts as an ordinary one.
 */
export function isPreflight(method: string, headers: IncomingHttpHeaders | undefined): boolean {
  return method === 'OPTIONS' && headers?.['access-control-request-method'] !== undefined;
}

/**
 * A test of whether a request path names a static file, by the extension of
 * its last segment. Requests answered by `express.static` (serve-static),
 * `@fastify/static` or koa-static are recognised only this way: those
 * handlers leave no mark on the server span or the response that an API
 * handler could not leave too, so a file served without an extension is
 * audited. A path longer than {@link MAX_PATH_LENGTH} is never static (its
 * end is past what the SDK reads). An empty list turns the test off.
 */
export function createStaticTest(extensions: readonly string[]): (path: string) => boolean {
  const set = new Set(normalizeExtensions(extensions));
  if (set.size === 0) return () => false;
  return (path) => {
    if (path.length > MAX_PATH_LENGTH) return false;
    const dot = path.lastIndexOf('.');
    // No dot, a dot in an earlier segment, a dot file (`/.env`) or an over-long extension.
    if (dot <= 0 || path.length - dot - 1 > MAX_EXTENSION_LENGTH || path.indexOf('/', dot) !== -1 || path[dot - 1] === '/') return false;
    return set.has(path.slice(dot + 1).toLowerCase());
  };
}
