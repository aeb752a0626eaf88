import { describe, expect, it } from 'vitest';
import { envText } from '../../src/sdk/env.js';

describe('envText', () => {
  it('trims a value, and treats unset and blank alike', () => {
    const env = { A: '  x ', B: '', C: '   ' };
    expect(envText(env, 'A')).toBe('x');
    expect(envText(env, 'B')).toBeUndefined();
    expect(envText(env, 'C')).toBeUndefined();
    expect(envText(env, 'D')).toBeUndefined();
  });
});
