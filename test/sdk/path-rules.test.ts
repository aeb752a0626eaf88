import { describe, expect, it } from 'vitest';
import { compileKeyedRules, compilePathRules, compileSubtreeRules } from '../../src/sdk/path-rules.js';

describe('compilePathRules: one precedence over route and path together', () => {
  const table = compilePathRules([
    { route: '/users/:id', name: 'template' },
    { route: '/users/me', name: 'literal' },
    { route: '/users/*', name: 'prefix' },
  ]);

  it('a rule matching the path wins over a lower-ranked rule matching the route', () => {
    // The framework routed `/users/me` through `/users/:id`: the literal rule still ranks first.
    expect(table.match('GET', ['/users/:id', '/users/me'])?.rule.name).toBe('literal');
    expect(table.match('GET', ['/users/:id', '/users/42'])?.rule.name).toBe('template');
  });

  it('a template matching the path wins over a prefix matching the route', () => {
    const t = compilePathRules([
      { route: '/a/*', name: 'prefix' },
      { route: '/a/b', name: 'exact' },
    ]);
    expect(t.match('GET', ['/a/:x', '/a/b'])?.rule.name).toBe('exact');
    expect(t.match('GET', ['/a/:x', '/a/c'])?.rule.name).toBe('prefix');
  });

  it('takes params from the first input (in the order given) that the winning rule matches', () => {
    // A templated input carries no values unless the framework's params are passed.
    expect(table.match('GET', ['/users/:id', '/users/42'])?.params).toEqual({});
    expect(table.match('GET', ['/users/:id', '/users/42'], { id: '42' })?.params).toEqual({ id: '42' });
    expect(table.match('GET', ['/users/42', '/users/:id'])?.params).toEqual({ id: '42' });
  });

  it('an empty table matches nothing', () => {
    expect(compilePathRules([]).match('GET', ['/a', '/b'])).toBeUndefined();
  });
});

describe('compileKeyedRules (levels, modules)', () => {
  const levels = compileKeyedRules({ '/admin/*': 'minimal', '/admin/audit/*': 'full', '/admin/users/:id': 'basic', '/admin/login': 'full' });

  it('an exact path or template beats a prefix; a longer prefix beats a shorter one', () => {
    expect(levels.match('GET', '/admin/login')?.rule.value).toBe('full');
    expect(levels.match('GET', '/admin/users/7')?.rule.value).toBe('basic');
    expect(levels.match('GET', '/admin/audit/x/y')?.rule.value).toBe('full');
    expect(levels.match('GET', '/admin/settings')?.rule.value).toBe('minimal');
    expect(levels.match('GET', '/admin')?.rule.value).toBe('minimal');
  });

  it('a template key matches the concrete path and any spelling of the route', () => {
    expect(levels.match('GET', ['/admin/users/:userId', '/admin/users/7'])?.rule.value).toBe('basic');
    expect(levels.match('GET', '/admin/users/:uid')?.rule.value).toBe('basic');
  });

  it('static segments compare case-insensitively and decoded', () => {
    expect(levels.match('GET', '/Admin/Login')?.rule.value).toBe('full');
    expect(levels.match('GET', '/admin/%6Cogin')?.rule.value).toBe('full');
  });

  it('among equal keys the first configured wins', () => {
    const t = compileKeyedRules({ '/x/:a': 'first', '/x/:b': 'second' });
    expect(t.match('GET', '/x/1')?.rule.value).toBe('first');
  });
});

describe('compileSubtreeRules (ignore)', () => {
  const ignored = compileSubtreeRules(['/healthz', '/internal/', '/static/*']);

  it('matches each path itself and everything under it', () => {
    for (const p of ['/healthz', '/healthz/', '/healthz/live', '/internal', '/internal/x/y', '/static', '/static/a.css']) {
      expect(ignored.match('GET', p), p).toBeDefined();
    }
  });

  it('does not match a longer name that merely starts the same', () => {
    expect(ignored.match('GET', '/healthzz')).toBeUndefined();
    expect(ignored.match('GET', '/internals')).toBeUndefined();
  });

  it('compares like route rules: case-insensitive, percent-decoded', () => {
    expect(ignored.match('GET', '/HEALTHZ')).toBeDefined();
    expect(ignored.match('GET', '/health%7A/live')).toBeDefined();
  });

  it('`/` ignores everything', () => {
    expect(compileSubtreeRules(['/']).match('POST', '/any/path')).toBeDefined();
  });
});
