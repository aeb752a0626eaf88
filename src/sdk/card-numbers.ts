/** Payment card numbers found inside strings, and their masking. */

import { CARD_REDACTED } from './redact.js';

const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

/** Luhn checksum over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Could these digits be a card number issued by a payment network (major industry identifier 2–6)? */
function looksLikeCard(digits: string): boolean {
  if (digits.length < CARD_MIN_DIGITS || digits.length > CARD_MAX_DIGITS) return false;
  const first = digits.charCodeAt(0) - 48;
  return first >= 2 && first <= 6 && luhnValid(digits);
}

/** Maximal runs of digits separated by at most one space or dash. */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;

/**
 * Replaces payment card numbers (13–19 digits, optionally grouped by single
 * spaces or dashes, Luhn-valid, starting with 2–6) inside `text` by
 * {@link CARD_REDACTED}. A digit group is never split, so long numeric ids do
 * not lose a card-shaped substring; adjacent groups are combined, so several
 * card numbers separated by single spaces are each found.
 */
export function maskCardNumbers(text: string): string {
  // Cheap pre-check: not enough digits for any card number.
  let digitCount = 0;
  for (let i = 0; i < text.length && digitCount < CARD_MIN_DIGITS; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digitCount++;
  }
  if (digitCount < CARD_MIN_DIGITS) return text;

  return text.replace(DIGIT_RUN, (run: string) => {
    const groups: { start: number; end: number; digits: string }[] = [];
    const groupRe = /\d+/g;
    let m: RegExpExecArray | null;
    while ((m = groupRe.exec(run)) !== null) {
      groups.push({ start: m.index, end: m.index + m[0].length, digits: m[0] });
    }
    let out = '';
    let copiedUpTo = 0;
    let i = 0;
    while (i < groups.length) {
      // Longest run of whole groups starting at i that is a card number.
      let best = -1;
      let digits = '';
      for (let j = i; j < groups.length; j++) {
        digits += (groups[j] as { digits: string }).digits;
        if (digits.length > CARD_MAX_DIGITS) break;
        if (looksLikeCard(digits)) best = j;
      }
      if (best >= 0) {
        const startGroup = groups[i] as { start: number };
        const endGroup = groups[best] as { end: number };
        out += run.slice(copiedUpTo, startGroup.start) + CARD_REDACTED;
        copiedUpTo = endGroup.end;
        i = best + 1;
      } else {
        i++;
      }
    }
    return copiedUpTo === 0 ? run : out + run.slice(copiedUpTo);
  });
}
