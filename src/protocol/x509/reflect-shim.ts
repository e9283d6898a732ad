// @peculiar/x509 depends on tsyringe, which refuses to load unless a Reflect
// metadata polyfill is present (it reads constructor parameter metadata that
// the library never emits). This is the smallest polyfill that satisfies it;
// it does nothing if a real one (reflect-metadata) was loaded first. It must be
// imported before @peculiar/x509, which is why everything goes through
// ./peculiar.ts.
const R = Reflect as unknown as Record<string, unknown>;

if (typeof R.getMetadata !== 'function') {
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (target: object, key: unknown): unknown => store.get(target)?.get(key);
  R.defineMetadata = (key: unknown, value: unknown, target: object): void => {
    let map = store.get(target);
    if (!map) {
      map = new Map();
      store.set(target, map);
    }
    map.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: object): unknown => own(target, key);
  R.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const value = own(t, key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}
