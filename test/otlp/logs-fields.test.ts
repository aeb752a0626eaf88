import { describe, expect, it } from 'vitest';
import * as F from '../../src/otlp/logs-fields.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';

/** Field numbers of a message as the OTLP .proto files (src/proto) define them, by field name. */
function protoFields(type: string): Record<string, number> {
  const message = loadOtlpSchema().root.lookupType(type);
  return Object.fromEntries(message.fieldsArray.map((f) => [f.name, f.id]));
}

const LOGS = 'opentelemetry.proto.logs.v1';
const COMMON = 'opentelemetry.proto.common.v1';
const SERVICE = 'opentelemetry.proto.collector.logs.v1';

describe('the field table agrees with the OTLP .proto files', () => {
  // Messages whose every field the encoder or decoder knows: equal.
  it.each([
    ['LogRecord', `${LOGS}.LogRecord`, F.LOG_RECORD],
    ['AnyValue', `${COMMON}.AnyValue`, F.ANY_VALUE],
    ['KeyValue', `${COMMON}.KeyValue`, F.KEY_VALUE],
    ['ArrayValue', `${COMMON}.ArrayValue`, F.ARRAY_VALUE],
    ['KeyValueList', `${COMMON}.KeyValueList`, F.KEY_VALUE_LIST],
    ['ScopeLogs', `${LOGS}.ScopeLogs`, F.SCOPE_LOGS],
    ['ExportLogsServiceRequest', `${SERVICE}.ExportLogsServiceRequest`, F.EXPORT_LOGS_REQUEST],
    ['ExportLogsServiceResponse', `${SERVICE}.ExportLogsServiceResponse`, F.EXPORT_LOGS_RESPONSE],
    ['ExportLogsPartialSuccess', `${SERVICE}.ExportLogsPartialSuccess`, F.LOGS_PARTIAL_SUCCESS],
  ])('%s', (_name, type, table) => {
    expect({ ...table }).toEqual(protoFields(type));
  });

  // Messages that later OTLP versions extend (entity references): every field in the table is right.
  it.each([
    ['ResourceLogs', `${LOGS}.ResourceLogs`, F.RESOURCE_LOGS],
    ['Resource', 'opentelemetry.proto.resource.v1.Resource', F.RESOURCE],
    ['InstrumentationScope', `${COMMON}.InstrumentationScope`, F.SCOPE],
  ])('%s', (_name, type, table) => {
    expect(protoFields(type)).toMatchObject({ ...table });
  });

  it('tags: field number and wire type', () => {
    expect(F.tagOf(F.LOG_RECORD.eventName, F.WIRE.len)).toBe(0x62);
    expect(F.tagOf(F.LOG_RECORD.timeUnixNano, F.WIRE.i64)).toBe(0x09);
    expect(F.tagOf(F.LOG_RECORD.flags, F.WIRE.i32)).toBe(0x45);
  });
});
