// Sign-in: the login interaction of oidc-provider. The password first (the
// first factor, argon2id hashes from the users file), then the component's
// `decide` for this user, client and address:
//
//   not required / upstream MFA  → signed in
//   grace                         → a banner with the deadline; enroll now or later
//   required                      → the code page (app, recovery code, "text me a code")
//   denied                        → a page that says why
//
// A client asking for a step-up action (acr_values) inside a session skips
// the password and gets the code page, unless the policy's [step_up] accepts
// the second factor that already passed. Each step is a POST carrying this
// browser's CSRF token; a finished or unknown interaction is refused before
// anything is read or written.
import crypto from 'node:crypto';
import argon2 from '@node-rs/argon2';
import { BadRequest, checkCsrf, csrfToken, readForm, remoteAddress, seeOther, sendPage } from './http.mjs';
import * as pages from './pages.mjs';
import * as say from './messages.mjs';
import { ACR_MFA, ACR_PASSWORD, ACR_STEP_UP, requestedStepUp } from './provider.mjs';
import { Upstream } from './upstream.mjs';

/** Failed passwords per user name within a window, before a pause. */
const PASSWORD_TRIES = 10;
const PASSWORD_WINDOW_MS = 15 * 60 * 1000;

const now = () => BigInt(Math.floor(Date.now() / 1000));

export class SignIn {
  constructor({ provider, mfa, config, actions, log }) {
    this.provider = provider;
    this.mfa = mfa;
    this.config = config;
    this.actions = actions;
    this.log = log;
    /** What each interaction has established so far, by its uid. */
    this.flows = new Map();
    /** Recent password failures by user name. */
    this.failures = new Map();
    /** The upstream provider people may sign in through, if any. */
    this.upstream = config.upstream ? new Upstream(config.upstream) : null;
    /** Upstream sign-ins in progress: their state, to the interaction's uid. */
    this.federating = new Map();
    /** A hash that unknown users' passwords are checked against, so they take as long. */
    this.dummy = argon2.hash(crypto.randomBytes(16).toString('hex'));
  }

  /** Handles /interaction/UID[/STEP]; false if the path is not ours. */
  async handle(ctx) {
    if (ctx.path === '/upstream/callback' && this.upstream && ctx.method === 'GET') {
      this.upstreamCallback(ctx);
      return true;
    }
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(password|upstream|federated|code|sms|proceed|enroll|saved|abort))?$/.exec(ctx.path);
    if (!m) return false;
    await this.route(ctx, m[1], m[2] ?? null);
    return true;
  }

  async route(ctx, uid, step) {
    let details;
    try {
      details = await this.provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      throw new BadRequest('This sign-in has expired or was already finished. Go back to the application and sign in again.', 400);
    }
    if (details.uid !== uid) throw new BadRequest('This sign-in does not belong to this browser.', 400);
    const flow = this.flow(details);
    if (ctx.method === 'GET' && step === null) return this.show(ctx, flow);
    if (ctx.method === 'GET' && step === 'enroll') return this.beginEnroll(ctx, flow);
    if (ctx.method === 'GET' && step === 'federated' && this.upstream) return this.federated(ctx, flow);
    if (ctx.method !== 'POST' || step === null) throw new BadRequest('Not found.', 404);
    const fields = await readForm(ctx);
    checkCsrf(ctx, fields);
    switch (step) {
      case 'password': return this.password(ctx, flow, fields);
      case 'upstream': return this.upstreamStart(ctx, flow);
      case 'code': return this.code(ctx, flow, fields.get('code') ?? '');
      case 'sms': return this.code(ctx, flow, 'sms');
      case 'proceed': return this.proceed(ctx, flow);
      case 'enroll': return this.confirmEnroll(ctx, flow, fields.get('code') ?? '');
      case 'saved': return this.saved(ctx, flow);
      case 'abort': return this.finish(ctx, flow, { error: 'access_denied', error_description: 'the user cancelled the sign-in' });
      default: throw new BadRequest('Not found.', 404);
    }
  }

  /** The state of interaction `details.uid`, made on first sight. */
  flow(details) {
    let flow = this.flows.get(details.uid);
    if (flow === undefined) {
      const action = requestedStepUp(details.params.acr_values, this.actions);
      const inSession = details.session?.accountId;
      flow = {
        uid: details.uid,
        client: details.params.client_id,
        action,
        // A step-up inside a session asks for the second factor only.
        user: action !== null && inSession ? details.session.accountId : null,
        stage: action !== null && inSession ? 'decide' : 'password',
        amr: action !== null && inSession ? ['pwd'] : [],
        factors: [],
        notice: null,
        expires: Date.now() + 10 * 60 * 1000,
      };
      this.flows.set(details.uid, flow);
      this.sweep();
    }
    return flow;
  }

  sweep() {
    const t = Date.now();
    for (const [uid, f] of this.flows) if (f.expires < t) this.flows.delete(uid);
  }

  url(flow, step = '') {
    return `/interaction/${flow.uid}${step ? `/${step}` : ''}`;
  }

  clientName(flow) {
    const client = this.config.clients.find((c) => c.client_id === flow.client);
    return client?.client_name ?? (flow.client === 'planasonix-account' ? 'your security settings' : flow.client);
  }

  context(ctx, flow) {
    return { service: flow.client, remote: remoteAddress(ctx), action: flow.action ?? undefined };
  }

  async show(ctx, flow) {
    const csrf = csrfToken(ctx);
    const notice = flow.notice;
    flow.notice = null;
    switch (flow.stage) {
      case 'password':
        return sendPage(ctx, pages.password({
          action: this.url(flow, 'password'),
          csrf,
          client: this.clientName(flow),
          notice,
          upstream: this.upstream ? { name: this.upstream.settings.name, action: this.url(flow, 'upstream') } : null,
        }));
      case 'decide':
        return this.decide(ctx, flow);
      case 'code':
        return sendPage(ctx, pages.code({
          action: this.url(flow, 'code'),
          smsAction: this.url(flow, 'sms'),
          abort: this.url(flow, 'abort'),
          csrf,
          user: flow.user,
          factors: flow.factors,
          stepUp: flow.action,
          notice,
        }));
      case 'grace':
        return sendPage(ctx, pages.grace({
          csrf,
          user: flow.user,
          deadline: flow.deadline,
          enroll: flow.mayEnroll ? this.url(flow, 'enroll') : null,
          proceed: this.url(flow, 'proceed'),
        }));
      case 'enroll':
        return sendPage(ctx, pages.totpEnroll({ action: this.url(flow, 'enroll'), csrf, user: flow.user, enrollment: flow.enrollment, notice, abort: this.url(flow, 'abort'), signingIn: true }));
      case 'recovery':
        return sendPage(ctx, pages.recoveryAccepted({ csrf, user: flow.user, remaining: flow.remaining, proceed: this.url(flow, 'proceed') }));
      case 'codes':
        return sendPage(ctx, pages.recoveryCodes({ action: this.url(flow, 'saved'), csrf, user: flow.user, codes: flow.codes, signingIn: true }));
      case 'denied':
        // A page of the sign-in like the others: what it says is the outcome.
        return sendPage(ctx, pages.denied({ text: flow.denied, abort: this.url(flow, 'abort'), csrf }));
      default:
        throw new Error(`unknown stage ${flow.stage}`);
    }
  }

  /** Shows the current stage at its own URL (after a POST, the browser GETs it). */
  again(ctx, flow) {
    seeOther(ctx, this.url(flow));
  }

  async password(ctx, flow, fields) {
    if (flow.stage !== 'password') return this.again(ctx, flow);
    const username = (fields.get('username') ?? '').trim();
    const password = fields.get('password') ?? '';
    const user = this.config.users.get(username);
    const recent = (this.failures.get(username) ?? []).filter((t) => t > Date.now() - PASSWORD_WINDOW_MS);
    if (recent.length >= PASSWORD_TRIES) {
      flow.notice = { kind: 'error', text: 'Too many wrong passwords for this user. Wait a few minutes and try again.' };
      return this.again(ctx, flow);
    }
    let ok = false;
    try {
      ok = await argon2.verify(user?.password ?? (await this.dummy), password);
    } catch {
      ok = false;
    }
    if (!ok || user === undefined) {
      if (username !== '') {
        // Bounded: names typed by anyone must not grow this without end.
        if (this.failures.size > 10_000) this.failures.clear();
        this.failures.set(username, [...recent, Date.now()]);
      }
      flow.notice = { kind: 'error', text: 'Wrong user name or password.' };
      return this.again(ctx, flow);
    }
    this.failures.delete(username);
    flow.user = user.name;
    flow.amr = ['pwd'];
    flow.stage = 'decide';
    return this.decide(ctx, flow);
  }

  /** "Sign in with …": off to the upstream provider, back at /upstream/callback. */
  async upstreamStart(ctx, flow) {
    if (flow.stage !== 'password' || !this.upstream) return this.again(ctx, flow);
    let started;
    try {
      started = await this.upstream.start(`${this.config.issuer}/upstream/callback`);
    } catch (e) {
      this.upstream.config = null;
      this.log(`upstream ${this.upstream.settings.issuer} unavailable: ${e?.message ?? e}`);
      flow.notice = { kind: 'error', text: `${this.upstream.settings.name} cannot be reached right now. Sign in with your password, or try again later.` };
      return this.again(ctx, flow);
    }
    flow.pending = started.pending;
    if (this.federating.size > 10_000) this.federating.clear();
    this.federating.set(started.pending.state, flow.uid);
    seeOther(ctx, started.url);
  }

  /**
   * Back from the upstream provider, at the one address registered there:
   * on to the interaction it belongs to, whose cookie binds it to this
   * browser (an unknown or used state goes nowhere).
   */
  upstreamCallback(ctx) {
    const state = String(ctx.query.state ?? '');
    const uid = this.federating.get(state);
    this.federating.delete(state);
    if (uid === undefined) {
      throw new BadRequest('This sign-in did not start here, or has expired. Go back to the application and sign in again.', 400);
    }
    const query = ctx.querystring.slice(0, 4096);
    seeOther(ctx, `/interaction/${uid}/federated?${query}`);
  }

  /** The upstream's answer, in the interaction's own browser: its user and amr, then the decision. */
  async federated(ctx, flow) {
    if (flow.stage !== 'password' || !flow.pending) return this.again(ctx, flow);
    const pending = flow.pending;
    flow.pending = null;
    let signedIn;
    try {
      const here = new URL(`${this.config.issuer}/upstream/callback`);
      here.search = ctx.querystring;
      signedIn = await this.upstream.finish(here, pending);
    } catch (e) {
      this.log(`upstream sign-in refused: ${e?.message ?? e}`);
      flow.notice = { kind: 'error', text: `${this.upstream.settings.name} did not sign you in. Try again, or sign in with your password.` };
      return this.again(ctx, flow);
    }
    if (!this.config.users.has(signedIn.name)) {
      flow.notice = { kind: 'error', text: `There is no account here for ${signedIn.name}.` };
      return this.again(ctx, flow);
    }
    flow.user = signedIn.name;
    // What the upstream did: the component counts it as MFA only as the
    // policy's trusted_amr says.
    flow.amr = signedIn.amr;
    flow.stage = 'decide';
    return this.again(ctx, flow);
  }

  /** Asks the component what this sign-in requires, and goes there. */
  async decide(ctx, flow) {
    const user = this.config.users.get(flow.user);
    const subject = { user: flow.user, groups: user?.groups ?? [], amr: flow.amr };
    const { value: d, error } = await this.mfa.decide(subject, this.context(ctx, flow), now());
    if (error) return this.unavailable(ctx, flow, error);
    switch (d.tag) {
      case 'not-required': {
        const upstream = d.val.tag === 'upstream-mfa';
        if (d.val.tag === 'recent-mfa') {
          return this.finish(ctx, flow, { login: this.login(flow, [...flow.amr, 'mfa'], ACR_STEP_UP + flow.action) });
        }
        return this.finish(ctx, flow, { login: this.login(flow, upstream ? [...flow.amr, 'mfa'] : flow.amr, upstream ? ACR_MFA : ACR_PASSWORD) });
      }
      case 'grace':
        flow.stage = 'grace';
        flow.deadline = d.val.deadline;
        // The policy's enroll_at_login: whether the sign-in itself may
        // enroll (anyone with the password could).
        flow.mayEnroll = d.val.mayEnrollNow;
        return this.again(ctx, flow);
      case 'required':
        flow.stage = 'code';
        flow.factors = d.val.factors;
        return this.again(ctx, flow);
      case 'denied':
        flow.stage = 'denied';
        flow.denied = d.val.tag === 'locked-out'
          ? say.lockedUntil(d.val.val)
          : d.val.tag === 'enrollment-overdue' ? say.enrollmentOverdue(d.val.val) : say.NO_USABLE_FACTOR;
        return this.again(ctx, flow);
      default:
        return this.unavailable(ctx, flow, { tag: 'internal', val: `decision ${d.tag}` });
    }
  }

  async code(ctx, flow, input) {
    if (flow.stage !== 'code') return this.again(ctx, flow);
    const bytes = Buffer.from(input.trim(), 'utf8');
    const { value: v, error } = await this.mfa.verify(flow.user, bytes, this.context(ctx, flow), now());
    if (error) {
      if (error.tag === 'locked') {
        flow.stage = 'denied';
        flow.denied = say.lockedUntil(error.val);
      } else if (['input', 'sms-disabled', 'sms-not-enrolled', 'sms-rate-limited', 'sms-delivery-failed'].includes(error.tag)) {
        flow.notice = { kind: 'error', text: say.errorText(error) };
      } else {
        return this.unavailable(ctx, flow, error);
      }
      return this.again(ctx, flow);
    }
    switch (v.tag) {
      case 'accepted': {
        const amr = [...flow.amr, say.amrOf(v.val.factor)];
        const acr = flow.action ? ACR_STEP_UP + flow.action : ACR_MFA;
        if (v.val.factor === 'recovery') {
          flow.stage = 'recovery';
          flow.remaining = v.val.recoveryRemaining;
          flow.result = { login: this.login(flow, amr, acr) };
          return this.again(ctx, flow);
        }
        return this.finish(ctx, flow, { login: this.login(flow, amr, acr) });
      }
      case 'sms-sent':
        flow.notice = { kind: 'info', text: say.smsSent(v.val) };
        break;
      case 'rejected':
        flow.notice = { kind: 'error', text: say.wrongCode(v.val) };
        break;
      case 'replayed':
        flow.notice = { kind: 'error', text: say.replayedCode(v.val) };
        break;
      case 'locked':
        flow.stage = 'denied';
        flow.denied = say.lockedUntil(v.val);
        break;
      case 'clock-behind':
        flow.notice = { kind: 'error', text: say.clockBehind(v.val) };
        break;
      default:
        return this.unavailable(ctx, flow, { tag: 'internal', val: `verification ${v.tag}` });
    }
    return this.again(ctx, flow);
  }

  /** "Remind me later" in grace, and "Continue" after a recovery code. */
  async proceed(ctx, flow) {
    if (flow.stage === 'grace') return this.finish(ctx, flow, { login: this.login(flow, flow.amr, ACR_PASSWORD) });
    if (flow.stage === 'recovery') return this.finish(ctx, flow, flow.result);
    return this.again(ctx, flow);
  }

  async beginEnroll(ctx, flow) {
    if (flow.stage === 'enroll') return this.show(ctx, flow);
    if (flow.stage !== 'grace' || !flow.mayEnroll) return this.again(ctx, flow);
    const { value, error } = await this.mfa.beginTotp(flow.user, now());
    if (error) return this.unavailable(ctx, flow, error);
    flow.stage = 'enroll';
    flow.enrollment = value;
    return this.again(ctx, flow);
  }

  async confirmEnroll(ctx, flow, input) {
    if (flow.stage !== 'enroll') return this.again(ctx, flow);
    const { value: codes, error } = await this.mfa.confirmTotp(flow.user, Buffer.from(input.trim(), 'utf8'), now());
    if (error) {
      if (['wrong-code', 'input'].includes(error.tag)) {
        flow.notice = { kind: 'error', text: say.errorText(error) };
        return this.again(ctx, flow);
      }
      if (error.tag === 'no-pending-enrollment') {
        flow.stage = 'grace';
        flow.notice = { kind: 'error', text: say.errorText(error) };
        return this.again(ctx, flow);
      }
      return this.unavailable(ctx, flow, error);
    }
    // The secret is never shown again; only the codes, once.
    flow.enrollment = null;
    flow.codes = codes;
    flow.stage = 'codes';
    flow.result = { login: this.login(flow, [...flow.amr, 'otp'], ACR_MFA) };
    return this.again(ctx, flow);
  }

  async saved(ctx, flow) {
    if (flow.stage !== 'codes') return this.again(ctx, flow);
    flow.codes = null;
    return this.finish(ctx, flow, flow.result);
  }

  login(flow, amr, acr) {
    return { accountId: flow.user, amr: [...new Set(amr)], acr, remember: true };
  }

  async finish(ctx, flow, result) {
    this.flows.delete(flow.uid);
    const to = await this.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    seeOther(ctx, to);
  }

  /** The engine could not answer: fail closed, say so, log why. */
  unavailable(ctx, flow, error) {
    this.log(`sign-in of ${JSON.stringify(flow.user)} failed closed: ${error.tag}: ${error.val ?? ''}`);
    flow.stage = 'denied';
    flow.denied = say.UNAVAILABLE;
    return this.again(ctx, flow);
  }
}
