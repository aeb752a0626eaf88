/** The pure parts of the viewer's API: tokens, cursor, filters, diff, trace links, buckets. */
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/serve/cursor.js';
import { jsonDiff, MAX_DIFF_ENTRIES } from '../../src/serve/diff.js';
import { containsPattern, parseFilter } from '../../src/serve/filters.js';
import { chooseBucket } from '../../src/serve/stats.js';
import { authenticate, parseTokens, TokenConfigError, tokenHash } from '../../src/serve/tokens.js';
import { checkTraceTemplate, traceLink } from '../../src/serve/trace-link.js';

describe('tokens', () => {
  const tokens = parseTokens(
    JSON.stringify([
      { name: 'alice', token: 'alice-secret-token-1', role: 'viewer_a', tenants: ['a', 'a', 'b'] },
      { name: 'bob', sha256: tokenHash('bob-secret-token-22'), role: 'audit_auditor', decrypt: true },
    ]),
    'tokens.json',
  );

  it('reads tokens in clear or as SHA-256, deduplicating tenants', () => {
    expect(tokens.map((t) => [t.name, t.role, t.tenants])).toEqual([
      ['alice', 'viewer_a', ['a', 'b']],
      ['bob', 'audit_auditor', undefined],
    ]);
    expect(tokens.map((t) => t.decrypt === true)).toEqual([false, true]);
  });

  it('authenticates a bearer header to its token only', () => {
    expect(authenticate('Bearer alice-secret-token-1', tokens)?.name).toBe('alice');
    expect(authenticate('bearer bob-secret-token-22', tokens)?.name).toBe('bob');
    expect(authenticate('Bearer alice-secret-token-2', tokens)).toBeUndefined();
    expect(authenticate('Basic YWxpY2U6eA==', tokens)).toBeUndefined();
    expect(authenticate(undefined, tokens)).toBeUndefined();
  });

  it('refuses files it cannot use', () => {
    const bad = [
      'not json',
      '{}',
      '[{"token": "long-enough-token-123", "role": "r"}]',
      '[{"name": "a", "token": "short", "role": "r"}]',
      '[{"name": "a", "token": "long-enough-token-123"}]',
      '[{"name": "a", "token": "long-enough-token-123", "sha256": "00", "role": "r"}]',
      '[{"name": "a", "sha256": "xyz", "role": "r"}]',
      '[{"name": "a", "token": "long-enough-token-123", "role": "r", "tenants": "t"}]',
      '[{"name": "a", "token": "long-enough-token-123", "role": "r", "decrypt": "yes"}]',
      '[{"name": "a", "token": "long-enough-token-123", "role": "r"}, {"name": "a", "token": "other-long-token-456", "role": "r"}]',
      '[{"name": "a", "token": "long-enough-token-123", "role": "r"}, {"name": "b", "token": "long-enough-token-123", "role": "r"}]',
    ];
    for (const text of bad) expect(() => parseTokens(text, 'f'), text).toThrow(TokenConfigError);
  });
});

describe('cursor', () => {
  it('round-trips and refuses what it did not make', () => {
    const c = { at: '2026-11-20T12:00:00.123456Z', id: '42' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of ['', 'bm9wZQ', Buffer.from('2026-11-20|0').toString('base64url'), Buffer.from('soon|5').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(/cursor/);
    }
  });
});

describe('filters', () => {
  it('takes LIKE wildcards literally in the text match', () => {
    expect(containsPattern('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });

  it('normalises times and trace ids, skips empty values', () => {
    const f = parseFilter(new URLSearchParams('from=2026-11-20&trace_id=ABCDEF0123456789ABCDEF0123456789&actor_id=&cursor=x'));
    expect(f).toEqual({ exact: { trace_id: 'abcdef0123456789abcdef0123456789' }, from: '2026-11-20T00:00:00.000000Z' });
  });
});

describe('jsonDiff', () => {
  it('lists added, removed and changed leaves with their paths', () => {
    const d = jsonDiff({ a: 1, b: { c: [1, 2], 'x y': true }, gone: 'x' }, { a: 2, b: { c: [1], 'x y': true, d: null }, new: { k: 1 } });
    expect(d.entries).toEqual([
      { path: 'a', kind: 'changed', before: 1, after: 2 },
      { path: 'b.c[1]', kind: 'removed', before: 2 },
      { path: 'b.d', kind: 'added', after: null },
      { path: 'gone', kind: 'removed', before: 'x' },
      { path: 'new', kind: 'added', after: { k: 1 } },
    ]);
    expect(d.truncated).toBe(false);
  });

  it('handles missing sides and caps its size', () => {
    expect(jsonDiff(null, { a: 1 }).entries).toEqual([{ path: 'a', kind: 'added', after: 1 }]);
    expect(jsonDiff({ a: 1 }, null).entries).toEqual([{ path: 'a', kind: 'removed', before: 1 }]);
    expect(jsonDiff(undefined, undefined).entries).toEqual([]);
    expect(jsonDiff('x', 'y').entries).toEqual([{ path: '', kind: 'changed', before: 'x', after: 'y' }]);
    const big = Object.fromEntries(Array.from({ length: MAX_DIFF_ENTRIES + 5 }, (_, i) => [`k${i}`, i]));
    const d = jsonDiff({}, big);
    expect(d.entries).toHaveLength(MAX_DIFF_ENTRIES);
    expect(d.truncated).toBe(true);
  });
});

describe('trace links', () => {
  const record = { trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), service_name: 'my api', occurred_at: '2026-11-20T12:00:00.000000Z' };
  it('fills the template, URL-encoded', () => {
    expect(traceLink('http://jaeger:16686/trace/{trace_id}?s={service_name}&t={start_ms}', record)).toBe(
      `http://jaeger:16686/trace/${record.trace_id}?s=my%20api&t=${Date.parse(record.occurred_at) - 3_600_000}`,
    );
    expect(traceLink(undefined, record)).toBeNull();
  });
  it('refuses templates that are not http URLs or name unknown placeholders', () => {
    expect(() => checkTraceTemplate('javascript:alert(1)//{trace_id}')).toThrow(/http/);
    expect(() => checkTraceTemplate('http://x/{traceid}')).toThrow(/placeholder/);
    expect(() => checkTraceTemplate('http://x/{trace_id}')).not.toThrow();
  });
});

describe('stats buckets', () => {
  it('picks a bucket from the range, and refuses too many', () => {
    expect(chooseBucket(null, 3_600_000)).toBe('minute');
    expect(chooseBucket(null, 2 * 86_400_000)).toBe('hour');
    expect(chooseBucket(null, 30 * 86_400_000)).toBe('day');
    expect(() => chooseBucket('minute', 30 * 86_400_000)).toThrow(/coarser/);
    expect(() => chooseBucket('week', 1)).toThrow(/bucket/);
  });
});
