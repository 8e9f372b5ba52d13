// Security → Multi-factor authentication: the page of the product
// documentation. Add an authenticator app (QR code or the key by hand,
// confirmed with a code, then recovery codes shown once), opt in to SMS
// (with the warnings, confirmed with a texted code), see and regenerate
// recovery codes, remove a factor. The admin page resets and unlocks users.
//
// Both need a signed-in session of this provider: without one, the browser
// signs in through the provider's own client (`planasonix-account`, response
// type `none`), so the same sign-in pages and the same MFA decision apply.
import crypto from 'node:crypto';
import { BadRequest, checkCsrf, csrfToken, readForm, seeOther, sendPage } from './http.mjs';
import { field, form, html, page } from './html.mjs';
import * as pages from './pages.mjs';
import * as say from './messages.mjs';
import { ACCOUNT_CLIENT } from './provider.mjs';

const now = () => BigInt(Math.floor(Date.now() / 1000));
const STATE_COOKIE = 'planasonix.account-state';

export class Security {
  constructor({ provider, mfa, config, log }) {
    this.provider = provider;
    this.mfa = mfa;
    this.config = config;
    this.log = log;
    /** Enrollments and codes in progress, by session uid: never in a cookie. */
    this.pending = new Map();
  }

  /** Handles the Security and admin pages; false if the path is not one of them. */
  async handle(ctx) {
    const p = ctx.path;
    const ours = p === '/security/callback' || p === '/security/mfa' || p.startsWith('/security/mfa/')
      || p === '/admin' || p.startsWith('/admin/');
    if (!ours) return false;
    await this.route(ctx);
    return true;
  }

  async route(ctx) {
    const p = ctx.path;
    if (p === '/security/callback') {
      if (ctx.method !== 'GET') throw new BadRequest('Not found.', 404);
      return this.callback(ctx);
    }
    const session = await this.provider.Session.get(ctx);
    const user = session.accountId ? this.config.users.get(session.accountId) : undefined;
    if (user === undefined) return this.signIn(ctx, p.startsWith('/admin') ? '/admin' : '/security/mfa');
    const me = { user, uid: session.uid, csrf: csrfToken(ctx) };
    if (p.startsWith('/admin')) {
      if (!user.groups.some((g) => this.config.adminGroups.includes(g))) {
        throw new BadRequest('Only administrators may use this page.', 403);
      }
      return ctx.method === 'GET' && p === '/admin' ? this.admin(ctx, me) : this.adminAction(ctx, me);
    }
    if (ctx.method === 'GET') {
      if (p === '/security/mfa') return this.overview(ctx, me);
      if (p === '/security/mfa/totp') return this.totpPage(ctx, me);
      if (p === '/security/mfa/sms') return this.smsPage(ctx, me);
      if (p === '/security/mfa/codes') return this.codesPage(ctx, me);
      throw new BadRequest('Not found.', 404);
    }
    if (ctx.method !== 'POST') throw new BadRequest('Not found.', 404);
    const fields = await readForm(ctx);
    checkCsrf(ctx, fields);
    switch (p) {
      case '/security/mfa/totp/begin': return this.totpBegin(ctx, me);
      case '/security/mfa/totp/confirm': return this.totpConfirm(ctx, me, fields.get('code') ?? '');
      case '/security/mfa/sms/begin': return this.smsBegin(ctx, me, fields.get('phone') ?? '');
      case '/security/mfa/sms/confirm': return this.smsConfirm(ctx, me, fields.get('code') ?? '');
      case '/security/mfa/recovery/regenerate': return this.regenerate(ctx, me);
      case '/security/mfa/remove': return this.remove(ctx, me, fields.get('factor') ?? '');
      case '/security/mfa/saved': return this.saved(ctx, me);
      default: throw new BadRequest('Not found.', 404);
    }
  }

  /** Starts a sign-in through the provider's own client, then comes back to `next`. */
  signIn(ctx, next) {
    const state = crypto.randomBytes(16).toString('base64url');
    ctx.cookies.set(STATE_COOKIE, `${state}.${next === '/admin' ? 'admin' : 'mfa'}`, { httpOnly: true, sameSite: 'lax', signed: true, maxAge: 600_000, path: '/security/callback', secure: ctx.secure });
    const q = new URLSearchParams({
      client_id: ACCOUNT_CLIENT,
      response_type: 'none',
      scope: 'openid',
      redirect_uri: `${this.config.issuer}/security/callback`,
      state,
    });
    seeOther(ctx, `/auth?${q}`);
  }

  callback(ctx) {
    const saved = ctx.cookies.get(STATE_COOKIE, { signed: true }) ?? '';
    const [state, where] = saved.split('.');
    ctx.cookies.set(STATE_COOKIE, null, { path: '/security/callback' });
    if (!state || ctx.query.state !== state) {
      throw new BadRequest('This sign-in did not start in this browser. Open the Security page again.', 400);
    }
    if (ctx.query.error) throw new BadRequest('You did not finish signing in.', 400);
    seeOther(ctx, where === 'admin' ? '/admin' : '/security/mfa');
    return true;
  }

  pendingOf(me) {
    const p = this.pending.get(me.uid);
    if (p && p.expires > Date.now()) return p;
    this.pending.delete(me.uid);
    return {};
  }

  setPending(me, values) {
    if (this.pending.size > 10_000) this.pending.clear();
    this.pending.set(me.uid, { ...this.pendingOf(me), ...values, expires: Date.now() + 10 * 60 * 1000 });
  }

  /** Takes the one-shot notice of this session. */
  notice(me) {
    const p = this.pendingOf(me);
    const n = p.notice ?? null;
    if (n) this.setPending(me, { notice: null });
    return n;
  }

  fail(ctx, me, error, to = '/security/mfa') {
    if (!['input', 'wrong-code', 'phone', 'sms-disabled', 'sms-rate-limited', 'sms-delivery-failed', 'no-pending-enrollment', 'not-enrolled', 'last-factor-required', 'locked'].includes(error.tag)) {
      this.log(`security page of ${JSON.stringify(me.user.name)}: ${error.tag}: ${error.val ?? ''}`);
    }
    this.setPending(me, { notice: { kind: 'error', text: say.errorText(error) } });
    seeOther(ctx, to);
    return true;
  }

  async overview(ctx, me) {
    const { value: s, error } = await this.mfa.status(me.user.name, now());
    if (error) {
      this.log(`status of ${JSON.stringify(me.user.name)}: ${error.tag}: ${error.val ?? ''}`);
      return sendPage(ctx, pages.error({ text: say.UNAVAILABLE }), 503);
    }
    const has = (f) => s.factors.includes(f);
    const removeButton = (factor, label) => form({
      action: '/security/mfa/remove',
      csrf: me.csrf,
      fields: html`<input type="hidden" name="factor" value="${factor}">`,
      submit: label,
      className: 'inline danger',
    });
    const app = has('totp')
      ? html`<p class="state on">On</p>${removeButton('totp', 'Remove authenticator app')}`
      : html`<p class="state">Not set up</p><form method="get" action="/security/mfa/totp"><button class="primary" type="submit">Set up authenticator app</button></form>`;
    const sms = has('sms')
      ? html`<p class="state on">On: ${s.smsNumber ?? ''}</p>${removeButton('sms', 'Remove SMS')}`
      : html`<p class="state">Not set up</p><form method="get" action="/security/mfa/sms"><button class="secondary" type="submit">Set up SMS</button></form>`;
    const recovery = s.enrolled
      ? html`<p class="state">${s.recoveryRemaining} unused recovery codes</p>${form({ action: '/security/mfa/recovery/regenerate', csrf: me.csrf, fields: '', submit: 'Generate new recovery codes', className: 'inline' })}<p class="hint">New codes replace the old ones at once.</p>`
      : html`<p class="state">You get recovery codes when you set up your first factor.</p>`;
    const due = !s.enrolled && s.enrollBy !== undefined
      ? { kind: 'warning', text: say.graceReminder(s.enrollBy) }
      : null;
    sendPage(ctx, page({
      title: 'Multi-factor authentication',
      user: me.user.name,
      notice: this.notice(me) ?? due,
      body: html`<p class="lede">A second proof of identity after your password. Your organisation’s policy decides whether it is required.</p>
<section aria-labelledby="app-h"><h2 id="app-h">Authenticator app</h2><p>Codes from Google Authenticator, 1Password, Authy or another TOTP app. They change every 30 seconds; keep your phone’s clock accurate.</p>${app}</section>
<section aria-labelledby="sms-h"><h2 id="sms-h">Text message (SMS)</h2><p>${say.SMS_WEAKER}</p>${sms}</section>
<section aria-labelledby="rc-h"><h2 id="rc-h">Recovery codes</h2><p>One-time codes for when you lose your device. Keep them somewhere safe.</p>${recovery}</section>
${s.lockedUntil !== undefined ? html`<p class="notice error" role="status">${say.lockedUntil(s.lockedUntil)}</p>` : ''}
<p><a href="/session/end">Sign out</a></p>`,
    }));
    return true;
  }

  async totpPage(ctx, me) {
    const p = this.pendingOf(me);
    if (!p.enrollment) return seeOther(ctx, '/security/mfa');
    sendPage(ctx, pages.totpEnroll({ action: '/security/mfa/totp/confirm', csrf: me.csrf, user: me.user.name, enrollment: p.enrollment, notice: this.notice(me) }));
    return true;
  }

  async totpBegin(ctx, me) {
    const { value, error } = await this.mfa.beginTotp(me.user.name, now());
    if (error) return this.fail(ctx, me, error);
    this.setPending(me, { enrollment: value });
    seeOther(ctx, '/security/mfa/totp');
    return true;
  }

  async totpConfirm(ctx, me, input) {
    const { value: codes, error } = await this.mfa.confirmTotp(me.user.name, Buffer.from(input.trim(), 'utf8'), now());
    if (error) {
      if (error.tag === 'wrong-code' || error.tag === 'input') return this.fail(ctx, me, error, '/security/mfa/totp');
      this.setPending(me, { enrollment: null });
      return this.fail(ctx, me, error);
    }
    this.setPending(me, { enrollment: null });
    return this.showCodes(ctx, me, codes, 'Authenticator app added.');
  }

  showCodes(ctx, me, codes, done) {
    if (codes.length === 0) {
      this.setPending(me, { notice: { kind: 'info', text: `${done} Your recovery codes are unchanged.` } });
      seeOther(ctx, '/security/mfa');
      return true;
    }
    this.setPending(me, { codes, done });
    seeOther(ctx, '/security/mfa/codes');
    return true;
  }

  async codesPage(ctx, me) {
    const p = this.pendingOf(me);
    if (!p.codes) return seeOther(ctx, '/security/mfa');
    // Shown once: taken from memory as the page is made.
    this.setPending(me, { codes: null });
    sendPage(ctx, pages.recoveryCodes({ action: '/security/mfa/saved', csrf: me.csrf, user: me.user.name, codes: p.codes }));
    return true;
  }

  async saved(ctx, me) {
    const p = this.pendingOf(me);
    this.setPending(me, { notice: { kind: 'info', text: p.done ?? 'Recovery codes saved.' }, done: null });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  async smsPage(ctx, me) {
    const p = this.pendingOf(me);
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
    this.setPending(me, { smsTo: value });
    seeOther(ctx, '/security/mfa/sms');
    return true;
  }

  async smsConfirm(ctx, me, input) {
    const { value: codes, error } = await this.mfa.confirmSms(me.user.name, Buffer.from(input.trim(), 'utf8'), now());
    if (error) {
      if (error.tag === 'wrong-code' || error.tag === 'input') return this.fail(ctx, me, error, '/security/mfa/sms');
      this.setPending(me, { smsTo: null });
      return this.fail(ctx, me, error);
    }
    this.setPending(me, { smsTo: null });
    return this.showCodes(ctx, me, codes, 'SMS codes are on.');
  }

  async regenerate(ctx, me) {
    const { value: codes, error } = await this.mfa.regenerateRecoveryCodes(me.user.name, now());
    if (error) return this.fail(ctx, me, error);
    return this.showCodes(ctx, me, codes, 'New recovery codes made; the old ones no longer work.');
  }

  async remove(ctx, me, factor) {
    if (!['totp', 'sms'].includes(factor)) throw new BadRequest('There is no such factor.', 400);
    const subject = { user: me.user.name, groups: me.user.groups, amr: [] };
    const { error } = await this.mfa.removeFactor(subject, factor, now());
    if (error) return this.fail(ctx, me, error);
    this.setPending(me, { notice: { kind: 'info', text: `${say.FACTOR_NAMES[factor]} removed.` } });
    seeOther(ctx, '/security/mfa');
    return true;
  }

  async admin(ctx, me) {
    const notice = this.notice(me);
    sendPage(ctx, page({
      title: 'Administration',
      user: me.user.name,
      notice,
      body: html`<section aria-labelledby="reset-h"><h2 id="reset-h">Reset a user’s two-factor authentication</h2>
<p>Check the person’s identity out of band first (a call to a known number, in person). A reset removes every factor and recovery code, tells the user, and opens a fresh enrollment window.</p>
${form({ action: '/admin/reset', csrf: me.csrf, fields: html`${field({ name: 'user', id: 'reset-user', label: 'User name', autocomplete: 'off' })}${field({ name: 'reason', id: 'reset-reason', label: 'Reason (kept in the audit log)', autocomplete: 'off' })}`, submit: 'Reset', className: 'danger' })}</section>
<section aria-labelledby="unlock-h"><h2 id="unlock-h">Lift a lockout</h2>
${form({ action: '/admin/unlock', csrf: me.csrf, fields: field({ name: 'user', id: 'unlock-user', label: 'User name', autocomplete: 'off' }), submit: 'Unlock' })}</section>`,
    }));
    return true;
  }

  async adminAction(ctx, me) {
    if (ctx.method !== 'POST' || !['/admin/reset', '/admin/unlock'].includes(ctx.path)) throw new BadRequest('Not found.', 404);
    const fields = await readForm(ctx);
    checkCsrf(ctx, fields);
    const name = (fields.get('user') ?? '').trim();
    if (!this.config.users.has(name)) {
      this.setPending(me, { notice: { kind: 'error', text: 'There is no such user.' } });
      seeOther(ctx, '/admin');
      return true;
    }
    const reason = (fields.get('reason') ?? '').trim();
    const { error } = ctx.path === '/admin/reset'
      ? (reason === ''
        ? { error: { tag: 'input-reason' } }
        : await this.mfa.adminReset(name, `${reason} (by ${me.user.name})`, now()))
      : await this.mfa.adminUnlock(name, now());
    if (error?.tag === 'input-reason') {
      this.setPending(me, { notice: { kind: 'error', text: 'Give a reason: it is kept in the audit log.' } });
    } else if (error) {
      this.log(`admin ${JSON.stringify(me.user.name)} on ${JSON.stringify(name)}: ${error.tag}: ${error.val ?? ''}`);
      this.setPending(me, { notice: { kind: 'error', text: say.errorText(error) } });
    } else {
      this.setPending(me, { notice: { kind: 'info', text: ctx.path === '/admin/reset' ? `${name}’s two-factor authentication was reset. They will be asked to enroll at their next sign-in.` : `${name} was unlocked.` } });
    }
    seeOther(ctx, '/admin');
    return true;
  }
}
