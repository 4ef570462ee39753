/**
 * The one cache of verified identities (certificates, tokens): bounded, and every entry re-checked against the clock
 * on every read, so a cached identity never outlives its credential (`notAfter`) nor the cache's own bound (`maxAgeMs`,
 * how soon a withdrawn key or changed policy is noticed).
 */
import { Clock } from './clock';

export interface CacheOptions {
  /** Most entries; the least recently used goes first. */
  readonly maxEntries: number;
  readonly clock: Clock;
  /** Longest an entry is kept after it was verified, whatever its validity. @default - its validity only */
  readonly maxAgeMs?: number;
}

/** When a cached value may be used: from `notBefore` (if given) until `notAfter`, both in ms. */
export interface Validity {
  readonly notBefore?: number;
  readonly notAfter: number;
}

interface Entry<V> {
  readonly value: V;
  readonly notBefore: number;
  readonly until: number;
}

export class VerifiedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  public constructor(private readonly options: CacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer (got ${options.maxEntries})`);
    }
  }

  /** The value of `key` if it is valid now; an entry outside its validity is dropped. */
  public get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    const now = this.options.clock();
    if (now < entry.notBefore || now >= entry.until) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last: the first entry is the one to evict.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` for `key` while `validity` holds (and at most `maxAgeMs` from now). */
  public set(key: string, value: V, validity: Validity): void {
    const now = this.options.clock();
    const until = Math.min(validity.notAfter, this.options.maxAgeMs === undefined ? Infinity : now + this.options.maxAgeMs);
    this.entries.delete(key);
    if (until <= now) {
      return;
    }
    while (this.entries.size >= this.options.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, { value, notBefore: validity.notBefore ?? -Infinity, until });
  }

  public clear(): void {
    this.entries.clear();
  }

  public get size(): number {
    return this.entries.size;
  }
}
