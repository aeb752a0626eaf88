import { describe, expect, it } from 'vitest';
import { LEVEL_RULES, levelContents } from '../../src/contract/values.js';

describe('levelContents', () => {
  it('full holds everything, basic all but the body, minimal nothing beyond who/what/when/outcome', () => {
    expect(levelContents('full')).toEqual({ request: true, body: true, details: true });
    expect(levelContents('basic')).toEqual({ request: true, body: false, details: true });
    expect(levelContents('minimal')).toEqual({ request: false, body: false, details: false });
  });

  it('a record without a level holds what full holds; ignore holds nothing', () => {
    expect(levelContents(undefined)).toEqual(levelContents('full'));
    expect(levelContents('ignore')).toEqual(levelContents('minimal'));
  });

  it('never holds a body without the request it belongs to', () => {
    for (const level of LEVEL_RULES) {
      const c = levelContents(level);
      if (c.body) expect(c.request).toBe(true);
    }
  });
});
