import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH } from '../../src/sdk/input-limits.js';
import { isIdSegment, templatePath } from '../../src/sdk/path-segments.js';

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
