import { describe, expect, it } from 'vitest';
import { formatRows, type DemoRow } from '../../src/demo/demo.js';
import { formatTable, printable } from '../../src/demo/table.js';

describe('formatTable', () => {
  it('aligns columns under their headers, two spaces apart, with a rule', () => {
    const text = formatTable([{ header: 'name' }, { header: 'n', right: true }], [['alice', '7'], ['bo', '123']]);
    expect(text).toBe(['name     n', '-----  ---', 'alice    7', 'bo     123', ''].join('\n'));
  });

  it('shortens the widest shrinkable column with … to fit the width, never the others', () => {
    const rows = [['x'.repeat(30), 'y'.repeat(20), 'keep-me-whole']];
    const text = formatTable([{ header: 'a', shrink: true }, { header: 'b', shrink: true }, { header: 'c' }], rows, { maxWidth: 40 });
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(40);
    expect(lines[2]).toContain('keep-me-whole');
    expect(lines[2]).toContain('…');
    // Both shrinkable columns gave way, the widest first: they end up (about) the same width.
    const [a, b] = (lines[2] as string).split(/\s{2,}/);
    expect([...(a as string)].length + [...(b as string)].length).toBe(40 - 2 * 2 - 'keep-me-whole'.length);
    expect(Math.abs([...(a as string)].length - [...(b as string)].length)).toBeLessThanOrEqual(1);
  });

  it('never shortens a column below its header', () => {
    const text = formatTable([{ header: 'header', shrink: true }, { header: 'fixed' }], [['abcdefghij', 'v'.repeat(50)]], { maxWidth: 10 });
    expect(text.split('\n')[0]).toBe('header  fixed');
    expect(text.split('\n')[2]).toMatch(/^abcde… {2}v{50}$/);
  });

  it('makes control characters harmless', () => {
    expect(printable('a\u001b[31mb\nc')).toBe('a\ufffd[31mb\ufffdc');
    expect(formatTable([{ header: 'v' }], [['x\ny']])).not.toMatch(/x\ny/);
  });
});

const row = (over: Partial<DemoRow>): DemoRow => ({
  occurred_at: new Date('2026-11-21T14:26:16.596Z'),
  service_name: 'demo-api',
  actor_id: null,
  actor_name: null,
  actor_type: 'anonymous',
  action: 'user.read',
  resource_type: 'user',
  resource_id: '3',
  outcome: 'success',
  status_code: 200,
  trace_id: 'c0cf3b6cb04b0ac1dcade3475b07a1a5',
  ...over,
});

describe('formatRows', () => {
  it('shows time, service, actor, action, resource, outcome, status and trace id in 120 columns', () => {
    const text = formatRows([
      row({ actor_id: '1', actor_name: 'alice', actor_type: 'user', action: 'session.create', resource_type: 'session', resource_id: 's-mwqi3tj5', status_code: 201 }),
      row({}),
      row({ action: 'reindex.create', resource_type: 'reindex', resource_id: null, outcome: 'denied', status_code: 403, actor_id: '2', actor_name: 'bob', actor_type: 'user' }),
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^time \(UTC\)\s+service\s+actor\s+action\s+resource\s+outcome\s+status\s+trace id$/);
    expect(lines[2]).toMatch(/^14:26:16\.596\s+demo-api\s+alice \(1\)\s+session\.create\s+session\/s-mwqi3tj5\s+success\s+201\s+c0cf3b6cb04b0ac1dcade3475b07a1a5$/);
    expect(lines[3]).toMatch(/\banonymous\s+user\.read\s+user\/3\s+success/);
    expect(lines[4]).toMatch(/\bbob \(2\)\s+reindex\.create\s+reindex\s+denied\s+403\b/);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(120);
  });

  it('keeps the trace id whole when values are long', () => {
    const text = formatRows([row({ service_name: 'a-very-long-service-name-indeed', resource_id: 'r'.repeat(60) })]);
    const last = text.trimEnd().split('\n')[2] as string;
    expect([...last].length).toBeLessThanOrEqual(120);
    expect(last.endsWith('c0cf3b6cb04b0ac1dcade3475b07a1a5')).toBe(true);
  });
});
