// The component's `store` import, synchronous as the WIT declares it, over
// the asynchronous `pg` client of the database worker (db.mjs).
//
// The component calls `get`, `compareAndSwap` and `keys` in the middle of
// an engine operation and needs the answer before it goes on. This thread
// (the MFA worker) posts the request to the database worker and waits on a
// shared buffer (Atomics.wait) until the answer is written there or the
// deadline passes: a frozen database fails the operation closed, never hangs
// it. The HTTP server's thread never waits: it talks to this worker by
// messages (engine.mjs).
import { Worker } from 'node:worker_threads';

/** Largest answer (a `keys` listing of a big audit trail). */
const ANSWER_BYTES = 16 << 20;

/** The first four bytes of a record in the authenticated form (core's SEALED_MAGIC). */
const SEALED_MAGIC = Buffer.from('PXR\x03', 'latin1');

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

/** A store-error for the component: `io` with a text for the audit and logs. */
function failed(text) {
  return { tag: 'io', val: text };
}

function answered(request) {
  const answer = ask(request);
  if (answer.error !== undefined) throw failed(answer.error);
  return answer;
}

/**
 * The store import (WIT `planasonix:mfa/store`). A shared store's
 * administrator is not trusted with the records: a user record that is not
 * in the authenticated form can only have been planted, and is refused, as
 * the hosts and the wasmtime host refuse it.
 */
export const store = {
  get(key) {
    const answer = answered({ op: 'get', key });
    if (!answer.found) return undefined;
    const value = Buffer.from(answer.value, 'base64');
    if (key.startsWith('user/') && !value.subarray(0, 4).equals(SEALED_MAGIC)) {
      throw failed(
        `stored record ${JSON.stringify(key)} was altered without the seal key and is refused: an unauthenticated record in a shared store`,
      );
    }
    return { version: BigInt(answer.version), value: new Uint8Array(value) };
  },
  compareAndSwap(key, expected, value) {
    const answer = answered({
      op: 'cas',
      key,
      expected: expected === undefined ? null : String(expected),
      value: value === undefined ? null : Buffer.from(value).toString('base64'),
    });
    return answer.swapped ? BigInt(answer.version) : undefined;
  },
  keys(prefix) {
    return answered({ op: 'keys', prefix }).keys;
  },
};
