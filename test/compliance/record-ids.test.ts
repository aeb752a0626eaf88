import { describe, expect, it } from 'vitest';
import { compareIds, countAbove, idInRange } from '../../src/compliance/record-ids.js';

describe('record ids as decimal text', () => {
  it('compares by value, not as strings', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('10', '9')).toBeGreaterThan(0);
    expect(compareIds('9007199254740993', '9007199254740993')).toBe(0);
    expect(compareIds('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
  });

  it('tells whether an id lies in an inclusive range', () => {
    expect(idInRange('10', '9', '11')).toBe(true);
    expect(idInRange('9', '9', '11')).toBe(true);
    expect(idInRange('11', '9', '11')).toBe(true);
    expect(idInRange('12', '9', '11')).toBe(false);
    expect(idInRange('100', '9', '11')).toBe(false);
  });

  it('counts the ids of an ordered batch above a limit', () => {
    const batch = ['8', '9', '10', '11', '100'];
    const id = (s: string): string => s;
    expect(countAbove(batch, null, id)).toBe(5);
    expect(countAbove(batch, '7', id)).toBe(5);
    expect(countAbove(batch, '9', id)).toBe(3);
    expect(countAbove(batch, '99', id)).toBe(1);
    expect(countAbove(batch, '100', id)).toBe(0);
    expect(countAbove([], '1', id)).toBe(0);
  });
});
