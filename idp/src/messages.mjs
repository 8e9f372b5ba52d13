// Every sentence the provider shows about the second factor, worded as the
// PAM module words it (pam-module/src/flow/messages.rs), so SSH and the web
// sign-in say the same thing about the same account. Times are shown in
// words, in UTC and how far off; the pages' one script (static/local-time.js)
// turns them into the reader's own time, the UTC value staying in the title.
import { html } from './html.mjs';

/** Seconds since the epoch (a BigInt from the component) as the PAM door writes them. */
export function when(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

const DAY = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const CLOCK = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** "in 14 minutes", "in 7 days", "3 hours ago". */
export function fromNow(seconds, nowMs = Date.now()) {
  const delta = Number(seconds) - nowMs / 1000;
  const span = Math.abs(delta);
  const [n, unit] = span < 90 ? [Math.max(1, Math.round(span)), 'second']
    : span < 90 * 60 ? [Math.round(span / 60), 'minute']
      : span < 36 * 3600 ? [Math.round(span / 3600), 'hour']
        : [Math.round(span / 86_400), 'day'];
  const words = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return delta >= 0 ? `in ${words}` : `${words} ago`;
}

/**
 * A time as a person reads it: the clock time alone within a day, else the
 * date too; in UTC with the ISO value kept for the reader's own time.
 */
export function moment(seconds, nowMs = Date.now()) {
  const d = new Date(Number(seconds) * 1000);
  const soon = Math.abs(d.getTime() - nowMs) < 20 * 3600 * 1000;
  const words = soon ? `${CLOCK.format(d)} UTC` : `${DAY.format(d)} at ${CLOCK.format(d)} UTC`;
  return html`<time datetime="${when(seconds)}" title="${when(seconds)}" data-local="${soon ? 'time' : 'date'}">${words}</time> (${fromNow(seconds, nowMs)})`;
}

export const UNAVAILABLE =
  'Two-factor authentication is unavailable right now; contact your administrator.';

export const lockedUntil = (until) =>
  html`Too many wrong codes: second-factor sign-in is locked until ${moment(until)}.`;

export const LOCK_ENDS =
  'The lock ends by itself at that time. An administrator can lift it sooner if you cannot wait.';

export const enrollmentOverdue = (deadline) =>
  html`Two-factor enrollment was due by ${moment(deadline)}. Ask your administrator to open a new enrollment window.`;

export const NO_USABLE_FACTOR =
  'None of your second factors is usable under the current policy; contact your administrator.';

const lockWarning = (left) => `${left} more wrong codes lock second-factor sign-in.`;

export const wrongCode = (left) => `Wrong code. ${lockWarning(left)}`;

export const replayedCode = (left) =>
  `That code was already used. Wait for the next one. ${lockWarning(left)}`;

export const spentRecoveryCode = (left) =>
  `That recovery code was already used: each works once. Use another one. ${lockWarning(left)}`;

export const clockBehind = (at) =>
  html`This server's clock is behind: a later code was already accepted for you (at ${moment(at)}). This did not count as a wrong code; ask your administrator to check the clock.`;

export const SMS_NOT_SENT = 'The SMS could not be sent. Use your authenticator app or a recovery code.';

export const smsSent = (to) => `Code sent by SMS to ${to}.`;

export const stepUp = (action) => `${action} needs a recent second factor.`;

export const graceReminder = (deadline) =>
  html`Two-factor authentication becomes mandatory for your account on ${moment(deadline)}. Set up an authenticator app before then.`;

export function recoveryAccepted(remaining) {
  let text = `Recovery code accepted. ${remaining} recovery codes left.`;
  if (remaining <= 3) text += ' Generate a new set soon.';
  return text;
}

export const NOT_A_CODE = 'That is not a code. Type the digits your app shows, or a recovery code.';

export const SMS_WEAKER =
  'Text messages are weaker than an authenticator app: someone who takes over your phone number (a SIM swap) receives your codes. Use SMS only if you cannot use an app.';

export const SMS_MAY_FAIL =
  'Carriers sometimes fail to deliver texts. Keep your recovery codes, or a second factor, so that you are not locked out during an outage.';

/** Password guessing refused (idp/src/throttle.mjs). */
export function tooManyPasswords(which, secondsLeft) {
  const wait = `Try again ${fromNow(Date.now() / 1000 + secondsLeft)}.`;
  return which === 'user'
    ? `Too many wrong passwords for this user. ${wait}`
    : `Too many wrong passwords from your network. ${wait}`;
}

/** A component error as a sentence for the person at the page. */
export function errorText(error) {
  switch (error?.tag) {
    case 'input': return NOT_A_CODE;
    case 'wrong-code': return 'That code is not right. Check the app shows this account, and that your phone’s clock is accurate.';
    case 'locked': return lockedUntil(error.val);
    case 'sms-disabled': return 'SMS codes are switched off by your organisation’s policy.';
    case 'sms-not-enrolled': return 'No mobile number is set up for SMS codes.';
    case 'sms-rate-limited': return html`Too many texts were sent. You can ask for another at ${moment(error.val)}.`;
    case 'sms-delivery-failed': return SMS_NOT_SENT;
    case 'phone': return 'That is not a mobile number this organisation can text. Give it in international form, like +44 7700 900123.';
    case 'no-pending-enrollment': return 'That setup has expired. Start again.';
    case 'not-enrolled': return 'No second factor is set up.';
    case 'unknown-action': return 'The application asked for a check this organisation does not define.';
    case 'last-factor-required': return 'Two-factor authentication is required for your account: set up another factor before you remove this one.';
    default: return UNAVAILABLE;
  }
}

/** RFC 8176 method of a factor that passed. */
export function amrOf(factor) {
  if (factor === 'totp') return 'otp';
  if (factor === 'sms') return 'sms';
  return 'mfa';
}

export const FACTOR_NAMES = { totp: 'Authenticator app', sms: 'Text message (SMS)', recovery: 'Recovery codes' };
