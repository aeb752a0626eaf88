/**
 * The APM of the end-to-end tests: Jaeger v2 (built from its Go module by
 * scripts/collector.ts) with in-memory storage, configured by
 * collector-config/jaeger-local.yaml. The gateway sends it traces
 * over OTLP/gRPC; the tests ask its query API which traces it holds.
 */
import { join } from 'node:path';
import { freePorts, httpOk, REPO, spawnService, type Service } from '../helpers/processes.js';

export interface ApmSpan {
  traceId: string;
  spanId: string;
  name: string;
  serviceName: string;
}

export interface Apm {
  /** host:port of its OTLP/gRPC receiver. */
  readonly endpoint: string;
  /** Base URL of its query API (and UI). */
  readonly queryUrl: string;
  readonly process: Service;
  /** The spans Jaeger holds for a trace; empty when it holds none. */
  trace(traceId: string): Promise<ApmSpan[]>;
  close(): Promise<void>;
}

/** `GET /api/traces/{id}` of the Jaeger query service. */
interface JaegerTraceResponse {
  data?: {
    traceID: string;
    spans: { traceID: string; spanID: string; operationName: string; processID: string }[];
    processes: Record<string, { serviceName: string }>;
  }[];
}

export async function startApm(binary: string): Promise<Apm> {
  const [otlpPort, httpPort, grpcPort] = (await freePorts(3)) as [number, number, number];
  // The configuration `npm run pipeline` runs, on ports of the test's own.
  const config = join(REPO, 'collector-config', 'jaeger-local.yaml');
  const env = {
    JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${otlpPort}`,
    JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
    JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
  };
  const queryUrl = `http://127.0.0.1:${httpPort}`;
  const proc = await spawnService('jaeger', binary, ['--config', `file:${config}`], {
    env,
    ready: async (out) => out.includes('Everything is ready') && (await httpOk(`${queryUrl}/api/services`)),
  });
  return {
    endpoint: `127.0.0.1:${otlpPort}`,
    queryUrl,
    process: proc,
    async trace(traceId) {
      const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
      if (res.status === 404) {
        await res.arrayBuffer();
        return [];
      }
      if (!res.ok) throw new Error(`Jaeger query: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as JaegerTraceResponse;
      return (body.data ?? []).flatMap((t) =>
        t.spans.map((s) => ({
          // Jaeger drops leading zeros of ids.
          traceId: s.traceID.padStart(32, '0'),
          spanId: s.spanID.padStart(16, '0'), name: s.operationName, serviceName: t.processes[s.processID]?.serviceName ?? '' })),
      );
    },
    close: async () => void (await proc.stop()),
  };
}
