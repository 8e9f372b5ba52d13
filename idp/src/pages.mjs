// @ts-check
// The pages people see, as functions of what they must show. Each takes
// plain values and returns a whole page (html.mjs escapes every value).
import { esc, field, form, html, page, raw } from './html.mjs';
import * as say from './messages.mjs';

export function password({ action, csrf, client, username = '', notice = null, upstream = null, passwordless = null }) {
  const federated = upstream
    ? html`<form method="post" action="${upstream.action}" class="upstream"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary">Sign in with ${upstream.name}</button></form><p class="or">or with your password</p>`
    : '';
  const passkey = passwordless
    ? html`${passkeyForm({ kind: 'get', options: passwordless.options, action: passwordless.action, csrf, submit: 'Sign in with a passkey', primary: false, autofill: true })}<p class="or">or with your password</p>`
    : '';
  return page({
    title: 'Sign in',
    notice,
    scripts: passwordless ? [PASSKEY_SCRIPT] : [],
    body: html`<p class="lede">to continue to <strong>${client}</strong></p>
${federated}${passkey}
${form({
    action,
    csrf,
    // `webauthn`: the browser may offer passkeys in the user name field.
    fields: html`${field({ name: 'username', label: 'User name', autocomplete: passwordless ? 'username webauthn' : 'username', value: username, autofocus: username === '', error: notice?.kind === 'error' })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: username !== '' })}`,
    submit: 'Sign in',
  })}`,
  });
}

/**
 * A form that asks the browser for a passkey: `kind` "create" (register)
 * or "get" (sign in), `options` the engine's JSON for it. It posts the
 * browser's answer as `response` (static/passkey.js fills it in), and says
 * so when the browser cannot. A page with one loads that script. With
 * `autofill`, the script also asks the browser to offer the user's passkeys
 * in the page's user name field (conditional mediation), which posts the
 * same form when one is picked.
 * @param {{ kind: 'create' | 'get', options: string, action: string, csrf: string, submit: string,
 *   extra?: unknown, primary?: boolean, autofill?: boolean }} p
 */
export function passkeyForm({ kind, options, action, csrf, submit, extra = '', primary = true, autofill = false }) {
  return html`<form method="post" action="${action}" data-passkey="${kind}" data-options="${options}"${autofill ? raw(' data-autofill') : ''}>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="response" value="">
${extra}
<p class="notice error" role="alert" data-passkey-status hidden></p>
<p class="notice info" data-passkey-unsupported>Passkeys need JavaScript in this browser. Turn it on, or use another way.</p>
<div class="actions"><button type="submit" class="${primary ? 'primary' : 'secondary'}">${submit}</button></div>
</form>`;
}

/** The script a page with a passkey form loads. */
export const PASSKEY_SCRIPT = '/static/passkey.js';

/**
 * A page that asks the browser for a passkey (`passkeyForm`), with a lede
 * and what follows the form.
 * @param {{ title: string, lede: unknown, kind: 'create' | 'get', options: string, action: string,
 *   csrf: string, user: string, submit: string, notice?: any, signingIn?: boolean, extra?: unknown, after?: unknown }} p
 */
export function passkeyCeremony({ title, lede, kind, options, action, csrf, user, submit, notice = null, signingIn = false, extra = '', after = '' }) {
  return page({
    title,
    notice,
    user,
    signingIn,
    scripts: [PASSKEY_SCRIPT],
    body: html`<p class="lede">${lede}</p>
${passkeyForm({ kind, options, action, csrf, submit, extra })}
${after}`,
  });
}

/** The second-factor prompt. `factors` are the component's (totp, sms, recovery, passkey). */
export function code({ action, csrf, user, factors, stepUp = null, notice = null, smsAction = null, passkeyAction = null, abort }) {
  const signingIn = true;
  const sms = factors.includes('sms') && smsAction
    ? html`<button type="submit" form="sms" class="secondary">Text me a code</button>`
    : '';
  const why = stepUp ? html`<p>${say.stepUp(stepUp)}</p>` : '';
  const passkey = factors.includes('passkey') && passkeyAction
    ? html`<form method="post" action="${passkeyAction}" class="passkey"><input type="hidden" name="csrf" value="${csrf}"><div class="actions"><button type="submit" class="primary">Use a passkey</button></div></form><p class="or">or a code</p>`
    : '';
  return page({
    title: 'Two-factor authentication',
    notice,
    user,
    signingIn,
    body: html`${why}${passkey}<p class="lede">Enter the 6-digit code from your authenticator app${factors.includes('sms') ? ', or the code we texted you' : ''}. Lost your device? Use one of your recovery codes.</p>
${form({
    action,
    csrf,
    fields: field({
      name: 'code',
      label: 'Verification code',
      autocomplete: 'one-time-code',
      hint: 'A 6-digit code, or a recovery code like 7KQ2M-XW9PD',
      error: notice?.kind === 'error',
      autofocus: true,
      extra: ' inputmode="text" spellcheck="false" autocapitalize="characters" maxlength="64"',
    }),
    submit: 'Verify',
    secondary: sms,
  })}
${smsAction ? html`<form method="post" action="${smsAction}" id="sms"><input type="hidden" name="csrf" value="${csrf}"></form>` : ''}
${cancel(abort, csrf)}`,
  });
}

/** A button that looks like a link and posts to `action`. */
export function postLink(action, csrf, label) {
  return html`<form method="post" action="${action}" class="cancel"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="link">${label}</button></form>`;
}

function cancel(abort, csrf) {
  return abort ? postLink(abort, csrf, 'Cancel sign-in') : '';
}

export function grace({ csrf, user, deadline, enroll, enrollPasskey = null, proceed, notice = null }) {
  const signingIn = true;
  const now = enroll
    ? html`<form method="get" action="${enroll}"><button type="submit" class="primary">Set up now</button></form>`
    : '';
  const passkey = enrollPasskey
    ? html`<form method="get" action="${enrollPasskey}"><button type="submit" class="secondary">Set up a passkey</button></form>`
    : '';
  const where = enroll
    ? ''
    : html`<p>Set it up on the <strong>Security</strong> page after you sign in: Security → Multi-factor authentication.</p>`;
  return page({
    title: 'Set up two-factor authentication',
    user,
    signingIn,
    notice: notice ?? { kind: 'warning', text: say.graceReminder(deadline) },
    body: html`<p>Two-factor authentication keeps your account safe even if your password is stolen: you sign in with your password and a code from an app on your phone${enrollPasskey ? ', or with a passkey' : ''}.</p>
${where}<div class="actions">
${now}${passkey}<form method="post" action="${proceed}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="${enroll ? 'secondary' : 'primary'}">${enroll ? 'Remind me later' : 'Continue'}</button></form>
</div>`,
  });
}

/** What to do about each reason a sign-in is refused (never a reset for a lock). */
const DENIED_ADVICE = {
  locked: say.LOCK_ENDS,
  overdue: 'An administrator can open a new enrollment window after checking who you are.',
  unavailable: 'Try again in a few minutes. If it keeps happening, tell your administrator.',
  'no-factor': 'Contact your administrator or IT helpdesk: they can check who you are and help you set up a factor again.',
  'no-passkey': 'Add a passkey on your Security page (signing in from another application), then come back.',
};

export function denied({ text, reason, abort, csrf }) {
  return page({
    title: 'You cannot sign in right now',
    notice: { kind: 'error', text },
    body: html`<p>${DENIED_ADVICE[reason] ?? DENIED_ADVICE.unavailable}</p>
${cancel(abort, csrf)}`,
  });
}

const ERROR_TITLES = {
  400: 'This request could not be completed',
  403: 'Not allowed',
  404: 'Page not found',
  413: 'Too much was sent',
  415: 'This page takes a form',
  503: 'Unavailable right now',
};

/** A refusal: what happened, and a link that goes somewhere. */
export function error({ title = null, text, status = 400 }) {
  const first = status === 404 ? 'Check the address, or' : 'Go back to the application you came from and start again, or';
  return page({
    title: title ?? ERROR_TITLES[status] ?? ERROR_TITLES[400],
    notice: { kind: 'error', text },
    body: html`<p>${first} <a href="/security/mfa">go to your security settings</a>.</p>`,
  });
}

export function recoveryAccepted({ csrf, user, remaining, proceed }) {
  const signingIn = true;
  return page({
    title: 'Recovery code accepted',
    user,
    signingIn,
    notice: { kind: remaining <= 3 ? 'warning' : 'info', text: say.recoveryAccepted(remaining) },
    body: html`<p>Each recovery code works once. You can make a new set on the <strong>Security</strong> page.</p>
${form({ action: proceed, csrf, fields: '', submit: 'Continue' })}`,
  });
}

/** Enrolling an authenticator app: QR code, the key, and the confirmation code. */
export function totpEnroll({ action, csrf, user, enrollment, notice = null, abort = null, signingIn = false }) {
  const qr = `data:image/svg+xml;base64,${Buffer.from(enrollment.qrSvg).toString('base64')}`;
  const key = enrollment.secretBase32.replace(/(.{4})/g, '$1 ').trim();
  return page({
    title: 'Set up an authenticator app',
    user,
    signingIn,
    notice,
    body: html`<ol class="steps">
<li><p>Open your authenticator app (Google Authenticator, 1Password, Authy, or another TOTP app) and add an account.</p></li>
<li><p>Scan this QR code:</p>
<img class="qr" src="${qr}" width="232" height="232" alt="QR code for your authenticator app. If you cannot scan it, type the key shown below.">
<p><a class="button secondary" href="${enrollment.uri}">Add to authenticator app</a> <span class="hint">on this device</span></p>
<details><summary>Can’t scan it? Type the key instead</summary>
<p>Key: <code class="secret" id="secret">${key}</code></p>
<p class="hint">Time-based, ${enrollment.algorithm}, ${enrollment.digits} digits, every ${enrollment.period} seconds.</p>
</details></li>
<li>${form({
    action,
    csrf,
    fields: field({
      name: 'code',
      label: 'Code shown by the app',
      autocomplete: 'one-time-code',
      hint: `The ${enrollment.digits}-digit code the app shows now. Codes change every ${enrollment.period} seconds; make sure your phone’s clock is right.`,
      error: notice?.kind === 'error',
      autofocus: true,
      extra: ' inputmode="numeric" maxlength="16"',
    }),
    submit: 'Confirm',
  })}</li>
</ol>
${cancel(abort, csrf)}`,
  });
}

/** New recovery codes, shown once, with a download and "I have saved them". */
export function recoveryCodes({ action, csrf, user, codes, submit = 'I have saved them', signingIn = false }) {
  const text = `Planasonix recovery codes for ${user}\nEach code works once.\n\n${codes.join('\n')}\n`;
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  return page({
    title: 'Save your recovery codes',
    user,
    signingIn,
    notice: { kind: 'warning', text: 'These codes are shown only once. Save them now.' },
    body: html`<p>If you lose your phone, a recovery code lets you sign in. Each works once. Keep them somewhere safe, such as a password manager, and not on the phone.</p>
<ul class="codes" aria-label="Recovery codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<p><a class="button secondary" href="${download}" download="planasonix-recovery-codes.txt">Download</a></p>
${form({ action, csrf, fields: '', submit })}`,
  });
}

export { esc, field, raw };

/** Said where a user without a factor may not add one with a password alone. */
export const FIRST_FACTOR_ELSEWHERE =
  'Your organisation does not let a password alone add the first second factor here. Ask your administrator how to set one up.';

export function firstFactorElsewhere({ user }) {
  return page({
    title: 'Ask your administrator',
    user,
    notice: { kind: 'info', text: FIRST_FACTOR_ELSEWHERE },
    body: html`<p>Anyone who learns a password could otherwise add their own authenticator to your account.</p><p><a href="/security/mfa">Back to Security</a></p>`,
  });
}

export function adminNeedsFactor({ user }) {
  return page({
    title: 'Administration needs a second factor',
    user,
    notice: { kind: 'warning', text: 'The administration page opens only after a second factor passed in this session, and your account has none yet.' },
    body: html`<p>Set up an authenticator app first (on the <a href="/security/mfa">Security page</a>, or ask another administrator), then open this page again.</p>`,
  });
}

/** Whether any lock holds: everywhere, or for some addresses. */
export const isLocked = (s) => s.lockedUntil !== undefined || s.remoteLocks.length > 0;

/** A user's locks in words: everywhere, then each address. */
function locks(s) {
  if (!isLocked(s)) return `Not locked (${s.recentFailures} recent wrong codes)`;
  const everywhere = s.lockedUntil !== undefined ? [html`Locked everywhere until ${say.moment(s.lockedUntil)}`] : [];
  const remote = s.remoteLocks.map((l) => html`Locked from ${l.remote ?? 'local logins'} until ${say.moment(l.until)}`);
  return html`${[...everywhere, ...remote].map((line, i) => html`${i ? html`<br>` : ''}${line}`)}`;
}

/** A passkey in a line: its name, when added and last used, and a clone warning. */
export function passkeyLine(p) {
  const used = p.lastUsed !== undefined ? html`last used ${say.moment(p.lastUsed)}` : html`never used`;
  const cloned = p.clonedAt !== undefined
    ? html` <strong class="bad">Refused since ${say.moment(p.clonedAt)}: its counter went back, so it may have been copied. Remove it and add it again.</strong>`
    : '';
  return html`<strong>${p.name}</strong> <span class="hint">added ${say.moment(p.since)}, ${used}${p.backupEligible ? ', synced' : ''}</span>${cloned}`;
}

/** One user's state for an admin: enrolled since, lock, last second factor. */
function userState(status) {
  const s = status;
  const factors = s.factors.filter((f) => f !== 'recovery').map((f) => say.FACTOR_NAMES[f]);
  const rows = [
    ['Second factor', s.enrolled
      ? html`${factors.join(', ') || 'Recovery codes only'}${s.totpSince !== undefined ? html`, app added ${say.moment(s.totpSince)}` : ''}`
      : html`None${s.enrollBy !== undefined ? html`; must enroll by ${say.moment(s.enrollBy)}` : ''}`],
    ...(s.passkeys.length ? [['Passkeys', html`${s.passkeys.map((p, i) => html`${i ? html`<br>` : ''}${passkeyLine(p)}`)}`]] : []),
    ['Recovery codes left', String(s.recoveryRemaining)],
    ['Lock', locks(s)],
    ['Last second factor', s.lastMfa !== undefined ? say.moment(s.lastMfa) : 'Never'],
  ];
  return html`<dl class="state-list">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function admin({ me, found, notice }) {
  const lookup = html`<section aria-labelledby="lookup-h"><h2 id="lookup-h">Look a user up</h2>
<form method="get" action="/admin">${field({ name: 'user', id: 'lookup-user', label: 'User name', autocomplete: 'off', value: found?.name ?? '' })}<div class="actions"><button type="submit" class="secondary">Look up</button></div></form></section>`;
  const resetForm = (name) => form({
    action: '/admin/reset',
    csrf: me.csrf,
    fields: html`${name === null ? field({ name: 'user', id: 'reset-user', label: 'User name', autocomplete: 'off' }) : html`<input type="hidden" name="user" value="${name}">`}${field({ name: 'reason', id: 'reset-reason', label: 'Reason (kept in the audit log)', autocomplete: 'off' })}`,
    submit: 'Reset…',
    className: 'danger',
  });
  const unlockForm = (name) => form({
    action: '/admin/unlock',
    csrf: me.csrf,
    fields: name === null ? field({ name: 'user', id: 'unlock-user', label: 'User name', autocomplete: 'off' }) : html`<input type="hidden" name="user" value="${name}">`,
    submit: 'Unlock',
  });
  const resetIntro = html`<p>Check the person’s identity out of band first (a call to a known number, in person). A reset removes every factor and recovery code, on every host, tells the user, and opens a fresh enrollment window. You are asked to confirm.</p>`;
  let body;
  if (found?.status) {
    body = html`${lookup}<section aria-labelledby="user-h"><h2 id="user-h">${found.name}</h2>${userState(found.status)}
${isLocked(found.status) ? unlockForm(found.name) : ''}</section>
<section aria-labelledby="reset-h"><h2 id="reset-h">Reset ${found.name}’s two-factor authentication</h2>${resetIntro}${resetForm(found.name)}</section>`;
  } else {
    const missing = found?.missing ? html`<p class="notice error" role="alert">There is no user ${found.name}.</p>`
      : found?.error ? html`<p class="notice error" role="alert">${say.UNAVAILABLE}</p>` : '';
    body = html`${lookup}${missing}<section aria-labelledby="reset-h"><h2 id="reset-h">Reset a user’s two-factor authentication</h2>${resetIntro}${resetForm(null)}</section>
<section aria-labelledby="unlock-h"><h2 id="unlock-h">Lift a lockout</h2>${unlockForm(null)}</section>`;
  }
  return page({ title: 'Administration', user: me.user.name, notice, body });
}

export function confirmReset({ me, name, reason, status }) {
  return page({
    title: `Reset ${name}’s two-factor authentication?`,
    user: me.user.name,
    notice: { kind: 'warning', text: `This removes every factor and recovery code of ${name}, on every host and here. Until ${name} enrolls again, a password alone signs them in during the new enrollment window.` },
    body: html`${status ? userState(status) : ''}<p>Reason, kept in the audit log: <strong>${reason}</strong></p>
${form({ action: '/admin/reset', csrf: me.csrf, fields: html`<input type="hidden" name="user" value="${name}"><input type="hidden" name="reason" value="${reason}"><input type="hidden" name="confirm" value="yes">`, submit: `Reset ${name}`, className: 'danger' })}
<p><a href="/admin?${new URLSearchParams({ user: name })}">Cancel</a></p>`,
  });
}

/** The approval page: the code the terminal shows. */
export function approveCode({ csrf, user, code = '', notice = null }) {
  return page({
    title: 'Approve a login',
    user,
    notice,
    body: html`<p class="lede">A terminal login to a server (SSH, sudo) can be approved here instead of typing a code. Enter the code the terminal shows.</p>
${form({
    action: '/approve/code',
    csrf,
    fields: field({ name: 'code', label: 'Code from the terminal', autocomplete: 'off', value: code, autofocus: true, error: notice?.kind === 'error', extra: ' maxlength="16" autocapitalize="characters" spellcheck="false"' }),
    submit: 'Continue',
  })}`,
  });
}

/** Who asks, and the numbers to pick from. */
export function approveChoose({ csrf, user, code, view }) {
  // `list<u8>` comes as a Uint8Array, whose map would make numbers of the markup.
  const numbers = Array.from(view.choices, (n) => html`<button type="submit" name="answer" value="${String(n)}" class="number">${String(n)}</button>`);
  return page({
    title: 'Is this you?',
    user,
    body: html`<p class="lede">A login as <strong>${user}</strong> is waiting for your approval.</p>
<dl class="facts">
<dt>Server</dt><dd>${view.host}</dd>
<dt>Service</dt><dd>${view.service}</dd>
<dt>From</dt><dd>${view.remote ?? 'not known'}</dd>
<dt>Asked</dt><dd>${say.moment(view.created)}</dd>
</dl>
<form method="post" action="/approve/answer" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="code" value="${code}">
<p>If it is you, pick the number your terminal shows:</p>
<div class="numbers" role="group" aria-label="Numbers">${numbers}</div>
<p class="or">or</p>
<div class="actions"><button type="submit" name="answer" value="not-me" class="danger">This wasn’t me</button></div>
</form>`,
  });
}

/** How an answer went. */
export function approveDone({ user, answered }) {
  const done = {
    approved: ['Login approved', 'info', 'Go back to your terminal: the login goes on (press Enter there if it still waits).'],
    'wrong-number': ['Login refused', 'error', 'That was not the number the terminal showed, so the login was refused. If it was you, start it again at the terminal.'],
    denied: ['Login refused', 'error', 'The login was refused and your organisation was told. Whoever started it knows your password: change it now.'],
  }[answered] ?? ['Login refused', 'error', 'The login was refused.'];
  return page({
    title: done[0],
    user,
    notice: { kind: done[1], text: done[2] },
    body: html`<p><a href="/security/mfa">Security</a></p>`,
  });
}
