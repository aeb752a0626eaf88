import type { CapturedRequest } from './request-capture.js';

/**
 * Keeps the message of an error a framework saw thrown while serving a
 * request (never throws). Koa and Hono answer errors themselves (an error middleware, Koa's
 * `ctx.onerror`, Hono's `app.onError`): the server span then ends without
 * the exception, and the record of a failed request would lack its message.
 * The first error wins: it is the one raised nearest to its cause (a
 * middleware that catches it and throws another runs later). Used only when
 * the request failed (see the tagger).
 */
export function noteFrameworkError(entry: CapturedRequest | undefined, err: unknown): void {
  if (entry === undefined || entry.error !== undefined) return;
  try {
    const message = typeof err === 'string' ? err : err !== null && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
    if (typeof message === 'string' && message.length > 0) entry.error = message;
  } catch {
    // A thrown value whose `message` getter throws: the record goes without a message.
  }
}
