/**
 * A string-keyed cache bounded in bytes: each entry is charged the length of
 * its key plus a caller-given size for its value, and when the total would
 * exceed the budget the cache starts over empty. Keys longer than
 * `maxKeyLength` are never stored, so a flood of distinct long inputs can
 * neither grow memory nor evict the short, recurring keys for long.
 */
export interface BoundedCacheOptions<V> {
  /** Total budget in bytes (keys and values, UTF-16 units counted as 2 bytes). */
  maxBytes: number;
  /** Longest key stored; longer keys are computed every time. */
  maxKeyLength: number;
  /** Size of a value in bytes, beyond its key. Default: 16. */
  valueBytes?: (value: V) => number;
}

/** Fixed cost of an entry besides its key and value (map slot, string header). */
const ENTRY_OVERHEAD = 32;

export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private used = 0;
  private readonly maxBytes: number;
  private readonly maxKeyLength: number;
  private readonly valueBytes: (value: V) => number;

  constructor(options: BoundedCacheOptions<V>) {
    this.maxBytes = options.maxBytes;
    this.maxKeyLength = options.maxKeyLength;
    this.valueBytes = options.valueBytes ?? (() => 16);
  }

  /** Bytes charged for the entries held now. */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Stores the value unless its key is too long or the entry alone exceeds the budget. */
  set(key: string, value: V): void {
    if (key.length > this.maxKeyLength || this.map.has(key)) return;
    const cost = ENTRY_OVERHEAD + key.length * 2 + this.valueBytes(value);
    if (cost > this.maxBytes) return;
    if (this.used + cost > this.maxBytes) this.clear();
    this.map.set(key, value);
    this.used += cost;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
