/**
 * The APM of the end-to-end tests: a second OpenTelemetry Collector (built
 * from test/e2e/apm/builder.yaml) that receives OTLP traces and writes them,
 * as OTLP/JSON lines, to a file the tests read. It stores exactly what an APM
 * would receive from the gateway.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnService, type Service } from '../helpers/processes.js';

export interface ApmSpan {
  traceId: string;
  spanId: string;
  name: string;
  serviceName: string;
  attributes: Record<string, unknown>;
}

export interface Apm {
  /** host:port of its OTLP/gRPC receiver. */
  readonly endpoint: string;
  readonly process: Service;
  /** Every span received so far. */
  spans(): ApmSpan[];
  close(): Promise<void>;
}

interface JsonValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value?: JsonValue;
}
interface JsonTraces {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; name: string; attributes?: JsonKeyValue[] }[] }[];
  }[];
}

function attrs(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue;
  }
  return out;
}

/** Parse the file exporter's output: one OTLP/JSON ExportTraceServiceRequest per line. */
export function parseTraceFile(text: string): ApmSpan[] {
  const spans: ApmSpan[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as JsonTraces;
    for (const rs of req.resourceSpans ?? []) {
      const serviceName = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({ traceId: s.traceId, spanId: s.spanId, name: s.name, serviceName, attributes: attrs(s.attributes) });
        }
      }
    }
  }
  return spans;
}

export async function startApm(binary: string, dir: string): Promise<Apm> {
  const port = await freePort();
  const file = join(dir, 'apm-traces.jsonl');
  const config = join(dir, 'apm.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${port}
exporters:
  file:
    path: ${file}
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
`,
  );
  const proc = await spawnService('apm', binary, ['--config', `file:${config}`], { ready: (out) => out.includes('Everything is ready') });
  return {
    endpoint: `127.0.0.1:${port}`,
    process: proc,
    spans: () => (existsSync(file) ? parseTraceFile(readFileSync(file, 'utf8')) : []),
    close: async () => void (await proc.stop()),
  };
}
