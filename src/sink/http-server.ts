import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createGunzip, createInflate } from 'node:zlib';
import type { ListenerOptions } from './types.js';
import { encodeLogsResponse, encodeRpcStatus, encodeTraceResponse } from '../otlp/responses.js';
import { GRPC_STATUS, type GrpcStatusCode } from '../otlp/status.js';
import { bearerMatches } from './auth.js';
import { listen, type Listening } from './listen.js';
import { RetryableError } from './errors.js';
import type { IngestResult } from './ingest.js';
import type { Signal, WireFormat } from './writer-types.js';

export interface HttpServerOptions extends ListenerOptions {
  handle: (signal: Signal, wireFormat: WireFormat, body: Buffer, peer: string) => Promise<IngestResult>;
  /** Store a body that could not be decompressed, as it arrived (resolves after commit). */
  keepUndecodable: (signal: Signal, wireFormat: WireFormat, raw: Buffer, reason: string, peer: string) => Promise<void>;
  /** Called for each request refused as too large (413). */
  onOversize?: () => void;
}

class TooLarge extends Error {}

/** A Content-Encoding other than gzip, deflate or identity (415). */
class UnsupportedEncoding extends Error {}

/** A body that could not be decompressed; `raw` is what arrived on the wire. */
class Undecodable extends Error {
  constructor(message: string, readonly raw: Buffer) {
    super(message);
  }
}


/** How long a refused oversize body is still read (and discarded) so that the client gets its 413. */
const DRAIN_MS = 5_000;

/**
 * The request body, decompressed, at most `limit` bytes. An oversize body
 * (declared, streamed in chunks without a length, or growing past the limit
 * while decompressing) rejects with {@link TooLarge} without cutting the
 * connection: the rest of the body is read and discarded, so the client
 * receives the 413, and the connection closes after it.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (message: string): void => {
      reject(new TooLarge(message));
      // Read on and discard; give up on a client that keeps sending for too long.
      req.removeAllListeners('data');
      if (stream !== req) {
        req.unpipe();
        (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
      }
      req.resume();
      setTimeout(() => req.destroy(), DRAIN_MS).unref();
    };
    let stream: NodeJS.ReadableStream = req;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) return tooLarge(`request of ${declared} bytes exceeds the limit of ${limit}`);
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    // The compressed bytes are kept too (bounded by the limit), so that a body
    // that does not decompress can still be stored as it arrived.
    const wire: Buffer[] = [];
    let wireSize = 0;
    if (encoding !== 'identity') {
      req.on('data', (c: Buffer) => {
        wireSize += c.length;
        if (wireSize <= limit) wire.push(c);
      });
    }
    if (encoding === 'gzip') stream = req.pipe(createGunzip());
    else if (encoding === 'deflate') stream = req.pipe(createInflate());
    else if (encoding !== 'identity') return reject(new UnsupportedEncoding(`unsupported content-encoding "${encoding}"`));
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      // The limit applies after decompression too: a small gzip bomb is still refused.
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return tooLarge(`request exceeds the limit of ${limit} bytes${stream === req ? '' : ' (after decompression)'}`);
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (e: Error) => reject(stream === req ? e : new Undecodable(`cannot decompress the ${encoding} body: ${e.message}`, Buffer.concat(wire))));
  });
}

/** OTLP/HTTP: POST /v1/logs and /v1/traces, protobuf or JSON, optionally gzip. */
export async function startHttpServer(options: HttpServerOptions): Promise<Listening> {
  const respond = (res: ServerResponse, status: number, json: boolean, body: Uint8Array | string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', ...headers });
    res.end(body);
  };
  const error = (res: ServerResponse, status: number, json: boolean, grpcCode: GrpcStatusCode, message: string, headers: Record<string, string> = {}): void => {
    respond(res, status, json, json ? JSON.stringify({ code: grpcCode, message }) : encodeRpcStatus(grpcCode, message), headers);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const signal: Signal | undefined = path === '/v1/logs' ? 'logs' : path === '/v1/traces' ? 'traces' : undefined;
    const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const json = type === 'application/json';
    if (!signal) return error(res, 404, json, GRPC_STATUS.NOT_FOUND, `no OTLP endpoint at ${path}; use /v1/logs or /v1/traces`);
    if (req.method !== 'POST') return error(res, 405, json, GRPC_STATUS.UNIMPLEMENTED, 'use POST', { allow: 'POST' });
    if (options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
      return error(res, 401, json, GRPC_STATUS.UNAUTHENTICATED, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (!json && type !== 'application/x-protobuf' && type !== 'application/protobuf') {
      return error(res, 415, false, GRPC_STATUS.INVALID_ARGUMENT, `unsupported content-type "${type}"; use application/x-protobuf or application/json`);
    }
    const wireFormat: WireFormat = json ? 'http/json' : 'http/protobuf';
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;
    readBody(req, options.maxMessageBytes)
      .then((body) => options.handle(signal, wireFormat, body, peer))
      .then((result) => {
        if (result.kind === 'invalid') return error(res, 400, json, GRPC_STATUS.INVALID_ARGUMENT, result.message);
        const partial = result.rejected > 0 ? { rejected: result.rejected, errorMessage: result.message } : undefined;
        if (json) {
          const key = signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans';
          respond(res, 200, true, JSON.stringify(partial ? { partialSuccess: { [key]: String(partial.rejected), errorMessage: partial.errorMessage } } : {}));
        } else {
          respond(res, 200, false, signal === 'logs' ? encodeLogsResponse(partial) : encodeTraceResponse(partial));
        }
      })
      .catch((err: unknown) => {
        if (res.headersSent || res.destroyed) return;
        if (err instanceof TooLarge) {
          options.onOversize?.();
          return error(res, 413, json, GRPC_STATUS.RESOURCE_EXHAUSTED, err.message, { connection: 'close' });
        }
        if (err instanceof RetryableError) {
          return error(res, err.kind === 'exhausted' ? 429 : 503, json, err.kind === 'exhausted' ? GRPC_STATUS.RESOURCE_EXHAUSTED : GRPC_STATUS.UNAVAILABLE, err.message, { 'retry-after': String(err.retryAfterSeconds) });
        }
        if (err instanceof Undecodable) {
          options
            .keepUndecodable(signal, wireFormat, err.raw, err.message, peer)
            .then(() => error(res, 400, json, GRPC_STATUS.INVALID_ARGUMENT, err.message))
            .catch((e: unknown) => error(res, 503, json, GRPC_STATUS.UNAVAILABLE, (e as Error).message, { 'retry-after': '1' }));
          return;
        }
        if (err instanceof UnsupportedEncoding) {
          return error(res, 415, json, GRPC_STATUS.INVALID_ARGUMENT, err.message);
        }
        options.log.error({ err }, 'export failed');
        error(res, 503, json, GRPC_STATUS.UNAVAILABLE, `internal error: ${(err as Error).message}`, { 'retry-after': '1' });
      });
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, onRequest)
    : createHttpServer(onRequest);
  server.keepAliveTimeout = 65_000;
  // Requests in flight finish (their records are being committed); idle keep-alive connections are dropped.
  return listen(server, options.port, options.host, 'idle');
}
