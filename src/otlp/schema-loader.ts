/**
 * The OTLP protobuf schema, loaded at runtime from the .proto files shipped
 * with the package (src/proto when running from source, dist/proto when
 * bundled). The sink does not use it (its decoders and responses work on the
 * wire format directly, wire-*.ts, json.ts, responses.ts): it is the
 * reference those are tested against, and what tests and benchmarks encode
 * arbitrary messages with.
 *
 * Field presence: every singular field is configured with explicit presence.
 * A decoded message therefore remembers exactly which fields were on the wire
 * (including ones carrying a zero value, which the OpenTelemetry JS serializer
 * writes for e.g. `dropped_attributes_count`), and encoding it again yields the
 * same bytes. The wire format itself is unchanged: proto3 readers accept both
 * present and absent zero values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { NamespaceBase, Root, Service, Type } from 'protobufjs';
import { assetPath } from '../assets.js';

/** The .proto files of the schema, relative to the proto directory, in dependency order. */
export const OTLP_PROTO_FILES: readonly string[] = [
  'opentelemetry/proto/common/v1/common.proto',
  'opentelemetry/proto/resource/v1/resource.proto',
  'opentelemetry/proto/logs/v1/logs.proto',
  'opentelemetry/proto/trace/v1/trace.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
];

export { OTLP_LOGS_EXPORT_PATH, OTLP_TRACE_EXPORT_PATH } from './export-paths.js';

/** The loaded schema: protobufjs types of the export requests and responses. */
export interface OtlpSchema {
  /** Absolute path of the directory holding `opentelemetry/proto/...`. */
  readonly protoDir: string;
  readonly root: Root;
  readonly exportLogsServiceRequest: Type;
  readonly exportLogsServiceResponse: Type;
  readonly exportTraceServiceRequest: Type;
  readonly exportTraceServiceResponse: Type;
  /** `/opentelemetry.proto.collector.logs.v1.LogsService/Export` */
  readonly logsExportPath: string;
  /** `/opentelemetry.proto.collector.trace.v1.TraceService/Export` */
  readonly traceExportPath: string;
}

/** Directory holding the .proto files, next to the module's own directory. */
export function otlpProtoDir(): string {
  return assetPath('proto');
}

/**
 * Parses the .proto files under `protoDir` into a fresh schema. Prefer
 * {@link loadOtlpSchema}, which caches the default one.
 */
export function createOtlpSchema(protoDir: string = otlpProtoDir()): OtlpSchema {
  const root = new protobuf.Root();
  const parsed = new Set<string>();
  for (const file of OTLP_PROTO_FILES) {
    const source = readFileSync(join(protoDir, file), 'utf8');
    const result = protobuf.parse(source, root, { keepCase: false });
    for (const imported of result.imports ?? []) {
      if (!parsed.has(imported)) {
        throw new Error(`${file} imports ${imported}, which is not loaded before it`);
      }
    }
    parsed.add(file);
  }
  useExplicitPresence(root);
  root.resolveAll();

  const logsService = root.lookupService('opentelemetry.proto.collector.logs.v1.LogsService');
  const traceService = root.lookupService('opentelemetry.proto.collector.trace.v1.TraceService');
  return Object.freeze({
    protoDir,
    root,
    exportLogsServiceRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    exportLogsServiceResponse: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    exportTraceServiceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    exportTraceServiceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    logsExportPath: methodPath(logsService, 'Export'),
    traceExportPath: methodPath(traceService, 'Export'),
  });
}

let cachedSchema: OtlpSchema | undefined;

/** The schema loaded from {@link otlpProtoDir}, parsed once per process. */
export function loadOtlpSchema(): OtlpSchema {
  cachedSchema ??= createOtlpSchema();
  return cachedSchema;
}

/** Marks every singular field (outside oneofs, which already track presence) as explicit-presence. */
function useExplicitPresence(root: Root): void {
  const visit = (ns: NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) {
          if (!field.repeated && !field.map && !field.partOf) {
            field.setOption('features.field_presence', 'EXPLICIT');
          }
        }
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
}

function methodPath(service: Service, method: string): string {
  if (!service.methods[method]) throw new Error(`${service.fullName} has no method ${method}`);
  return `/${service.fullName.replace(/^\./, '')}/${method}`;
}
