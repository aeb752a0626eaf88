/**
 * A cheap OTLP/gRPC sink for benchmarks: accepts LogsService/Export and
 * TraceService/Export on 127.0.0.1, answers every call with an empty
 * response and only counts what arrives (calls, bytes, spans, log records,
 * audit records). Nothing is decoded beyond the few protobuf tags needed to
 * count, so the sink costs the machine little.
 *
 *   node bench/otlp-sink.ts [--port N]
 *
 * Prints `LISTENING <port>`. When started with an IPC channel (fork), it
 * answers the message `{ type: 'stats' }` with `{ type: 'stats', stats }`.
 * Without one, it prints the counts on SIGINT/SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';

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

const identity = (buf: Buffer): Buffer => buf;
const EMPTY = Buffer.alloc(0); // a valid, empty Export*ServiceResponse

function method(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

type Handler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void;

const onLogs: Handler = (call, callback) => {
  const buf = call.request;
  stats.logCalls += 1;
  stats.logBytes += buf.length;
  try {
    eachItem(buf, (s, e) => {
      stats.logRecords += 1;
      if (isAudit(buf, s, e)) stats.auditRecords += 1;
    });
  } catch (err) {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: String(err) }, null);
    return;
  }
  callback(null, EMPTY);
};

const onTraces: Handler = (call, callback) => {
  const buf = call.request;
  stats.traceCalls += 1;
  stats.traceBytes += buf.length;
  try {
    eachItem(buf, () => {
      stats.spans += 1;
    });
  } catch (err) {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: String(err) }, null);
    return;
  }
  callback(null, EMPTY);
};

function snapshot(): SinkStats {
  const cpu = process.cpuUsage();
  return { ...stats, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
}

function portArg(): number {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const n = raw === undefined ? 0 : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port ${raw ?? ''}: not a port number`);
  return n;
}

const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
server.addService({ Export: method(LOGS_PATH) }, { Export: onLogs });
server.addService({ Export: method(TRACES_PATH) }, { Export: onTraces });

server.bindAsync(`127.0.0.1:${portArg()}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`otlp-sink: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`LISTENING ${port}\n`);
});

const stop = (): void => {
  server.forceShutdown();
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
