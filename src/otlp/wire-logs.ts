import { EXPORT_LOGS_REQUEST, LOG_RECORD, RESOURCE_LOGS, SCOPE_LOGS, tagOf, WIRE } from './logs-fields.js';
import type { DecodedAttributes, DecodedLogRecord, DecodedScope } from './decoded-types.js';
import { SEVERITY_NUMBER_MAX } from './numbers.js';
import { decodeNested, type WireNesting } from './wire-nesting.js';
import { U32_MAX, type WireReader } from './wire-reader.js';

export { MAX_DEPTH } from './wire-reader.js';

/**
 * Decodes an ExportLogsServiceRequest straight from the protobuf wire format
 * into {@link DecodedLogRecord}s, with the same result as `decodeLogsRequest`
 * (protobufjs decode + toObject + flatten), several times faster: no
 * intermediate messages, and each resource and scope is decoded once and
 * shared by its records. The sink decodes every audit record it receives, so
 * this is its hot path. Field numbers come from logs-fields.ts, which the
 * SDK's encoder shares.
 *
 * Malformed input throws (truncated fields, impossible wire types, nesting
 * deeper than {@link MAX_DEPTH}, strings that are not valid UTF-8); unknown
 * fields are skipped, as protobuf readers do. A varint beyond its field's
 * range (an int64 of more than 64 bits, a uint32 count above 2^32-1, a
 * severity number above 24) is not truncated as protobuf readers do: the
 * value is left out and the record marked `invalid` with the reason (its
 * resource's or scope's problem marks each of their records).
 */
export function decodeLogsWire(bytes: Uint8Array): DecodedLogRecord[] {
  return decodeNested(bytes, LOGS_NESTING, logRecord);
}

const LOGS_NESTING: WireNesting = {
  request: { resourceGroups: EXPORT_LOGS_REQUEST.resourceLogs },
  resourceGroup: { resource: RESOURCE_LOGS.resource, scopeGroups: RESOURCE_LOGS.scopeLogs },
  scopeGroup: { scope: SCOPE_LOGS.scope, items: SCOPE_LOGS.logRecords },
};

const { varint: VARINT, i64: I64, len: LEN, i32: I32 } = WIRE;

function logRecord(r: WireReader, end: number, resource: DecodedAttributes, scope: DecodedScope): DecodedLogRecord {
  const rec: DecodedLogRecord = {
    resource,
    scope,
    timeUnixNano: '0',
    observedTimeUnixNano: '0',
    severityNumber: 0,
    severityText: '',
    body: null,
    attributes: {},
    droppedAttributesCount: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case tagOf(LOG_RECORD.timeUnixNano, I64):
        rec.timeUnixNano = r.fixed64();
        break;
      case tagOf(LOG_RECORD.severityNumber, VARINT):
        rec.severityNumber = r.bounded('severityNumber', SEVERITY_NUMBER_MAX, { enumMax: SEVERITY_NUMBER_MAX });
        break;
      case tagOf(LOG_RECORD.severityText, LEN):
        rec.severityText = r.string();
        break;
      case tagOf(LOG_RECORD.body, LEN):
        rec.body = r.anyValue(r.end(), 0, 'body');
        break;
      case tagOf(LOG_RECORD.attributes, LEN):
        r.keyValue(r.end(), rec.attributes, 0, 'attribute');
        break;
      case tagOf(LOG_RECORD.droppedAttributesCount, VARINT):
        rec.droppedAttributesCount = r.bounded('droppedAttributesCount', U32_MAX, 'uint32');
        break;
      case tagOf(LOG_RECORD.flags, I32):
        rec.flags = r.fixed32();
        break;
      case tagOf(LOG_RECORD.traceId, LEN):
        rec.traceId = r.hex();
        break;
      case tagOf(LOG_RECORD.spanId, LEN):
        rec.spanId = r.hex();
        break;
      case tagOf(LOG_RECORD.observedTimeUnixNano, I64):
        rec.observedTimeUnixNano = r.fixed64();
        break;
      case tagOf(LOG_RECORD.eventName, LEN):
        rec.eventName = r.string();
        break;
      default:
        r.skip(tag);
    }
  }
  return rec;
}
