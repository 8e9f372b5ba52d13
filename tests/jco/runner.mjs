// Runs one conformance scenario (tests/scenarios/*.json) against the component
// transpiled by jco, printing the canonical outcome of every step as JSON.
// Usage: node runner.mjs OUT/plugin.js SCENARIO.json
// OUT must hold the component's conformance variant (feature test-randomness,
// world `conformance`): only it has the `seeded` export every door's test seed
// goes through.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gateway } from './imports.mjs';
import { totp } from './totp.mjs';
import { SoftAuthenticator } from './passkey.mjs';

const [modulePath, scenarioPath] = process.argv.slice(2);
const { engine, seeded } = await import(pathToFileURL(modulePath).href);
const scenario = JSON.parse(readFileSync(scenarioPath, 'utf8'));

const factors = (list) => list.join('+');
const opt = (t) => (t === undefined ? 'none' : String(t));

function canonical(op, value) {
  switch (op) {
    case 'decide': {
      const d = value;
      if (d.tag === 'not-required') return d.val.val === undefined ? `not-required:${d.val.tag}` : `not-required:${d.val.tag}@${d.val.val}`;
      if (d.tag === 'grace') return `grace@${d.val.deadline}${d.val.mayEnrollNow ? ':enroll-now' : ''}`;
      if (d.tag === 'required') return `required:${factors(d.val.factors)}${d.val.stepUp === undefined ? '' : `:step-up=${d.val.stepUp}`}`;
      return d.val.val === undefined ? `denied:${d.val.tag}` : `denied:${d.val.tag}@${d.val.val}`;
    }
    case 'verify': {
      const v = value;
      if (v.tag === 'accepted') return `accepted:${v.val.factor}:${v.val.recoveryRemaining}`;
      if (v.tag === 'sms-sent') return `sms-sent:${v.val}`;
      if (v.tag === 'locked') return `locked@${v.val}`;
      if (v.tag === 'clock-behind') return `clock-behind@${v.val}`;
      return `${v.tag}:${v.val}`;
    }
    case 'begin-totp': return `enrollment:${value.algorithm}:${value.digits}:${value.period}:${value.secretBase32}`;
    case 'confirm-totp': case 'confirm-sms': case 'regenerate': return `codes:${value.length}`;
    case 'begin-sms': case 'send-sms-code': return `sent:${value}`;
    case 'status': {
      const s = value;
      const passkeys = s.passkeys.length ? `:passkeys=${s.passkeys.map((p) => `${p.name}${p.clonedAt === undefined ? '' : '!'}`).join('+')}` : '';
      return `status:enrolled=${s.enrolled}:factors=${factors(s.factors)}:pending=${factors(s.pending)}:recovery=${s.recoveryRemaining}:locked=${opt(s.lockedUntil)}:failures=${s.recentFailures}:enroll-by=${opt(s.enrollBy)}${passkeys}`;
    }
    case 'reset': case 'unlock': case 'remove': case 'rename-passkey': case 'remove-passkey': return 'ok';
    case 'passkey-register': return `codes:${value.length}`;
    case 'passkey-options': {
      const o = JSON.parse(value);
      const attestation = o.attestation && o.attestation !== 'none' ? `:attestation=${o.attestation}` : '';
      return `options:rp=${o.rp?.id ?? o.rpId ?? '?'}:credentials=${(o.excludeCredentials ?? o.allowCredentials ?? []).length}${attestation}`;
    }
    case 'passkey-sign-in': {
      const v = value;
      if (v.tag === 'accepted') return `passkey:accepted:${v.val.name}:uv=${v.val.userVerified}`;
      if (v.tag === 'refused') return `passkey:refused:${v.val.reason}:${v.val.failuresLeft}`;
      return `passkey:locked@${v.val}`;
    }
    case 'audit': return `events:${value.map((e) => JSON.parse(e.detail).event).join(',')}`;
    default: throw new Error(`unknown op ${op}`);
  }
}

function errorTag(e) {
  const p = e.payload;
  if (p === undefined) throw e;
  const timed = ['sms-rate-limited', 'locked'];
  if (p.tag === 'passkey') return `error:passkey:${p.val.tag}`;
  if (p.tag === 'approval') return `error:approval:${p.val.tag}${p.val.val === undefined ? '' : `@${p.val.val}`}`;
  return timed.includes(p.tag) ? `error:${p.tag}@${p.val}` : `error:${p.tag}`;
}

engine.configure(scenario.policy, new Uint8Array(32).fill(7));
seeded.seed(BigInt(scenario.seed));
const secrets = new Map();
const codes = new Map();
/** The last passkey options per user and ceremony, and each key's last counter. */
const options = new Map();
const counters = new Map();
const ORIGIN = 'https://login.example.com';

/** The browser's answer for a passkey step (host/tests/harness/mod.rs's passkey_answer). */
function passkeyAnswer(step, user) {
  const key = new SoftAuthenticator(step.key, step.origin ?? ORIGIN);
  if (step.op === 'passkey-register') {
    key.attestation = step.attestation ?? 'none';
    return key.register(options.get(`${user} register`));
  }
  const counter = step.counter ?? (counters.get(step.key) ?? 0) + 1;
  counters.set(step.key, counter);
  key.counter = (counter - 1) >>> 0;
  key.verifiesUser = step.uv ?? true;
  return key.signIn(options.get(`${user} sign-in`));
}
const outcomes = [];
for (const step of scenario.steps) {
  const now = scenario.start + step.t;
  if (step.op === 'gateway') { gateway.setFailing(step.fail); outcomes.push('ok'); continue; }
  const user = step.user ?? '';
  let input = new Uint8Array();
  const i = step.input;
  if (i === 'totp') input = Buffer.from(totp(secrets.get(user), now));
  else if (i?.startsWith('totp@-')) input = Buffer.from(totp(secrets.get(user), now - Number(i.slice(6))));
  else if (i?.startsWith('recovery:')) input = Buffer.from(codes.get(user)[Number(i.slice(9))]);
  else if (i === 'sms-code') input = Buffer.from(gateway.lastCode());
  else if (i?.startsWith('hex:')) input = Buffer.from(i.slice(4), 'hex');
  else if (i !== undefined) input = Buffer.from(i);
  const ctx = { service: 'idp', remote: '198.51.100.4', action: step.action ?? undefined };
  const subject = { user, groups: step.groups ?? [], amr: step.amr ?? [] };
  const t = BigInt(now);
  const calls = {
    'decide': () => engine.decide(subject, ctx, t),
    'verify': () => engine.verify(user, input, ctx, t),
    'begin-totp': () => engine.beginTotp(user, t),
    'confirm-totp': () => engine.confirmTotp(user, input, t),
    'begin-sms': () => engine.beginSms(user, step.phone ?? '', t),
    'confirm-sms': () => engine.confirmSms(user, input, t),
    'send-sms-code': () => engine.sendSmsCode(user, ctx, t),
    'regenerate': () => engine.regenerateRecoveryCodes(user, t),
    'status': () => engine.status(user, t),
    'reset': () => engine.adminReset(user, step.reason ?? '', t),
    'unlock': () => engine.adminUnlock(user, t),
    'remove': () => engine.removeFactor(subject, step.factor, t),
    'audit': () => engine.auditEvents(user, undefined),
    'passkey-options': () => (step.ceremony === 'register'
      ? engine.passkeyRegistrationOptions(user, '', t)
      : engine.passkeySignInOptions(user, t)),
    'passkey-register': () => engine.registerPasskey(user, step.name ?? '', passkeyAnswer(step, user), t),
    'passkey-sign-in': () => engine.verifyPasskey(user, passkeyAnswer(step, user), ctx, t),
    'rename-passkey': () => engine.renamePasskey(user, step.name ?? '', step.new_name ?? '', t),
    'remove-passkey': () => engine.removePasskey(subject, step.name ?? '', t),
  };
  let outcome;
  try {
    const value = calls[step.op]();
    if (step.op === 'begin-totp') secrets.set(user, value.secretBase32);
    if (['confirm-totp', 'confirm-sms', 'regenerate', 'passkey-register'].includes(step.op)) codes.set(user, value);
    if (step.op === 'passkey-options') options.set(`${user} ${step.ceremony}`, value);
    outcome = canonical(step.op, value);
  } catch (e) {
    outcome = errorTag(e);
  }
  outcomes.push(outcome);
}
process.stdout.write(JSON.stringify(outcomes));
