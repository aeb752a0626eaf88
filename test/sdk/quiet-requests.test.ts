import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH } from '../../src/sdk/input-limits.js';
import { createStaticTest, DEFAULT_STATIC_EXTENSIONS, isPreflight, normalizeExtensions } from '../../src/sdk/quiet-requests.js';

describe('isPreflight', () => {
  it('is OPTIONS with Access-Control-Request-Method, nothing else', () => {
    expect(isPreflight('OPTIONS', { 'access-control-request-method': 'PUT' })).toBe(true);
    expect(isPreflight('OPTIONS', {})).toBe(false);
    expect(isPreflight('OPTIONS', undefined)).toBe(false);
    expect(isPreflight('GET', { 'access-control-request-method': 'PUT' })).toBe(false);
  });
});

describe('createStaticTest', () => {
  const isStatic = createStaticTest(DEFAULT_STATIC_EXTENSIONS);

  it('looks at the extension of the last segment only, in any case', () => {
    expect(isStatic('/app.js')).toBe(true);
    expect(isStatic('/assets/site.min.CSS')).toBe(true);
    expect(isStatic('/fonts/a.woff2')).toBe(true);
    expect(isStatic('/users/1')).toBe(false);
    expect(isStatic('/v1.2/users')).toBe(false);
    expect(isStatic('/app.js/delete')).toBe(false);
    expect(isStatic('/report.json')).toBe(false);
    expect(isStatic('/index.html')).toBe(false);
    expect(isStatic('/.js')).toBe(false);
    expect(isStatic('/file.')).toBe(false);
    expect(isStatic('')).toBe(false);
  });

  it('never calls a path beyond the path cap static', () => {
    const long = '/' + 'a'.repeat(MAX_PATH_LENGTH) + '/app.js';
    expect(isStatic(long)).toBe(false);
    expect(isStatic('/' + 'a'.repeat(MAX_PATH_LENGTH - 10) + '/app.js')).toBe(true);
  });

  it('an empty list turns it off; entries are normalised', () => {
    expect(createStaticTest([])('/app.js')).toBe(false);
    expect(createStaticTest(['.PDF'])('/download/report.pdf')).toBe(true);
    expect(normalizeExtensions([' .Js ', '', '..map'])).toEqual(['js', 'map']);
  });
});
