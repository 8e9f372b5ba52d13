// The component's `delivery` import: SMS and notices through the same
// command contract as the PAM module and the CLI (`sms_command`,
// `notice_command`): the number (or the user) as the one argument, the text
// on standard input, exit status 0 when sent, killed after a timeout, run
// with an empty environment. The text is never logged; a failure says what
// failed without the number or the text.
import { spawnSync } from 'node:child_process';

let commands = { sms: null, notice: null, smsTimeoutMs: 10_000, noticeTimeoutMs: 5_000 };

/** Sets the commands (from config.mjs) before the component is instantiated. */
export function setCommands(configured) {
  commands = { ...commands, ...configured };
}

function run(program, arg, text, timeoutMs, kind) {
  const out = spawnSync(program, [arg], {
    input: `${text}\n`,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (out.error?.code === 'ETIMEDOUT') {
    throw `the ${kind} command did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`;
  }
  if (out.error) throw `the ${kind} command ${program} could not be started (${out.error.code ?? 'error'})`;
  if (out.status !== 0) {
    throw out.signal
      ? `the ${kind} command was killed by ${out.signal}`
      : `the ${kind} command exited with status ${out.status}`;
  }
}

/** The delivery import (WIT `planasonix:mfa/delivery`). */
export const delivery = {
  sendSms(to, text) {
    if (commands.sms === null) throw 'SMS is not set up on this identity provider';
    run(commands.sms, to, text, commands.smsTimeoutMs, 'SMS');
  },
  sendNotice(user, message) {
    // Without a notice command notices are dropped, as on the hosts: the
    // audit trail has every event.
    if (commands.notice === null) return;
    run(commands.notice, user, message, commands.noticeTimeoutMs, 'notice');
  },
};
