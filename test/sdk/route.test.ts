import { describe, expect, it } from 'vitest';
import { compileRouteTable, type RouteRule } from '../../src/sdk/route.js';

describe('compileRouteTable', () => {
  const rules: RouteRule[] = [
    { route: '/api/*', module: 'api-catch-all' },
    { route: '/api/jenkins/*', module: 'jenkins' },
    { route: '/users/:id', action: 'user.touch' },
    { route: '/users/me', action: 'self.read' },
    { route: '/users/:id', method: 'DELETE', action: 'user.remove' },
    { route: '/login', method: ['post'], principal: 'body:username', action: 'auth.login' },
    { route: '/health', method: 'GET', level: 'ignore' },
    { route: '/orgs/:org/members/:member', resourceId: 'param:member' },
  ];
  const table = compileRouteTable(rules);

  it('prefers the template with more static segments', () => {
    expect(table.match('GET', '/users/me')?.rule.action).toBe('self.read');
    expect(table.match('GET', '/users/42')?.rule.action).toBe('user.touch');
  });

  it('prefers a method-filtered rule over an unfiltered one of the same shape', () => {
    expect(table.match('DELETE', '/users/42')?.rule.action).toBe('user.remove');
    expect(table.match('GET', '/users/42')?.rule.action).toBe('user.touch');
  });

  it('keeps configuration order among otherwise equal rules', () => {
    const t = compileRouteTable([
      { route: '/users/:id', action: 'first' },
      { route: '/users/:uid', action: 'second' },
      { route: '/x/*', module: 'p1' },
      { route: '/y/*', module: 'p2' },
    ]);
    expect(t.match('GET', '/users/1')?.rule.action).toBe('first');
    expect(t.match('GET', '/x/1')?.rule.module).toBe('p1');
    expect(t.match('GET', '/y/1')?.rule.module).toBe('p2');
  });

  it('returns params and the template of template rules', () => {
    expect(table.match('GET', '/orgs/acme/members/bob')).toEqual({
      rule: rules[7],
      params: { org: 'acme', member: 'bob' },
      template: '/orgs/:org/members/:member',
    });
  });

  it('prefers templates over prefixes and longer prefixes over shorter ones', () => {
    const m = table.match('POST', '/api/jenkins/job/x/build');
    expect(m?.rule.module).toBe('jenkins');
    expect(m?.params).toEqual({ '*': 'job/x/build' });
    expect(m && 'template' in m).toBe(false);
    expect(table.match('GET', '/api/other')?.rule.module).toBe('api-catch-all');
    const t = compileRouteTable([
      { route: '/a/*', module: 'prefix' },
      { route: '/a/:x', module: 'template' },
    ]);
    expect(t.match('GET', '/a/1')?.rule.module).toBe('template');
    expect(t.match('GET', '/a/1/2')?.rule.module).toBe('prefix');
  });

  it('respects method filters case-insensitively', () => {
    expect(table.match('post', '/login')?.rule.action).toBe('auth.login');
    expect(table.match('GET', '/login')).toBeUndefined();
    expect(table.match('GET', '/health')?.rule.level).toBe('ignore');
    expect(table.match('POST', '/health')).toBeUndefined();
  });

  it('lets a GET filter admit HEAD, and * / ALL admit anything', () => {
    expect(table.match('HEAD', '/health')?.rule.level).toBe('ignore');
    const t = compileRouteTable([
      { route: '/a', method: '*', module: 'star' },
      { route: '/b', method: ['all'], module: 'all' },
      { route: '/c', method: 'get, post', module: 'list' },
    ]);
    expect(t.match('PURGE', '/a')?.rule.module).toBe('star');
    expect(t.match('PATCH', '/b')?.rule.module).toBe('all');
    expect(t.match('POST', '/c')?.rule.module).toBe('list');
    expect(t.match('PUT', '/c')).toBeUndefined();
  });

  it('matches already-templated routes', () => {
    expect(table.match('GET', '/users/:userId')?.rule.action).toBe('user.touch');
    // A placeholder never matches a static segment.
    expect(table.match('GET', '/users/:userId')?.rule.action).not.toBe('self.read');
    const m = table.match('GET', '/orgs/:orgId/members/:uid');
    expect(m?.rule).toBe(rules[7]);
    expect(m?.params).toEqual({});
    expect(m?.template).toBe('/orgs/:org/members/:member');
  });

  it('maps framework params of a templated route onto rule param names', () => {
    const m = table.match('GET', '/orgs/:orgId/members/:uid', { orgId: 'acme', uid: 'bob' });
    expect(m?.params).toEqual({ org: 'acme', member: 'bob' });
  });

  it('returns undefined when nothing matches', () => {
    expect(table.match('GET', '/nothing/here')).toBeUndefined();
    expect(compileRouteTable([]).match('GET', '/')).toBeUndefined();
  });

  it('ignores malformed rules', () => {
    const t = compileRouteTable([null, { route: 42 }, { route: '/ok' }] as unknown as RouteRule[]);
    expect(t.match('GET', '/ok')?.rule.route).toBe('/ok');
  });

  it('accepts query strings and trailing slashes in the input', () => {
    expect(table.match('GET', '/users/42/?x=1')?.params).toEqual({ id: '42' });
  });
});
