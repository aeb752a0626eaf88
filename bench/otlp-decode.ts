/**
 * OTLP decoding: µs per record of the sink's decoders (src/otlp/wire-logs.ts,
 * wire-traces.ts, json.ts) against the protobufjs schema path they replace,
 * on requests the official serializers wrote (ProtobufLogsSerializer,
 * ProtobufTraceSerializer, JsonLogsSerializer, JsonTraceSerializer) of the
 * sink-ingest benchmark's audit records, and spans with the same attributes.
 * Each decoder's output is checked equal to the schema path's first.
 *
 *   node bench/otlp-decode.ts [--records-per-export 500] [--rounds 7] [--ms 500]
 */
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { build } from 'esbuild';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { positive } from './lib/args.ts';
import { BENCH_DIR, runMain } from './lib/proc.ts';
import { fmt, machine, textTable } from './lib/report.ts';
import { makeBatches, makeEmitters, serialize } from './sink-ingest/records.ts';

type Decoders = typeof import('./otlp-decode/decoders.ts');

/** Bundles otlp-decode/decoders.ts (src/ imports .js names that Node's type stripping does not map) and loads it. */
async function loadDecoders(): Promise<Decoders> {
  const out = await build({ entryPoints: [join(BENCH_DIR, 'otlp-decode', 'decoders.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, logLevel: 'warning' });
  const file = join(BENCH_DIR, 'otlp-decode', `.decoders-${process.pid}.mjs`);
  writeFileSync(file, out.outputFiles[0]?.text ?? '');
  try {
    return (await import(pathToFileURL(file).href)) as Decoders;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Spans of the audit records' attributes, one per record, as the SDK's tracer makes them. */
async function spansOf(records: ReadableLogRecord[]): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const tracer = provider.getTracer('otel-audit-bench', '1.0.0');
  for (const r of records) tracer.startSpan(String(r.attributes['http.route'] ?? 'op'), { attributes: r.attributes as Record<string, string | number | boolean> }).end();
  await provider.forceFlush();
  return memory.getFinishedSpans();
}

/** CPU time of this process so far, µs (user and system: the decoder and the garbage collector's threads). */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU µs per record of `decode()` over at least `ms` of wall time. */
function slice(decode: () => unknown, records: number, ms: number): number {
  let n = 0;
  const c0 = cpuUs();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    decode();
    n++;
  }
  return (cpuUs() - c0) / (n * records);
}

/**
 * CPU µs per record of each decoder, in `rounds` rounds that alternate
 * between them, the fastest round of each: CPU time rather than wall time,
 * and the two sides side by side in time, because on a shared machine the
 * other processes only ever add to it.
 */
function measure(a: () => unknown, b: () => unknown, records: number, rounds: number, ms: number): [number, number] {
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    as.push(slice(a, records, ms));
    bs.push(slice(b, records, ms));
  }
  return [Math.min(...as), Math.min(...bs)];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'records-per-export': { type: 'string' }, rounds: { type: 'string' }, ms: { type: 'string' } } });
  const size = positive('records-per-export', values['records-per-export'], 500);
  const rounds = positive('rounds', values.rounds, 7);
  const ms = positive('ms', values.ms, 500);
  const d = await loadDecoders();
  const [records] = makeBatches(makeEmitters('decode', 1), 1, size) as [ReadableLogRecord[]];
  const spans = await spansOf(records);
  const logsProto = (serialize([records])[0] as { bytes: Buffer }).bytes;
  const logsJson = new TextDecoder().decode(JsonLogsSerializer.serializeRequest(records));
  const traceProto = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
  const traceJson = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
  const cases: [string, string, () => unknown, () => unknown][] = [
    ['logs', 'protobuf', () => d.decodeLogsRequest(logsProto), () => d.decodeLogsWire(logsProto)],
    ['logs', 'OTLP/JSON', () => d.schemaLogsJson(logsJson), () => d.decodeLogsJson(logsJson)],
    ['traces', 'protobuf', () => d.decodeTraceRequest(traceProto), () => d.decodeTracesWire(traceProto)],
    ['traces', 'OTLP/JSON', () => d.schemaTraceJson(traceJson), () => d.decodeTraceJson(traceJson)],
  ];
  const rows: string[][] = [];
  for (const [signal, format, schema, direct] of cases) {
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(schema())), JSON.parse(JSON.stringify(direct())))) throw new Error(`${signal} ${format}: the decoders disagree`);
    const [before, after] = measure(schema, direct, size, rounds, ms);
    rows.push([signal, format, fmt(before, 2), fmt(after, 2), `${(before / after).toFixed(1)} ×`]);
    console.log(`${signal} ${format}: schema path ${fmt(before, 2)}, direct ${fmt(after, 2)} CPU µs/record`);
  }
  console.log(`\n${size} records per request (${fmt(logsProto.length / size)} bytes each as protobuf logs), CPU time, the fastest of ${rounds} alternating rounds of ${ms} ms each. ${machine()}\n`);
  for (const l of textTable(['signal', 'format', 'protobufjs schema, CPU µs/record', 'direct, CPU µs/record', 'faster'], rows)) console.log(l);
  return 0;
}

runMain(main);
