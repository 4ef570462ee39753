import { VerifiedCache } from '../../../services/security/cache';
import { ManualClock } from './fixtures';

describe('VerifiedCache', () => {
  const T = 1_000_000;

  it('does keep a value from its notBefore until just before its notAfter', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'v', { notBefore: T, notAfter: T + 100 });
    expect(cache.get('k')).toBe('v');
    time.now = T + 99;
    expect(cache.get('k')).toBe('v');
    time.now = T + 100;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
    time.now = T + 50;
    expect(cache.get('k')).toBeUndefined();
  });

  it('does drop an entry read before its notBefore (a clock that went back)', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'v', { notBefore: T + 10, notAfter: T + 100 });
    expect(cache.size).toBe(1);
    time.now = T + 9;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does use an entry from exactly its notBefore', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'v', { notBefore: T + 10, notAfter: T + 100 });
    time.now = T + 10;
    expect(cache.get('k')).toBe('v');
  });

  it('does keep an entry without notBefore whatever the clock shows before its notAfter', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'v', { notAfter: T + 100 });
    time.now = 0;
    expect(cache.get('k')).toBe('v');
  });

  it('does keep an entry at most maxAgeMs after it was set, however long its validity', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock, maxAgeMs: 60_000 });
    cache.set('k', 'v', { notAfter: T + 86_400_000 });
    time.now = T + 59_999;
    expect(cache.get('k')).toBe('v');
    time.now = T + 60_000;
    expect(cache.get('k')).toBeUndefined();
  });

  it('does end an entry at its notAfter when that comes before maxAgeMs', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock, maxAgeMs: 60_000 });
    cache.set('k', 'v', { notAfter: T + 1_000 });
    time.now = T + 999;
    expect(cache.get('k')).toBe('v');
    time.now = T + 1_000;
    expect(cache.get('k')).toBeUndefined();
  });

  it('does end an entry at its notAfter without maxAgeMs', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'v', { notAfter: T + 86_400_000 });
    time.now = T + 86_399_999;
    expect(cache.get('k')).toBe('v');
    time.now = T + 86_400_000;
    expect(cache.get('k')).toBeUndefined();
  });

  it('does not store a value whose validity ended, and drops the value it replaces', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('k', 'old', { notAfter: T + 100 });
    cache.set('k', 'new', { notAfter: T });
    expect(cache.size).toBe(0);
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', 'new', { notAfter: T + 1 });
    expect(cache.size).toBe(1);
    expect(cache.get('k')).toBe('new');
  });

  it('does not store a value when maxAgeMs is 0', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock, maxAgeMs: 0 });
    cache.set('k', 'v', { notAfter: T + 100 });
    expect(cache.size).toBe(0);
  });

  it('does not evict another entry for a value it does not store', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 1, clock: time.clock });
    cache.set('a', 'A', { notAfter: T + 100 });
    cache.set('b', 'B', { notAfter: T - 1 });
    expect(cache.get('a')).toBe('A');
  });

  it('does evict the least recently used entry, a read counting as a use', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 2, clock: time.clock });
    cache.set('a', 'A', { notAfter: T + 100 });
    cache.set('b', 'B', { notAfter: T + 100 });
    expect(cache.get('a')).toBe('A');
    cache.set('c', 'C', { notAfter: T + 100 });
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
  });

  it('does count a replaced entry as the most recent one', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 3, clock: time.clock });
    cache.set('a', 'A', { notAfter: T + 100 });
    cache.set('b', 'B', { notAfter: T + 100 });
    cache.set('a', 'A2', { notAfter: T + 100 });
    cache.set('c', 'C', { notAfter: T + 100 });
    cache.set('d', 'D', { notAfter: T + 100 });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A2');
    expect([cache.get('c'), cache.get('d')]).toEqual(['C', 'D']);
  });

  it('does hold at most maxEntries entries', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<number>({ maxEntries: 3, clock: time.clock });
    for (let i = 0; i < 10; i += 1) {
      cache.set(`k${i}`, i, { notAfter: T + 100 });
    }
    expect(cache.size).toBe(3);
    expect(['k6', 'k7', 'k8', 'k9'].map((k) => cache.get(k))).toEqual([undefined, 7, 8, 9]);
  });

  it('does hold one entry with maxEntries 1', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 1, clock: time.clock });
    cache.set('a', 'A', { notAfter: T + 100 });
    expect(cache.get('a')).toBe('A');
    cache.set('b', 'B', { notAfter: T + 100 });
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
  });

  it('does forget everything on clear', () => {
    const time = new ManualClock(T);
    const cache = new VerifiedCache<string>({ maxEntries: 10, clock: time.clock });
    cache.set('a', 'A', { notAfter: T + 100 });
    cache.set('b', 'B', { notAfter: T + 100 });
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('does answer undefined for a key it never held', () => {
    const cache = new VerifiedCache<string>({ maxEntries: 1, clock: () => T });
    expect(cache.get('nothing')).toBeUndefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('fails when maxEntries is %p', (maxEntries) => {
    expect(() => new VerifiedCache({ maxEntries, clock: () => T }))
      .toThrow(new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`));
  });

  it('fails with a RangeError naming the bad maxEntries', () => {
    expect(() => new VerifiedCache({ maxEntries: 0, clock: () => T })).toThrow(RangeError);
    expect(() => new VerifiedCache({ maxEntries: 0, clock: () => T })).toThrow('maxEntries must be a positive integer (got 0)');
  });
});
