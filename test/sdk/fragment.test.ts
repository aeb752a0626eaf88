import { describe, expect, it } from 'vitest';
import { mergeFragments, withDefaults, type AuditFragment } from '../../src/sdk/fragment.js';

const auto = (over: Partial<AuditFragment> = {}): AuditFragment => ({
  source: 'auto',
  action: 'session.create',
  resourceType: 'session',
  actor: { type: 'anonymous' },
  outcome: 'success',
  http: { method: 'POST', route: '/sessions', statusCode: 201 },
  spanId: 'aaaaaaaaaaaaaaaa',
  startMs: 1000,
  durationMs: 5,
  ...over,
});
const manual = (over: Partial<AuditFragment> = {}): AuditFragment => ({ source: 'manual', action: 'session.create', ...over });

describe('mergeFragments', () => {
  it('automatic + middleware + handler fragments of one operation are one record; the handler id wins', () => {
    const out = mergeFragments([
      auto(),
      manual({ resourceType: 'session', meta: { via: 'middleware' } }),
      manual({ resourceType: 'session', resourceId: 's-9', meta: { via: 'handler' } }),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ action: 'session.create', resourceId: 's-9', spanId: 'aaaaaaaaaaaaaaaa', startMs: 1000, meta: { via: 'handler' } });
    expect(out[0]!.http).toEqual({ method: 'POST', route: '/sessions', statusCode: 201 });
  });

  it('a fragment with an unknown id merges into the same-action record that knows it, whatever the order', () => {
    const out = mergeFragments([manual({ resourceId: 'x-1' }), auto({ resourceId: undefined })]);
    expect(out).toHaveLength(1);
    expect(out[0]!.resourceId).toBe('x-1');
  });

  it('different resource ids, or different actions, stay separate records', () => {
    const out = mergeFragments([
      manual({ action: 'user.delete', resourceType: 'user', resourceId: '1' }),
      manual({ action: 'user.delete', resourceType: 'user', resourceId: '2' }),
      manual({ action: 'mail.send', resourceType: 'mail' }),
    ]);
    expect(out.map((r) => `${r.action}/${r.resourceId ?? ''}`)).toEqual(['user.delete/1', 'user.delete/2', 'mail.send/']);
  });

  it('an anonymous actor never replaces a known one', () => {
    const out = mergeFragments([auto({ actor: { id: 'u1', type: 'user' } }), manual({ actor: { type: 'anonymous' } })]);
    expect(out[0]!.actor).toEqual({ id: 'u1', type: 'user' });
  });

  it('withDefaults gives a separate manual record the operation context', () => {
    const ctx = auto({ actor: { id: 'u1', type: 'user' }, tenant: 't1' });
    const rec = withDefaults(manual({ action: 'mail.send', resourceType: 'mail' }), ctx);
    expect(rec).toMatchObject({ action: 'mail.send', actor: { id: 'u1' }, tenant: 't1', spanId: ctx.spanId, outcome: 'success' });
    expect(rec.http?.route).toBe('/sessions');
  });

  it('withDefaults keeps what the record says itself and takes the rest of the operation context', () => {
    const ctx: AuditFragment = {
      source: 'auto', action: 'session.create', actor: { id: 'u1', type: 'user' }, tenant: 't1', outcome: 'failure', error: 'boom',
      module: 'core', level: 'basic', request: '{}', spanId: 'b'.repeat(16), traceFlags: 1, startMs: 5, startNs: '5000000',
      durationMs: 2, attemptedPrincipal: true, http: { method: 'POST', route: '/sessions' },
    };
    const rec = withDefaults({ source: 'manual', action: 'mail.send', tenant: 't2', outcome: 'success', http: { statusCode: 201 } }, ctx);
    const { source: _source, action: _action, ...inherited } = ctx;
    expect(rec).toEqual({ ...inherited, source: 'manual', action: 'mail.send', tenant: 't2', outcome: 'success', http: { method: 'POST', route: '/sessions', statusCode: 201 } });
    expect(withDefaults(ctx, ctx)).toBe(ctx);
    expect(withDefaults(rec, undefined)).toBe(rec);
  });
});
