// The MFA engine as the HTTP thread sees it: asynchronous calls to the
// component running in MFA workers (worker.mjs), so the event loop never
// waits on the database. Each call resolves to `{ value }` or, when the
// component answers with its error variant, `{ error: { tag, val } }`; it
// rejects only when no engine could answer (then the page fails closed).
// The values and error tags are the component's own, typed from the WIT by
// jco (`npm run lint` checks the callers against them).
// @ts-check
import { Worker } from 'node:worker_threads';

/** @import * as E from '../../types/interfaces/planasonix-mfa-engine.js' */
/**
 * The component's error variant, or `internal` when the worker could not
 * even call it (an unknown operation).
 * @typedef {E.Error | { tag: 'internal', val: string }} EngineError
 */
/**
 * What a call resolves to: the operation's value, or the component's error.
 * @template T
 * @typedef {{ value: T, error?: undefined } | { value?: undefined, error: EngineError }} Answer
 */

/** Longest wait for one operation (the store's own deadlines are shorter). */
const CALL_TIMEOUT_MS = 30_000;

/**
 * A WIT value as words for a log line: a variant as its tag and what it
 * holds, an `io-failure` as its kind and detail, a `bad-record` as its key
 * and detail.
 * @param {unknown} v
 * @returns {string}
 */
function words(v) {
  if (typeof v !== 'object' || v === null) return String(v);
  const o = /** @type {Record<string, unknown>} */ (v);
  if (typeof o.tag === 'string') return o.val === undefined ? o.tag : `${o.tag}: ${words(o.val)}`;
  if ('detail' in o) return `${String(o.kind ?? JSON.stringify(o.key))}: ${String(o.detail)}`;
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x));
}

/**
 * An engine error as a log line: its tag, and its detail where it has one
 * (a store error as the host's typed one: `store: io: unreachable: …`).
 * @param {EngineError} error
 */
export function errorLine(error) {
  return words(error);
}

/**
 * The answer of a component newer than this provider: a variant the types
 * say cannot occur (`value` is `never` while every variant is handled, so a
 * new one in the WIT fails `npm run lint` at the switch that misses it).
 * Fails closed as an internal error naming it.
 * @param {string} what
 * @param {never} value
 * @returns {EngineError}
 */
export function unknownVariant(what, value) {
  return { tag: 'internal', val: `${what} ${/** @type {any} */ (value)?.tag}` };
}

class Lane {
  constructor(workerData, onProblem) {
    /** @type {Worker | undefined} */
    this.worker = undefined;
    this.closing = false;
    this.workerData = workerData;
    this.onProblem = onProblem;
    /** @type {Map<number, { resolve: (answer: Answer<any>) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>} */
    this.pending = new Map();
    this.next = 1;
    this.ready = this.spawn();
  }

  /** @returns {Promise<void>} */
  spawn() {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: this.workerData });
      let started = false;
      worker.on('message', (m) => {
        if (m.ready === true) {
          started = true;
          this.worker = worker;
          resolve();
          return;
        }
        if (m.ready === false) {
          reject(new Error(`the MFA component did not start: ${m.error.tag}: ${m.error.val ?? ''}`));
          return;
        }
        const call = this.pending.get(m.id);
        if (call === undefined) return;
        this.pending.delete(m.id);
        clearTimeout(call.timer);
        if (m.trap !== undefined) {
          call.reject(new Error(`the MFA component failed (${m.trap})`));
        } else if (m.error !== undefined) {
          call.resolve({ error: m.error });
        } else {
          call.resolve({ value: m.value });
        }
      });
      worker.on('error', (e) => {
        if (!started) reject(e);
        else this.onProblem(`MFA worker error: ${e.message}`);
      });
      worker.on('exit', (code) => {
        if (!started) {
          reject(new Error(`the MFA worker exited with status ${code} while starting`));
          return;
        }
        for (const call of this.pending.values()) {
          clearTimeout(call.timer);
          call.reject(new Error('the MFA worker stopped'));
        }
        this.pending.clear();
        if (this.closing) return;
        this.onProblem(`MFA worker exited (status ${code}); starting a fresh one`);
        this.ready = this.spawn();
        this.ready.catch((e) => this.onProblem(e.message));
      });
    });
  }

  /**
   * @param {string} op
   * @param {unknown[]} args
   * @returns {Promise<Answer<any>>}
   */
  async call(op, args) {
    await this.ready;
    return new Promise((resolve, reject) => {
      const id = this.next++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the MFA engine did not answer ${op} within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ id, op, args });
    });
  }

  async close() {
    this.closing = true;
    await this.worker?.terminate();
  }
}

/** The engine's operations, with the WIT's names in camel case. */
export class Mfa {
  /**
   * Starts `workers` MFA workers and waits until each has loaded and
   * configured the component. `options`: component (module URL), policy
   * (TOML text), sealKey (32 bytes), store (config.mjs's settings),
   * delivery (commands), workers, onProblem (a log line).
   */
  static async start(options) {
    const workerData = {
      component: options.component,
      policy: options.policy,
      sealKey: options.sealKey,
      store: options.store,
      delivery: options.delivery,
    };
    const lanes = Array.from({ length: options.workers ?? 1 }, () => new Lane(workerData, options.onProblem ?? (() => {})));
    await Promise.all(lanes.map((l) => l.ready));
    return new Mfa(lanes);
  }

  constructor(lanes) {
    this.lanes = lanes;
    this.turn = 0;
  }

  call(op, ...args) {
    const lane = this.lanes[this.turn++ % this.lanes.length];
    return lane.call(op, args);
  }

  /** @returns {Promise<Answer<string>>} */
  effectivePolicy() { return this.call('effectivePolicy'); }
  /** @param {E.Subject} subject @param {E.Context} ctx @param {bigint} now @returns {Promise<Answer<E.Decision>>} */
  decide(subject, ctx, now) { return this.call('decide', subject, ctx, now); }
  /** @param {string} user @param {Uint8Array} input @param {E.Context} ctx @param {bigint} now @returns {Promise<Answer<E.Verification>>} */
  verify(user, input, ctx, now) { return this.call('verify', user, input, ctx, now); }
  /** @param {string} user @param {bigint} now @returns {Promise<Answer<E.TotpEnrollment>>} */
  beginTotp(user, now) { return this.call('beginTotp', user, now); }
  /** @param {string} user @param {Uint8Array} code @param {bigint} now @returns {Promise<Answer<string[]>>} */
  confirmTotp(user, code, now) { return this.call('confirmTotp', user, code, now); }
  /** @param {string} user @param {string} phone @param {bigint} now @returns {Promise<Answer<string>>} */
  beginSms(user, phone, now) { return this.call('beginSms', user, phone, now); }
  /** @param {string} user @param {Uint8Array} code @param {bigint} now @returns {Promise<Answer<string[]>>} */
  confirmSms(user, code, now) { return this.call('confirmSms', user, code, now); }
  /** @param {string} user @param {E.Context} ctx @param {bigint} now @returns {Promise<Answer<string>>} */
  sendSmsCode(user, ctx, now) { return this.call('sendSmsCode', user, ctx, now); }
  /** @param {string} user @param {bigint} now @returns {Promise<Answer<string[]>>} */
  regenerateRecoveryCodes(user, now) { return this.call('regenerateRecoveryCodes', user, now); }
  /** @param {E.Subject} subject @param {E.Factor} factor @param {bigint} now @returns {Promise<Answer<void>>} */
  removeFactor(subject, factor, now) { return this.call('removeFactor', subject, factor, now); }
  /** @param {string} user @param {string} displayName @param {bigint} now @returns {Promise<Answer<string>>} */
  passkeyRegistrationOptions(user, displayName, now) { return this.call('passkeyRegistrationOptions', user, displayName, now); }
  /** @param {string} user @param {string} name @param {string} response @param {bigint} now @returns {Promise<Answer<string[]>>} */
  registerPasskey(user, name, response, now) { return this.call('registerPasskey', user, name, response, now); }
  /** @param {string} user @param {bigint} now @returns {Promise<Answer<string>>} */
  passkeySignInOptions(user, now) { return this.call('passkeySignInOptions', user, now); }
  /** @param {string} user @param {string} response @param {E.Context} ctx @param {bigint} now @returns {Promise<Answer<E.PasskeyVerification>>} */
  verifyPasskey(user, response, ctx, now) { return this.call('verifyPasskey', user, response, ctx, now); }
  /** @param {bigint} now @returns {Promise<Answer<string>>} */
  passwordlessOptions(now) { return this.call('passwordlessOptions', now); }
  /** @param {string} response @param {E.Context} ctx @param {bigint} now @returns {Promise<Answer<E.PasswordlessVerification>>} */
  verifyPasswordless(response, ctx, now) { return this.call('verifyPasswordless', response, ctx, now); }
  /** @param {string} user @param {string} name @param {string} newName @param {bigint} now @returns {Promise<Answer<void>>} */
  renamePasskey(user, name, newName, now) { return this.call('renamePasskey', user, name, newName, now); }
  /** @param {E.Subject} subject @param {string} name @param {bigint} now @returns {Promise<Answer<void>>} */
  removePasskey(subject, name, now) { return this.call('removePasskey', subject, name, now); }
  /** @param {string} user @param {string} code @param {bigint} now @returns {Promise<Answer<E.ApprovalView>>} */
  approvalRequest(user, code, now) { return this.call('approvalRequest', user, code, now); }
  /** @param {string} user @param {string} code @param {E.ApprovalAnswer} answer @param {E.Session} session @param {string[]} amr @param {bigint} now @returns {Promise<Answer<E.Answered>>} */
  answerApproval(user, code, answer, session, amr, now) { return this.call('answerApproval', user, code, answer, session, amr, now); }
  /** @param {string} user @param {bigint} now @returns {Promise<Answer<E.UserStatus>>} */
  status(user, now) { return this.call('status', user, now); }
  /** @param {string} user @param {string} reason @param {bigint} now @returns {Promise<Answer<void>>} */
  adminReset(user, reason, now) { return this.call('adminReset', user, reason, now); }
  /** @param {string} user @param {bigint} now @returns {Promise<Answer<void>>} */
  adminUnlock(user, now) { return this.call('adminUnlock', user, now); }
  /** @param {string | undefined} user @param {bigint | undefined} since @returns {Promise<Answer<E.AuditEvent[]>>} */
  auditEvents(user, since) { return this.call('auditEvents', user, since); }

  async close() {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}
