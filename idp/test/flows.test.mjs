// The sign-in (signin.mjs) and the Security page (security.mjs) as the state
// machines they are: which step may follow which, what each failure says and
// leaves behind, and that a form without this browser's token changes
// nothing. The engine, oidc-provider and the throttle are the small fakes of
// fakes.mjs; the browser tests (browser.mjs, attacks.mjs) run the same
// machines for real.
import test from 'node:test';
import assert from 'node:assert/strict';
import argon2 from '@node-rs/argon2';
import { SignIn } from '../src/signin.mjs';
import { Security } from '../src/security.mjs';
import { ACR_MFA, ACR_STEP_UP } from '../src/provider.mjs';
import * as say from '../src/messages.mjs';
import { Browser, Engine, Provider, Throttle, csrf, status, tokenOf } from './fakes.mjs';

const PASSWORD = 'correct horse battery staple';
const HASH = await argon2.hash(PASSWORD);

function config() {
  return {
    issuer: 'https://login.example.test',
    users: new Map([
      ['alice', { name: 'alice', password: HASH, groups: [] }],
      ['root', { name: 'root', password: HASH, groups: ['admins'] }],
    ]),
    clients: [{ client_id: 'rp', client_name: 'Payroll' }],
    upstream: null,
    adminGroups: ['admins'],
  };
}

const REQUIRED = { value: { tag: 'required', val: { factors: ['totp', 'recovery'] } } };

/** A sign-in machine with scripted engine answers, and what it logged. */
function signIn({ answers = {}, throttle = new Throttle(), provider = new Provider() } = {}) {
  const mfa = new Engine({ status: status(), decide: REQUIRED, ...answers });
  const logged = [];
  const machine = new SignIn({ provider, mfa, config: config(), facts: { stepUpActions: ['sudo'] }, csrf, throttle, log: (l) => logged.push(l) });
  return { machine, mfa, provider, throttle, logged };
}

/** POSTs `form` to the interaction's `step` with this browser's token, and returns the context. */
async function post(machine, browser, step, form = {}, uid = 'abc123') {
  const ctx = browser.request('POST', `/interaction/${uid}/${step}`, { csrf: tokenOf(browser, `interaction:${uid}`), ...form });
  assert.equal(await machine.handle(ctx), true);
  return ctx;
}

async function show(machine, browser, uid = 'abc123') {
  const ctx = browser.request('GET', `/interaction/${uid}`);
  await machine.handle(ctx);
  return ctx;
}

test('a sign-in goes password, then code, then signed in, with amr and acr as they happened', async () => {
  let left = 4;
  const { machine, mfa, provider, throttle } = signIn({
    answers: {
      verify: (user, code) => (code.toString() === '111111'
        ? { value: { tag: 'rejected', val: left-- } }
        : { value: { tag: 'accepted', val: { factor: 'totp' } } }),
    },
  });
  const browser = new Browser();
  assert.match(String((await show(machine, browser)).body), /Sign in.*Payroll/s);

  const afterPassword = await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  assert.equal(afterPassword.status, 303);
  assert.equal(afterPassword.location, '/interaction/abc123');
  assert.equal(throttle.released, 1, 'a right password gives its reservation back');
  assert.deepEqual(mfa.called('decide')[0].args[0], { user: 'alice', groups: [], amr: ['pwd'] });
  assert.match(String((await show(machine, browser)).body), /name="code"/);

  await post(machine, browser, 'code', { code: '111111' });
  assert.match(String((await show(machine, browser)).body), new RegExp(String(say.wrongCode(4))));

  const done = await post(machine, browser, 'code', { code: ' 222222 ' });
  assert.equal(done.location, '/auth/abc123/resume');
  assert.equal(mfa.called('verify')[1].args[1].toString(), '222222', 'the code is trimmed, nothing else');
  const [{ login }] = provider.results;
  assert.equal(login.accountId, 'alice');
  assert.deepEqual(login.amr, ['pwd', 'otp']);
  assert.equal(login.acr, ACR_MFA);
  assert.equal(login.planasonix.epoch, 3, "the session carries the user's epoch read before the factors");
  assert.equal(typeof login.planasonix.mfaAt, 'number');
});

test('a step cannot be skipped: a code posted before the password is never checked', async () => {
  const { machine, mfa, provider } = signIn({ answers: { verify: { value: { tag: 'accepted', val: { factor: 'totp' } } } } });
  const browser = new Browser();
  const ctx = await post(machine, browser, 'code', { code: '123456' });
  assert.equal(ctx.location, '/interaction/abc123');
  for (const step of ['proceed', 'saved', 'enroll']) await post(machine, browser, step, { code: '123456' });
  assert.equal(mfa.called('verify').length, 0);
  assert.equal(mfa.called('confirmTotp').length, 0);
  assert.deepEqual(provider.results, []);
});

test("a form without this browser's token for this sign-in changes nothing", async () => {
  const { machine, mfa, throttle } = signIn();
  const browser = new Browser();
  const thief = new Browser();
  const forms = [
    { username: 'alice', password: PASSWORD },
    { username: 'alice', password: PASSWORD, csrf: tokenOf(thief, 'interaction:abc123') },
    { username: 'alice', password: PASSWORD, csrf: tokenOf(browser, 'interaction:other') },
  ];
  for (const form of forms) {
    await assert.rejects(machine.handle(browser.request('POST', '/interaction/abc123/password', form)), (e) => e.status === 403);
  }
  assert.equal(throttle.reserved, 0, 'refused before the attempt was even counted');
  assert.equal(mfa.calls.length, 0);
});

test('a wrong password and an unknown user read alike, and both keep their reservation', async () => {
  const { machine, mfa, throttle } = signIn();
  const browser = new Browser();
  for (const form of [{ username: 'alice', password: 'guess' }, { username: 'mallory', password: PASSWORD }]) {
    await post(machine, browser, 'password', form);
    assert.match(String((await show(machine, browser)).body), /Wrong user name or password\./);
  }
  assert.equal(throttle.reserved, 2);
  assert.equal(throttle.released, 0);
  assert.equal(mfa.calls.length, 0);
});

test('the throttle refusing or failing stops the password before it is checked', async () => {
  for (const [mode, words] of [['refuse', /Too many wrong passwords for this user\./], ['fail', new RegExp(say.UNAVAILABLE)]]) {
    const { machine, mfa } = signIn({ throttle: new Throttle(mode) });
    const browser = new Browser();
    await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
    assert.match(String((await show(machine, browser)).body), words);
    assert.equal(mfa.calls.length, 0, `${mode}: the sign-in went no further`);
  }
});

test('an engine that cannot answer fails the sign-in closed, says so and logs why', async () => {
  for (const answers of [
    { decide: { error: { tag: 'store', val: { tag: 'io', val: { kind: 'unreachable', detail: 'PostgreSQL: TCP: connection refused' } } } } },
    { status: { error: { tag: 'store', val: { tag: 'busy' } } } },
    { verify: { error: { tag: 'internal', val: 'trap' } } },
  ]) {
    const { machine, provider, logged } = signIn({ answers });
    const browser = new Browser();
    await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
    if (answers.verify) await post(machine, browser, 'code', { code: '123456' });
    const page = String((await show(machine, browser)).body);
    assert.match(page, new RegExp(say.UNAVAILABLE), JSON.stringify(answers));
    assert.deepEqual(provider.results, [], 'nobody is signed in');
    assert.match(logged.join('\n'), /sign-in of "alice" failed closed: (store: io: unreachable: PostgreSQL: TCP: connection refused|store: busy|internal: trap)$/m);
  }
});

test('a locked account is refused with the lock sentence both doors show', async () => {
  const until = 1_900_000_000n;
  const { machine, provider } = signIn({ answers: { decide: { value: { tag: 'denied', val: { tag: 'locked-out', val: until } } } } });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  const page = String((await show(machine, browser)).body);
  assert.ok(page.includes('Too many wrong codes: second-factor sign-in is locked until <time datetime="2030-03-17T17:46:40Z"'), page);
  assert.deepEqual(provider.results, []);
});

/** A Security page machine for a session of `user` at epoch 3. */
function security({ user = 'alice', answers = {}, epoch = 3, mfaAt = null } = {}) {
  const session = { uid: 'session-1', accountId: user, planasonix: { epoch, mfaAt }, persist: async () => {} };
  const provider = new Provider({ session: user === null ? { uid: 'session-1' } : session });
  const mfa = new Engine({ status: status(), ...answers });
  const logged = [];
  const machine = new Security({ provider, mfa, config: config(), facts: { enrollAtLogin: false, stepUpActions: [] }, csrf, log: (l) => logged.push(l) });
  return { machine, mfa, session };
}

test('without a session the Security page signs in through the provider\u2019s own client', async () => {
  const { machine } = security({ user: null });
  const ctx = new Browser().request('GET', '/security/mfa');
  await machine.handle(ctx);
  const to = new URL(ctx.location, 'https://login.example.test');
  assert.equal(to.pathname, '/auth');
  assert.equal(to.searchParams.get('client_id'), 'planasonix-account');
  assert.equal(to.searchParams.get('response_type'), 'none');
});

test('a session that a reset, a lock or a change of factors ended signs in again', async () => {
  const { machine, mfa } = security({ epoch: 2 });
  const ctx = new Browser().request('GET', '/security/mfa');
  await machine.handle(ctx);
  assert.match(ctx.location, /^\/auth\?/);
  assert.equal(mfa.called('status').length, 1);
});

test('changing a factor without a recent second factor is a step-up, and nothing changes', async () => {
  const { machine, mfa } = security({ answers: { decide: REQUIRED, beginTotp: { value: { secret: 'x' } } } });
  const browser = new Browser();
  const ctx = browser.request('POST', '/security/mfa/totp/begin', { csrf: tokenOf(browser, 'session:session-1') });
  await machine.handle(ctx);
  const to = new URL(ctx.location, 'https://login.example.test');
  assert.equal(to.searchParams.get('acr_values'), `${ACR_STEP_UP}manage-mfa`);
  assert.equal(mfa.called('decide')[0].args[1].action, 'manage-mfa');
  assert.equal(mfa.called('beginTotp').length, 0);
});

test("a Security form with another session's token, or none, changes nothing", async () => {
  const { machine, mfa } = security({ answers: { decide: { value: { tag: 'not-required', val: { tag: 'recent-mfa' } } } } });
  const browser = new Browser();
  for (const form of [{}, { csrf: tokenOf(browser, 'session:session-2') }, { csrf: tokenOf(new Browser(), 'session:session-1') }]) {
    await assert.rejects(machine.handle(browser.request('POST', '/security/mfa/remove', { factor: 'totp', ...form })), (e) => e.status === 403);
  }
  assert.equal(mfa.called('removeFactor').length, 0);
  assert.equal(mfa.called('decide').length, 0);
});

test('the admin page is refused to anyone outside the policy\u2019s admin groups', async () => {
  const { machine, mfa } = security();
  await assert.rejects(machine.handle(new Browser().request('GET', '/admin')), (e) => e.status === 403 && /Only administrators/.test(e.message));
  assert.equal(mfa.called('decide').length, 0);
});
