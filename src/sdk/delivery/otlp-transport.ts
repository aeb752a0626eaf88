import { diag, type Attributes, type AnyValue } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AUDIT_EVENT_NAME, AUDIT_SCOPE_NAME } from '../../contract/attributes.js';
import { nanoStringToHrTime, type AuditRecord } from '../record.js';
import { VERSION } from '../../contract/version.js';
import { isEncodable } from './encodable.js';
import type { AuditTransport, TransportResult } from './transport.js';

/** SeverityNumber.INFO: an audit record is a normal event, not a problem. */
const SEVERITY_INFO = 9;

/**
 * gRPC status codes after which sending the same batch again is pointless:
 * the receiver understood it and refused its content. Everything else
 * (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, auth problems that an
 * operator can fix, ...) is retried, because audit records must not be lost.
 */
const FINAL_GRPC_CODES = new Set([3 /* INVALID_ARGUMENT */]);

export interface OtlpTransportOptions {
  /** OTLP/gRPC endpoint, e.g. `http://localhost:4317`. */
  url: string;
  /** Timeout of one export call, ms. */
  timeoutMs: number;
}

/**
 * Sends audit records as OTLP log records (event name `audit`) with the
 * official OpenTelemetry gRPC log exporter.
 */
export class OtlpTransport implements AuditTransport {
  private readonly exporter: OTLPLogExporter;
  private readonly resources = new Map<string, Resource>();
  private readonly byIdentity = new WeakMap<object, Resource>();

  constructor(options: OtlpTransportOptions) {
    this.exporter = new OTLPLogExporter({ url: options.url, timeoutMillis: options.timeoutMs, concurrencyLimit: 1 });
  }

  send(records: readonly AuditRecord[]): Promise<TransportResult> {
    // A record the exporter cannot encode (it would drop its values silently) is left out and counted.
    const logs: ReadableLogRecord[] = [];
    let skipped = 0;
    for (const r of records) {
      if (isEncodable(r)) logs.push(this.toLogRecord(r));
      else skipped++;
    }
    if (skipped > 0) diag.error(`otel-audit: ${skipped} audit records could not be encoded for OTLP and were left out`);
    if (logs.length === 0) return Promise.resolve({ kind: 'success', unencodable: skipped });
    return new Promise<TransportResult>((resolve) => {
      try {
        this.exporter.export(logs, (result) => {
          if (result.code === 0) return resolve(skipped > 0 ? { kind: 'success', unencodable: skipped } : { kind: 'success' });
          const error = result.error ?? new Error('OTLP export failed');
          const code = (error as { code?: unknown }).code;
          if (typeof code === 'number' && FINAL_GRPC_CODES.has(code)) return resolve({ kind: 'failure', error });
          resolve({ kind: 'retryable', error });
        });
      } catch (err) {
        resolve({ kind: 'retryable', error: err instanceof Error ? err : new Error(String(err)) });
      }
    });
  }

  async shutdown(): Promise<void> {
    try {
      await this.exporter.shutdown();
    } catch (err) {
      diag.debug('otel-audit: exporter shutdown failed', err);
    }
  }

  private resourceFor(attrs: Record<string, string | number | boolean>): Resource {
    // Records of one process share one attributes object (found by identity,
    // without serialising it per record) and so one Resource object, which
    // the serializer groups under one ResourceLogs. Spooled records come back
    // as copies: those are found by content.
    const same = this.byIdentity.get(attrs);
    if (same) return same;
    const key = JSON.stringify(attrs);
    let res = this.resources.get(key);
    if (!res) {
      if (this.resources.size > 64) this.resources.clear();
      res = resourceFromAttributes(attrs);
      this.resources.set(key, res);
    }
    this.byIdentity.set(attrs, res);
    return res;
  }

  private toLogRecord(r: AuditRecord): ReadableLogRecord {
    return {
      hrTime: nanoStringToHrTime(r.timeUnixNano),
      hrTimeObserved: nanoStringToHrTime(r.observedTimeUnixNano),
      spanContext: { traceId: r.traceId, spanId: r.spanId, traceFlags: r.traceFlags },
      severityNumber: SEVERITY_INFO,
      severityText: 'INFO',
      eventName: AUDIT_EVENT_NAME,
      body: r.body as AnyValue,
      resource: this.resourceFor(r.resource),
      instrumentationScope: { name: AUDIT_SCOPE_NAME, version: VERSION },
      attributes: r.attributes as Attributes,
      droppedAttributesCount: 0,
    };
  }
}
