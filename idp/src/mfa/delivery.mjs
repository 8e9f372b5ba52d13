// @ts-check
// The component's `delivery` import: SMS and notices through the same
// command contract as the PAM module and the CLI (`sms_command`,
// `notice_command`): the number (or the user) as the one argument, or with
// `sms_input = "stdin"` the number on the first line of standard input (off
// the command line, which every local user can read); the text on standard
// input; exit status 0 when sent, 69 when it provably did not go out; killed
// after a timeout; run with an empty environment. The text is never logged;
// a failure says what failed without the number or the text, and whether the
// message provably did not go out (an SMS of it then takes nothing from the
// user's sending limits).
import { spawnSync } from 'node:child_process';

/** The contract's "provably not sent" (native's EXIT_NOT_SENT). */
const EXIT_NOT_SENT = 69;

let commands = { sms: null, smsStdin: false, notice: null, smsTimeoutMs: 10_000, noticeTimeoutMs: 5_000 };

/** Sets the commands (from config.mjs) before the component is instantiated. */
export function setCommands(configured) {
  commands = { ...commands, ...configured };
}

const notSent = (why) => ({ tag: 'not-sent', val: why });
const failed = (why) => ({ tag: 'failed', val: why });

function run(program, args, input, timeoutMs, kind) {
  const out = spawnSync(program, args, {
    input,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const error = /** @type {NodeJS.ErrnoException | undefined} */ (out.error);
  if (error?.code === 'ETIMEDOUT') {
    throw failed(`the ${kind} command did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`);
  }
  if (error) throw notSent(`the ${kind} command ${program} could not be started (${error.code ?? 'error'})`);
  if (out.status === EXIT_NOT_SENT) throw notSent(`the ${kind} command did not send it (exit status ${EXIT_NOT_SENT})`);
  if (out.status !== 0) {
    throw failed(out.signal
      ? `the ${kind} command was killed by ${out.signal}`
      : `the ${kind} command exited with status ${out.status}`);
  }
}

/** The delivery import (WIT `planasonix:mfa/delivery`). */
export const delivery = {
  sendSms(to, text) {
    if (commands.sms === null) throw notSent('SMS is not set up on this identity provider');
    if (commands.smsStdin) run(commands.sms, [], `${to}\n${text}\n`, commands.smsTimeoutMs, 'SMS');
    else run(commands.sms, [to], `${text}\n`, commands.smsTimeoutMs, 'SMS');
  },
  sendNotice(user, message) {
    // Without a notice command notices are dropped, as on the hosts: the
    // audit trail has every event.
    if (commands.notice === null) return;
    run(commands.notice, [user], `${message}\n`, commands.noticeTimeoutMs, 'notice');
  },
};
