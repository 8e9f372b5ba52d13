// What the sign-in and Security state machines talk to, made small enough to
// read in a test: a Koa request (path, method, cookies, a form body), an
// oidc-provider that records the login result it is handed, an engine whose
// answers a test scripts and whose calls it records, and a throttle.
// Used by flows.test.mjs; nothing here is a database, a component or a browser.
import { Readable } from 'node:stream';
import { Csrf } from '../src/http.mjs';

export const SEAL_KEY = new Uint8Array(32).fill(5);

/** One browser: its cookie jar carries over from request to request. */
export class Browser {
  constructor({ address = '203.0.113.9' } = {}) {
    this.jar = new Map();
    this.address = address;
  }

  /** A Koa context for `method path`, with `form` (a Map or object) as its body. */
  request(method, path, form = null) {
    const body = form === null ? '' : new URLSearchParams(form instanceof Map ? [...form] : Object.entries(form)).toString();
    const headers = form === null ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) };
    const req = Readable.from(form === null ? [] : [Buffer.from(body)]);
    req.socket = { remoteAddress: this.address };
    const jar = this.jar;
    const headersOut = new Map();
    const [pathname, query = ''] = path.split('?');
    const ctx = {
      method,
      path: pathname,
      querystring: query,
      query: Object.fromEntries(new URLSearchParams(query)),
      secure: true,
      req,
      res: {},
      app: { proxy: false },
      status: 404,
      body: undefined,
      type: undefined,
      location: undefined,
      get: (name) => headers[name.toLowerCase()] ?? '',
      set: (name, value) => headersOut.set(name.toLowerCase(), value),
      redirect: (to) => { ctx.location = to; ctx.status = 302; },
      headersOut,
      cookies: {
        get: (name) => jar.get(name),
        set: (name, value) => (value === null ? jar.delete(name) : jar.set(name, value)),
      },
    };
    return ctx;
  }
}

export const csrf = new Csrf(SEAL_KEY);

/** The token `browser` has for forms acting on `scope` (as a page would embed it). */
export function tokenOf(browser, scope) {
  return csrf.token(browser.request('GET', '/'), scope);
}

/**
 * The component as the HTTP thread sees it (engine.mjs's Mfa): each
 * operation answers from `answers[op]` (a value, or a function of the
 * arguments), `{ value }` or `{ error }`, and every call is recorded.
 */
export class Engine {
  constructor(answers = {}) {
    this.answers = answers;
    this.calls = [];
  }

  answer(op, args) {
    this.calls.push({ op, args });
    const a = this.answers[op];
    if (a === undefined) return { error: { tag: 'internal', val: `the test scripted no ${op}` } };
    return typeof a === 'function' ? a(...args) : a;
  }

  called(op) {
    return this.calls.filter((c) => c.op === op);
  }
}
for (const op of ['decide', 'verify', 'status', 'beginTotp', 'confirmTotp', 'beginSms', 'confirmSms', 'sendSmsCode', 'regenerateRecoveryCodes', 'removeFactor', 'adminReset', 'adminUnlock', 'auditEvents', 'effectivePolicy',
  'passkeyRegistrationOptions', 'registerPasskey', 'passkeySignInOptions', 'verifyPasskey', 'renamePasskey', 'removePasskey',
  'passwordlessOptions', 'verifyPasswordless']) {
  Engine.prototype[op] = async function call(...args) { return this.answer(op, args); };
}

/** A status of the component: enrolled with `factors`, at session epoch `epoch`. */
export function status({ factors = ['totp'], epoch = 3, passkeys = [] } = {}) {
  return { value: { enrolled: factors.length > 0, factors, sessionsEpoch: BigInt(epoch), recoveryRemaining: 10, remoteLocks: [], passkeys } };
}

/** oidc-provider, as far as the sign-in and the Security page use it. */
export class Provider {
  constructor({ uid = 'abc123', client = 'rp', acrValues = undefined, session = null } = {}) {
    this.uid = uid;
    this.details = { uid, params: { client_id: client, acr_values: acrValues }, prompt: { reasons: ['no_session'] }, session: undefined };
    this.results = [];
    this.session = session;
    this.Session = {
      get: async () => this.session ?? { uid: 'session-1' },
      findByUid: async () => this.session,
    };
  }

  async interactionDetails() {
    return this.details;
  }

  async interactionResult(req, res, result) {
    this.results.push(result);
    return `/auth/${this.uid}/resume`;
  }
}

/** The password throttle: allows, refuses, or fails, and counts what it was asked. */
export class Throttle {
  constructor(mode = 'allow') {
    this.mode = mode;
    this.reserved = 0;
    this.released = 0;
  }

  async reserve() {
    this.reserved += 1;
    if (this.mode === 'fail') throw new Error('database unreachable');
    if (this.mode === 'refuse') return { ok: false, which: 'user', secondsLeft: 600 };
    return { ok: true, release: async () => { this.released += 1; } };
  }
}
