// The component's `store` import, synchronous as the WIT declares it, over
// the asynchronous `pg` client of the database worker (db.mjs).
//
// The component calls `get`, `compareAndSwap`, `swapAndAdd` and `keys` in the middle of
// an engine operation and needs the answer before it goes on. This thread
// (the MFA worker) posts the request to the database worker and waits on a
// shared buffer (Atomics.wait) until the answer is written there or the
// deadline passes: a frozen database fails the operation closed, never hangs
// it. The HTTP server's thread never waits: it talks to this worker by
// messages (engine.mjs).
//
// The import's signatures and its error variant are the WIT's, as jco
// types them (`npm run lint`).
// @ts-check
import { Worker } from 'node:worker_threads';

/** @import * as S from '../../types/interfaces/planasonix-mfa-store.js' */

/** Largest answer (a `keys` listing of a big audit trail). */
const ANSWER_BYTES = 16 << 20;

/** @type {{ worker: Worker, ctrl: Int32Array, bytes: Uint8Array, seq: number, waitMs: number } | null} */
let channel = null;

/**
 * Starts the database worker for `settings` (see config.mjs); must run once
 * before the component is instantiated.
 */
export function openStore(settings) {
  const control = new SharedArrayBuffer(12);
  const data = new SharedArrayBuffer(ANSWER_BYTES);
  const worker = new Worker(new URL('./db.mjs', import.meta.url), {
    workerData: { settings, control, data },
  });
  worker.unref();
  channel = {
    worker,
    ctrl: new Int32Array(control),
    bytes: new Uint8Array(data),
    seq: 0,
    // Longest wait for one answer: a new connection (connect_timeout) and
    // its schema check and statement (statement_timeout), with margin.
    waitMs: settings.connectTimeoutMs + 2 * settings.statementTimeoutMs + 1000,
  };
}

const decoder = new TextDecoder();

/** Sends `request` to the database worker and waits for its answer. */
export function ask(request) {
  if (channel === null) throw new Error('the store is not open');
  const { ctrl, bytes, worker, waitMs } = channel;
  const seq = ++channel.seq;
  Atomics.store(ctrl, 0, 0);
  worker.postMessage({ ...request, seq });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      return {
        error: `the database did not answer within ${Math.round(waitMs / 1000)} s (server stopped, frozen or unreachable)`,
        timedOut: true,
      };
    }
    Atomics.wait(ctrl, 0, 0, left);
    if (Atomics.load(ctrl, 0) !== 1) continue;
    if (Atomics.load(ctrl, 1) === seq) break;
    // The late answer to a request that already timed out.
    Atomics.store(ctrl, 0, 0);
  }
  const length = Atomics.load(ctrl, 2);
  return JSON.parse(decoder.decode(bytes.slice(0, length)));
}

/**
 * A store-error for the component (WIT `store-error::io`): the database did
 * not answer, or answered with a failure; the text is for the audit and logs.
 * @param {{ error: string, timedOut?: boolean }} answer
 * @returns {S.StoreError}
 */
function failed(answer) {
  return { tag: 'io', val: { kind: answer.timedOut ? 'unreachable' : 'other', detail: answer.error } };
}

function answered(request) {
  const answer = ask(request);
  if (answer.error !== undefined) throw failed(answer);
  return answer;
}

/** @param {Uint8Array} bytes */
const base64 = (bytes) => Buffer.from(bytes).toString('base64');

/**
 * The store import (WIT `planasonix:mfa/store`). The provider's store is the
 * fleet's shared database, whose administrator is not trusted with the
 * records: `authenticatedOnly` says so, and the component's engine refuses
 * any user record not in the authenticated form itself.
 * @type {typeof import('../../types/interfaces/planasonix-mfa-store.js')}
 */
export const store = {
  get(key) {
    const answer = answered({ op: 'get', key });
    if (!answer.found) return undefined;
    return { version: BigInt(answer.version), value: new Uint8Array(Buffer.from(answer.value, 'base64')) };
  },
  /** Nothing here remembers a rollback of its own: the same as `get`. */
  getPastRollback(key) {
    return store.get(key);
  },
  compareAndSwap(key, expected, value) {
    const answer = answered({
      op: 'cas',
      key,
      expected: expected === undefined ? null : String(expected),
      value: value === undefined ? null : base64(value),
    });
    return answer.swapped ? BigInt(answer.version) : undefined;
  },
  /**
   * A record and its audit events in one statement (db.mjs `swapAdd`), as
   * the hosts write them; a record's first write (an enrollment) goes as
   * separate statements, as on the hosts.
   */
  swapAndAdd(key, expected, value, add) {
    if (expected === undefined) {
      const version = store.compareAndSwap(key, undefined, value);
      if (version === undefined) return { tag: 'conflict' };
      const present = [];
      try {
        for (const [k, v] of add) if (store.compareAndSwap(k, undefined, v) === undefined) present.push(k);
      } catch (e) {
        return { tag: 'swapped', val: { version, present: { tag: 'err', val: e } } };
      }
      return { tag: 'swapped', val: { version, present: { tag: 'ok', val: present } } };
    }
    const answer = answered({
      op: 'swapAdd',
      key,
      expected: String(expected),
      value: base64(value),
      add: add.map(([k, v]) => [k, base64(v)]),
    });
    if (!answer.swapped) return { tag: 'conflict' };
    return { tag: 'swapped', val: { version: BigInt(answer.version), present: { tag: 'ok', val: answer.present } } };
  },
  keys(prefix) {
    return answered({ op: 'keys', prefix }).keys;
  },
  authenticatedOnly() {
    return true;
  },
};
