// @ts-check
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
// the password only when the step-up is the one reason to prompt (never with
// prompt=login, an expired max_age or an ended session), and gets the code
// page unless this session's own second factor is recent enough for the
// action; a step-up with nothing typed keeps the session's auth_time and amr.
// Each step is a POST carrying a CSRF token bound to this browser and this
// interaction; a finished or unknown interaction is refused before anything
// is read or written. Passwords are throttled in the shared store
// (throttle.mjs) before they are checked.
import crypto from 'node:crypto';
import argon2 from '@node-rs/argon2';
import { BadRequest, MAX_PASSKEY_RESPONSE, readForm, remoteAddress, seeOther, sendPage } from './http.mjs';
import * as pages from './pages.mjs';
import * as say from './messages.mjs';
import { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_STEP_UP, requestedStepUp } from './provider.mjs';
import { mark, now, viewOf } from './session.mjs';
import { Upstream } from './upstream.mjs';

/** @import { EngineError, Mfa } from './mfa/engine.mjs' */
import { errorLine, unknownVariant } from './mfa/engine.mjs';
/** @import { Csrf } from './http.mjs' */

export class SignIn {
  /**
   * @param {{ provider: any, mfa: Mfa, config: any, facts: { stepUpActions: string[], passkeysEnabled?: boolean, passwordless?: boolean }, csrf: Csrf,
   *   throttle: { reserve(user: string, address: string | undefined): Promise<any> }, log: (line: string) => void }} deps
   */
  constructor({ provider, mfa, config, facts, csrf, throttle, log }) {
    this.provider = provider;
    this.mfa = mfa;
    this.config = config;
    this.actions = facts.stepUpActions;
    this.passkeysEnabled = facts.passkeysEnabled === true;
    this.passwordlessEnabled = facts.passwordless === true;
    this.csrf = csrf;
    this.throttle = throttle;
    this.log = log;
    /** What each interaction has established so far, by its uid. */
    this.flows = new Map();
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
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(password|passwordless|upstream|federated|code|sms|passkey|assert|use-code|proceed|enroll|enroll-passkey|register|saved|abort))?$/.exec(ctx.path);
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
    const flow = await this.flow(details);
    if (ctx.method === 'GET' && step === null) return this.show(ctx, flow);
    if (ctx.method === 'GET' && step === 'enroll') return this.beginEnroll(ctx, flow);
    if (ctx.method === 'GET' && step === 'enroll-passkey') return this.beginPasskeyEnroll(ctx, flow);
    if (ctx.method === 'GET' && step === 'federated' && this.upstream) return this.federated(ctx, flow);
    if (ctx.method !== 'POST' || step === null) throw new BadRequest('There is no such page.', 404);
    // Only a passkey page's answer may be longer than a typed field.
    const fields = await readForm(ctx, ['assert', 'register', 'passwordless'].includes(step) ? { response: MAX_PASSKEY_RESPONSE } : {});
    this.csrf.check(ctx, fields, this.scope(flow));
    switch (step) {
      case 'password': return this.password(ctx, flow, fields);
      case 'passwordless': return this.passwordless(ctx, flow, fields.get('response') ?? '');
      case 'upstream': return this.upstreamStart(ctx, flow);
      case 'code': return this.code(ctx, flow, fields.get('code') ?? '');
      case 'sms': return this.code(ctx, flow, 'sms');
      case 'passkey': return this.usePasskey(ctx, flow, 'passkey');
      case 'use-code': return this.usePasskey(ctx, flow, 'code');
      case 'assert': return this.assert(ctx, flow, fields.get('response') ?? '');
      case 'proceed': return this.proceed(ctx, flow);
      case 'enroll': return this.confirmEnroll(ctx, flow, fields.get('code') ?? '');
      case 'register': return this.registerPasskey(ctx, flow, fields.get('name') ?? '', fields.get('response') ?? '');
      case 'saved': return this.saved(ctx, flow);
      case 'abort': return this.finish(ctx, flow, { error: 'access_denied', error_description: 'the user cancelled the sign-in' });
      default: throw new BadRequest('There is no such page.', 404);
    }
  }

  /** What this interaction's forms act on, for their CSRF tokens. */
  scope(flow) {
    return `interaction:${flow.uid}`;
  }

  /**
   * The session a step-up may continue: only when the step-up is the one
   * reason oidc-provider asks (not prompt=login, not an expired max_age,
   * not a session that a reset, a lock or a change of factors ended).
   */
  async continuedSession(details, action) {
    const reasons = details.prompt?.reasons ?? [];
    if (action === null || !details.session?.accountId || reasons.length === 0 || !reasons.every((r) => r === 'step_up')) {
      return null;
    }
    const session = await this.provider.Session.findByUid(details.session.uid);
    if (!session?.accountId || session.accountId !== details.session.accountId) return null;
    return {
      user: session.accountId,
      amr: session.amr ?? ['pwd'],
      loginTs: session.loginTs,
      mfaAt: session.planasonix?.mfaAt ?? null,
      epoch: session.planasonix?.epoch,
      phr: session.planasonix?.phr === true,
    };
  }

  /** The state of interaction `details.uid`, made on first sight. */
  async flow(details) {
    let flow = this.flows.get(details.uid);
    if (flow === undefined) {
      const action = requestedStepUp(details.params.acr_values, this.actions);
      const session = await this.continuedSession(details, action);
      // Another request of this interaction may have made it meanwhile.
      const made = this.flows.get(details.uid);
      if (made !== undefined) return made;
      flow = {
        uid: details.uid,
        client: details.params.client_id,
        action,
        // A step-up inside a session asks for the second factor only.
        session,
        user: session?.user ?? null,
        stage: session ? 'decide' : 'password',
        amr: session ? session.amr : [],
        // The user's session epoch, read before any factor is checked.
        epoch: session?.epoch,
        factors: [],
        // The application asked for a phishing-resistant sign-in: a passkey only.
        phishingResistant: String(details.params.acr_values ?? '').split(' ').includes(ACR_PHISHING_RESISTANT),
        username: '',
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

  /**
   * Where and why, for the component: this sign-in's own session says when
   * its second factor passed (none yet, unless a step-up continues one).
   */
  context(ctx, flow) {
    return {
      service: flow.client,
      remote: remoteAddress(ctx),
      action: flow.action ?? undefined,
      session: viewOf(flow.session),
    };
  }

  async show(ctx, flow) {
    const csrf = this.csrf.token(ctx, this.scope(flow));
    const notice = flow.notice;
    flow.notice = null;
    switch (flow.stage) {
      case 'password':
        return sendPage(ctx, pages.password({
          action: this.url(flow, 'password'),
          csrf,
          client: this.clientName(flow),
          username: flow.username,
          notice,
          upstream: this.upstream ? { name: this.upstream.settings.name, action: this.url(flow, 'upstream') } : null,
          passwordless: await this.passwordlessOffer(flow),
        }));
      case 'decide':
        return this.decide(ctx, flow);
      case 'code':
        return sendPage(ctx, pages.code({
          action: this.url(flow, 'code'),
          smsAction: this.url(flow, 'sms'),
          passkeyAction: this.url(flow, 'passkey'),
          abort: this.url(flow, 'abort'),
          csrf,
          user: flow.user,
          factors: flow.factors,
          stepUp: flow.action,
          notice,
        }));
      case 'passkey':
        return this.passkeyPage(ctx, flow, csrf, notice);
      case 'enroll-passkey':
        return sendPage(ctx, pages.passkeyCeremony({
          title: 'Set up a passkey',
          lede: 'Your browser will ask where to keep the passkey: on this device, on your phone, or on a security key you plug in or tap. Then you sign in with it.',
          kind: 'create',
          options: flow.passkeyOptions,
          action: this.url(flow, 'register'),
          csrf,
          user: flow.user,
          submit: 'Continue',
          notice,
          signingIn: true,
          extra: pages.field({ name: 'name', label: 'Name it', hint: 'So you can tell your keys apart, like “YubiKey 5C” or “Pixel”', value: 'Passkey', extra: ' maxlength="64"' }),
          after: pages.postLink(this.url(flow, 'abort'), csrf, 'Cancel sign-in'),
        }));
      case 'grace':
        return sendPage(ctx, pages.grace({
          csrf,
          user: flow.user,
          deadline: flow.deadline,
          enroll: flow.mayEnroll ? this.url(flow, 'enroll') : null,
          enrollPasskey: flow.mayEnroll && this.passkeysEnabled ? this.url(flow, 'enroll-passkey') : null,
          proceed: this.url(flow, 'proceed'),
          notice,
        }));
      case 'enroll':
        return sendPage(ctx, pages.totpEnroll({ action: this.url(flow, 'enroll'), csrf, user: flow.user, enrollment: flow.enrollment, notice, abort: this.url(flow, 'abort'), signingIn: true }));
      case 'recovery':
        return sendPage(ctx, pages.recoveryAccepted({ csrf, user: flow.user, remaining: flow.remaining, proceed: this.url(flow, 'proceed') }));
      case 'codes':
        return sendPage(ctx, pages.recoveryCodes({ action: this.url(flow, 'saved'), csrf, user: flow.user, codes: flow.codes, signingIn: true }));
      case 'denied':
        // A page of the sign-in like the others: what it says is the outcome.
        return sendPage(ctx, pages.denied({ text: flow.denied, reason: flow.deniedReason, abort: this.url(flow, 'abort'), csrf }));
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
    flow.username = username;
    const user = this.config.users.get(username);
    // Reserved before the hash is checked: attempts in flight count.
    let attempt;
    try {
      attempt = await this.throttle.reserve(username, remoteAddress(ctx));
    } catch (e) {
      this.log(`password throttle unavailable, sign-in refused: ${e.message}`);
      flow.notice = { kind: 'error', text: say.UNAVAILABLE };
      return this.again(ctx, flow);
    }
    if (!attempt.ok) {
      flow.notice = { kind: 'error', text: say.tooManyPasswords(attempt.which, attempt.secondsLeft) };
      return this.again(ctx, flow);
    }
    let ok = false;
    try {
      ok = await argon2.verify(user?.password ?? (await this.dummy), password);
    } catch {
      ok = false;
    }
    if (!ok || user === undefined) {
      flow.notice = { kind: 'error', text: 'Wrong user name or password.' };
      return this.again(ctx, flow);
    }
    await attempt.release();
    flow.user = user.name;
    flow.amr = ['pwd'];
    flow.stage = 'decide';
    if (!(await this.noteEpoch(ctx, flow))) return undefined;
    return this.decide(ctx, flow);
  }

  /**
   * "Sign in with a passkey" on the password page, where the policy makes a
   * passkey alone a sign-in: options with a stateless challenge (loading the
   * page writes nothing). Without an answer, the page goes on without it.
   */
  async passwordlessOffer(flow) {
    if (!this.passwordlessEnabled) return null;
    const { value: options, error } = await this.mfa.passwordlessOptions(now());
    if (error) {
      this.log(`passwordless options: ${errorLine(error)}`);
      return null;
    }
    return { options, action: this.url(flow, 'passwordless') };
  }

  /**
   * A passkey alone: the component finds whose it is and checks it with the
   * person verified (possession and a PIN or biometrics), so the sign-in is
   * complete without a password.
   */
  async passwordless(ctx, flow, response) {
    if (flow.stage !== 'password' || !this.passwordlessEnabled) return this.again(ctx, flow);
    const { value: v, error } = await this.mfa.verifyPasswordless(response, this.context(ctx, flow), now());
    if (error) {
      if (error.tag !== 'passkey') return this.unavailable(ctx, flow, error);
      flow.notice = { kind: 'error', text: say.passkeyErrorText(error.val) };
      return this.again(ctx, flow);
    }
    switch (v.tag) {
      case 'accepted': {
        if (!this.config.users.has(v.val.user)) {
          this.log(`passwordless sign-in of ${JSON.stringify(v.val.user)}, who has no account here, refused`);
          flow.notice = { kind: 'error', text: say.passwordlessRefused('unknown-credential') };
          return this.again(ctx, flow);
        }
        flow.user = v.val.user;
        flow.amr = ['hwk', 'user', 'mfa'];
        if (!(await this.noteEpoch(ctx, flow))) return undefined;
        const acr = flow.action ? ACR_STEP_UP + flow.action : ACR_PHISHING_RESISTANT;
        return this.finish(ctx, flow, { login: this.login(flow, flow.amr, acr, now(), true) });
      }
      case 'refused':
        flow.notice = { kind: 'error', text: say.passwordlessRefused(v.val) };
        return this.again(ctx, flow);
      case 'locked':
        return this.deny(ctx, flow, 'locked', say.lockedUntil(v.val));
      default:
        return this.unavailable(ctx, flow, unknownVariant('passwordless verification', v));
    }
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
    // Bounded: the oldest sign-in in progress goes first, never all of them.
    if (this.federating.size >= 10_000) this.federating.delete(this.federating.keys().next().value);
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
    if (!(await this.noteEpoch(ctx, flow))) return undefined;
    return this.again(ctx, flow);
  }

  /**
   * Notes the user's session epoch before any second factor is checked: a
   * reset, a lock or a change of factors from then on ends the session this
   * sign-in makes. False (and the page sent) when the engine cannot answer.
   */
  async noteEpoch(ctx, flow) {
    const { value, error } = await this.mfa.status(flow.user, now());
    if (error) {
      this.unavailable(ctx, flow, error);
      return false;
    }
    flow.epoch = Number(value.sessionsEpoch);
    return true;
  }

  /** Asks the component what this sign-in requires, and goes there. */
  async decide(ctx, flow) {
    const user = this.config.users.get(flow.user);
    const subject = { user: flow.user, groups: user?.groups ?? [], amr: flow.amr };
    const { value: d, error } = await this.mfa.decide(subject, this.context(ctx, flow), now());
    if (error) return this.unavailable(ctx, flow, error);
    switch (d.tag) {
      case 'not-required': {
        if (d.val.tag === 'recent-mfa') {
          // Nothing typed: the session's own sign-in, as it was.
          return this.finish(ctx, flow, { login: this.login(flow, flow.amr, ACR_STEP_UP + flow.action, flow.session?.mfaAt ?? null, flow.session?.phr) });
        }
        if (d.val.tag === 'upstream-mfa') {
          return this.finish(ctx, flow, { login: this.login(flow, [...flow.amr, 'mfa'], ACR_MFA, now()) });
        }
        return this.finish(ctx, flow, { login: this.login(flow, flow.amr, ACR_PASSWORD, flow.session?.mfaAt ?? null, flow.session?.phr) });
      }
      case 'grace':
        flow.stage = 'grace';
        flow.deadline = d.val.deadline;
        // The policy's enroll_at_login: whether the sign-in itself may
        // enroll (anyone with the password could).
        flow.mayEnroll = d.val.mayEnrollNow;
        return this.again(ctx, flow);
      case 'required':
        flow.factors = d.val.factors;
        if (flow.phishingResistant && !flow.factors.includes('passkey')) {
          return this.deny(ctx, flow, 'no-passkey', 'This application asks for a sign-in with a passkey, and your account has none.');
        }
        // A passkey first where the user has one; codes stay a click away
        // (unless the application asked for a passkey).
        flow.stage = flow.factors.includes('passkey') ? 'passkey' : 'code';
        return this.again(ctx, flow);
      case 'denied':
        if (d.val.tag === 'locked-out') return this.deny(ctx, flow, 'locked', say.lockedUntil(d.val.val));
        if (d.val.tag === 'enrollment-overdue') return this.deny(ctx, flow, 'overdue', say.enrollmentOverdue(d.val.val));
        if (d.val.tag === 'no-phishing-resistant-factor') {
          return this.deny(ctx, flow, 'no-passkey', 'This needs a sign-in with a passkey, and your account has none.');
        }
        return this.deny(ctx, flow, 'no-factor', say.NO_USABLE_FACTOR);
      default:
        return this.unavailable(ctx, flow, unknownVariant('decision', d));
    }
  }

  /** "Use a passkey" on the code page, and "Use a code instead" on the passkey page. */
  usePasskey(ctx, flow, stage) {
    const from = stage === 'passkey' ? 'code' : 'passkey';
    if (flow.stage === from && (stage === 'passkey' ? flow.factors.includes('passkey') : !flow.phishingResistant)) {
      flow.stage = stage;
    }
    return this.again(ctx, flow);
  }

  /** The passkey page, with a fresh challenge each time it is shown. */
  async passkeyPage(ctx, flow, csrf, notice) {
    const { value: options, error } = await this.mfa.passkeySignInOptions(flow.user, now());
    if (error) {
      if (error.tag === 'not-enrolled' || (error.tag === 'passkey' && error.val.tag === 'disabled')) {
        flow.stage = 'code';
        return this.again(ctx, flow);
      }
      return this.unavailable(ctx, flow, error);
    }
    const codes = flow.phishingResistant ? '' : pages.postLink(this.url(flow, 'use-code'), csrf, 'Use a code instead');
    return sendPage(ctx, pages.passkeyCeremony({
      title: 'Use your passkey',
      lede: flow.action ? say.stepUp(flow.action) : 'Your browser will ask for your passkey or security key: touch it, or unlock your device.',
      kind: 'get',
      options,
      action: this.url(flow, 'assert'),
      csrf,
      user: flow.user,
      submit: 'Use passkey',
      notice,
      signingIn: true,
      after: [codes, pages.postLink(this.url(flow, 'abort'), csrf, 'Cancel sign-in')],
    }));
  }

  /** The browser's passkey answer, checked by the component. */
  async assert(ctx, flow, response) {
    if (flow.stage !== 'passkey') return this.again(ctx, flow);
    const { value: v, error } = await this.mfa.verifyPasskey(flow.user, response, this.context(ctx, flow), now());
    if (error) {
      if (error.tag === 'locked') return this.deny(ctx, flow, 'locked', say.lockedUntil(error.val));
      if (error.tag === 'passkey') {
        flow.notice = { kind: 'error', text: say.passkeyErrorText(error.val) };
        return this.again(ctx, flow);
      }
      return this.unavailable(ctx, flow, error);
    }
    switch (v.tag) {
      case 'accepted': {
        // RFC 8176: a hardware-bound key; `user` where the authenticator
        // verified the person (WebAuthn says that it did, not how, so
        // neither `pin` nor `fpt` can be claimed); `mfa` beside a password.
        const amr = [...flow.amr, 'hwk', ...(v.val.userVerified ? ['user'] : []), ...(flow.amr.includes('pwd') ? ['mfa'] : [])];
        const acr = flow.action ? ACR_STEP_UP + flow.action : ACR_PHISHING_RESISTANT;
        return this.finish(ctx, flow, { login: this.login(flow, amr, acr, now(), true) });
      }
      case 'refused':
        flow.notice = { kind: 'error', text: say.passkeyRefused(v.val) };
        return this.again(ctx, flow);
      case 'locked':
        return this.deny(ctx, flow, 'locked', say.lockedUntil(v.val));
      default:
        return this.unavailable(ctx, flow, unknownVariant('passkey verification', v));
    }
  }

  async code(ctx, flow, input) {
    if (flow.stage !== 'code') return this.again(ctx, flow);
    const bytes = Buffer.from(input.trim(), 'utf8');
    const { value: v, error } = await this.mfa.verify(flow.user, bytes, this.context(ctx, flow), now());
    if (error) {
      if (error.tag === 'locked') {
        return this.deny(ctx, flow, 'locked', say.lockedUntil(error.val));
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
        const login = this.login(flow, amr, acr, now());
        if (v.val.factor === 'recovery') {
          flow.stage = 'recovery';
          flow.remaining = v.val.recoveryRemaining;
          flow.result = { login };
          return this.again(ctx, flow);
        }
        return this.finish(ctx, flow, { login });
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
      case 'recovery-code-spent':
        flow.notice = { kind: 'error', text: say.spentRecoveryCode(v.val) };
        break;
      case 'locked':
        return this.deny(ctx, flow, 'locked', say.lockedUntil(v.val));
      case 'clock-behind':
        flow.notice = { kind: 'error', text: say.clockBehind(v.val) };
        break;
      default:
        return this.unavailable(ctx, flow, unknownVariant('verification', v));
    }
    return this.again(ctx, flow);
  }

  /** "Remind me later" in grace, and "Continue" after a recovery code. */
  async proceed(ctx, flow) {
    if (flow.stage === 'grace') {
      return this.finish(ctx, flow, { login: this.login(flow, flow.amr, ACR_PASSWORD, flow.session?.mfaAt ?? null, flow.session?.phr) });
    }
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

  /** "Set up a passkey" in the grace period, where the policy lets the sign-in enroll. */
  async beginPasskeyEnroll(ctx, flow) {
    if (flow.stage === 'enroll-passkey') return this.show(ctx, flow);
    if (flow.stage !== 'grace' || !flow.mayEnroll || !this.passkeysEnabled) return this.again(ctx, flow);
    const user = this.config.users.get(flow.user);
    const { value, error } = await this.mfa.passkeyRegistrationOptions(flow.user, user?.displayName ?? flow.user, now());
    if (error) return this.unavailable(ctx, flow, error);
    flow.stage = 'enroll-passkey';
    flow.passkeyOptions = value;
    return this.again(ctx, flow);
  }

  /**
   * The new passkey from the browser: registered, its recovery codes shown
   * once, then the sign-in goes on with the passkey itself (registering
   * proves nothing the password did not).
   */
  async registerPasskey(ctx, flow, name, response) {
    if (flow.stage !== 'enroll-passkey') return this.again(ctx, flow);
    const { value: codes, error } = await this.mfa.registerPasskey(flow.user, name, response, now());
    if (error) {
      if (error.tag !== 'passkey') return this.unavailable(ctx, flow, error);
      // Its challenge is spent: back to the choice, with why.
      flow.stage = 'grace';
      flow.notice = { kind: 'error', text: say.passkeyErrorText(error.val) };
      return this.again(ctx, flow);
    }
    // The new factor ended every session; this sign-in's goes on at the next epoch.
    flow.epoch += 1;
    flow.passkeyOptions = null;
    flow.codes = codes;
    flow.factors = ['passkey', 'recovery'];
    flow.next = 'passkey';
    flow.stage = codes.length ? 'codes' : 'passkey';
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
    // The secret is never shown again; only the codes, once. The new factor
    // ended every session; this sign-in's goes on at the next epoch.
    flow.enrollment = null;
    flow.epoch += 1;
    flow.codes = codes;
    flow.stage = 'codes';
    // The code from the new app is the second factor of this sign-in.
    flow.result = { login: this.login(flow, [...flow.amr, 'otp'], ACR_MFA, now()) };
    return this.again(ctx, flow);
  }

  async saved(ctx, flow) {
    if (flow.stage !== 'codes') return this.again(ctx, flow);
    flow.codes = null;
    if (flow.next === 'passkey') {
      flow.stage = 'passkey';
      return this.again(ctx, flow);
    }
    return this.finish(ctx, flow, flow.result);
  }

  /**
   * The login result: `amr` and `acr` as they happened; a step-up inside a
   * session keeps its `auth_time` (the password was not typed again);
   * `mfaAt` is when this session's second factor passed (session.mjs).
   */
  login(flow, amr, acr, mfaAt, phishingResistant = false) {
    return {
      accountId: flow.user,
      amr: [...new Set(amr)],
      acr,
      remember: true,
      ...(flow.session ? { ts: flow.session.loginTs } : {}),
      planasonix: mark(mfaAt, flow.epoch, phishingResistant),
    };
  }

  async finish(ctx, flow, result) {
    this.flows.delete(flow.uid);
    const to = await this.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    seeOther(ctx, to);
  }

  /** Refuses the sign-in: the page says why (`text`) and what to do (`reason`). */
  deny(ctx, flow, reason, text) {
    flow.stage = 'denied';
    flow.denied = text;
    flow.deniedReason = reason;
    return this.again(ctx, flow);
  }

  /** The engine could not answer: fail closed, say so, log why. */
  /** @param {any} ctx @param {any} flow @param {EngineError} error */
  unavailable(ctx, flow, error) {
    this.log(`sign-in of ${JSON.stringify(flow.user)} failed closed: ${errorLine(error)}`);
    return this.deny(ctx, flow, 'unavailable', say.UNAVAILABLE);
  }
}
