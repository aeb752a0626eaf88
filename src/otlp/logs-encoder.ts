import { EXPORT_LOGS_REQUEST, LOG_RECORD, RESOURCE, RESOURCE_LOGS, SCOPE, SCOPE_LOGS, tagOf, WIRE } from './logs-fields.js';
import { ProtoWriter } from './proto-writer.js';

/** What the encoder reads of a record: the shape of an audit record, values as AnyValue allows. */
export interface EncodableLogRecord {
  /** 32 hex; empty leaves the field out. */
  readonly traceId: string;
  /** 16 hex; empty leaves the field out. */
  readonly spanId: string;
  /** W3C trace flags (the LogRecord `flags` field). */
  readonly traceFlags: number;
  /** Unix nanoseconds, decimal. */
  readonly timeUnixNano: string;
  /** Unix nanoseconds, decimal. */
  readonly observedTimeUnixNano: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Attributes of the emitting process; records with equal resources share one ResourceLogs. */
  readonly resource: Readonly<Record<string, unknown>>;
}

/** What every record of an encoder carries. */
export interface LogsEncoderOptions {
  scopeName: string;
  /** Empty leaves the field out. */
  scopeVersion: string;
  /** LogRecord `event_name`; empty leaves the field out. */
  eventName: string;
  /** 0 (UNSPECIFIED) leaves the field out. */
  severityNumber: number;
  /** Empty leaves the field out. */
  severityText: string;
}

/** One encoded ExportLogsServiceRequest. */
export interface EncodedLogs {
  bytes: Buffer;
  /** Records in `bytes`. */
  count: number;
  /** Records left out because a value has no AnyValue form. */
  unencodable: number;
}

/** Resources remembered by content (records read back from the spool are copies). */
const MAX_CACHED_RESOURCES = 64;

const { varint: VARINT, i64: I64, len: LEN, i32: I32 } = WIRE;
const T_RESOURCE_LOGS = tagOf(EXPORT_LOGS_REQUEST.resourceLogs, LEN);
const T_SCOPE_LOGS = tagOf(RESOURCE_LOGS.scopeLogs, LEN);
const T_LOG_RECORD = tagOf(SCOPE_LOGS.logRecords, LEN);
const T_TIME = tagOf(LOG_RECORD.timeUnixNano, I64);
const T_DROPPED = tagOf(LOG_RECORD.droppedAttributesCount, VARINT);
const T_FLAGS = tagOf(LOG_RECORD.flags, I32);
const T_TRACE_ID = tagOf(LOG_RECORD.traceId, LEN);
const T_SPAN_ID = tagOf(LOG_RECORD.spanId, LEN);
const T_OBSERVED = tagOf(LOG_RECORD.observedTimeUnixNano, I64);

/**
 * Encodes records straight into an OTLP ExportLogsServiceRequest: no
 * LogRecord objects, one scratch buffer, the resource and the scope encoded
 * once and copied in as bytes. Records are grouped by resource in order of
 * first appearance, one ScopeLogs each, fields in the order (and with the
 * defaults written or left out) of the OpenTelemetry JavaScript serializer,
 * so that both produce the same bytes. A record with a value that has no
 * AnyValue form is left out and counted; the others are encoded.
 */
export class LogsEncoder {
  private readonly writer = new ProtoWriter();
  /** ScopeLogs.scope with its tag. */
  private readonly scope: Buffer;
  /** LogRecord fields that are the same for every record: severity number and text. */
  private readonly head: Buffer;
  /** The event name with its tag. */
  private readonly tail: Buffer;
  private readonly resourceByIdentity = new WeakMap<object, Buffer>();
  private readonly resourceByContent = new Map<string, Buffer>();

  constructor(options: LogsEncoderOptions) {
    const w = this.writer;
    w.varint(tagOf(SCOPE_LOGS.scope, LEN));
    const at = w.begin();
    w.varint(tagOf(SCOPE.name, LEN));
    w.string(options.scopeName);
    if (options.scopeVersion !== '') {
      w.varint(tagOf(SCOPE.version, LEN));
      w.string(options.scopeVersion);
    }
    w.end(at);
    this.scope = w.finish();
    if (options.severityNumber !== 0) {
      w.varint(tagOf(LOG_RECORD.severityNumber, VARINT));
      w.varint(options.severityNumber);
    }
    if (options.severityText !== '') {
      w.varint(tagOf(LOG_RECORD.severityText, LEN));
      w.string(options.severityText);
    }
    this.head = w.finish();
    if (options.eventName !== '') {
      w.varint(tagOf(LOG_RECORD.eventName, LEN));
      w.string(options.eventName);
    }
    this.tail = w.finish();
  }

  encode(records: readonly EncodableLogRecord[]): EncodedLogs {
    const w = this.writer;
    let count = 0;
    let unencodable = 0;
    // Most batches hold one resource: no grouping structure unless a second one shows up.
    const first = records.length > 0 ? this.resourceOrUndefined(records[0] as EncodableLogRecord) : undefined;
    let groups: Map<Buffer, EncodableLogRecord[]> | undefined;
    for (let i = 1; i < records.length; i++) {
      const r = records[i] as EncodableLogRecord;
      if (r.resource === (records[0] as EncodableLogRecord).resource) continue;
      groups = this.group(records);
      break;
    }
    const write = (resource: Buffer, rs: readonly EncodableLogRecord[]): void => {
      w.varint(T_RESOURCE_LOGS);
      const outer = w.begin();
      w.raw(resource);
      w.varint(T_SCOPE_LOGS);
      const scopeLogs = w.begin();
      w.raw(this.scope);
      for (const r of rs) {
        const start = w.pos;
        try {
          this.record(r);
          count++;
        } catch {
          w.pos = start;
          unencodable++;
        }
      }
      w.end(scopeLogs);
      w.end(outer);
    };
    if (groups) {
      let grouped = 0;
      for (const [resource, rs] of groups) {
        write(resource, rs);
        grouped += rs.length;
      }
      // Records whose resource has no AnyValue form.
      unencodable += records.length - grouped;
    } else if (first) {
      write(first, records);
    } else {
      unencodable = records.length;
    }
    const bytes = w.finish();
    return { bytes: count > 0 ? bytes : Buffer.alloc(0), count, unencodable };
  }

  private group(records: readonly EncodableLogRecord[]): Map<Buffer, EncodableLogRecord[]> {
    const groups = new Map<Buffer, EncodableLogRecord[]>();
    for (const r of records) {
      const resource = this.resourceOrUndefined(r);
      if (!resource) continue;
      const g = groups.get(resource);
      if (g) g.push(r);
      else groups.set(resource, [r]);
    }
    return groups;
  }

  private record(r: EncodableLogRecord): void {
    const w = this.writer;
    w.varint(T_LOG_RECORD);
    const at = w.begin();
    w.varint(T_TIME);
    w.fixed64Decimal(r.timeUnixNano);
    w.raw(this.head);
    w.attributes(LOG_RECORD.attributes, r.attributes);
    w.varint(T_DROPPED);
    w.varint(0);
    if (r.traceFlags) {
      w.varint(T_FLAGS);
      w.fixed32(r.traceFlags);
    }
    if (r.traceId) {
      w.varint(T_TRACE_ID);
      w.hexBytes(r.traceId);
    }
    if (r.spanId) {
      w.varint(T_SPAN_ID);
      w.hexBytes(r.spanId);
    }
    w.varint(T_OBSERVED);
    w.fixed64Decimal(r.observedTimeUnixNano);
    w.raw(this.tail);
    w.end(at);
  }

  /** The record's Resource (with its tag), encoded once per resource; undefined when it cannot be encoded. */
  private resourceOrUndefined(r: EncodableLogRecord): Buffer | undefined {
    const attrs = r.resource;
    const known = this.resourceByIdentity.get(attrs);
    if (known) return known;
    let key: string;
    try {
      key = JSON.stringify(attrs);
    } catch {
      return undefined;
    }
    let bytes = this.resourceByContent.get(key);
    if (!bytes) {
      // Its own writer: the batch's scratch buffer is in use.
      const w = new ProtoWriter();
      try {
        w.varint(tagOf(RESOURCE_LOGS.resource, LEN));
        const at = w.begin();
        w.attributes(RESOURCE.attributes, attrs);
        w.varint(tagOf(RESOURCE.droppedAttributesCount, VARINT));
        w.varint(0);
        w.end(at);
      } catch {
        return undefined;
      }
      bytes = w.finish();
      if (this.resourceByContent.size >= MAX_CACHED_RESOURCES) this.resourceByContent.clear();
      this.resourceByContent.set(key, bytes);
    }
    this.resourceByIdentity.set(attrs, bytes);
    return bytes;
  }
}
