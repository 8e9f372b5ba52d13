// @ts-check
// Security → Multi-factor authentication: the page of the product
// documentation. Add an authenticator app (QR code or the key by hand,
// confirmed with a code, then recovery codes shown once), opt in to SMS
// (with the warnings, confirmed with a texted code), see and regenerate
// recovery codes, remove a factor. The admin page looks users up, resets
// and unlocks them.
//
// Both need a signed-in session of this provider that nothing ended since
// (an admin reset, a lock or a change of factors ends every session before
// it): without one, the browser signs in through the provider's own client
// (`planasonix-account`, response type `none`), so the same sign-in pages
// and the same MFA decision apply. Changing factors needs a second factor
// passed in this session within the policy's `manage-mfa` step-up age, the
// admin page within `admin`'s; a user with no factor may add a first one
// only where the policy's enroll_at_login lets a password alone enroll.
import crypto from 'node:crypto';
import { BadRequest, MAX_PASSKEY_RESPONSE, readForm, remoteAddress, seeOther, sendPage } from './http.mjs';
import { field, form, html, page } from './html.mjs';
import * as pages from './pages.mjs';
import * as say from './messages.mjs';
import { ACCOUNT_CLIENT, ACR_STEP_UP } from './provider.mjs';
import { live, now, revalidate, sessionOf } from './session.mjs';
import { approvePage } from './approve.mjs';

const STATE_COOKIE = 'planasonix.account-state';

/** The step-up actions (built into every policy) guarding these pages. */
const MANAGE = 'manage-mfa';
const ADMIN = 'admin';

/** Where each page returns after a sign-in, by the name kept in the state cookie. */
const RETURN_TO = { mfa: '/security/mfa', admin: '/admin', approve: '/approve' };

/** Changes that need a recent second factor (or, without a factor, enroll_at_login). */
const CHANGES = new Set(['/security/mfa/totp/begin', '/security/mfa/sms/begin', '/security/mfa/recovery/regenerate', '/security/mfa/remove',
  '/security/mfa/passkey/begin', '/security/mfa/passkey/remove']);

/** @import { Mfa } from './mfa/engine.mjs' */
import { errorLine } from './mfa/engine.mjs';
/** @import { Csrf } from './http.mjs' */

export class Security {
  /**
   * @param {{ provider: any, mfa: Mfa, config: any, facts: any, csrf: Csrf, log: (line: string) => void }} deps
   */
  constructor({ provider, mfa, config, facts, csrf, log }) {
    this.provider = provider;
    this.mfa = mfa;
    this.config = config;
    this.facts = facts;
    this.csrf = csrf;
    this.log = log;
    /** Enrollments and codes in progress, by session uid: never in a cookie. */
    this.pending = new Map();
  }

  /** Handles the Security and admin pages; false if the path is not one of them. */
  async handle(ctx) {
    const p = ctx.path;
    const ours = p === '/security/callback' || p === '/security/mfa' || p.startsWith('/security/mfa/')
      || p === '/admin' || p.startsWith('/admin/') || p === '/approve' || p === '/approve/code' || p === '/approve/answer';
    if (!ours) return false;
    await this.route(ctx);
    return true;
  }

  async route(ctx) {
    const p = ctx.path;
    if (p === '/security/callback') {
      if (ctx.method !== 'GET') throw new BadRequest('There is no such page.', 404);
      return this.callback(ctx);
    }
    const admin = p.startsWith('/admin');
    const approving = p.startsWith('/approve');
    const where = admin ? 'admin' : approving ? 'approve' : 'mfa';
    const session = await this.provider.Session.get(ctx);
    const user = session.accountId ? this.config.users.get(session.accountId) : undefined;
    if (user === undefined) return this.signIn(ctx, where);
    const { value: status, error } = await this.mfa.status(user.name, now());
    if (error) {
      this.log(`status of ${JSON.stringify(user.name)}: ${errorLine(error)}`);
      return sendPage(ctx, pages.error({ text: say.UNAVAILABLE, status: 503 }), 503);
    }
    // A session a reset, a lock or a change of factors ended: sign in again.
    if (!live(session, status)) return this.signIn(ctx, where);
    const scope = `session:${session.uid}`;
    const me = { user, session, status, uid: session.uid, scope, csrf: this.csrf.token(ctx, scope) };
    if (admin) {
      if (!user.groups.some((g) => this.config.adminGroups.includes(g))) {
        throw new BadRequest('Only administrators can open this page. Your account is not in one of the policy’s admin groups.', 403, 'Administrators only');
      }
      if (await this.refused(ctx, me, ADMIN, where)) return true;
      if (ctx.method === 'GET' && p === '/admin') return this.admin(ctx, me);
      return this.adminAction(ctx, me);
    }
    if (approving) {
      if (ctx.method === 'GET' && p === '/approve') return approvePage(this, ctx, me, new Map());
      if (ctx.method !== 'POST' || p === '/approve') throw new BadRequest('There is no such page.', 404);
      const fields = await readForm(ctx);
      this.csrf.check(ctx, fields, scope);
      return approvePage(this, ctx, me, fields);
    }
    if (ctx.method === 'GET') {
      if (p === '/security/mfa') return this.overview(ctx, me);
      if (p === '/security/mfa/totp') return this.totpPage(ctx, me);
      if (p === '/security/mfa/sms') return this.smsPage(ctx, me);
      if (p === '/security/mfa/codes') return this.codesPage(ctx, me);
      if (p === '/security/mfa/passkey') return this.passkeyPage(ctx, me);
      throw new BadRequest('There is no such page.', 404);
    }
    if (ctx.method !== 'POST') throw new BadRequest('There is no such page.', 404);
    // Only a passkey page's answer may be longer than a typed field.
    const fields = await readForm(ctx, p === '/security/mfa/passkey/finish' ? { response: MAX_PASSKEY_RESPONSE } : {});
    this.csrf.check(ctx, fields, scope);
    if (CHANGES.has(p) && await this.refused(ctx, me, MANAGE, where)) return true;
    switch (p) {
      case '/security/mfa/totp/begin': return this.totpBegin(ctx, me);
      case '/security/mfa/totp/confirm': return this.totpConfirm(ctx, me, fields.get('code') ?? '');
      case '/security/mfa/sms/begin': return this.smsBegin(ctx, me, fields.get('phone') ?? '');
      case '/security/mfa/sms/confirm': return this.smsConfirm(ctx, me, fields.get('code') ?? '');
      case '/security/mfa/recovery/regenerate': return this.regenerate(ctx, me);
      case '/security/mfa/remove': return this.remove(ctx, me, fields.get('factor') ?? '');
      case '/security/mfa/saved': return this.saved(ctx, me);
      case '/security/mfa/passkey/begin': return this.passkeyBegin(ctx, me, fields.get('name') ?? '');
      case '/security/mfa/passkey/finish': return this.passkeyFinish(ctx, me, fields.get('response') ?? '');
      case '/security/mfa/passkey/rename': return this.passkeyRename(ctx, me, fields.get('name') ?? '', fields.get('new_name') ?? '');
      case '/security/mfa/passkey/remove': return this.passkeyRemove(ctx, me, fields.get('name') ?? '');
      default: throw new BadRequest('There is no such page.', 404);
    }
  }

  /**
   * Whether `action` is refused to this session (and the answer sent): a
   * user with a factor needs one passed in this session within the
   * action's age, else signs in for a step-up and comes back to `where`; a
   * user without a factor may only add a first one, where the policy lets a
   * password alone enroll, and never administer.
   */
  async refused(ctx, me, action, where) {
    if (!me.status.enrolled) {
      if (action === MANAGE && this.facts.enrollAtLogin) return false;
      sendPage(ctx, action === ADMIN ? pages.adminNeedsFactor({ user: me.user.name }) : pages.firstFactorElsewhere({ user: me.user.name }), 403);
      return true;
    }
    const subject = { user: me.user.name, groups: me.user.groups, amr: [] };
    const context = { service: ACCOUNT_CLIENT, remote: remoteAddress(ctx), action, session: sessionOf(me.session) };
    const { value: d, error } = await this.mfa.decide(subject, context, now());
    if (error) {
      this.log(`${action} step-up of ${JSON.stringify(me.user.name)}: ${errorLine(error)}`);
      sendPage(ctx, pages.error({ text: say.UNAVAILABLE, status: 503 }), 503);
      return true;
    }
    if (d.tag === 'not-required' && d.val.tag === 'recent-mfa') return false;
    if (d.tag === 'required') {
      this.signIn(ctx, where, action);
      return true;
    }
    const text = d.tag === 'denied' && d.val.tag === 'locked-out'
      ? say.lockedUntil(d.val.val)
      : 'This needs a second factor passed in this session, and your account is not asked for one. Ask another administrator.';
    sendPage(ctx, pages.error({ title: 'Not now', text, status: 403 }), 403);
    return true;
  }

  /**
   * Starts a sign-in through the provider's own client, for a step-up
   * `action` if given, then comes back to `where` (a name in RETURN_TO).
   */
  signIn(ctx, where, action = null) {
    const state = crypto.randomBytes(16).toString('base64url');
    ctx.cookies.set(STATE_COOKIE, `${state}.${where}.${action ?? ''}`, { httpOnly: true, sameSite: 'lax', signed: true, maxAge: 600_000, path: '/security/callback', secure: ctx.secure });
    const q = new URLSearchParams({
      client_id: ACCOUNT_CLIENT,
      response_type: 'none',
      scope: 'openid',
      redirect_uri: `${this.config.issuer}/security/callback`,
      state,
      ...(action ? { acr_values: ACR_STEP_UP + action } : {}),
    });
    seeOther(ctx, `/auth?${q}`);
    return true;
  }

  async callback(ctx) {
    const saved = ctx.cookies.get(STATE_COOKIE, { signed: true }) ?? '';
    const [state, where, action] = saved.split('.');
    ctx.cookies.set(STATE_COOKIE, null, { path: '/security/callback' });
    if (!state || ctx.query.state !== state) {
      throw new BadRequest('This sign-in did not start in this browser. Open the Security page again.', 400, 'This sign-in has ended');
    }
    if (ctx.query.error) throw new BadRequest('You did not finish signing in, so nothing was changed.', 400, 'Sign-in not finished');
    const session = await this.provider.Session.get(ctx);
    if (action === MANAGE && session.uid) {
      this.setPending(session.uid, { notice: { kind: 'info', text: 'Second factor confirmed. You can change your factors now: choose the change again.' } });
    }
    seeOther(ctx, RETURN_TO[where] ?? RETURN_TO.mfa);
    return true;
  }

  pendingOf(uid) {
    const p = this.pending.get(uid);
    if (p && p.expires > Date.now()) return p;
    this.pending.delete(uid);
    return {};
  }

  setPending(uid, values) {
    const t = Date.now();
    // Bounded by evicting what expired, never by dropping what is live.
    if (this.pending.size > 10_000) for (const [k, v] of this.pending) if (v.expires <= t) this.pending.delete(k);
    this.pending.set(uid, { ...this.pendingOf(uid), ...values, expires: t + 10 * 60 * 1000 });
  }

  /** Takes the one-shot notice of this session. */
  notice(me) {
    const n = this.pendingOf(me.uid).notice ?? null;
    if (n) this.setPending(me.uid, { notice: null });
    return n;
  }

  fail(ctx, me, error, to = '/security/mfa') {
    if (!['input', 'wrong-code', 'phone', 'sms-disabled', 'sms-rate-limited', 'sms-delivery-failed', 'no-pending-enrollment', 'not-enrolled', 'last-factor-required', 'locked', 'passkey'].includes(error.tag)) {
      this.log(`security page of ${JSON.stringify(me.user.name)}: ${errorLine(error)}`);
    }
    this.setPending(me.uid, { notice: { kind: 'error', text: say.errorText(error) } });
    seeOther(ctx, to);
    return true;
  }

  async overview(ctx, me) {
    const s = me.status;
    const has = (f) => s.factors.includes(f);
    const mayAdd = s.enrolled || this.facts.enrollAtLogin;
    const removeButton = (factor, label) => form({
      action: '/security/mfa/remove',
      csrf: me.csrf,
      fields: html`<input type="hidden" name="factor" value="${factor}">`,
      submit: label,
      className: 'inline danger',
    });
    // Offered even where a first factor cannot be added here: the page it
    // leads to says whom to ask.
    const app = has('totp')
      ? html`<p class="state on">On</p>${removeButton('totp', 'Remove authenticator app')}`
      : html`<p class="state">Not set up</p>${form({ action: '/security/mfa/totp/begin', csrf: me.csrf, fields: '', submit: 'Set up authenticator app', className: 'inline' })}`;
    // SMS is offered only where the policy turns it on; a number set up
    // before it was turned off can still be removed.
    let sms = html``;
    if (has('sms') || s.smsNumber !== undefined) {
      sms = html`<section aria-labelledby="sms-h"><h2 id="sms-h">Text message (SMS)</h2><p>${say.SMS_WEAKER}</p><p class="state on">On: ${s.smsNumber ?? ''}</p>${removeButton('sms', 'Remove SMS')}</section>`;
    } else if (this.facts.smsEnabled) {
      sms = html`<section aria-labelledby="sms-h"><h2 id="sms-h">Text message (SMS)</h2><p>${say.SMS_WEAKER}</p><p class="state">Not set up</p>${mayAdd ? html`<form method="get" action="/security/mfa/sms"><button class="secondary" type="submit">Set up SMS</button></form>` : ''}</section>`;
    }
    const passkeys = this.facts.passkeysEnabled || s.passkeys.length > 0
      ? this.passkeySection(me, mayAdd)
      : '';
    const recovery = s.enrolled
      ? html`<p class="state">${s.recoveryRemaining} unused recovery codes</p>${form({ action: '/security/mfa/recovery/regenerate', csrf: me.csrf, fields: '', submit: 'Generate new recovery codes', className: 'inline' })}<p class="hint">New codes replace the old ones at once.</p>`
      : html`<p class="state">You get recovery codes when you set up your first factor.</p>`;
    const due = !s.enrolled && s.enrollBy !== undefined
      ? { kind: 'warning', text: say.graceReminder(s.enrollBy) }
      : null;
    const first = mayAdd ? '' : html`<p class="notice info" role="note">${pages.FIRST_FACTOR_ELSEWHERE}</p>`;
    sendPage(ctx, page({
      title: 'Multi-factor authentication',
      user: me.user.name,
      notice: this.notice(me) ?? due,
      body: html`<p class="lede">A second proof of identity after your password. Your organisation’s policy decides whether it is required.</p>
${first}
<section aria-labelledby="app-h"><h2 id="app-h">Authenticator app</h2><p>Codes from Google Authenticator, 1Password, Authy or another TOTP app. They change every 30 seconds; keep your phone’s clock accurate.</p>${app}</section>
${passkeys}
${sms}
<section aria-labelledby="rc-h"><h2 id="rc-h">Recovery codes</h2><p>One-time codes for when you lose your device. Keep them somewhere safe.</p>${recovery}</section>
${s.lockedUntil !== undefined ? html`<p class="notice error" role="status">${say.lockedUntil(s.lockedUntil)}</p>` : ''}
<p class="hint">Adding, replacing or removing a factor asks for a second factor again if yours did not pass in the last few minutes.</p>
<p><a href="/session/end">Sign out</a></p>`,
    }));
    return true;
  }

  async totpPage(ctx, me) {
    const p = this.pendingOf(me.uid);
    if (!p.enrollment) return seeOther(ctx, '/security/mfa');
    sendPage(ctx, pages.totpEnroll({ action: '/security/mfa/totp/confirm', csrf: me.csrf, user: me.user.name, enrollment: p.enrollment, notice: this.notice(me) }));
    return true;
  }

  async totpBegin(ctx, me) {
    const { value, error } = await this.mfa.beginTotp(me.user.name, now());
    if (error) return this.fail(ctx, me, error);
    this.setPending(me.uid, { enrollment: value });
    seeOther(ctx, '/security/mfa/totp');
    return true;
  }

  async totpConfirm(ctx, me, input) {
    if (!this.pendingOf(me.uid).enrollment) return seeOther(ctx, '/security/mfa');
    const { value: codes, error } = await this.mfa.confirmTotp(me.user.name, Buffer.from(input.trim(), 'utf8'), now());
    if (error) {
      if (error.tag === 'wrong-code' || error.tag === 'input') return this.fail(ctx, me, error, '/security/mfa/totp');
      this.setPending(me.uid, { enrollment: null });
      return this.fail(ctx, me, error);
    }
    this.setPending(me.uid, { enrollment: null });
    // The change ended every other session; the new app's code is this one's second factor.
    await revalidate(me.session, me.status.sessionsEpoch, { passedMfa: true });
    return this.showCodes(ctx, me, codes, 'Authenticator app added.');
  }

  showCodes(ctx, me, codes, done) {
    if (codes.length === 0) {
      this.setPending(me.uid, { notice: { kind: 'info', text: `${done} Your recovery codes are unchanged.` } });
      seeOther(ctx, '/security/mfa');
      return true;
    }
    this.setPending(me.uid, { codes, done });
    seeOther(ctx, '/security/mfa/codes');
    return true;
  }

  async codesPage(ctx, me) {
    const p = this.pendingOf(me.uid);
    if (!p.codes) return seeOther(ctx, '/security/mfa');
    // Shown once: taken from memory as the page is made.
    this.setPending(me.uid, { codes: null });
    sendPage(ctx, pages.recoveryCodes({ action: '/security/mfa/saved', csrf: me.csrf, user: me.user.name, codes: p.codes }));
    return true;
  }

  async saved(ctx, me) {
    const p = this.pendingOf(me.uid);
    this.setPending(me.uid, { notice: { kind: 'info', text: p.done ?? 'Recovery codes saved.' }, done: null });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  async smsPage(ctx, me) {
    const p = this.pendingOf(me.uid);
    if (!this.facts.smsEnabled) {
      this.setPending(me.uid, { notice: { kind: 'error', text: say.errorText({ tag: 'sms-disabled' }) } });
      return seeOther(ctx, '/security/mfa');
    }
    const notice = this.notice(me);
    const body = p.smsTo
      ? html`<p>We texted a code to <strong>${p.smsTo}</strong>. Enter it to turn on SMS codes.</p>
${form({ action: '/security/mfa/sms/confirm', csrf: me.csrf, fields: field({ name: 'code', label: 'Code from the text', autocomplete: 'one-time-code', autofocus: true, error: notice?.kind === 'error', extra: ' inputmode="numeric" maxlength="16"' }), submit: 'Confirm' })}`
      : html`<div class="notice warning" role="note"><p>${say.SMS_WEAKER}</p><p>${say.SMS_MAY_FAIL}</p></div>
<p>Carriers may charge for texts, and some regions restrict automated SMS, so SMS is something you choose to turn on.</p>
${form({ action: '/security/mfa/sms/begin', csrf: me.csrf, fields: field({ name: 'phone', label: 'Mobile number', type: 'tel', autocomplete: 'tel', hint: 'In international form, like +44 7700 900123', autofocus: true, error: notice?.kind === 'error' }), submit: 'Text me a code' })}`;
    sendPage(ctx, page({ title: 'Set up SMS codes', user: me.user.name, notice, body: html`${body}<p><a href="/security/mfa">Back to Security</a></p>` }));
    return true;
  }

  async smsBegin(ctx, me, phone) {
    const { value, error } = await this.mfa.beginSms(me.user.name, phone.replace(/[\s().-]/g, ''), now());
    if (error) return this.fail(ctx, me, error, '/security/mfa/sms');
    this.setPending(me.uid, { smsTo: value });
    seeOther(ctx, '/security/mfa/sms');
    return true;
  }

  async smsConfirm(ctx, me, input) {
    if (!this.pendingOf(me.uid).smsTo) return seeOther(ctx, '/security/mfa');
    const { value: codes, error } = await this.mfa.confirmSms(me.user.name, Buffer.from(input.trim(), 'utf8'), now());
    if (error) {
      if (error.tag === 'wrong-code' || error.tag === 'input') return this.fail(ctx, me, error, '/security/mfa/sms');
      this.setPending(me.uid, { smsTo: null });
      return this.fail(ctx, me, error);
    }
    this.setPending(me.uid, { smsTo: null });
    await revalidate(me.session, me.status.sessionsEpoch, { passedMfa: true });
    return this.showCodes(ctx, me, codes, 'SMS codes are on.');
  }

  async regenerate(ctx, me) {
    const { value: codes, error } = await this.mfa.regenerateRecoveryCodes(me.user.name, now());
    if (error) return this.fail(ctx, me, error);
    await revalidate(me.session, me.status.sessionsEpoch);
    return this.showCodes(ctx, me, codes, 'New recovery codes made; the old ones no longer work.');
  }

  async remove(ctx, me, factor) {
    if (!['totp', 'sms'].includes(factor)) throw new BadRequest('There is no such factor.', 400);
    const subject = { user: me.user.name, groups: me.user.groups, amr: [] };
    const { error } = await this.mfa.removeFactor(subject, factor, now());
    if (error) return this.fail(ctx, me, error);
    await revalidate(me.session, me.status.sessionsEpoch);
    this.setPending(me.uid, { notice: { kind: 'info', text: `${say.FACTOR_NAMES[factor]} removed.` } });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  /** Passkeys on the overview: each with rename and remove, and "add". */
  passkeySection(me, mayAdd) {
    const s = me.status;
    const item = (p, i) => html`<li>${pages.passkeyLine(p)}
<details><summary>Rename or remove</summary>
${form({ action: '/security/mfa/passkey/rename', csrf: me.csrf, fields: html`<input type="hidden" name="name" value="${p.name}">${field({ name: 'new_name', id: `rename-${i}`, label: 'New name', value: p.name, extra: ' maxlength="64"' })}`, submit: 'Rename', className: 'inline' })}
${form({ action: '/security/mfa/passkey/remove', csrf: me.csrf, fields: html`<input type="hidden" name="name" value="${p.name}">`, submit: html`Remove ${p.name}`, className: 'inline danger' })}
</details></li>`;
    const list = s.passkeys.length
      ? html`<ul class="passkeys">${s.passkeys.map(item)}</ul>`
      : html`<p class="state">None yet</p>`;
    const add = this.facts.passkeysEnabled && mayAdd
      ? form({ action: '/security/mfa/passkey/begin', csrf: me.csrf, fields: field({ name: 'name', id: 'passkey-name', label: 'Name it', hint: 'So you can tell your keys apart, like “YubiKey 5C” or “Pixel”', extra: ' maxlength="64"' }), submit: 'Add a passkey or security key', className: 'inline' })
      : '';
    return html`<section aria-labelledby="pk-h"><h2 id="pk-h">Passkeys and security keys</h2><p>Sign in with your fingerprint, face, device PIN or a security key. A passkey works only on this site, so a fake sign-in page cannot use it.</p>${list}${add}</section>`;
  }

  async passkeyBegin(ctx, me, name) {
    const { value: options, error } = await this.mfa.passkeyRegistrationOptions(me.user.name, me.user.displayName ?? me.user.name, now());
    if (error) return this.fail(ctx, me, error);
    this.setPending(me.uid, { passkey: { name: name.trim().slice(0, 256), options } });
    seeOther(ctx, '/security/mfa/passkey');
    return true;
  }

  async passkeyPage(ctx, me) {
    const p = this.pendingOf(me.uid).passkey;
    if (!p) return seeOther(ctx, '/security/mfa');
    sendPage(ctx, pages.passkeyCeremony({
      title: 'Add a passkey or security key',
      lede: html`Your browser will ask where to keep the passkey “${p.name}”: on this device, on your phone, or on a security key you plug in or tap.`,
      kind: 'create',
      options: p.options,
      action: '/security/mfa/passkey/finish',
      csrf: me.csrf,
      user: me.user.name,
      submit: 'Continue',
      notice: this.notice(me),
      after: html`<p><a href="/security/mfa">Cancel</a></p>`,
    }));
    return true;
  }

  async passkeyFinish(ctx, me, response) {
    const p = this.pendingOf(me.uid).passkey;
    if (!p) return seeOther(ctx, '/security/mfa');
    this.setPending(me.uid, { passkey: null });
    const { value: codes, error } = await this.mfa.registerPasskey(me.user.name, p.name, response, now());
    if (error) return this.fail(ctx, me, error);
    // The change ended every other session; this one goes on.
    await revalidate(me.session, me.status.sessionsEpoch);
    return this.showCodes(ctx, me, codes, `Passkey “${p.name}” added.`);
  }

  async passkeyRename(ctx, me, name, newName) {
    const { error } = await this.mfa.renamePasskey(me.user.name, name, newName, now());
    if (error) return this.fail(ctx, me, error);
    this.setPending(me.uid, { notice: { kind: 'info', text: `Passkey renamed to “${newName.trim()}”.` } });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  async passkeyRemove(ctx, me, name) {
    const subject = { user: me.user.name, groups: me.user.groups, amr: [] };
    const { error } = await this.mfa.removePasskey(subject, name, now());
    if (error) return this.fail(ctx, me, error);
    await revalidate(me.session, me.status.sessionsEpoch);
    this.setPending(me.uid, { notice: { kind: 'info', text: `Passkey “${name}” removed.` } });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  /** The admin page: look a user up, then reset (confirmed) or unlock. */
  async admin(ctx, me) {
    const name = String(ctx.query.user ?? '').trim().slice(0, 64);
    let found = null;
    if (name !== '') {
      if (!this.config.users.has(name)) {
        found = { name, missing: true };
      } else {
        const { value, error } = await this.mfa.status(name, now());
        if (error) {
          this.log(`admin ${JSON.stringify(me.user.name)} looking up ${JSON.stringify(name)}: ${errorLine(error)}`);
          found = { name, error: true };
        } else {
          found = { name, status: value };
        }
      }
    }
    sendPage(ctx, pages.admin({ me, found, notice: this.notice(me) }));
    return true;
  }

  async adminAction(ctx, me) {
    if (ctx.method !== 'POST' || !['/admin/reset', '/admin/unlock'].includes(ctx.path)) throw new BadRequest('There is no such page.', 404);
    const fields = await readForm(ctx);
    this.csrf.check(ctx, fields, me.scope);
    const name = (fields.get('user') ?? '').trim();
    if (!this.config.users.has(name)) {
      this.setPending(me.uid, { notice: { kind: 'error', text: 'There is no such user.' } });
      seeOther(ctx, '/admin');
      return true;
    }
    const back = `/admin?${new URLSearchParams({ user: name })}`;
    if (ctx.path === '/admin/unlock') {
      const { error } = await this.mfa.adminUnlock(name, now());
      return this.adminDone(ctx, me, name, error, back, `${name} was unlocked.`);
    }
    const reason = (fields.get('reason') ?? '').trim();
    if (reason === '') {
      this.setPending(me.uid, { notice: { kind: 'error', text: 'Give a reason: it is kept in the audit log.' } });
      seeOther(ctx, back);
      return true;
    }
    if (fields.get('confirm') !== 'yes') {
      // A reset removes every factor of the user everywhere: say so first.
      const { value: status } = await this.mfa.status(name, now());
      sendPage(ctx, pages.confirmReset({ me, name, reason, status }));
      return true;
    }
    const { error } = await this.mfa.adminReset(name, `${reason} (by ${me.user.name})`, now());
    return this.adminDone(ctx, me, name, error, back, `${name}’s two-factor authentication was reset. They will be asked to enroll at their next sign-in.`);
  }

  adminDone(ctx, me, name, error, back, done) {
    if (error) {
      this.log(`admin ${JSON.stringify(me.user.name)} on ${JSON.stringify(name)}: ${errorLine(error)}`);
      this.setPending(me.uid, { notice: { kind: 'error', text: say.errorText(error) } });
    } else {
      this.setPending(me.uid, { notice: { kind: 'info', text: done } });
    }
    seeOther(ctx, back);
    return true;
  }
}
