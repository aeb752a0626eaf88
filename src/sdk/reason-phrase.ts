import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * The reason phrase a handler gave its response, when it is its own: Koa's
 * `ctx.message = 'database down'`, express's `res.statusMessage`. The
 * standard phrase of the status (`Internal Server Error`, in any case) says
 * nothing the status code does not, and is left out.
 */
export function customReasonPhrase(res: ServerResponse | undefined): string | undefined {
  const phrase = res?.statusMessage;
  if (typeof phrase !== 'string' || phrase.trim() === '') return undefined;
  // Node's own phrase for a status it has no name for is `unknown`.
  const standard = STATUS_CODES[res?.statusCode ?? 0] ?? 'unknown';
  return standard.toLowerCase() === phrase.trim().toLowerCase() ? undefined : phrase;
}
