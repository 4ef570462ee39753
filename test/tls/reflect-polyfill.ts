/**
 * The few `Reflect` metadata functions tsyringe (a dependency of @peculiar/x509) checks for and uses.
 * @peculiar/x509 requires a Reflect polyfill such as reflect-metadata; this file is that polyfill, cut
 * down to what tsyringe calls, so the simulator needs no second dependency. Import it before x509.
 */
type Target = object;
const store = new WeakMap<Target, Map<unknown, unknown>>();
const reflect = Reflect as unknown as Record<string, unknown>;

function own(target: Target): Map<unknown, unknown> {
  let map = store.get(target);
  if (map === undefined) {
    map = new Map();
    store.set(target, map);
  }
  return map;
}

function getMetadata(key: unknown, target: Target): unknown {
  for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
    const value = store.get(t)?.get(key);
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

if (typeof reflect.getMetadata !== 'function') {
  reflect.defineMetadata = (key: unknown, value: unknown, target: Target): void => {
    own(target).set(key, value);
  };
  reflect.getOwnMetadata = (key: unknown, target: Target): unknown => store.get(target)?.get(key);
  reflect.getMetadata = getMetadata;
  reflect.hasMetadata = (key: unknown, target: Target): boolean => getMetadata(key, target) !== undefined;
  reflect.metadata = (key: unknown, value: unknown) => (target: Target): void => {
    own(target).set(key, value);
  };
}

export {};
