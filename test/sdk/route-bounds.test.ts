import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH, MAX_SEGMENT_LENGTH } from '../../src/sdk/input-limits.js';
import { deriveOperation } from '../../src/sdk/operation.js';
import { templatePath } from '../../src/sdk/path-segments.js';
import { compileRouteTable } from '../../src/sdk/route.js';
import { matchRoute, MAX_PARSED_CACHE_BYTES, parsedTemplateCacheBytes } from '../../src/sdk/route-template.js';
import { retainedBy } from './heap.js';

/** The path of the report: one segment of 15,000 underscores between letters, matching no route. */
const UNDERSCORES = '/a' + '_'.repeat(15_000) + 'a1';

describe('route derivation from hostile paths', () => {
  it('an unmatched path of 15,000 underscores yields a short route and action', () => {
    const route = templatePath(UNDERSCORES);
    const op = deriveOperation('GET', route, matchRoute(route, UNDERSCORES) ?? {});
    expect(route).toBe('/:id');
    expect(op.action.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH + 16);
    expect(op.resourceType.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH);
    // Derived from the raw path too (deriveOperation accepts concrete paths).
    const direct = deriveOperation('POST', '/items/7/' + '_'.repeat(5_000) + 'x' + '_'.repeat(5_000), {});
    expect(direct.action.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH + 16);
  });

  it('names of at most MAX_SEGMENT_LENGTH units are trimmed as by the former /^_+|_+$/g', () => {
    // The former pattern, as the reference (fine on these short names).
    const reference = (s: string): string => s.replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
    for (const name of ['__a__', '-x-', '%20y%20', '_-_z_-_', 'a' + '_'.repeat(MAX_SEGMENT_LENGTH - 2) + 'b', '_'.repeat(MAX_SEGMENT_LENGTH)]) {
      const op = deriveOperation('POST', `/builds/:id/${name}`, { id: '3' });
      const verb = op.action.slice('build.'.length);
      expect(verb).toBe(reference(decodeURIComponent(name).toLowerCase()) || 'action');
    }
    expect(deriveOperation('GET', '/__jobs__', {}).resourceType).toBe('jobs');
  });

  it('a 64 KB path is read up to MAX_PATH_LENGTH', () => {
    const path = '/' + 'ab/'.repeat(22_000);
    const route = templatePath(path);
    expect(route.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
    const op = deriveOperation('GET', path, {});
    expect(op.action).toBe('ab.list');
    const table = compileRouteTable([{ route: '/ab/*', action: 'ab.any' }]);
    const m = table.match('GET', path);
    expect(m?.rule.action).toBe('ab.any');
    expect((m?.params['*'] ?? '').length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
  });

  it('an identifier cut by MAX_PATH_LENGTH is kept with a marker: the record still names its resource', () => {
    const op = deriveOperation('GET', `/users/${'b'.repeat(70_000)}`, {});
    expect(op.action).toBe('user.read');
    expect(op.resourceId).toMatch(/^b+…\[truncated \d+ chars\]$/);
    expect((op.resourceId ?? '').length).toBeLessThan(MAX_PATH_LENGTH + 40);
    // A short partial segment could pass for a name: it is dropped.
    const short = deriveOperation('GET', `/${'a/'.repeat(1023)}xyz${'c'.repeat(10)}`, {});
    expect(short.action).toBe('a.list');
  });

  it('the parsed-template cache stays within its byte budget under distinct paths', () => {
    for (let i = 0; i < 2_000; i++) {
      const path = '/' + randomBytes(600).toString('base64url').replace(/[0-9]/g, 'q').match(/.{1,7}/g)!.join('/');
      matchRoute(templatePath(path), path);
    }
    expect(parsedTemplateCacheBytes()).toBeGreaterThan(0);
    expect(parsedTemplateCacheBytes()).toBeLessThanOrEqual(MAX_PARSED_CACHE_BYTES);
  });

  it('distinct 40 KB paths leave the heap no larger after GC', () => {
    const retained = retainedBy(() => {
      for (let i = 0; i < 400; i++) {
        // Short static-looking segments: each path its own route template.
        const path = '/' + randomBytes(30 * 1024).toString('base64url').replace(/[0-9]/g, 'q').match(/.{1,8}/g)!.join('/');
        matchRoute(templatePath(path), path);
      }
    });
    expect(retained).toBeLessThan(8 * 1024 * 1024);
  });
});
