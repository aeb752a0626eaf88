import { describe, expect, it } from 'vitest';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { applyEnrichment, enrichmentOf } from '../../src/sdk/enrichment.js';
import type { AuditFragment } from '../../src/sdk/fragment.js';
import { ManualCallBound, MAX_MANUAL_BYTES_PER_OPERATION, MAX_MANUAL_CALLS_PER_OPERATION } from '../../src/sdk/manual-bound.js';
import { OperationScopes, type Scope } from '../../src/sdk/operation-scopes.js';
import type { AuditRecord } from '../../src/sdk/record.js';
import { defaultRecordLimits } from '../../src/sdk/record-builder.js';
import { RecordEmitter } from '../../src/sdk/record-emitter.js';

const TRACE = 'a'.repeat(32);

describe('enrichmentOf / applyEnrichment', () => {
  it('converts the input and sanitises change values only when asked', () => {
    const input = { actor: { id: 7 as unknown as string }, tenant: 't-1', resource: { type: 'doc', id: 'd-1' }, after: { a: 1 }, meta: { n: 1, b: true, s: 'x' } };
    const sanitized = enrichmentOf(input, (v) => JSON.stringify(v));
    expect(sanitized).toEqual({
      source: 'manual', action: '', actor: { type: 'user', id: '7' }, tenant: 't-1', resourceType: 'doc', resourceId: 'd-1',
      after: '{"a":1}', meta: { n: 1, b: true, s: 'x' },
    });
    expect(enrichmentOf(input, undefined).after).toBeUndefined();
  });

  it('applies enrichments in order; a later actor clears the attempted principal; meta merges', () => {
    const auto: AuditFragment = { source: 'auto', action: 'session.create', actor: { type: 'user', id: 'alice' }, attemptedPrincipal: true, meta: { a: 1 } };
    const out = applyEnrichment(auto, [
      { source: 'manual', action: '', tenant: 't-1', meta: { b: 2 } },
      { source: 'manual', action: '', tenant: 't-2', actor: { type: 'user', id: 'u-1' } },
    ]);
    expect(out).toMatchObject({ tenant: 't-2', actor: { id: 'u-1' }, attemptedPrincipal: false, meta: { a: 1, b: 2 } });
    expect(applyEnrichment(auto, [])).toBe(auto);
  });
});

describe('ManualCallBound', () => {
  const scopeOf = (): Scope => new OperationScopes(10, () => {}).open(TRACE, '1'.repeat(16), undefined);

  it('admits calls up to the bound, then ignores and counts them', () => {
    const bound = new ManualCallBound();
    const scope = scopeOf();
    for (let i = 0; i < MAX_MANUAL_CALLS_PER_OPERATION; i++) expect(bound.admit(scope)).toBe(true);
    expect(bound.admit(scope)).toBe(false);
    expect(scope.manualIgnored).toBe(1);
  });

  it('takes bytes up to the bound; past it nothing more, not even small calls', () => {
    const bound = new ManualCallBound();
    const scope = scopeOf();
    expect(bound.takeBytes(scope, { source: 'manual', action: 'a', after: 'x'.repeat(MAX_MANUAL_BYTES_PER_OPERATION) })).toBe(true);
    expect(bound.takeBytes(scope, { source: 'manual', action: 'a', after: 'y' })).toBe(false);
    expect(bound.admit(scope)).toBe(false);
    expect(scope.manualIgnored).toBe(2);
  });
});

describe('OperationScopes', () => {
  it('opens one scope per key, evicts the oldest past the bound and reopens a closed scope under its key', () => {
    const evicted: Scope[] = [];
    const scopes = new OperationScopes(2, (oldest) => {
      evicted.push(oldest);
      scopes.close(oldest);
    });
    const a = scopes.open(TRACE, '1'.repeat(16), undefined);
    expect(scopes.open(TRACE, '1'.repeat(16), undefined)).toBe(a);
    const b = scopes.open(TRACE, '2'.repeat(16), undefined);
    scopes.open(TRACE, '3'.repeat(16), undefined);
    expect(evicted).toEqual([a]);
    expect(scopes.list().map((s) => s.key)).toEqual([b.key, `${TRACE}/${'3'.repeat(16)}`]);
    expect(a.closed).toBe(true);
    scopes.close(b);
    const reopened = scopes.live(b);
    expect(reopened).not.toBe(b);
    expect(reopened.key).toBe(b.key);
    expect(scopes.live(reopened)).toBe(reopened);
  });

  it('has no current operation outside of a span', () => {
    expect(new OperationScopes(2, () => {}).current(true)).toBeUndefined();
  });
});

describe('RecordEmitter', () => {
  it('numbers records 1, 2, 3 in order and gives them the resource; a standalone record gets a trace of its own', () => {
    const records: AuditRecord[] = [];
    const emitter = new RecordEmitter('e-1', defaultRecordLimits(), (r) => records.push(r), (err) => { throw err; });
    emitter.noteResource(resourceFromAttributes({ 'service.name': 'svc' }));
    emitter.noteResource(resourceFromAttributes({ 'service.name': 'other' }));
    emitter.deliver([
      { fragment: { source: 'auto', action: 'a.read' }, traceId: TRACE, incomplete: false, nowMs: 1 },
      { fragment: { source: 'auto', action: 'b.read' }, traceId: TRACE, incomplete: true, nowMs: 1 },
    ]);
    emitter.standalone({ source: 'manual', action: 'c.create' });
    expect(records.map((r) => r.attributes['audit.emitter.seq'])).toEqual([1, 2, 3]);
    expect(records.every((r) => r.attributes['audit.emitter.id'] === 'e-1' && r.resource['service.name'] === 'svc')).toBe(true);
    expect(records[1]!.attributes['audit.incomplete']).toBe(true);
    expect(records[2]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(records[2]!.traceId).not.toBe(TRACE);
    expect(emitter.settling).toBeUndefined();
  });
});
