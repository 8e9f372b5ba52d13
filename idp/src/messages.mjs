// Every sentence the provider shows about the second factor, worded as the
// PAM module words it (pam-module/src/flow/messages.rs), so SSH and the web
// sign-in say the same thing about the same account.

/** Seconds since the epoch (a BigInt from the component) as the PAM door writes them. */
export function when(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export const UNAVAILABLE =
  'Two-factor authentication is unavailable right now; contact your administrator.';

export const lockedUntil = (until) =>
  `Too many wrong codes: second-factor sign-in is locked until ${when(until)}.`;

export const enrollmentOverdue = (deadline) =>
  `Two-factor enrollment was due by ${when(deadline)}. Ask your administrator to reset your enrollment window.`;

export const NO_USABLE_FACTOR =
  'None of your second factors is usable under the current policy; contact your administrator.';

export const wrongCode = (left) => `Wrong code. ${left} more wrong codes lock second-factor sign-in.`;

export const replayedCode = (left) =>
  `That code was already used. Wait for the next one. ${left} more wrong codes lock second-factor sign-in.`;

export const clockBehind = (at) =>
  `This server's clock is behind: a later code was already accepted for you (at ${when(at)}). This did not count as a wrong code; ask your administrator to check the clock.`;

export const SMS_NOT_SENT = 'The SMS could not be sent. Use your authenticator app or a recovery code.';

export const smsSent = (to) => `Code sent by SMS to ${to}.`;

export const stepUp = (action) => `${action} needs a recent second factor.`;

export const graceReminder = (deadline) =>
  `Two-factor authentication becomes mandatory for your account on ${when(deadline)}. Set up an authenticator app before then.`;

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

/** A component error as a sentence for the person at the page. */
export function errorText(error) {
  switch (error?.tag) {
    case 'input': return NOT_A_CODE;
    case 'wrong-code': return 'That code is not right. Check the app shows this account, and that your phone’s clock is accurate.';
    case 'locked': return lockedUntil(error.val);
    case 'sms-disabled': return 'SMS codes are switched off by your organisation’s policy.';
    case 'sms-not-enrolled': return 'No mobile number is set up for SMS codes.';
    case 'sms-rate-limited': return `Too many texts were sent. You can ask for another after ${when(error.val)}.`;
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
