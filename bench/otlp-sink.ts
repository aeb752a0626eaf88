/**
 * A cheap OTLP/gRPC sink for benchmarks: accepts LogsService/Export and
 * TraceService/Export on 127.0.0.1, answers every call with an empty
 * response and only counts what arrives (calls, bytes, spans, log records,
 * audit records). It speaks unary gRPC directly on node:http2 and decodes
 * nothing beyond the few protobuf tags needed to count, so it costs the
 * machine little.
 *
 *   node bench/otlp-sink.ts [--port N] [--window BYTES]
 *
 * Prints `LISTENING <port>`. When started with an IPC channel (fork), it
 * answers the message `{ type: 'stats' }` with `{ type: 'stats', stats }`.
 * Without one, it prints the counts on SIGINT/SIGTERM.
 */
import * as http2 from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';

export interface SinkStats {
  logCalls: number;
  logBytes: number;
  logRecords: number;
  auditRecords: number;
  traceCalls: number;
  traceBytes: number;
  spans: number;
  /** CPU time the sink has used so far, ms. */
  cpuMs: number;
}

const LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const TRACES_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** `audit` as UTF-8: the event name of audit records. */
const AUDIT = Buffer.from('audit');
/** LogRecord.event_name. */
const EVENT_NAME_FIELD = 12;
/**
 * HTTP/2 flow-control window the sink grants, bytes. The OpenTelemetry
 * Collector's gRPC server grows its windows to the bandwidth-delay product
 * (up to 16 MiB); with a fixed 64 KiB window, an export of a few hundred KB
 * waits for several window updates, each of which a busy app only reads
 * between requests, and the exporters then fall behind.
 */
const DEFAULT_WINDOW = 16 * 1024 * 1024;

const stats: SinkStats = {
  logCalls: 0, logBytes: 0, logRecords: 0, auditRecords: 0, traceCalls: 0, traceBytes: 0, spans: 0, cpuMs: 0,
};

function readVarint(buf: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++] as number;
    // Lengths and tags fit in 53 bits; plain arithmetic keeps them exact.
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/** Skips one field value of `wireType` starting at `pos`; returns the position after it. */
function skip(buf: Buffer, pos: number, wireType: number): number {
  switch (wireType) {
    case 0: return readVarint(buf, pos)[1];
    case 1: return pos + 8;
    case 2: {
      const [len, next] = readVarint(buf, pos);
      return next + len;
    }
    case 5: return pos + 4;
    default: throw new Error(`unsupported wire type ${wireType}`);
  }
}

/** Calls `fn(start, end)` for every length-delimited field `field` of the message in buf[start, end). */
function eachField(buf: Buffer, start: number, end: number, field: number, fn: (s: number, e: number) => void): void {
  let pos = start;
  while (pos < end) {
    const [tag, next] = readVarint(buf, pos);
    const wireType = tag & 7;
    if (tag >>> 3 === field && wireType === 2) {
      const [len, body] = readVarint(buf, next);
      fn(body, body + len);
      pos = body + len;
    } else {
      pos = skip(buf, next, wireType);
    }
  }
}

/**
 * Counts the leaves of an Export request: both ExportLogsServiceRequest and
 * ExportTraceServiceRequest nest `resource_* = 1` → `scope_* = 2` → items = 2.
 */
function eachItem(buf: Buffer, fn: (s: number, e: number) => void): void {
  eachField(buf, 0, buf.length, 1, (rs, re) =>
    eachField(buf, rs, re, 2, (ss, se) => eachField(buf, ss, se, 2, fn)),
  );
}

function isAudit(buf: Buffer, start: number, end: number): boolean {
  let audit = false;
  eachField(buf, start, end, EVENT_NAME_FIELD, (s, e) => {
    audit = e - s === AUDIT.length && buf.compare(AUDIT, 0, AUDIT.length, s, e) === 0;
  });
  return audit;
}

/** Counts one ExportLogsServiceRequest. */
function onLogs(buf: Buffer): void {
  stats.logCalls += 1;
  stats.logBytes += buf.length;
  eachItem(buf, (s, e) => {
    stats.logRecords += 1;
    if (isAudit(buf, s, e)) stats.auditRecords += 1;
  });
}

/** Counts one ExportTraceServiceRequest. */
function onTraces(buf: Buffer): void {
  stats.traceCalls += 1;
  stats.traceBytes += buf.length;
  eachItem(buf, () => {
    stats.spans += 1;
  });
}

const HANDLERS: Record<string, (buf: Buffer) => void> = { [LOGS_PATH]: onLogs, [TRACES_PATH]: onTraces };

/** gRPC status codes the sink answers with. */
const GRPC_OK = 0;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_UNIMPLEMENTED = 12;

/** The one message of a unary gRPC request body: 1 byte compressed flag, 4 bytes length, the message. */
function unframe(body: Buffer, encoding: string | undefined): Buffer {
  if (body.length < 5) throw new Error('short gRPC frame');
  const compressed = body[0] === 1;
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) throw new Error('truncated gRPC frame');
  const msg = body.subarray(5, 5 + len);
  if (!compressed) return msg;
  if (encoding === 'gzip') return gunzipSync(msg);
  if (encoding === 'deflate') return inflateSync(msg);
  throw new Error(`unsupported grpc-encoding ${encoding ?? '(none)'}`);
}

/** An empty Export*ServiceResponse, framed. */
const EMPTY_RESPONSE = Buffer.from([0, 0, 0, 0, 0]);

function answer(stream: http2.ServerHttp2Stream, code: number, message = ''): void {
  if (stream.destroyed || stream.closed) return;
  if (code === GRPC_OK) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GRPC_OK) }));
    stream.end(EMPTY_RESPONSE);
  } else {
    // Trailers-only response.
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) },
      { endStream: true },
    );
  }
}

function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const handler = HANDLERS[String(headers[':path'])];
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('error', () => undefined); // a client that went away; nothing to answer
  stream.on('end', () => {
    if (!handler) {
      answer(stream, GRPC_UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);
      return;
    }
    try {
      const encoding = headers['grpc-encoding'];
      handler(unframe(Buffer.concat(chunks), typeof encoding === 'string' ? encoding : undefined));
    } catch (err) {
      answer(stream, GRPC_INVALID_ARGUMENT, String(err));
      return;
    }
    answer(stream, GRPC_OK);
  });
}

function snapshot(): SinkStats {
  const cpu = process.cpuUsage();
  return { ...stats, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
}

function intArg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} ${raw}: expected an integer in [${min}, ${max}]`);
  return n;
}

let port = 0;
let windowBytes = DEFAULT_WINDOW;
try {
  port = intArg('port', 0, 0, 65535);
  windowBytes = intArg('window', DEFAULT_WINDOW, 65535, 2 ** 31 - 1);
} catch (err) {
  console.error(`otlp-sink: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}

const server = http2.createServer({ settings: { initialWindowSize: windowBytes } });
server.on('session', (session) => {
  // The connection-level window starts at 64 KiB whatever the settings say.
  if (windowBytes > 65535) session.setLocalWindowSize(windowBytes);
  session.on('error', () => undefined);
});
server.on('stream', onStream);
server.on('error', (err) => {
  console.error(`otlp-sink: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});

const stop = (): void => {
  server.close();
  if (!process.send) process.stdout.write(`${JSON.stringify(snapshot())}\n`);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

if (process.send) {
  process.on('message', (msg: unknown) => {
    if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'stats') {
      process.send?.({ type: 'stats', stats: snapshot() });
    }
  });
  // The parent went away: nothing left to serve.
  process.on('disconnect', stop);
}
