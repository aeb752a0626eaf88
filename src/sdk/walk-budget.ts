/**
 * The limits and running budget of one walk of a value (see
 * `walk`): how much of a value the output may hold.
 */

export interface WalkContext {
  /** Returns true when the value under this key must be hidden. */
  readonly isSensitive: ((key: string) => boolean) | undefined;
  /** Mask payment card numbers inside strings. */
  readonly maskCards: boolean;
  /** Longest string kept (UTF-16 code units). */
  readonly maxString: number;
  /** Most array / set items kept per container. */
  readonly maxItems: number;
  /** Most object / map keys kept per container. */
  readonly maxKeys: number;
  /** Values still allowed in the output (counts every emitted value). */
  nodes: number;
  /**
   * Estimated JSON bytes of structure still allowed: each value costs 2, a
   * key or a string its length up to {@link STRUCTURE_CHARS} more. Long
   * strings are bounded by `maxString` and `chars` instead, so that a cap
   * still shortens them before it drops their siblings.
   */
  bytes: number;
  /** String characters still allowed in the output. */
  chars: number;
  /** Set when anything was cut for size. */
  cut: boolean;
  /** Objects on the current path, for cycle detection. */
  readonly ancestors: Set<object>;
}

/** Characters of a key or string counted against {@link WalkContext.bytes}. */
export const STRUCTURE_CHARS = 16;

/** True once the walk has produced all its budget allows. */
export function spent(ctx: WalkContext): boolean {
  return ctx.nodes <= 0 || ctx.bytes <= 0 || ctx.chars <= 0;
}

/**
 * Limits for an output of about `budget` bytes, the same as `capJson`'s
 * first attempt: a string of n chars needs n + 2 bytes, an array of n items
 * 2n + 1, an object of n keys 5n + 1, and every value at least one byte.
 */
export function budgetContext(budget: number, isSensitive: WalkContext['isSensitive'], maskCards: boolean, structureBytes = Infinity): WalkContext {
  return {
    isSensitive,
    maskCards,
    maxString: budget,
    maxItems: Math.floor(budget / 2),
    maxKeys: Math.floor(budget / 4),
    nodes: budget,
    bytes: structureBytes,
    chars: budget * 8,
    cut: false,
    ancestors: new Set(),
  };
}

export function unlimitedContext(isSensitive: WalkContext['isSensitive'], maskCards: boolean): WalkContext {
  return {
    isSensitive,
    maskCards,
    maxString: Infinity,
    maxItems: Infinity,
    maxKeys: Infinity,
    nodes: Infinity,
    bytes: Infinity,
    chars: Infinity,
    cut: false,
    ancestors: new Set(),
  };
}
