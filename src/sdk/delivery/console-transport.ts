import { diag } from '@opentelemetry/api';
import type { AuditRecord } from '../record.js';
import type { AuditTransport, TransportResult } from './transport.js';

/**
 * Writes each record as one JSON line to stdout (development, `OTEL_AUDIT_EXPORTER=console`).
 * A record that cannot be serialised is left out and counted; its neighbours are written.
 */
export class ConsoleTransport implements AuditTransport {
  private unencodable = 0;

  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  send(records: readonly AuditRecord[]): Promise<TransportResult> {
    let skipped = 0;
    let out = '';
    for (const r of records) {
      try {
        out += JSON.stringify({ traceId: r.traceId, spanId: r.spanId, ...r.attributes }) + '\n';
      } catch (err) {
        skipped++;
        this.unencodable++;
        if (this.unencodable === 1 || this.unencodable % 1000 === 0) {
          diag.error(`otel-audit: an audit record could not be written as JSON and was left out (${this.unencodable} so far)`, err);
        }
      }
    }
    if (out !== '') this.write(out);
    return Promise.resolve(skipped > 0 ? { kind: 'success', unencodable: skipped } : { kind: 'success' });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
