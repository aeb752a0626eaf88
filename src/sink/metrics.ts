import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutboxTotals } from './outbox-merge.js';

/** Prometheus metrics of the sink (own registry: embedding it never collides with an app's). */
export interface SinkMetrics {
  registry: Registry;
  received: Counter<'signal'>;
  written: Counter;
  duplicates: Counter;
  conflicts: Counter;
  rejected: Counter<'signal' | 'reason'>;
  ignored: Counter<'signal'>;
  batchSize: Histogram;
  batchSeconds: Histogram;
  queueDepth: Gauge;
  openGaps: Gauge;
  missingRecords: Gauge;
  emittersWithGaps: Gauge;
  gapChecks: Counter<'result'>;
  gapCheckSeconds: Gauge;
  gapCheckTime: Gauge;
  oversize: Counter<'transport'>;
  sealedRows: Counter;
  lastSealTime: Gauge;
  outboxMerged: Counter;
  outboxPending: Counter;
  outboxWaiting: Gauge;
  outboxFlushed: Counter<'origin'>;
  outboxLate: Counter;
}

export function createSinkMetrics(queueDepth: () => number): SinkMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'otel_audit_sink_process_' });
  return {
    registry,
    received: new Counter({ name: 'otel_audit_sink_records_received_total', help: 'Audit records received (valid or not)', labelNames: ['signal'], registers: [registry] }),
    written: new Counter({ name: 'otel_audit_sink_records_written_total', help: 'Audit records inserted into audit.records', registers: [registry] }),
    duplicates: new Counter({ name: 'otel_audit_sink_records_duplicate_total', help: 'Redelivered audit records that inserted nothing', registers: [registry] }),
    conflicts: new Counter({ name: 'otel_audit_sink_conflicts_total', help: "Records under an existing identity key with other content (kept in audit.rejected, reason 'conflict')", registers: [registry] }),
    rejected: new Counter({ name: 'otel_audit_sink_records_rejected_total', help: 'Input kept in audit.rejected', labelNames: ['signal', 'reason'], registers: [registry] }),
    ignored: new Counter({ name: 'otel_audit_sink_non_audit_ignored_total', help: 'Log records and spans that are not audit records (acknowledged, not stored)', labelNames: ['signal'], registers: [registry] }),
    batchSize: new Histogram({ name: 'otel_audit_sink_batch_rows', help: 'Rows per database batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'otel_audit_sink_batch_seconds', help: 'Database time per batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    queueDepth: new Gauge({ name: 'otel_audit_sink_queue_depth', help: 'Rows waiting for the database', registers: [registry], collect() { this.set(queueDepth()); } }),
    openGaps: new Gauge({ name: 'otel_audit_sink_open_sequence_gaps', help: 'Emitter sequence gaps open longer than the gap window', registers: [registry] }),
    missingRecords: new Gauge({ name: 'otel_audit_sink_missing_records', help: 'Records missing in gaps open longer than the gap window', registers: [registry] }),
    emittersWithGaps: new Gauge({ name: 'otel_audit_sink_emitters_with_gaps', help: 'Emitters with sequence gaps open longer than the gap window', registers: [registry] }),
    gapChecks: new Counter({ name: 'otel_audit_sink_gap_checks_total', help: 'Sequence gap checks run against the database (ok, error, cancelled)', labelNames: ['result'], registers: [registry] }),
    gapCheckSeconds: new Gauge({ name: 'otel_audit_sink_gap_check_seconds', help: 'Database time of the last sequence gap check', registers: [registry] }),
    gapCheckTime: new Gauge({ name: 'otel_audit_sink_gap_check_timestamp_seconds', help: 'When the gap figures were last computed (Unix time); scrapes read these cached figures', registers: [registry] }),
    oversize: new Counter({ name: 'otel_audit_sink_oversize_requests_total', help: 'OTLP/HTTP requests refused with 413 for exceeding --max-message-bytes (declared, chunked, or after decompression)', labelNames: ['transport'], registers: [registry] }),
    sealedRows: new Counter({ name: 'otel_audit_sink_sealed_records_total', help: 'Records this sink sealed into audit.digests', registers: [registry] }),
    lastSealTime: new Gauge({ name: 'otel_audit_sink_last_seal_timestamp_seconds', help: 'When this sink last appended a seal to audit.digests (Unix time)', registers: [registry] }),
    outboxMerged: new Counter({ name: 'otel_audit_sink_outbox_merged_total', help: "Records written from both halves of an outbox record (audit.origin 'request+outbox')", registers: [registry] }),
    outboxPending: new Counter({ name: 'otel_audit_sink_outbox_pending_total', help: 'Halves of outbox records that started waiting for their partner in audit.outbox_pending', registers: [registry] }),
    outboxWaiting: new Gauge({ name: 'otel_audit_sink_outbox_waiting', help: 'Halves waiting in audit.outbox_pending at the last merge window check (all sinks)', registers: [registry] }),
    outboxFlushed: new Counter({ name: 'otel_audit_sink_outbox_flushed_total', help: "Records written from one half past the merge window, by audit.origin ('outbox': relay only; 'request': no committed change)", labelNames: ['origin'], registers: [registry] }),
    outboxLate: new Counter({ name: 'otel_audit_sink_outbox_late_total', help: 'Halves that arrived after the row of their key was written without them (kept in audit.rejected)', registers: [registry] }),
  };
}

/** Counts what the outbox merge did (a batch's halves, or a merge window check). */
export function countOutbox(metrics: SinkMetrics, t: OutboxTotals): void {
  if (t.merged > 0) metrics.outboxMerged.inc(t.merged);
  if (t.pending > 0) metrics.outboxPending.inc(t.pending);
  if (t.flushedOutbox > 0) metrics.outboxFlushed.inc({ origin: 'outbox' }, t.flushedOutbox);
  if (t.flushedRequest > 0) metrics.outboxFlushed.inc({ origin: 'request' }, t.flushedRequest);
  if (t.late > 0) metrics.outboxLate.inc(t.late);
}
