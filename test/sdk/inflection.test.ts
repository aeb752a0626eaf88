import { describe, expect, it } from 'vitest';
import { singularize } from '../../src/sdk/inflection.js';

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
