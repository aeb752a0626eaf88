import { context, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/sdk/audit-api.js';
import { AuditSpanProcessor } from '../../src/sdk/audit-span-processor.js';
import { MAX_MANUAL_CALLS_PER_OPERATION } from '../../src/sdk/manual-bound.js';
import { resolveConfig } from '../../src/sdk/config.js';
import type { AuditRecord } from '../../src/sdk/record.js';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

let provider: TracerProvider | undefined;
afterEach(async () => {
  await provider?.shutdown();
  provider = undefined;
});

function setup(env: Record<string, string> = {}): { tracer: Tracer; records: AuditRecord[]; processor: AuditSpanProcessor } {
  const records: AuditRecord[] = [];
  const config = resolveConfig({}, { OTEL_AUDIT_GRACE_MS: '50', ...env });
  const processor = new AuditSpanProcessor({ config, onRecord: (r) => records.push(r) });
  provider = new TracerProvider({ spanProcessors: [processor] });
  return { tracer: provider.getTracer('test'), records, processor };
}

const serverAttrs = (method: string, path: string, status: number): Record<string, string | number> => ({
  'http.request.method': method,
  'url.path': path,
  'http.response.status_code': status,
});

describe('AuditSpanProcessor', () => {
  it('one record per server span, emitted when the local root ends, tagged on the span too', () => {
    const { tracer, records } = setup();
    const span = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: serverAttrs('GET', '/users/12', 200) });
    span.end();
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes).toMatchObject({ 'audit.action': 'user.read', 'audit.resource.id': '12', 'audit.emitter.seq': 1 });
    expect(records[0]!.traceId).toBe(span.spanContext().traceId);
    expect(records[0]!.spanId).toBe(span.spanContext().spanId);
  });

  it('tags the server span for the APM unless told that no span leaves the process', async () => {
    for (const tagSpans of [undefined, false]) {
      const records: AuditRecord[] = [];
      const exported = new InMemorySpanExporter();
      const processor = new AuditSpanProcessor({ config: resolveConfig({}, {}), onRecord: (r) => records.push(r), ...(tagSpans === undefined ? {} : { tagSpans }) });
      const local = new TracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor({ exporter: exported })] });
      local.getTracer('test').startSpan('PUT', { kind: SpanKind.SERVER, attributes: serverAttrs('PUT', '/users/7', 200) }).end();
      expect(records.map((r) => r.attributes['audit.action'])).toEqual(['user.update']);
      await local.forceFlush();
      const span = exported.getFinishedSpans()[0]!;
      if (tagSpans === false) expect(Object.keys(span.attributes).filter((k) => k.startsWith('audit.'))).toEqual([]);
      else expect(span.attributes).toMatchObject({ 'audit.action': 'user.update', 'audit.resource.id': '7', 'audit.outcome': 'success' });
      await local.shutdown();
    }
  });

  it('waits for a child that ends after the root (grace period), and merges its manual record', async () => {
    const { tracer, records } = setup();
    const root = tracer.startSpan('POST', { kind: SpanKind.SERVER, attributes: serverAttrs('POST', '/sessions', 201) });
    const ctx = trace.setSpan(context.active(), root);
    const child = tracer.startSpan('work', {}, ctx);
    root.end();
    expect(records).toHaveLength(0);
    context.with(trace.setSpan(ctx, child), () => audit.record({ action: 'session.create', resource: { type: 'session', id: 's-1' } }));
    child.end();
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes['audit.resource.id']).toBe('s-1');
    expect(records[0]!.attributes['audit.incomplete']).toBeUndefined();
  });

  it('a trace whose child never ends is flushed after the grace period', async () => {
    const { tracer, records } = setup();
    const root = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: serverAttrs('GET', '/things', 200) });
    tracer.startSpan('never-ends', {}, trace.setSpan(context.active(), root));
    root.end();
    await new Promise((r) => setTimeout(r, 120));
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes['audit.action']).toBe('thing.list');
  });

  it('bounded: past maxOpenTraces the oldest open trace is flushed early, marked incomplete', () => {
    const { tracer, records } = setup({ OTEL_AUDIT_MAX_OPEN_TRACES: '2' });
    const a = tracer.startSpan('a', { kind: SpanKind.SERVER, attributes: serverAttrs('GET', '/a/1', 200) });
    context.with(trace.setSpan(context.active(), a), () => audit.record({ action: 'a.touch', resource: { type: 'a', id: '1' } }));
    tracer.startSpan('b', { kind: SpanKind.SERVER });
    tracer.startSpan('c', { kind: SpanKind.SERVER });
    // The request still in flight is recorded as it stands (never a success), with the handler's record.
    expect(records.map((r) => r.attributes['audit.action']).sort()).toEqual(['a.read', 'a.touch']);
    for (const r of records) expect(r.attributes['audit.incomplete']).toBe(true);
    const inFlight = records.find((r) => r.attributes['audit.action'] === 'a.read')!;
    expect(inFlight.attributes['audit.outcome']).toBe('failure');
    expect(inFlight.spanId).toBe(a.spanContext().spanId);
  });

  it('shutdown flushes open traces as incomplete; audit.record() without a span is a record of its own', async () => {
    const { tracer, records, processor } = setup();
    const open = tracer.startSpan('open', { kind: SpanKind.SERVER, attributes: serverAttrs('DELETE', '/files/9', 204) });
    context.with(trace.setSpan(context.active(), open), () => audit.record({ action: 'file.purge', resource: { type: 'file', id: '9' } }));
    audit.record({ action: 'job.run', resource: { type: 'job', id: 'nightly' }, actor: { id: 'cron', type: 'service' } });
    expect(records.map((r) => r.attributes['audit.action'])).toEqual(['job.run']);
    expect(records[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    await processor.shutdown();
    expect(records.map((r) => r.attributes['audit.action'])).toEqual(['job.run', 'file.delete', 'file.purge']);
    expect(records[1]!.attributes['audit.incomplete']).toBe(true);
    expect(records[1]!.attributes['audit.outcome']).toBe('failure');
    expect(records[1]!.attributes['http.response.status_code']).toBeUndefined();
    expect(records[2]!.attributes['audit.incomplete']).toBe(true);
    expect(records.map((r) => r.attributes['audit.emitter.seq'])).toEqual([1, 2, 3]);
  });

  it('ignored routes produce nothing; audit.record() never throws, even with bad input', () => {
    const { tracer, records } = setup();
    tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: serverAttrs('GET', '/healthz', 200) }).end();
    expect(records).toHaveLength(0);
    expect(() => audit.record(null as unknown as Parameters<typeof audit.record>[0])).not.toThrow();
    expect(() => audit.set(undefined as unknown as Parameters<typeof audit.set>[0])).not.toThrow();
  });

  it('meta: masked by key (built-in and configured keys) and capped at maxValueBytes with a marker', () => {
    const { tracer, records } = setup({ OTEL_AUDIT_MAX_VALUE_BYTES: '512', OTEL_AUDIT_REDACT_KEYS: 'ssn' });
    const root = tracer.startSpan('POST', { kind: SpanKind.SERVER, attributes: serverAttrs('POST', '/notes', 201) });
    context.with(trace.setSpan(context.active(), root), () => {
      audit.set({ meta: { password: 'hunter2', ssn: '123-45-6789', note: 'n'.repeat(200_000), ok: 'yes' } });
      audit.record({ action: 'note.share', meta: { api_key: 'k-1', big: 'b'.repeat(10_000) } });
    });
    root.end();
    expect(records).toHaveLength(2);
    const auto = records.find((r) => r.attributes['audit.action'] === 'note.create')!;
    expect(auto.attributes['audit.meta.password']).toBe('[REDACTED]');
    expect(auto.attributes['audit.meta.ssn']).toBe('[REDACTED]');
    expect(auto.attributes['audit.meta.ok']).toBe('yes');
    const note = String(auto.attributes['audit.meta.note']);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(512);
    expect(note).toContain('[truncated');
    const shared = records.find((r) => r.attributes['audit.action'] === 'note.share')!;
    expect(shared.attributes['audit.meta.api_key']).toBe('[REDACTED]');
    expect(Buffer.byteLength(String(shared.attributes['audit.meta.big']))).toBeLessThanOrEqual(512);
    expect(JSON.stringify(records)).not.toContain('hunter2');
  });

  it('manual API calls are bounded per operation: later calls are ignored, counted on the record', () => {
    const { tracer, records } = setup();
    const root = tracer.startSpan('POST', { kind: SpanKind.SERVER, attributes: serverAttrs('POST', '/imports', 201) });
    const calls = 5000;
    context.with(trace.setSpan(context.active(), root), () => {
      for (let i = 0; i < calls; i++) audit.set({ meta: { [`k${i}`]: 'v'.repeat(8192) } });
    });
    root.end();
    expect(records).toHaveLength(1);
    const a = records[0]!.attributes;
    // 8 KB per call: the byte bound (1 MiB) is reached before the call bound.
    expect(a['audit.manual.ignored']).toBeGreaterThanOrEqual(calls - MAX_MANUAL_CALLS_PER_OPERATION);
    expect(a['audit.manual.ignored']).toBeLessThan(calls);
    const metaKeys = Object.keys(a).filter((k) => k.startsWith('audit.meta.'));
    expect(metaKeys.length).toBeLessThanOrEqual(65);
    expect(Buffer.byteLength(JSON.stringify(records[0]))).toBeLessThan(1024 * 1024);
    // Another request of the same trace has a budget of its own.
    const other = tracer.startSpan('POST', { kind: SpanKind.SERVER, attributes: serverAttrs('POST', '/imports', 201) }, trace.setSpanContext(context.active(), { ...root.spanContext(), isRemote: true }));
    context.with(trace.setSpan(context.active(), other), () => audit.set({ meta: { fresh: 'yes' } }));
    other.end();
    expect(records).toHaveLength(2);
    expect(records[1]!.attributes['audit.meta.fresh']).toBe('yes');
    expect(records[1]!.attributes['audit.manual.ignored']).toBeUndefined();
    expect(records[1]!.traceId).toBe(records[0]!.traceId);
    expect(records[1]!.spanId).toBe(other.spanContext().spanId);
  });

  it('small manual calls: the call bound applies', () => {
    const { tracer, records } = setup();
    const root = tracer.startSpan('POST', { kind: SpanKind.SERVER, attributes: serverAttrs('POST', '/imports', 201) });
    context.with(trace.setSpan(context.active(), root), () => {
      for (let i = 0; i < MAX_MANUAL_CALLS_PER_OPERATION + 44; i++) audit.set({ tenant: `t-${i}` });
    });
    root.end();
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes['audit.manual.ignored']).toBe(44);
    expect(records[0]!.attributes['audit.tenant.id']).toBe(`t-${MAX_MANUAL_CALLS_PER_OPERATION - 1}`);
  });

  it('the manual API converts ids and meta values: bigint and numbers in decimal, Dates as ISO, own toString; others left out', () => {
    const { records } = setup();
    class ObjectId {
      constructor(private readonly hex: string) {}
      toString(): string {
        return this.hex;
      }
    }
    audit.record({
      action: 'order.ship',
      resource: { type: 'order', id: new ObjectId('65a1f0') as unknown as string },
      actor: { id: 42, name: 'n' },
      tenant: 7n,
      meta: { big: 2n ** 70n, at: new Date(Date.UTC(2024, 0, 2)), odd: { nested: true } as unknown as string, ok: 1.5 },
    });
    expect(records).toHaveLength(1);
    const a = records[0]!.attributes;
    expect(a).toMatchObject({
      'audit.resource.id': '65a1f0',
      'audit.actor.id': '42',
      'audit.tenant.id': '7',
      'audit.meta.big': (2n ** 70n).toString(),
      'audit.meta.at': '2024-01-02T00:00:00.000Z',
      'audit.meta.ok': 1.5,
    });
    expect(a['audit.meta.odd']).toBeUndefined();
    expect(() => JSON.stringify(records[0])).not.toThrow();
  });
});
