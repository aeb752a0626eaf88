import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../src/sdk/route-template.js';

describe('matchRoute', () => {
  it('matches parameters and decodes them', () => {
    expect(matchRoute('/users/:id/keys/:keyId', '/users/42/keys/k%201')).toEqual({ id: '42', keyId: 'k 1' });
    expect(matchRoute('/users/:id', '/users/42/')).toEqual({ id: '42' });
    expect(matchRoute('/users/:id', '/users/42?x=1')).toEqual({ id: '42' });
    expect(matchRoute('/users', '/users')).toEqual({});
    expect(matchRoute('/', '/')).toEqual({});
  });

  it("reads hapi's braced parameters; a multi-segment one matches the remainder", () => {
    expect(matchRoute('/books/{isbn}', '/books/isbn-978-0441')).toEqual({ isbn: 'isbn-978-0441' });
    expect(matchRoute('/files/{path*}', '/files/a/b')).toEqual({ path: 'a/b' });
    expect(matchRoute('/books/{isbn}', '/books/1/2')).toBeUndefined();
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
