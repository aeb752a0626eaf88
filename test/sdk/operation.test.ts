import { describe, expect, it } from 'vitest';
import { deriveOperation } from '../../src/sdk/operation.js';

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
    ['GET', '/notes/by-slug/:slug', { slug: 'hello-world' }, { action: 'note.read', resourceType: 'note', resourceId: 'hello-world' }],
    ['PUT', '/api/users/by_email/:email', { email: 'a@b.c' }, { action: 'user.update', resourceType: 'user', resourceId: 'a@b.c' }],
    ['DELETE', '/tags/byName/:name', { name: 'x' }, { action: 'tag.delete', resourceType: 'tag', resourceId: 'x' }],
    ['GET', '/bylaws/:id', { id: '3' }, { action: 'bylaw.read', resourceType: 'bylaw', resourceId: '3' }],
    ['GET', '/by-slug/:slug', { slug: 's' }, { action: 'by_slug.read', resourceType: 'by_slug', resourceId: 's' }],
    ['GET', '/notes/by-slug', {}, { action: 'by_slug.list', resourceType: 'by_slug' }],
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
