// The pages people see, as functions of what they must show. Each takes
// plain values and returns a whole page (html.mjs escapes every value).
import { esc, field, form, html, page, raw } from './html.mjs';
import * as say from './messages.mjs';

export function password({ action, csrf, client, username = '', notice = null, upstream = null }) {
  const federated = upstream
    ? html`<form method="post" action="${upstream.action}" class="upstream"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary">Sign in with ${upstream.name}</button></form><p class="or">or with your password</p>`
    : '';
  return page({
    title: 'Sign in',
    notice,
    body: html`<p class="lede">to continue to <strong>${client}</strong></p>
${federated}
${form({
    action,
    csrf,
    fields: html`${field({ name: 'username', label: 'User name', autocomplete: 'username', value: username, autofocus: username === '', error: notice?.kind === 'error' })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: username !== '' })}`,
    submit: 'Sign in',
  })}`,
  });
}

/** The second-factor prompt. `factors` are the component's (totp, sms, recovery). */
export function code({ action, csrf, user, factors, stepUp = null, notice = null, smsAction = null, abort }) {
  const signingIn = true;
  const sms = factors.includes('sms') && smsAction
    ? html`<button type="submit" form="sms" class="secondary">Text me a code</button>`
    : '';
  const why = stepUp ? html`<p>${say.stepUp(stepUp)}</p>` : '';
  return page({
    title: 'Two-factor authentication',
    notice,
    user,
    signingIn,
    body: html`${why}<p class="lede">Enter the 6-digit code from your authenticator app${factors.includes('sms') ? ', or the code we texted you' : ''}. Lost your device? Use one of your recovery codes.</p>
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

function cancel(abort, csrf) {
  return abort
    ? html`<form method="post" action="${abort}" class="cancel"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="link">Cancel sign-in</button></form>`
    : '';
}

export function grace({ csrf, user, deadline, enroll, proceed }) {
  const signingIn = true;
  const now = enroll
    ? html`<form method="get" action="${enroll}"><button type="submit" class="primary">Set up now</button></form>`
    : '';
  const where = enroll
    ? ''
    : html`<p>Set it up on the <strong>Security</strong> page after you sign in: Security → Multi-factor authentication.</p>`;
  return page({
    title: 'Set up two-factor authentication',
    user,
    signingIn,
    notice: { kind: 'warning', text: say.graceReminder(deadline) },
    body: html`<p>Two-factor authentication keeps your account safe even if your password is stolen: you sign in with your password and a code from an app on your phone.</p>
${where}<div class="actions">
${now}<form method="post" action="${proceed}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="${enroll ? 'secondary' : 'primary'}">${enroll ? 'Remind me later' : 'Continue'}</button></form>
</div>`,
  });
}

export function denied({ text, abort, csrf }) {
  return page({
    title: 'You cannot sign in right now',
    notice: { kind: 'error', text },
    body: html`<p>If you think this is wrong, contact your workspace admin or IT helpdesk. They can check your identity and reset your two-factor enrollment.</p>
${cancel(abort, csrf)}`,
  });
}

export function error({ title = 'Something went wrong', text, status }) {
  return page({
    title,
    notice: { kind: 'error', text },
    body: html`<p>${status === 404 ? 'Check the address.' : 'Go back to the application you came from and start again.'}</p>`,
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

export { esc, raw };
