/**
 * An OTLP/gRPC logs client that sends pre-serialized
 * ExportLogsServiceRequests: the bytes pass through unchanged, so the client
 * costs the benchmark only gRPC framing, not serialization.
 */
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';

const LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** Codes after which an OTLP exporter retries (the sink answers these when its queue is full or the database is down). */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED, grpc.status.DEADLINE_EXCEEDED]);
const MAX_RETRIES = 20;
const RETRY_BASE_MS = 20;
const RETRY_MAX_MS = 1_000;
const CALL_DEADLINE_MS = 60_000;
const READY_TIMEOUT_MS = 10_000;

const passthrough = (b: Buffer): Buffer => b;

const LogsServiceClient = grpc.makeGenericClientConstructor(
  {
    Export: {
      path: LOGS_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: passthrough,
      requestDeserialize: passthrough,
      responseSerialize: passthrough,
      responseDeserialize: passthrough,
    },
  },
  'LogsService',
);

type ExportFn = (
  request: Buffer,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Buffer) => void,
) => grpc.ClientUnaryCall;

export class ExportClient {
  retries = 0;
  private readonly client: grpc.Client;
  private readonly call: ExportFn;

  constructor(port: number) {
    // A connection of its own, as separate services would have.
    this.client = new LogsServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': -1,
    });
    // The generic constructor adds the method at run time; its type does not know it.
    this.call = (this.client as unknown as { Export: ExportFn }).Export.bind(this.client);
  }

  ready(): Promise<void> {
    return new Promise<void>((res, rej) => this.client.waitForReady(Date.now() + READY_TIMEOUT_MS, (err) => (err ? rej(err) : res())));
  }

  /** Resolves once the receiver answered OK (the sink: committed); retries what the receiver asks to retry. */
  async send(bytes: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const err = await new Promise<grpc.ServiceError | null>((res) => {
        this.call(bytes, new grpc.Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, (e) => res(e));
      });
      if (!err) return;
      if (!RETRYABLE.has(err.code) || attempt >= MAX_RETRIES) throw new Error(`export failed: ${err.code} ${err.details}`);
      this.retries++;
      await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt));
    }
  }

  close(): void {
    this.client.close();
  }
}

/** `n` clients on connections of their own, each ready. */
export async function openClients(port: number, n: number): Promise<ExportClient[]> {
  const clients = Array.from({ length: n }, () => new ExportClient(port));
  await Promise.all(clients.map((c) => c.ready()));
  return clients;
}
