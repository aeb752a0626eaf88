/**
 * Audit records as the otel-audit SDK sends them (src/sdk/record-builder.ts):
 * log records of several emitters, batched and serialized ahead of time
 * with the official OTLP serializer, as ExportLogsServiceRequests.
 */
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { randomBytes } from 'node:crypto';

interface Route {
  method: string;
  route: string;
  action: string;
  resourceType: string;
  module: string;
  status: number;
  /** Request body of the operation (level full), as the SDK captures it. */
  body?: Record<string, unknown>;
}

const ROUTES: readonly Route[] = [
  { method: 'GET', route: '/users/:id', action: 'user.read', resourceType: 'user', module: 'accounts', status: 200 },
  { method: 'GET', route: '/orders/:id', action: 'order.read', resourceType: 'order', module: 'orders', status: 200 },
  { method: 'GET', route: '/orders/:id', action: 'order.read', resourceType: 'order', module: 'orders', status: 200 },
  {
    method: 'POST', route: '/orders', action: 'order.create', resourceType: 'order', module: 'orders', status: 201,
    body: { items: [{ sku: 'SKU-10442', quantity: 2 }, { sku: 'SKU-20017', quantity: 1 }], currency: 'EUR', note: 'leave at the door' },
  },
  {
    method: 'PATCH', route: '/users/:id', action: 'user.update', resourceType: 'user', module: 'accounts', status: 200,
    body: { display_name: 'Ada L.', locale: 'en-GB' },
  },
  { method: 'DELETE', route: '/sessions/:id', action: 'session.delete', resourceType: 'session', module: 'auth', status: 204 },
];

const SERVICES = ['orders-api', 'accounts-api', 'billing-api', 'catalog-api', 'shipping-api', 'search-api', 'gateway', 'reports-api'];
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'okhttp/4.12.0',
];
const SCOPE = { name: 'otel-audit', version: '0.1.0' };
const SEVERITY_INFO = 9;

/** One emitting process: its resource and its next sequence number. */
export interface Emitter {
  id: string;
  service: string;
  resource: Resource;
  seq: number;
}

export function makeEmitters(tag: string, n: number): Emitter[] {
  return Array.from({ length: n }, (_, i) => {
    const service = SERVICES[i % SERVICES.length] as string;
    const id = `${tag}-${i}-${randomBytes(6).toString('hex')}`;
    return {
      id,
      service,
      seq: 0,
      resource: resourceFromAttributes({
        'service.name': service,
        'service.version': '2.14.3',
        'service.instance.id': id,
        'deployment.environment.name': 'production',
        'host.name': `ip-10-0-${i}-17`,
        'process.pid': 4000 + i,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': '24.21.0',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.version': '3.1.0',
      }),
    };
  });
}

/** A log record like the SDK's: ~20 attributes, the record as a map body, a unique trace id. */
function makeLogRecord(e: Emitter, n: number, nowMs: number): ReadableLogRecord {
  const r = ROUTES[n % ROUTES.length] as Route;
  const ids = randomBytes(24).toString('hex');
  const traceId = ids.slice(0, 32);
  const spanId = ids.slice(32, 48);
  const resourceId = String(100_000 + ((n * 7919) % 900_000));
  const denied = n % 50 === 7;
  const failed = n % 50 === 13;
  const status = denied ? 403 : failed ? 500 : r.status;
  const outcome = denied ? 'denied' : failed ? 'failure' : 'success';
  const path = r.route.replace(':id', resourceId);
  const actorId = `user-${(n * 31) % 5000}`;
  const clientAddress = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const userAgent = USER_AGENTS[n % USER_AGENTS.length] as string;
  const durationMs = Math.round((2 + (n % 97) * 0.37) * 1000) / 1000;
  const request = r.body ? JSON.stringify({ query: { expand: 'items' }, body: r.body }) : undefined;
  const seq = ++e.seq;
  const attributes: Record<string, string | number | boolean> = {
    'audit.action': r.action,
    'audit.outcome': outcome,
    'audit.actor.id': actorId,
    'audit.actor.name': `User ${actorId.slice(5)}`,
    'audit.actor.type': 'user',
    'audit.tenant.id': `tenant-${n % 40}`,
    'audit.resource.type': r.resourceType,
    'audit.resource.id': resourceId,
    'audit.module': r.module,
    'audit.level': 'full',
    'http.request.method': r.method,
    'http.route': r.route,
    'url.path': path,
    'http.response.status_code': status,
    'client.address': clientAddress,
    'audit.duration_ms': durationMs,
    'user_agent.original': userAgent,
    'audit.emitter.id': e.id,
    'audit.emitter.seq': seq,
  };
  if (request !== undefined) attributes['audit.request'] = request;
  if (failed) attributes['audit.error.message'] = 'upstream timed out';
  const body: Record<string, unknown> = {
    action: r.action,
    outcome,
    actor: { type: 'user', id: actorId, name: attributes['audit.actor.name'] },
    tenant_id: attributes['audit.tenant.id'],
    resource: { type: r.resourceType, id: resourceId },
    module: r.module,
    level: 'full',
    http: { method: r.method, route: r.route, path, status_code: status, client_address: clientAddress, user_agent: userAgent },
    duration_ms: durationMs,
  };
  if (failed) body['error'] = 'upstream timed out';
  if (request !== undefined) body['request'] = request;
  // Occurred a few ms before it was exported; distinct per record.
  const startNs = BigInt(Math.floor(nowMs)) * 1_000_000n - BigInt(n % 1000) * 1_000n;
  return {
    hrTime: [Number(startNs / 1_000_000_000n), Number(startNs % 1_000_000_000n)],
    hrTimeObserved: [Math.floor(nowMs / 1000), Math.floor((nowMs % 1000) * 1e6)],
    spanContext: { traceId, spanId, traceFlags: 1 },
    severityNumber: SEVERITY_INFO,
    severityText: 'INFO',
    eventName: 'audit',
    body: body as ReadableLogRecord['body'],
    resource: e.resource,
    instrumentationScope: SCOPE,
    attributes,
    droppedAttributesCount: 0,
  };
}

export interface Payload {
  bytes: Buffer;
  records: number;
}

/** `count` batches of `size` log records, round-robin over the emitters. */
export function makeBatches(emitters: Emitter[], count: number, size: number): ReadableLogRecord[][] {
  const out: ReadableLogRecord[][] = [];
  let n = 0;
  const now = Date.now();
  for (let b = 0; b < count; b++) {
    const e = emitters[b % emitters.length] as Emitter;
    const batch: ReadableLogRecord[] = [];
    for (let i = 0; i < size; i++) batch.push(makeLogRecord(e, n++, now));
    out.push(batch);
  }
  return out;
}

/** Serialized ExportLogsServiceRequests, as the official OTLP exporter encodes them. */
export function serialize(batches: ReadableLogRecord[][]): Payload[] {
  return batches.map((b) => {
    const bytes = ProtobufLogsSerializer.serializeRequest(b);
    if (!bytes) throw new Error('ProtobufLogsSerializer returned nothing');
    return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), records: b.length };
  });
}
