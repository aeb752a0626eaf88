import { decodeLogsJson, decodeTraceJson } from '../otlp/json.js';
import { type DecodedLogRecord, type DecodedSpan } from '../otlp/decoded-types.js';
import { decodeLogsWire } from '../otlp/wire-logs.js';
import { decodeTracesWire } from '../otlp/wire-traces.js';
import type { SinkMetrics } from './metrics.js';
import type { AuditRow } from './row.js';
import { logRecordToRow, spanToRow } from './transform.js';
import type { TransformLimits } from './transform-limits.js';
import type { Writer } from './writer.js';
import type { RejectedInput, Signal, WireFormat } from './writer-types.js';


/** The answer to one Export call. */
export type IngestResult =
  | { kind: 'ok'; rejected: number; message: string }
  | { kind: 'invalid'; message: string };

/** What an Export call is handled with. The writer's RetryableError passes through untouched. */
export interface IngestContext {
  writer: Writer;
  metrics: SinkMetrics;
  limits: TransformLimits;
}

function decode(signal: Signal, wireFormat: WireFormat, body: Buffer): DecodedLogRecord[] | DecodedSpan[] {
  if (wireFormat === 'http/json') {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return signal === 'logs' ? decodeLogsJson(text) : decodeTraceJson(text);
  }
  return signal === 'logs' ? decodeLogsWire(body) : decodeTracesWire(body);
}

/** `value` as plain JSON data (what JSON.stringify keeps of it), or null when it has no JSON form. */
function jsonRoundTrip(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return null;
  }
}

/**
 * One Export call: decode, turn each record into a row (or a rejection),
 * store rows and rejections, and answer. Undecodable payloads are kept
 * verbatim in `audit.rejected` and answered `invalid`. Resolves only after
 * the database committed; rejects with RetryableError when the client must
 * retry.
 */
export async function ingest(ctx: IngestContext, signal: Signal, wireFormat: WireFormat, body: Buffer, peer: string | null): Promise<IngestResult> {
  const { metrics } = ctx;
  let items: DecodedLogRecord[] | DecodedSpan[];
  try {
    items = decode(signal, wireFormat, body);
  } catch (err) {
    const message = `cannot decode the ${signal} request (${wireFormat}): ${(err as Error).message}`;
    metrics.rejected.inc({ signal, reason: 'undecodable' });
    await ctx.writer.submit([], [{ signal, wireFormat, reason: message, raw: body, record: null, peer }], { signal, wireFormat, peer });
    return { kind: 'invalid', message };
  }
  const rows: AuditRow[] = [];
  const rejects: RejectedInput[] = [];
  let ignored = 0;
  let invalid = 0;
  let sanitized = 0;
  const reasons: string[] = [];
  for (const item of items) {
    const out = signal === 'logs' ? logRecordToRow(item as DecodedLogRecord, ctx.limits) : spanToRow(item as DecodedSpan, ctx.limits);
    if (out.kind === 'ignored') ignored++;
    else if (item.invalid) {
      // A value out of its field's range was removed by the decoder: refuse the record, never store it rewritten.
      const { invalid: problem, ...decoded } = item;
      const record = problem.record ?? decoded;
      invalid++;
      rejects.push({ signal, wireFormat, reason: problem.reason, raw: Buffer.from(JSON.stringify(record) ?? 'null'), record: jsonRoundTrip(record), peer });
      if (reasons.length < 3) reasons.push(problem.reason);
    } else if (out.kind === 'row') {
      rows.push(out.row);
      // Stored sanitised: its raw input is kept too, for forensics.
      if (out.sanitized) {
        sanitized++;
        rejects.push({ signal, wireFormat, reason: out.sanitized.reason, raw: Buffer.from(JSON.stringify(item) ?? 'null'), record: out.sanitized.record ?? null, peer });
      }
    } else {
      const record = out.rejection.record ?? item;
      invalid++;
      rejects.push({ signal, wireFormat, reason: out.rejection.reason, raw: Buffer.from(JSON.stringify(record) ?? 'null'), record: jsonRoundTrip(record), peer });
      if (reasons.length < 3) reasons.push(out.rejection.reason);
    }
  }
  metrics.received.inc({ signal }, rows.length + invalid);
  if (ignored > 0) metrics.ignored.inc({ signal }, ignored);
  if (invalid > 0) metrics.rejected.inc({ signal, reason: 'invalid_record' }, invalid);
  if (sanitized > 0) metrics.rejected.inc({ signal, reason: 'sanitized' }, sanitized);
  const stored = await ctx.writer.submit(rows, rejects, { signal, wireFormat, peer });
  if (stored.conflicts > 0) {
    metrics.conflicts.inc(stored.conflicts);
    metrics.rejected.inc({ signal, reason: 'conflict' }, stored.conflicts);
  }
  const late = stored.late ?? 0;
  if (late > 0) metrics.rejected.inc({ signal, reason: 'outbox_late' }, late);
  if (stored.rejected > stored.conflicts + late) metrics.rejected.inc({ signal, reason: 'database_refused' }, stored.rejected - stored.conflicts - late);
  // Every record is committed, or reported here (and kept in audit.rejected).
  const rejected = invalid + stored.rejected;
  for (const r of stored.reasons) if (reasons.length < 3) reasons.push(r);
  const message = rejected > 0 ? `${rejected} record(s) rejected and kept in audit.rejected: ${reasons.join('; ')}` : '';
  return { kind: 'ok', rejected, message };
}
