// @ts-check
// The password throttle: attempts counted per user name and per client
// address in the fleet's PostgreSQL (table planasonix_throttle, schema 2),
// so every provider process behind a load balancer shares one budget.
//
// An attempt is reserved before its password is checked, in one statement
// that counts it and returns the count, so attempts in flight count: a wave
// of parallel guesses cannot all be checked. A right password gives its
// reservation back; a wrong one keeps it. A window opens at the first
// attempt and counts until it is WINDOW old; then the next attempt opens a
// new one. Rows whose window is over are evicted, one by one, never the
// table at once. Nothing typed is stored: keys are HMACs (under a key
// derived from the seal key) of the user name and of the address.
import crypto from 'node:crypto';
import net from 'node:net';
import { describe, openPool, withClient } from './mfa/pg.mjs';
import { SQL } from './mfa/sql.mjs';

/** The numbers: documented in idp/README.md ("Password guessing"). */
export const LIMITS = Object.freeze({
  /** Wrong passwords per user name in a window. */
  perUser: 10,
  /** Wrong passwords from one address (an IPv6 /64) in a window, whatever the names. */
  perAddress: 30,
  /** Seconds a window lasts. */
  windowSeconds: 15 * 60,
});

const { throttle_reserve: RESERVE, throttle_release: RELEASE, throttle_evict: EVICT } = SQL;

/**
 * The address a limit counts: an IPv4 address (also when written as
 * IPv4-mapped IPv6), or the /64 of an IPv6 address, since one client
 * commonly holds a whole /64. Unknown addresses share one count.
 */
export function addressKey(address) {
  if (typeof address !== 'string' || address === '') return 'unknown';
  let a = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1];
  if (net.isIPv4(a)) return a;
  if (!net.isIPv6(a)) return 'unknown';
  const [head, tail = null] = a.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class Throttle {
  /** `store`: config.mjs's store settings; `sealKey`: the fleet's 32 bytes. */
  /**
   * @param {object} store the store file's settings (config.mjs)
   * @param {Uint8Array} sealKey
   * @param {{ limits?: typeof LIMITS, log?: (line: string) => void }} [options]
   */
  constructor(store, sealKey, { limits = LIMITS, log = () => {} } = {}) {
    this.db = openPool(store, 'planasonix-idp-throttle');
    this.limits = limits;
    this.log = log;
    this.key = Buffer.from(crypto.hkdfSync('sha256', sealKey, Buffer.alloc(0), 'planasonix/v1/idp/password-throttle', 32));
    this.evictor = setInterval(() => this.evict(), 60_000);
    this.evictor.unref();
  }

  name(kind, value) {
    const mac = crypto.createHmac('sha256', this.key).update(`${kind}\0${value}`).digest('hex').slice(0, 32);
    return `pw/${kind}/${mac}`;
  }

  /**
   * Reserves one password attempt for `user` from `address`. Resolves to
   * `{ ok: true, release }` (call `release()` when the password was right),
   * or `{ ok: false, which: 'user' | 'address', secondsLeft }`. Rejects when
   * the store cannot be reached: the caller fails closed.
   */
  async reserve(user, address) {
    const keys = { user: this.name('u', user), address: this.name('a', addressKey(address)) };
    const rows = await this.query(RESERVE, [Object.values(keys), this.limits.windowSeconds]);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const release = () => this.query(RELEASE, [rows.map((r) => r.key), rows.map((r) => r.opened)])
      .catch((e) => this.log(`password throttle: giving an attempt back failed: ${e.message}`));
    const over = [['user', this.limits.perUser], ['address', this.limits.perAddress]]
      .find(([which, limit]) => (byKey.get(keys[which])?.attempts ?? Infinity) > limit);
    if (over) {
      // A refused attempt checks nothing, so it takes nothing from the budget.
      await release();
      return { ok: false, which: over[0], secondsLeft: Math.max(1, byKey.get(keys[over[0]]).seconds_left) };
    }
    return { ok: true, release };
  }

  async query(text, values) {
    try {
      return (await withClient(this.db, (c) => c.query(text, values))).rows;
    } catch (e) {
      throw new Error(describe(this.db.target, e));
    }
  }

  async evict() {
    try {
      await this.query(EVICT, [this.limits.windowSeconds]);
    } catch (e) {
      this.log(`password throttle: evicting old windows failed: ${e.message}`);
    }
  }

  async close() {
    clearInterval(this.evictor);
    await this.db.pool.end();
  }
}
