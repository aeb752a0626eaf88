import { diag } from '@opentelemetry/api';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { ProtobufLogsSerializer, type IExportLogsServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import { AUDIT_EVENT_NAME, AUDIT_SCOPE_NAME } from '../../contract/attributes.js';
import { VERSION } from '../../contract/version.js';
import { LogsEncoder, type EncodedLogs } from '../../otlp/logs-encoder.js';
import type { AuditRecord } from '../record.js';
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

/**
 * Largest request sent, bytes: a batch that encodes to more is sent in
 * parts. Under the 4 MiB that gRPC servers (the OpenTelemetry Collector
 * among them) accept by default.
 */
const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

/**
 * Exports the delegate lets run at once. Delivery sends one request at a
 * time, but the delegate forgets a finished export only after its callback
 * has run: the next part of a batch, sent from that callback, would find a
 * limit of 1 still reached.
 */
const CONCURRENCY_LIMIT = 2;

/** The LogsService method, as the OpenTelemetry log exporter calls it. */
const LOGS_SERVICE = 'LogsExportService';
const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** `otel.component.type` of the exporter's own metrics. */
const COMPONENT_TYPE = 'otlp_grpc_log_exporter';

export interface OtlpTransportOptions {
  /** OTLP/gRPC endpoint, e.g. `http://localhost:4317`. */
  url: string;
  /** Timeout of one export call, ms. */
  timeoutMs: number;
}

/** The bytes are already the request: nothing to serialise again. */
const BYTES_AS_THEY_ARE: ISerializer<EncodedLogs, IExportLogsServiceResponse> = {
  serializeRequest: (batch) => batch.bytes,
  deserializeResponse: (data) => ProtobufLogsSerializer.deserializeResponse(data),
};

/**
 * Sends audit records as OTLP log records (event name `audit`) over gRPC.
 * Records are encoded straight to protobuf by {@link LogsEncoder}; the
 * bytes go through the OpenTelemetry gRPC export delegate, the one the
 * official log exporter is made of, so that the endpoint, TLS, headers,
 * compression (`OTEL_EXPORTER_OTLP_LOGS_*`, `OTEL_EXPORTER_OTLP_*`),
 * timeouts, its retries and partial-success reporting are exactly those of
 * the OpenTelemetry exporter, and a trace exporter with the same endpoint
 * and options shares the HTTP/2 connection (grpc-js pools subchannels).
 */
export class OtlpTransport implements AuditTransport {
  private readonly delegate: ReturnType<typeof createOtlpGrpcExportDelegate<EncodedLogs, IExportLogsServiceResponse>>;
  private readonly encoder = new LogsEncoder({
    scopeName: AUDIT_SCOPE_NAME,
    scopeVersion: VERSION,
    eventName: AUDIT_EVENT_NAME,
    severityNumber: SEVERITY_INFO,
    severityText: 'INFO',
  });

  constructor(options: OtlpTransportOptions) {
    this.delegate = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({ url: options.url, timeoutMillis: options.timeoutMs, concurrencyLimit: CONCURRENCY_LIMIT }, 'LOGS'),
      BYTES_AS_THEY_ARE,
      COMPONENT_TYPE,
      { name: 'log', countItems: (batch) => batch.count },
      undefined,
      LOGS_SERVICE,
      LOGS_EXPORT_PATH,
    );
  }

  async send(records: readonly AuditRecord[]): Promise<TransportResult> {
    let requests: EncodedLogs[];
    try {
      requests = this.encode(records);
    } catch (err) {
      return { kind: 'retryable', error: err instanceof Error ? err : new Error(String(err)) };
    }
    // A record that cannot be encoded is left out and counted; the others go.
    let skipped = 0;
    for (const r of requests) skipped += r.unencodable;
    if (skipped > 0) diag.error(`otel-audit: ${skipped} audit records could not be encoded for OTLP and were left out`);
    for (const request of requests) {
      if (request.count === 0) continue;
      // A failure sends the whole batch again later; a part that did arrive is stored once (receivers deduplicate).
      const result = await this.export(request);
      if (result.kind !== 'success') return result;
    }
    return skipped > 0 ? { kind: 'success', unencodable: skipped } : { kind: 'success' };
  }

  /** The batch as requests of at most {@link MAX_REQUEST_BYTES} (halved until they fit; one record always makes a request). */
  private encode(records: readonly AuditRecord[]): EncodedLogs[] {
    const whole = this.encoder.encode(records);
    if (whole.bytes.length <= MAX_REQUEST_BYTES || records.length === 1) return [whole];
    const half = Math.ceil(records.length / 2);
    return [...this.encode(records.slice(0, half)), ...this.encode(records.slice(half))];
  }

  private export(request: EncodedLogs): Promise<TransportResult> {
    return new Promise<TransportResult>((resolve) => {
      try {
        this.delegate.export(request, (result) => {
          if (result.code === 0) return resolve({ kind: 'success' });
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
      await this.delegate.shutdown();
    } catch (err) {
      diag.debug('otel-audit: exporter shutdown failed', err);
    }
  }
}
