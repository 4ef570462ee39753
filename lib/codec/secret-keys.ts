/**
 * Where a key ring keeps its keys: secret-key objects (their bytes live outside the JavaScript heap and the Buffer
 * pool), reachable from the codec by the ring, never as bytes. Internal: not part of the package's API.
 */
import { KeyObject } from 'node:crypto';

const store = new WeakMap<object, ReadonlyMap<string, KeyObject>>();

export function storeKeys(ring: object, keys: ReadonlyMap<string, KeyObject>): void {
  store.set(ring, keys);
}

/** The key `id` of `ring`, or undefined. */
export function secretKey(ring: object, id: string): KeyObject | undefined {
  return store.get(ring)?.get(id);
}
