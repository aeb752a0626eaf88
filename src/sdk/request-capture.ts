import { trace } from '@opentelemetry/api';
import { ServerResponse, type IncomingMessage } from 'node:http';
import { declaresRecordedBody, watchBody, type BodySnapshot, type BodyWatchOptions } from './body-snapshot.js';
import { recordedBodyBytes } from './input-limits.js';
import { redactText, type RedactTextOptions } from './redact-text.js';

/** Response bodies are kept for resource ids only up to this size. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The request objects of one server span, read when the span ends. */
export interface CapturedRequest {
  req: IncomingMessage;
  res?: ServerResponse;
  /** A framework's own request object (fastify), whose body/params/user are not on `req`. */
  framework?: Record<string, unknown>;
  /** The property of `framework` that holds the parsed body, when not `body` (hapi: `payload`). */
  bodyKey?: string;
  /** Response body chunks, kept only for routes whose resource id comes from the response. */
  responseChunks?: Buffer[];
  responseBytes?: number;
  /** The body as the client sent it, copied when it was parsed (before any handler ran). */
  sent?: BodySnapshot;
  /** Message of the first error a framework saw thrown (Koa middleware, Hono handlers), for a failed request. */
  error?: string;
}

/**
 * A span's request objects live in a property of the span (a global symbol,
 * so that the ESM and CommonJS builds share it): cheaper per request than a
 * WeakMap entry. A symbol key is invisible to `Object.keys`, `for…in` and
 * JSON.
 */
const CAPTURED = Symbol.for('otel-audit.captured-request');
type Holder = { [CAPTURED]?: CapturedRequest | undefined };

/** The request objects of a span, if its request was captured. */
export function capturedRequestOf(span: object): CapturedRequest | undefined {
  return (span as Holder)[CAPTURED];
}

/**
 * The request objects of a span, forgotten at once: the span itself lives on
 * in the APM export queue (up to its batch size, for seconds), and with the
 * entry it would keep the request, its parsed body and response chunks alive.
 */
export function takeCapturedRequest(span: object): CapturedRequest | undefined {
  const holder = span as Holder;
  const entry = holder[CAPTURED];
  if (entry !== undefined) holder[CAPTURED] = undefined;
  return entry;
}

/**
 * Starts watching `target.body` for `entry` when the request declares a
 * body that can be recorded (see {@link watchBody}); requests without one
 * cost nothing more.
 */
function watchSentBody(entry: CapturedRequest, target: object, watch: BodyWatchOptions | undefined, key?: string): void {
  if (!watch || !declaresRecordedBody(entry.req.headers, watch.maxDeclaredBytes)) return;
  entry.sent ??= { taken: false, final: false, value: undefined };
  watchBody(target, entry.sent, watch.maxNodes, key);
}

/**
 * `requestHook` of the HTTP instrumentation: remember the request of a
 * server span and, with `watch`, the body a parser assigns to `req.body`.
 */
export function captureRequest(span: object, req: IncomingMessage, watch?: BodyWatchOptions): void {
  const holder = span as Holder;
  const existing = holder[CAPTURED];
  if (existing) {
    existing.req = req;
    return;
  }
  const entry: CapturedRequest = { req };
  holder[CAPTURED] = entry;
  watchSentBody(entry, req, watch);
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return undefined;
}

/** The entry whose response body a response keeps (a global symbol: the ESM and CommonJS builds share it). */
const KEEPS_BODY = Symbol.for('otel-audit.keeps-response-body');
type ResponseHolder = { [KEEPS_BODY]?: CapturedRequest | undefined };
/** Set on ServerResponse.prototype once it is patched (by either build). */
const PATCHED = Symbol.for('otel-audit.response-capture-patched');

function keepChunk(entry: CapturedRequest, chunk: unknown, encoding: unknown): void {
  const buf = toBuffer(chunk, encoding);
  if (!buf || !entry.responseChunks || (entry.responseBytes ?? 0) + buf.length > MAX_RESPONSE_BYTES) return;
  entry.responseChunks.push(buf);
  entry.responseBytes = (entry.responseBytes ?? 0) + buf.length;
}

/**
 * `write` and `end` of every HTTP server response, patched once: a response
 * whose body is kept (see {@link captureResponse}) hands its chunks over;
 * every other response costs one property read. No closure or own property
 * per response. The arguments are passed through untouched. Called when the
 * SDK starts, before the HTTP instrumentation first reads a response's `end`.
 */
export function patchResponsePrototype(): void {
  const proto = ServerResponse.prototype as unknown as Record<PropertyKey, unknown>;
  if (proto[PATCHED] === true) return;
  const write = proto['write'] as (...a: unknown[]) => boolean;
  const end = proto['end'] as (...a: unknown[]) => ServerResponse;
  proto['write'] = function (this: ResponseHolder, ...args: unknown[]) {
    const entry = this[KEEPS_BODY];
    if (entry !== undefined) keepChunk(entry, args[0], args[1]);
    return write.apply(this, args);
  };
  proto['end'] = function (this: ResponseHolder, ...args: unknown[]) {
    const entry = this[KEEPS_BODY];
    if (entry !== undefined) {
      this[KEEPS_BODY] = undefined;
      if (typeof args[0] !== 'function') keepChunk(entry, args[0], args[1]);
    }
    return end.apply(this, args);
  };
  Object.defineProperty(proto, PATCHED, { value: true });
}

/**
 * `responseHook` of the HTTP instrumentation: remember the response, and when
 * `keepBody` says so, keep a bounded copy of its body (resources created by a
 * POST learn their id from the response).
 */
export function captureResponse(span: object, res: ServerResponse, keepBody: boolean): void {
  const entry = capturedRequestOf(span);
  if (!entry) return;
  entry.res = res;
  if (!keepBody) return;
  patchResponsePrototype();
  entry.responseChunks = [];
  entry.responseBytes = 0;
  (res as ResponseHolder)[KEEPS_BODY] = entry;
}

/**
 * `requestHook` of the fastify instrumentation (and Koa's context, hapi's
 * request): attach the framework's request (parsed body, params, user) to
 * the HTTP server span active at that moment and, with `watch`, watch the
 * body the framework assigns to it (the hook runs before the body is
 * parsed). `bodyKey` names the property the framework parses the body into
 * when it is not `body`. Returns the span's entry, if there is one.
 */
export function captureFrameworkRequest(request: unknown, watch?: BodyWatchOptions, bodyKey?: string): CapturedRequest | undefined {
  if (request === null || typeof request !== 'object') return undefined;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const entry = capturedRequestOf(span);
  if (!entry) return undefined;
  entry.framework = request as Record<string, unknown>;
  if (bodyKey !== undefined) entry.bodyKey = bodyKey;
  watchSentBody(entry, request, watch, bodyKey);
  return entry;
}

/**
 * The request body as it goes into a record. A body declared larger than
 * {@link recordedBodyBytes} of the value cap becomes
 * `[body: N bytes, not recorded]` without being looked at. A body the
 * framework left as a string (text, XML, an unparsed form) is recorded only
 * when `captureText` says so, then cut and redacted by {@link redactText};
 * otherwise it becomes `[text body: N chars]`. Other bodies (objects,
 * buffers) are returned as they are, for the redactor.
 */
export function bodyForRecord(
  body: unknown,
  captureText: boolean,
  text: RedactTextOptions,
  contentLength?: string | string[] | number,
): unknown {
  if (body === undefined || body === null) return body;
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (Number.isFinite(declared) && declared > recordedBodyBytes(text.maxLength ?? 0)) {
    return `[body: ${declared} bytes, not recorded]`;
  }
  if (typeof body !== 'string' || body.length === 0) return body;
  return captureText ? redactText(body, text) : `[text body: ${body.length} chars]`;
}
