/**
 * A small OTLP/gRPC receiver for tests: serves LogsService/Export and
 * TraceService/Export on 127.0.0.1, decodes what it receives with the
 * project's own schema, and can be told to fail or to be unavailable.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeLogsRequest, decodeTraceRequest } from '../../src/otlp/protobuf-requests.js';
import { encodeLogsResponse, encodeTraceResponse } from '../../src/otlp/responses.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { type DecodedLogRecord, type DecodedSpan } from '../../src/otlp/decoded-types.js';

export type OtlpSignal = 'logs' | 'traces';

export interface OtlpReceiverOptions {
  /** 0 (default) picks an ephemeral port; pass a previous receiver's port to restart on it. */
  port?: number;
}

export interface OtlpReceiver {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, usable as an OTLP gRPC exporter `url`. */
  readonly endpoint: string;
  /** Every log record accepted so far, in arrival order. */
  readonly logs: DecodedLogRecord[];
  /** Every span accepted so far, in arrival order. */
  readonly spans: DecodedSpan[];
  /** Export calls received per signal, including the ones answered with an error. */
  readonly calls: Readonly<Record<OtlpSignal, number>>;
  /** Accepted log records whose event name is `audit`. */
  auditRecords(): DecodedLogRecord[];
  /** Answers the next `n` export calls of `signal` (default logs) with `code`, storing nothing. */
  failNext(n: number, code: grpc.status, signal?: OtlpSignal): void;
  /** While false, every call is answered UNAVAILABLE and nothing is stored. */
  setAvailable(available: boolean): void;
  /** Forgets the stored records and call counts. */
  clear(): void;
  /** Resolves once `pred()` is true; rejects after `timeoutMs` (default 10 s). */
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  /** Closes the server and every open connection at once. */
  stop(): Promise<void>;
}

interface Failure {
  remaining: number;
  code: grpc.status;
}

const identity = (buf: Buffer): Buffer => buf;

function unaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    // Requests are decoded in the handler so that malformed input is answered
    // INVALID_ARGUMENT instead of failing inside the transport.
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const schema = loadOtlpSchema();
  const logs: DecodedLogRecord[] = [];
  const spans: DecodedSpan[] = [];
  const calls: Record<OtlpSignal, number> = { logs: 0, traces: 0 };
  const failures: Record<OtlpSignal, Failure> = {
    logs: { remaining: 0, code: grpc.status.OK },
    traces: { remaining: 0, code: grpc.status.OK },
  };
  let available = true;

  /** The error to answer with, if any, for a call of `signal`. */
  const refusal = (signal: OtlpSignal): Partial<grpc.StatusObject> | undefined => {
    if (!available) return { code: grpc.status.UNAVAILABLE, details: 'receiver unavailable' };
    const failure = failures[signal];
    if (failure.remaining > 0) {
      failure.remaining -= 1;
      return { code: failure.code, details: 'injected failure' };
    }
    return undefined;
  };

  const handler =
    <T>(signal: OtlpSignal, decode: (buf: Buffer) => T[], store: T[], respond: () => Uint8Array) =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
      calls[signal] += 1;
      const refused = refusal(signal);
      if (refused) {
        callback(refused, null);
        return;
      }
      let decoded: T[];
      try {
        decoded = decode(call.request);
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `undecodable request: ${String(err)}` }, null);
        return;
      }
      store.push(...decoded);
      callback(null, Buffer.from(respond()));
    };

  const server = new grpc.Server();
  server.addService(
    { Export: unaryMethod(schema.logsExportPath) },
    { Export: handler('logs', decodeLogsRequest, logs, () => encodeLogsResponse()) },
  );
  server.addService(
    { Export: unaryMethod(schema.traceExportPath) },
    { Export: handler('traces', decodeTraceRequest, spans, () => encodeTraceResponse()) },
  );

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });

  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    logs,
    spans,
    calls,
    auditRecords: () => logs.filter((r) => r.eventName === 'audit'),
    failNext(n, code, signal = 'logs') {
      failures[signal] = { remaining: n, code };
    },
    setAvailable(value) {
      available = value;
    },
    clear() {
      logs.length = 0;
      spans.length = 0;
      calls.logs = 0;
      calls.traces = 0;
    },
    async waitFor(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() >= deadline) throw new Error(`OTLP receiver: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      server.forceShutdown();
    },
  };
}
