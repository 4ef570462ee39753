/**
 * Time, injected: every decision that depends on it (a certificate's or token's expiry, a cache entry's age, when to
 * refetch keys) reads the clock it was given, so that tests can move time and a removed expiry check fails a test.
 */

/** Milliseconds since the epoch, like `Date.now()`. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
