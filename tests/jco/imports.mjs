// The component's `store` and `delivery` imports for Node.js: an in-memory
// versioned map and a test SMS gateway that can be told to fail.

const map = new Map(); // key -> { version: bigint, value: Uint8Array }
const texts = [];
let failing = false;

export const store = {
  get(key) {
    const v = map.get(key);
    return v === undefined ? undefined : { version: v.version, value: v.value };
  },
  compareAndSwap(key, expected, value) {
    const current = map.get(key);
    const currentVersion = current === undefined ? undefined : current.version;
    if (currentVersion !== expected) return undefined;
    const next = (currentVersion ?? 0n) + 1n;
    if (value === undefined) map.delete(key);
    else map.set(key, { version: next, value: new Uint8Array(value) });
    return next;
  },
  getPastRollback(key) {
    return store.get(key);
  },
  // One swap, then one compare-and-swap per addition: what a storage that
  // has no transactions may do (WIT `swap-and-add`).
  swapAndAdd(key, expected, value, add) {
    const version = store.compareAndSwap(key, expected, value);
    if (version === undefined) return { tag: 'conflict' };
    const present = add.filter(([k, v]) => store.compareAndSwap(k, undefined, v) === undefined).map(([k]) => k);
    return { tag: 'swapped', val: { version, present: { tag: 'ok', val: present } } };
  },
  keys(prefix) {
    return [...map.keys()].filter((k) => k.startsWith(prefix)).sort();
  },
  authenticatedOnly() {
    return false;
  },
};

export const delivery = {
  sendSms(_to, text) {
    if (failing) throw { tag: 'not-sent', val: 'gateway returned 503' };
    texts.push(text);
  },
  sendNotice(_user, _message) {},
};

export const gateway = {
  setFailing(f) { failing = f; },
  lastCode() {
    const text = texts[texts.length - 1];
    return text?.split(/[^0-9]+/).find((w) => w.length >= 6);
  },
};
