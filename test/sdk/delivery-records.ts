import type { AuditRecord } from '../../src/sdk/record.js';

/** An audit record numbered `seq` (emitter seq, trace id and times follow it), with extra attributes. */
export function numberedRecord(seq: number, extra: Record<string, string | number | boolean> = {}): AuditRecord {
  const ns = (1_700_000_000_000_000_000n + BigInt(seq) * 1000n).toString();
  return {
    traceId: seq.toString(16).padStart(32, 'c'),
    spanId: 'd'.repeat(16),
    traceFlags: 1,
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    attributes: { 'audit.action': 'user.read', 'audit.emitter.id': 'e2', 'audit.emitter.seq': seq, ...extra },
    resource: { 'service.name': 'unit' },
  };
}

/** The emitter seqs of records, in order. */
export const seqsOf = (rs: readonly { attributes: Record<string, unknown> }[]): number[] => rs.map((r) => Number(r.attributes['audit.emitter.seq']));

/** from, from + 1, ..., to. */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
