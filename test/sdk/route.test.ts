import { describe, expect, it } from 'vitest';
import {
  compileRouteTable,
  deriveOperation,
  getPath,
  isIdSegment,
  matchRoute,
  parseSource,
  singularize,
  templatePath,
  type RouteRule,
} from '../../src/sdk/route.js';
import { MAX_PATH_LENGTH } from '../../src/sdk/input-limits.js';

describe('templatePath', () => {
  it.each([
    ['/users/42', '/users/:id'],
    ['/users/42/', '/users/:id'],
    ['/users/42?x=1&y=2', '/users/:id'],
    ['/users/42#frag', '/users/:id'],
    ['//users///42//keys', '/users/:id/keys'],
    ['/', '/'],
    ['', '/'],
    ['/?q=1', '/'],
    ['///', '/'],
    ['/orders/550e8400-e29b-41d4-a716-446655440000', '/orders/:id'],
    ['/orders/550E8400-E29B-41D4-A716-446655440000/items/7', '/orders/:id/items/:id'],
    ['/blobs/0123456789abcdef', '/blobs/:id'],
    ['/blobs/0123456789ABCDEF0123', '/blobs/:id'],
    ['/blobs/0123456789abcde', '/blobs/0123456789abcde'],
    ['/events/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/events/:id'],
    ['/events/01arz3ndektsv4rrffq69g5fav', '/events/:id'],
    ['/t/abcdefghij0123456789', '/t/:id'],
    ['/t/abcdefghij012345678', '/t/abcdefghij012345678'],
    ['/t/abcdefghijklmnopqrstuvwxyz', '/t/abcdefghijklmnopqrstuvwxyz'],
    ['/api/v1/users', '/api/v1/users'],
    ['/users/me', '/users/me'],
    ['/files/report-2024.pdf', '/files/report-2024.pdf'],
    ['users/42', 'users/:id'],
  ])('%j → %j', (input, expected) => {
    expect(templatePath(input)).toBe(expected);
  });

  it('takes ULIDs but not long words for ids', () => {
    expect(isIdSegment('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(true);
    expect(isIdSegment('7ZZZZZZZZZZZZZZZZZZZZZZZZZ')).toBe(true);
    expect(isIdSegment('ABCDEFGHJKMNPQRSTVWXYZABCD')).toBe(false); // Crockford letters, but no timestamp digit
    expect(isIdSegment('configuration-management')).toBe(false);
    expect(isIdSegment('oauth2-authorization-callback')).toBe(false); // dashes: not an alphanumeric token
    expect(isIdSegment('v1')).toBe(false);
  });

  it('reads only the first MAX_PATH_LENGTH units of a huge path', () => {
    const path = '/a'.repeat(100_000) + '/1';
    const route = templatePath(path);
    expect(route.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
    expect(route).toBe('/a'.repeat(MAX_PATH_LENGTH / 2));
  });
});

describe('matchRoute', () => {
  it('matches parameters and decodes them', () => {
    expect(matchRoute('/users/:id/keys/:keyId', '/users/42/keys/k%201')).toEqual({ id: '42', keyId: 'k 1' });
    expect(matchRoute('/users/:id', '/users/42/')).toEqual({ id: '42' });
    expect(matchRoute('/users/:id', '/users/42?x=1')).toEqual({ id: '42' });
    expect(matchRoute('/users', '/users')).toEqual({});
    expect(matchRoute('/', '/')).toEqual({});
  });

  it('rejects different shapes', () => {
    expect(matchRoute('/users/:id', '/users')).toBeUndefined();
    expect(matchRoute('/users/:id', '/users/1/keys')).toBeUndefined();
    expect(matchRoute('/users/:id', '/groups/1')).toBeUndefined();
    expect(matchRoute('/users', '/')).toBeUndefined();
  });

  it('compares static segments case-insensitively and decoded', () => {
    expect(matchRoute('/Users/:id', '/users/1')).toEqual({ id: '1' });
    expect(matchRoute('/a b/:id', '/a%20b/1')).toEqual({ id: '1' });
  });

  it('keeps malformed percent-encoding as is', () => {
    expect(matchRoute('/files/:name', '/files/%E0%A4%A')).toEqual({ name: '%E0%A4%A' });
  });

  it('supports a trailing wildcard, also matching nothing', () => {
    expect(matchRoute('/api/jenkins/*', '/api/jenkins/job/x/build')).toEqual({ '*': 'job/x/build' });
    expect(matchRoute('/api/jenkins/*', '/api/jenkins')).toEqual({ '*': '' });
    expect(matchRoute('/api/jenkins/*', '/api/other')).toBeUndefined();
    expect(matchRoute('/files/*path', '/files/a/b%20c')).toEqual({ path: 'a/b c' });
    expect(matchRoute('/*', '/anything/at/all')).toEqual({ '*': 'anything/at/all' });
    expect(matchRoute('/repos/:owner/*', '/repos/octo/a/b')).toEqual({ owner: 'octo', '*': 'a/b' });
  });

  it('does not let a parameter match an empty segment', () => {
    expect(matchRoute('/users/:id/keys', '/users//keys')).toBeUndefined();
  });
});

describe('singularize', () => {
  it.each([
    ['users', 'user'],
    ['policies', 'policy'],
    ['addresses', 'address'],
    ['statuses', 'status'],
    ['boxes', 'box'],
    ['batches', 'batch'],
    ['sessions', 'session'],
    ['news', 'news'],
    ['data', 'data'],
    ['api-keys', 'api-key'],
    ['api_keys', 'api_key'],
    ['Users', 'user'],
    ['API-Keys', 'api-key'],
    ['user', 'user'],
    ['status', 'status'],
    ['address', 'address'],
    ['analysis', 'analysis'],
    ['wishes', 'wish'],
    ['houses', 'house'],
    ['buses', 'bus'],
    ['apis', 'api'],
    ['movies', 'movie'],
    ['people', 'person'],
    ['children', 'child'],
    ['quizzes', 'quiz'],
    ['databases', 'database'],
    ['responses', 'response'],
    ['ids', 'id'],
    ['process', 'process'],
    ['cancel', 'cancel'],
    ['metadata', 'metadata'],
    ['', ''],
    ['s', 's'],
  ])('%j → %j', (word, expected) => {
    expect(singularize(word)).toBe(expected);
  });

  it('does not consult Object.prototype', () => {
    expect(singularize('constructor')).toBe('constructor');
    expect(singularize('__proto__')).toBe('__proto__');
    expect(singularize('toString')).toBe('tostring');
  });
});

describe('deriveOperation', () => {
  it.each([
    ['PUT', '/users/:id', { id: '42' }, { action: 'user.update', resourceType: 'user', resourceId: '42' }],
    ['PATCH', '/users/:id', { id: '42' }, { action: 'user.update', resourceType: 'user', resourceId: '42' }],
    ['POST', '/users', {}, { action: 'user.create', resourceType: 'user' }],
    ['DELETE', '/users/:id', { id: '7' }, { action: 'user.delete', resourceType: 'user', resourceId: '7' }],
    ['GET', '/users/:id', { id: '7' }, { action: 'user.read', resourceType: 'user', resourceId: '7' }],
    ['HEAD', '/users/:id', { id: '7' }, { action: 'user.read', resourceType: 'user', resourceId: '7' }],
    ['GET', '/users', {}, { action: 'user.list', resourceType: 'user' }],
    ['HEAD', '/users', {}, { action: 'user.list', resourceType: 'user' }],
    ['POST', '/api/v1/sessions', {}, { action: 'session.create', resourceType: 'session' }],
    ['POST', '/api/jenkins/jobs/:job/builds', { job: 'deploy' }, { action: 'build.create', resourceType: 'build' }],
    ['POST', '/builds/:id/cancel', { id: '99' }, { action: 'build.cancel', resourceType: 'build', resourceId: '99' }],
    ['POST', '/users/:id/disable', { id: '5' }, { action: 'user.disable', resourceType: 'user', resourceId: '5' }],
    ['DELETE', '/users/:id/sessions', { id: '5' }, { action: 'session.delete', resourceType: 'session' }],
    ['PUT', '/users/:id/reset-password', { id: '5' }, { action: 'user.reset_password', resourceType: 'user', resourceId: '5' }],
    ['GET', '/users/:id/posts', { id: '5' }, { action: 'post.list', resourceType: 'post' }],
    ['GET', '/users/:id/cancel', { id: '5' }, { action: 'cancel.list', resourceType: 'cancel' }],
    ['GET', '/users/:uid/posts/:pid', { uid: '5', pid: '9' }, { action: 'post.read', resourceType: 'post', resourceId: '9' }],
    ['POST', '/api-keys', {}, { action: 'api_key.create', resourceType: 'api_key' }],
    ['GET', '/v2/api-keys/:id', { id: 'k' }, { action: 'api_key.read', resourceType: 'api_key', resourceId: 'k' }],
    ['OPTIONS', '/users', {}, { action: 'user.options', resourceType: 'user' }],
    ['purge', '/caches/:id', { id: 'c' }, { action: 'cache.purge', resourceType: 'cache', resourceId: 'c' }],
    ['get', '/users', {}, { action: 'user.list', resourceType: 'user' }],
    ['GET', '/', {}, { action: 'root.list', resourceType: 'root' }],
    ['GET', '/api/v1', {}, { action: 'root.list', resourceType: 'root' }],
    ['GET', '/:slug', { slug: 'about' }, { action: 'root.read', resourceType: 'root', resourceId: 'about' }],
    ['GET', '/policies/:id', { id: 'p' }, { action: 'policy.read', resourceType: 'policy', resourceId: 'p' }],
  ] as const)('%s %s', (method, route, params, expected) => {
    expect(deriveOperation(method, route, params)).toEqual(expected);
  });

  it('ignores only leading api/version segments', () => {
    expect(deriveOperation('GET', '/api/v1.2/users', {})).toMatchObject({ action: 'user.list' });
    expect(deriveOperation('GET', '/tenants/:t/api', { t: 'x' })).toMatchObject({ action: 'api.list' });
    expect(deriveOperation('GET', '/v1/api/users', {})).toMatchObject({ action: 'user.list' });
  });

  it('leaves the id out when the parameter value is unknown', () => {
    const op = deriveOperation('GET', '/users/:id', {});
    expect(op).toEqual({ action: 'user.read', resourceType: 'user' });
    expect('resourceId' in op).toBe(false);
  });

  it('treats id-like segments of a concrete path as parameters', () => {
    expect(deriveOperation('GET', '/users/42', {})).toEqual({ action: 'user.read', resourceType: 'user', resourceId: '42' });
    expect(deriveOperation('POST', '/builds/550e8400-e29b-41d4-a716-446655440000/cancel', {})).toEqual({
      action: 'build.cancel',
      resourceType: 'build',
      resourceId: '550e8400-e29b-41d4-a716-446655440000',
    });
  });

  it('joins several trailing parameters into one id', () => {
    expect(deriveOperation('GET', '/repos/:owner/:repo', { owner: 'octo', repo: 'hello' })).toEqual({
      action: 'repo.read',
      resourceType: 'repo',
      resourceId: 'octo/hello',
    });
  });

  it('understands wildcard and brace parameters', () => {
    expect(deriveOperation('GET', '/files/*', { '*': 'a/b.txt' })).toEqual({
      action: 'file.read',
      resourceType: 'file',
      resourceId: 'a/b.txt',
    });
    expect(deriveOperation('DELETE', '/files/{fileId}', { fileId: 'f1' })).toEqual({
      action: 'file.delete',
      resourceType: 'file',
      resourceId: 'f1',
    });
  });

  it('ignores query strings and keeps resource types to [a-z0-9_]', () => {
    expect(deriveOperation('GET', '/users?x=1', {})).toEqual({ action: 'user.list', resourceType: 'user' });
    expect(deriveOperation('GET', '/User%20Groups', {})).toEqual({ action: 'user_group.list', resourceType: 'user_group' });
    expect(deriveOperation('GET', '/users.json', {})).toMatchObject({ resourceType: 'users_json' });
  });

  it('does not read inherited params', () => {
    expect(deriveOperation('GET', '/things/:constructor', {})).toEqual({ action: 'thing.read', resourceType: 'thing' });
  });

  it('uses the nearest static segment when the item has several parameters', () => {
    expect(deriveOperation('POST', '/repos/:owner/:repo/archive', { owner: 'o', repo: 'r' })).toEqual({
      action: 'repo.archive',
      resourceType: 'repo',
      resourceId: 'o/r',
    });
    // No static segment before the parameter: a plain collection.
    expect(deriveOperation('POST', '/:tenant/cancel', { tenant: 't' })).toEqual({ action: 'cancel.create', resourceType: 'cancel' });
  });
});

describe('parseSource', () => {
  it.each([
    ['param:id', { from: 'param', path: 'id' }],
    ['body:user.email', { from: 'body', path: 'user.email' }],
    ['response:data.0.id', { from: 'response', path: 'data.0.id' }],
    ['query:q', { from: 'query', path: 'q' }],
    ['header:X-User-Id', { from: 'header', path: 'x-user-id' }],
    ['  BODY : a.b ', { from: 'body', path: 'a.b' }],
    ['body:a:b', { from: 'body', path: 'a:b' }],
  ] as const)('%j', (spec, expected) => {
    expect(parseSource(spec)).toEqual(expected);
  });

  it.each(['', 'body', 'body:', 'cookie:x', 'params:id', ':id', 'id'])('rejects %j', (spec) => {
    expect(parseSource(spec)).toBeUndefined();
  });

  it('rejects non-strings', () => {
    expect(parseSource(undefined as unknown as string)).toBeUndefined();
  });
});

describe('getPath', () => {
  const body = { user: { email: 'a@b.c', roles: ['admin', { name: 'x' }] }, n: 0, 'dotted.key': 1, nil: null };

  it('follows dot paths through objects and arrays', () => {
    expect(getPath(body, 'user.email')).toBe('a@b.c');
    expect(getPath(body, 'user.roles.0')).toBe('admin');
    expect(getPath(body, 'user.roles.1.name')).toBe('x');
    expect(getPath(body, 'n')).toBe(0);
    expect(getPath(body, 'nil')).toBe(null);
    expect(getPath(body, '')).toBe(body);
  });

  it('returns undefined for missing steps and non-objects', () => {
    expect(getPath(body, 'user.missing')).toBeUndefined();
    expect(getPath(body, 'user.email.length')).toBeUndefined();
    expect(getPath(body, 'nil.x')).toBeUndefined();
    expect(getPath(body, 'user.roles.5')).toBeUndefined();
    expect(getPath(undefined, 'a')).toBeUndefined();
    expect(getPath('str', 'length')).toBeUndefined();
    expect(getPath(body, 'dotted.key')).toBeUndefined();
  });

  it('only follows own properties', () => {
    expect(getPath({}, 'constructor')).toBeUndefined();
    expect(getPath({}, '__proto__')).toBeUndefined();
    expect(getPath({ a: {} }, 'a.toString')).toBeUndefined();
    expect(getPath(Object.create({ inherited: 1 }) as object, 'inherited')).toBeUndefined();
    const parsed = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
    expect(getPath(parsed, '__proto__.x')).toBe(1);
  });

  it('reads Map entries', () => {
    expect(getPath({ m: new Map([['k', { v: 2 }]]) }, 'm.k.v')).toBe(2);
  });

  it('never throws', () => {
    const hostile = {};
    Object.defineProperty(hostile, 'x', {
      get() {
        throw new Error('no');
      },
    });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(getPath(hostile, 'x')).toBeUndefined();
    expect(getPath(proxy, 'a')).toBeUndefined();
  });
});

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
