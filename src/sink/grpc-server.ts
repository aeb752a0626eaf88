import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { ListenerOptions } from './types.js';
import { encodeLogsResponse, encodeTraceResponse } from '../otlp/responses.js';
import { OTLP_LOGS_EXPORT_PATH, OTLP_TRACE_EXPORT_PATH } from '../otlp/export-paths.js';
import { GRPC_STATUS, type GrpcStatusCode } from '../otlp/status.js';
import { bearerMatches } from './auth.js';
import type { Listening } from './listen.js';
import { RetryableError } from './errors.js';
import type { IngestResult } from './ingest.js';
import type { Signal } from './writer-types.js';

export interface GrpcServerOptions extends ListenerOptions {
  handle: (signal: Signal, body: Buffer, peer: string) => Promise<IngestResult>;
}

/** How long closing waits for calls in flight before cutting them off, ms. */
const SHUTDOWN_GRACE_MS = 5000;
/** Largest answer sent, bytes (an Export answer is small: at most a partial-success message). */
const MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;

const raw = (b: Buffer): Buffer => b;

function method(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  // Bytes in, bytes out: decoding happens in the handler, so that a malformed
  // request is answered INVALID_ARGUMENT and kept, not lost in the transport.
  return { path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
}

function fail(code: GrpcStatusCode, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

/** OTLP/gRPC LogsService/Export and TraceService/Export. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<Listening> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
  });
  const handler = (signal: Signal): grpc.handleUnaryCall<Buffer, Buffer> => (call, callback) => {
    if (options.token !== undefined) {
      const auth = call.metadata.get('authorization')[0];
      if (!bearerMatches(typeof auth === 'string' ? auth : undefined, options.token)) {
        callback(fail(GRPC_STATUS.UNAUTHENTICATED, 'missing or wrong bearer token'));
        return;
      }
    }
    options
      .handle(signal, call.request, call.getPeer())
      .then((result) => {
        if (result.kind === 'invalid') return callback(fail(GRPC_STATUS.INVALID_ARGUMENT, result.message));
        const partial = result.rejected > 0 ? { rejected: result.rejected, errorMessage: result.message } : undefined;
        const body = signal === 'logs' ? encodeLogsResponse(partial) : encodeTraceResponse(partial);
        callback(null, Buffer.from(body));
      })
      .catch((err: unknown) => {
        if (err instanceof RetryableError) {
          callback(fail(err.kind === 'exhausted' ? GRPC_STATUS.RESOURCE_EXHAUSTED : GRPC_STATUS.UNAVAILABLE, err.message));
        } else {
          options.log.error({ err }, 'export failed');
          callback(fail(GRPC_STATUS.UNAVAILABLE, `internal error: ${(err as Error).message}`));
        }
      });
  };
  server.addService(
    { Export: method(OTLP_LOGS_EXPORT_PATH) } as grpc.ServiceDefinition,
    { Export: handler('logs') },
  );
  server.addService(
    { Export: method(OTLP_TRACE_EXPORT_PATH) } as grpc.ServiceDefinition,
    { Export: handler('traces') },
  );
  const creds = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(options.tls.cert), private_key: readFileSync(options.tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
