import type { AuditRecord } from '../record.js';
import type { AuditTransport, TransportResult } from './transport.js';

/** Writes each record as one JSON line to stdout (development, `OTEL_AUDIT_EXPORTER=console`). */
export class ConsoleTransport implements AuditTransport {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  send(records: readonly AuditRecord[]): Promise<TransportResult> {
    for (const r of records) {
      this.write(JSON.stringify({ traceId: r.traceId, spanId: r.spanId, ...r.attributes }) + '\n');
    }
    return Promise.resolve({ kind: 'success' });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
