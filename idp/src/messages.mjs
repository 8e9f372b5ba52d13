// @ts-check
// Every sentence the provider shows about the second factor. Those the PAM
// module shows too come from the one catalogue both doors read
// (core/messages.txt; the hosts compile it in as planasonix_core::messages),
// so SSH and the web sign-in say the same thing about the same account; the
// rest are the pages' own. Times are shown in words, in UTC and how far off;
// the pages' one script (static/local-time.js) turns them into the reader's
// own time, the UTC value staying in the title.
import fs from 'node:fs';
import { esc, html } from './html.mjs';

export const CATALOGUE_FILE = new URL('../../core/messages.txt', import.meta.url);

/**
 * The messages of a catalogue text, by name: `name = text` a line, `#`
 * comments, `{placeholder}`s (the rules core/build.rs enforces). Each is
 * `{ parts, placeholders }`: the text split at its placeholders (odd
 * indexes are placeholder names), and their names in order of appearance.
 */
export function parseCatalogue(text) {
  const messages = new Map();
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `line ${n + 1}`;
    const split = line.indexOf(' = ');
    if (split < 0) throw new Error(`${at}: not \`name = text\``);
    const name = line.slice(0, split);
    const message = line.slice(split + 3);
    if (!/^[a-z-]+$/.test(name)) throw new Error(`${at}: message name ${JSON.stringify(name)} is not kebab-case`);
    if (messages.has(name)) throw new Error(`${at}: message ${name} is named twice`);
    const parts = message.split(/\{([^{}]*)\}/);
    parts.forEach((part, i) => {
      if (i % 2 === 1 && !/^[a-z_]+$/.test(part)) throw new Error(`${at}: placeholder {${part}} is not lower_snake_case`);
      if (i % 2 === 0 && /[{}]/.test(part)) throw new Error(`${at}: a brace without its pair`);
    });
    const placeholders = [...new Set(parts.filter((_, i) => i % 2 === 1))];
    messages.set(name, { parts, placeholders });
  });
  return messages;
}

/** The catalogue's messages this provider shows, with their placeholders. */
const USED = {
  unavailable: [],
  'locked-until': ['until'],
  'enrollment-overdue': ['deadline'],
  'no-usable-factor': [],
  'wrong-code': ['left'],
  'replayed-code': ['left'],
  'spent-recovery-code': ['left'],
  'clock-behind': ['at'],
  'sms-not-sent': [],
  'sms-sent': ['to'],
  'step-up': ['action'],
  'grace-reminder': ['deadline'],
  'recovery-accepted': ['remaining'],
  'recovery-running-low': [],
};

function loadCatalogue() {
  let messages;
  try {
    messages = parseCatalogue(fs.readFileSync(CATALOGUE_FILE, 'utf8'));
  } catch (e) {
    throw new Error(`${CATALOGUE_FILE.pathname}: ${e.message}`);
  }
  for (const [name, want] of Object.entries(USED)) {
    const found = messages.get(name);
    if (found === undefined) throw new Error(`${CATALOGUE_FILE.pathname}: no message ${name}, which the provider shows`);
    if (found.placeholders.join() !== want.join()) {
      throw new Error(`${CATALOGUE_FILE.pathname}: message ${name} has placeholders {${found.placeholders.join('}, {')}}; the provider fills {${want.join('}, {')}}`);
    }
  }
  return messages;
}

const CATALOGUE = loadCatalogue();

/**
 * Catalogue message `name`: plain text without placeholders; with them,
 * HTML whose text is escaped and whose `values` are rendered as `html`
 * renders them (a time from `moment` stays markup, anything else escaped).
 */
function say(name, values = {}) {
  const { parts, placeholders } = CATALOGUE.get(name);
  if (placeholders.length === 0) return parts[0];
  const strings = parts.filter((_, i) => i % 2 === 0).map(esc);
  return html(strings, ...parts.filter((_, i) => i % 2 === 1).map((p) => values[p]));
}

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

export const UNAVAILABLE = say('unavailable');

export const lockedUntil = (until) => say('locked-until', { until: moment(until) });

export const LOCK_ENDS =
  'The lock ends by itself at that time. An administrator can lift it sooner if you cannot wait.';

export const enrollmentOverdue = (deadline) => say('enrollment-overdue', { deadline: moment(deadline) });

export const NO_USABLE_FACTOR = say('no-usable-factor');

export const wrongCode = (left) => say('wrong-code', { left });

export const replayedCode = (left) => say('replayed-code', { left });

export const spentRecoveryCode = (left) => say('spent-recovery-code', { left });

export const clockBehind = (at) => say('clock-behind', { at: moment(at) });

export const SMS_NOT_SENT = say('sms-not-sent');

export const smsSent = (to) => html`${say('sms-sent', { to })}.`;

export const stepUp = (action) => say('step-up', { action });

export const graceReminder = (deadline) => say('grace-reminder', { deadline: moment(deadline) });

export function recoveryAccepted(remaining) {
  const accepted = say('recovery-accepted', { remaining });
  return remaining <= 3 ? html`${accepted} ${say('recovery-running-low')}` : accepted;
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

/**
 * A component error as a sentence for the person at the page.
 * @param {import('./mfa/engine.mjs').EngineError} error
 */
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
    case 'passkey': return passkeyErrorText(error.val);
    case 'approval': return approvalErrorText(error);
    default: return UNAVAILABLE;
  }
}

/**
 * Why a login could not be approved, for the person at the approval page.
 * @param {import('./mfa/engine.mjs').EngineError} error
 */
export function approvalErrorText(error) {
  if (error?.tag === 'input') return 'Pick the number your terminal shows, or “This wasn’t me”.';
  if (error?.tag !== 'approval') return errorText(error);
  switch (error.val.tag) {
    case 'not-found': return 'No login of yours is waiting with that code. Check the code at your terminal; if the login timed out there, start it again.';
    case 'too-many-codes': return html`Too many codes that match no login. You can try again at ${moment(error.val.val)}.`;
    case 'not-offered': return 'Your organisation does not let logins be approved here.';
    case 'needs-phishing-resistant': return 'This login can only be approved after signing in with a passkey. Sign out, sign in with your passkey, and enter the code again.';
    case 'stale-sign-in': return 'Confirm it is you with your second factor first.';
    case 'too-many': return 'Too many logins are waiting for approval.';
    default: return UNAVAILABLE;
  }
}

/** RFC 8176 method of a factor that passed. */
export function amrOf(factor) {
  if (factor === 'totp') return 'otp';
  if (factor === 'sms') return 'sms';
  if (factor === 'passkey') return 'hwk';
  return 'mfa';
}

export const FACTOR_NAMES = { totp: 'Authenticator app', sms: 'Text message (SMS)', recovery: 'Recovery codes', passkey: 'Passkey' };

/** Why a passkey sign-in was refused, and how many tries are left. */
export function passkeyRefused(refusal) {
  const why = {
    'no-challenge': 'That passkey request expired or was already used.',
    'unknown-credential': 'That passkey is not one of this account’s.',
    'user-not-verified': 'Your organisation requires the passkey to check it is you (a PIN, fingerprint or face), and it did not.',
    'possibly-cloned': 'That passkey is refused: its counter went back, so it may have been copied. Use another factor, and tell your administrator.',
    invalid: 'That passkey answer is not valid for this site.',
  }[refusal.reason] ?? 'That passkey was not accepted.';
  return `${why} ${refusal.failuresLeft} ${refusal.failuresLeft === 1 ? 'try' : 'tries'} left before a lock. Try again, or use a code.`;
}

/** Why a passwordless sign-in was refused (no counts: nobody is known yet). */
export function passwordlessRefused(reason) {
  return {
    'no-challenge': 'That passkey request expired or was already used. Try again.',
    'unknown-credential': 'That passkey is not one of this site’s accounts. Sign in with your password.',
    'user-not-verified': 'A passkey alone needs your device to check it is you (a PIN, fingerprint or face). Try again, or sign in with your password.',
    'possibly-cloned': 'That passkey is refused: it may have been copied. Sign in with your password, and tell your administrator.',
    invalid: 'That passkey answer is not valid for this site.',
  }[reason] ?? 'That passkey was not accepted.';
}

/** A passkey operation's error, for the person. */
export function passkeyErrorText(e) {
  switch (e.tag) {
    case 'disabled': return 'Passkeys are switched off by your organisation’s policy.';
    case 'refused': return 'The passkey was refused. Try again; if it keeps happening, use another factor.';
    case 'no-challenge': return 'That passkey request expired or was already used. Start again.';
    case 'name': return e.val;
    case 'name-taken': return 'You have a passkey of that name already. Choose another name.';
    case 'not-found': return 'There is no passkey of that name.';
    case 'too-many': return 'Your account holds as many passkeys as it may. Remove one first.';
    case 'model-not-allowed': return 'Your organisation does not allow this kind of security key. Ask your administrator which ones it allows.';
    case 'already-registered': return 'This passkey is registered already.';
    default: return UNAVAILABLE;
  }
}
