/**
 * The sink's own account of a run, from its Prometheus `/metrics`: batches
 * written, their rows and time, records written, duplicate and rejected.
 */
/** The sink's Prometheus metrics that matter here. */
export interface SinkCounters {
  batches: number;
  batchRows: number;
  batchSeconds: number;
  written: number;
  duplicates: number;
  rejected: number;
  /** Batches per upper bound of `otel_audit_sink_batch_seconds` (cumulative). */
  secondsBuckets: Map<string, number>;
}

export async function scrape(port: number): Promise<SinkCounters> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const value = (name: string): number => {
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm'))) sum += Number(m[1]);
    return sum;
  };
  const secondsBuckets = new Map<string, number>();
  for (const m of text.matchAll(/^otel_audit_sink_batch_seconds_bucket\{le="([^"]+)"\} ([0-9.eE+-]+)$/gm)) {
    secondsBuckets.set(m[1] as string, Number(m[2]));
  }
  return {
    batches: value('otel_audit_sink_batch_rows_count'),
    batchRows: value('otel_audit_sink_batch_rows_sum'),
    batchSeconds: value('otel_audit_sink_batch_seconds_sum'),
    written: value('otel_audit_sink_records_written_total'),
    duplicates: value('otel_audit_sink_records_duplicate_total'),
    rejected: value('otel_audit_sink_records_rejected_total'),
    secondsBuckets,
  };
}

export interface BatchStats {
  batches: number;
  rowsPerBatch: number;
  msPerBatch: number;
  /** Rows per second of database time (what the database side alone would sustain with one batch at a time). */
  rowsPerDbSecond: number;
  written: number;
  duplicates: number;
  rejected: number;
  /** Share of batches that took at most 100 ms. */
  under100ms: number;
}

export function batchStats(a: SinkCounters, b: SinkCounters): BatchStats {
  const batches = b.batches - a.batches;
  const rows = b.batchRows - a.batchRows;
  const seconds = b.batchSeconds - a.batchSeconds;
  const le100 = (b.secondsBuckets.get('0.1') ?? 0) - (a.secondsBuckets.get('0.1') ?? 0);
  return {
    batches,
    rowsPerBatch: batches > 0 ? rows / batches : 0,
    msPerBatch: batches > 0 ? (1000 * seconds) / batches : 0,
    rowsPerDbSecond: seconds > 0 ? rows / seconds : 0,
    written: b.written - a.written,
    duplicates: b.duplicates - a.duplicates,
    rejected: b.rejected - a.rejected,
    under100ms: batches > 0 ? le100 / batches : 0,
  };
}
