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
import { ACR_MFA, ACR_PHISHING_RESISTANT, ACR_STEP_UP } from '../src/provider.mjs';
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
function signIn({ answers = {}, throttle = new Throttle(), provider = new Provider(), facts = {} } = {}) {
  const mfa = new Engine({ status: status(), decide: REQUIRED, ...answers });
  const logged = [];
  const machine = new SignIn({ provider, mfa, config: config(), facts: { stepUpActions: ['sudo'], ...facts }, csrf, throttle, log: (l) => logged.push(l) });
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
  assert.equal(login.planasonix.phr, false, 'an app code is not phishing-resistant');
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

const PASSKEY_REQUIRED = { value: { tag: 'required', val: { factors: ['totp', 'passkey', 'recovery'] } } };
const OPTIONS = '{"challenge":"Y2hhbGxlbmdl","rpId":"login.example.test","allowCredentials":[]}';

test('a user with a passkey is asked for it first, and it signs in as phishing-resistant', async () => {
  const { machine, mfa, provider } = signIn({
    answers: {
      decide: PASSKEY_REQUIRED,
      passkeySignInOptions: { value: OPTIONS },
      verifyPasskey: (user, response) => (response === 'bad'
        ? { value: { tag: 'refused', val: { reason: 'invalid', failuresLeft: 4 } } }
        : { value: { tag: 'accepted', val: { name: 'YubiKey', userVerified: true } } }),
    },
  });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  const page = String((await show(machine, browser)).body);
  assert.match(page, /data-passkey="get"/);
  assert.ok(page.includes('data-options="{&quot;challenge&quot;:&quot;Y2hhbGxlbmdl&quot;'), 'the options, escaped into the attribute');
  assert.match(page, /<script src="\/static\/passkey.js" defer>/);
  assert.match(page, /Use a code instead/);

  await post(machine, browser, 'assert', { response: 'bad' });
  assert.match(String((await show(machine, browser)).body), /not valid for this site\. 4 tries left/);
  assert.equal(mfa.called('passkeySignInOptions').length, 2, 'each showing of the page has its own challenge');

  // A browser's answer is longer than a typed field may be, within its own bound.
  await assert.rejects(post(machine, browser, 'assert', { response: 'x'.repeat(13_000) }), (e) => e.status === 413);
  await assert.rejects(post(machine, browser, 'code', { code: 'x'.repeat(5_000) }), (e) => e.status === 413);
  const done = await post(machine, browser, 'assert', { response: `{"id":"x"}${' '.repeat(5_000)}` });
  assert.equal(done.location, '/auth/abc123/resume');
  assert.equal(mfa.called('verifyPasskey')[1].args[1].trim(), '{"id":"x"}', 'the browser\'s answer goes to the engine as it came');
  const [{ login }] = provider.results;
  assert.deepEqual(login.amr, ['pwd', 'hwk', 'user', 'mfa']);
  assert.equal(login.acr, ACR_PHISHING_RESISTANT);
  assert.equal(login.planasonix.phr, true, 'the session knows its second factor was a passkey');
});

test('codes stay a click away from the passkey page, and back', async () => {
  const { machine, mfa } = signIn({ answers: { decide: PASSKEY_REQUIRED, passkeySignInOptions: { value: OPTIONS } } });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  await post(machine, browser, 'use-code');
  const page = String((await show(machine, browser)).body);
  assert.match(page, /name="code"/);
  assert.match(page, /Use a passkey/);
  await post(machine, browser, 'passkey');
  assert.match(String((await show(machine, browser)).body), /data-passkey="get"/);
  // A passkey answer posted on the code page is not checked.
  await post(machine, browser, 'use-code');
  await post(machine, browser, 'assert', { response: '{}' });
  assert.equal(mfa.called('verifyPasskey').length, 0);
});

test('an application asking for a phishing-resistant sign-in gets a passkey or nothing', async () => {
  for (const factors of [['totp', 'recovery'], ['totp', 'passkey', 'recovery']]) {
    const { machine, mfa, provider } = signIn({
      provider: new Provider({ acrValues: ACR_PHISHING_RESISTANT }),
      answers: { decide: { value: { tag: 'required', val: { factors } } }, passkeySignInOptions: { value: OPTIONS }, verify: { value: { tag: 'accepted', val: { factor: 'totp' } } } },
    });
    const browser = new Browser();
    await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
    const page = String((await show(machine, browser)).body);
    if (!factors.includes('passkey')) {
      assert.match(page, /asks for a sign-in with a passkey, and your account has none/);
    } else {
      assert.doesNotMatch(page, /Use a code instead/);
      await post(machine, browser, 'use-code');
      await post(machine, browser, 'code', { code: '123456' });
      assert.equal(mfa.called('verify').length, 0, 'no code is checked');
    }
    assert.deepEqual(provider.results, []);
  }
});

test('adding a passkey is a change of factors: a step-up first, then the ceremony page', async () => {
  const { machine, mfa } = security({
    answers: { decide: REQUIRED, passkeyRegistrationOptions: { value: OPTIONS } },
  });
  const browser = new Browser();
  const ctx = browser.request('POST', '/security/mfa/passkey/begin', { csrf: tokenOf(browser, 'session:session-1'), name: 'YubiKey' });
  await machine.handle(ctx);
  assert.equal(new URL(ctx.location, 'https://login.example.test').searchParams.get('acr_values'), `${ACR_STEP_UP}manage-mfa`);
  assert.equal(mfa.called('passkeyRegistrationOptions').length, 0);
});

test('the Security page lists passkeys with rename and remove, never a key', async () => {
  const passkeys = [{ name: 'Blue <key>', aaguid: '00000000-0000-0000-0000-000000000000', since: 1_800_000_000n, lastUsed: undefined, backupEligible: true, clonedAt: 1_800_000_100n }];
  const { machine, mfa } = security({
    answers: {
      status: status({ factors: ['passkey', 'recovery'], passkeys }),
      decide: { value: { tag: 'not-required', val: { tag: 'recent-mfa' } } },
      passkeyRegistrationOptions: { value: OPTIONS },
      registerPasskey: { value: [] },
    },
  });
  const browser = new Browser();
  const page = browser.request('GET', '/security/mfa');
  await machine.handle(page);
  const body = String(page.body);
  assert.match(body, /Passkeys and security keys/);
  assert.ok(body.includes('Blue &lt;key&gt;'), 'the name is escaped');
  assert.match(body, /never used, synced/);
  assert.match(body, /may have been copied/);
  // Adding: the options page, then the browser's answer to the engine.
  const token = tokenOf(browser, 'session:session-1');
  const begin = browser.request('POST', '/security/mfa/passkey/begin', { csrf: token, name: 'Pixel' });
  await machine.handle(begin);
  assert.equal(begin.location, '/security/mfa/passkey');
  const ceremony = browser.request('GET', '/security/mfa/passkey');
  await machine.handle(ceremony);
  assert.match(String(ceremony.body), /data-passkey="create"/);
  const finish = browser.request('POST', '/security/mfa/passkey/finish', { csrf: token, response: '{"id":"y"}' });
  await machine.handle(finish);
  assert.deepEqual(mfa.called('registerPasskey')[0].args.slice(0, 3), ['alice', 'Pixel', '{"id":"y"}']);
  // A second answer for the same page registers nothing more.
  await machine.handle(browser.request('POST', '/security/mfa/passkey/finish', { csrf: token, response: '{"id":"y"}' }));
  assert.equal(mfa.called('registerPasskey').length, 1);
});

test('a step-up that needs a passkey, for a user without one, says so', async () => {
  const { machine, provider } = signIn({ answers: { decide: { value: { tag: 'denied', val: { tag: 'no-phishing-resistant-factor' } } } } });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  assert.match(String((await show(machine, browser)).body), /needs a sign-in with a passkey, and your account has none/);
  assert.deepEqual(provider.results, []);
});

test('in grace a sign-in may set up a passkey, then signs in with it', async () => {
  const { machine, mfa, provider } = signIn({
    facts: { passkeysEnabled: true },
    answers: {
      decide: { value: { tag: 'grace', val: { deadline: 1_900_000_000n, mayEnrollNow: true } } },
      passkeyRegistrationOptions: { value: OPTIONS },
      registerPasskey: { value: ['AAAAA-BBBBB'] },
      passkeySignInOptions: { value: OPTIONS },
      verifyPasskey: { value: { tag: 'accepted', val: { name: 'Laptop', userVerified: true } } },
    },
  });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  assert.match(String((await show(machine, browser)).body), /Set up a passkey/);
  // Not before the grace page offered it, and never by POST.
  await machine.handle(browser.request('GET', '/interaction/abc123/enroll-passkey'));
  const page = String((await show(machine, browser)).body);
  assert.match(page, /data-passkey="create"/);
  assert.match(page, /name="name"/);
  await post(machine, browser, 'register', { name: 'Laptop', response: '{"id":"z"}' });
  assert.deepEqual(mfa.called('registerPasskey')[0].args.slice(0, 3), ['alice', 'Laptop', '{"id":"z"}']);
  assert.match(String((await show(machine, browser)).body), /AAAAA-BBBBB/);
  assert.deepEqual(provider.results, [], 'registering alone signs nobody in');
  await post(machine, browser, 'saved');
  assert.match(String((await show(machine, browser)).body), /data-passkey="get"/);
  await post(machine, browser, 'assert', { response: '{"id":"z"}' });
  const [{ login }] = provider.results;
  assert.deepEqual(login.amr, ['pwd', 'hwk', 'user', 'mfa']);
  assert.equal(login.planasonix.epoch, 4, 'the new factor ended the sessions before; this one goes on');
});

test('without passkeys in the policy, the grace page offers none and the step is refused', async () => {
  const { machine, mfa } = signIn({
    answers: { decide: { value: { tag: 'grace', val: { deadline: 1_900_000_000n, mayEnrollNow: true } } } },
  });
  const browser = new Browser();
  await post(machine, browser, 'password', { username: 'alice', password: PASSWORD });
  assert.doesNotMatch(String((await show(machine, browser)).body), /Set up a passkey/);
  await machine.handle(browser.request('GET', '/interaction/abc123/enroll-passkey'));
  assert.equal(mfa.called('passkeyRegistrationOptions').length, 0);
});

test('passwordless: the password page offers a passkey, which alone signs its owner in', async () => {
  const { machine, mfa, provider, throttle } = signIn({
    facts: { passkeysEnabled: true, passwordless: true },
    answers: {
      passwordlessOptions: { value: OPTIONS },
      verifyPasswordless: (response) => (response === 'stranger'
        ? { value: { tag: 'accepted', val: { user: 'mallory', name: 'Key' } } }
        : { value: { tag: 'accepted', val: { user: 'alice', name: 'Laptop' } } }),
    },
  });
  const browser = new Browser();
  const page = String((await show(machine, browser)).body);
  assert.match(page, /Sign in with a passkey/);
  assert.match(page, /data-passkey="get"/);
  // A passkey of someone this provider has no account for signs nobody in.
  await post(machine, browser, 'passwordless', { response: 'stranger' });
  assert.match(String((await show(machine, browser)).body), /not one of this site’s accounts/);
  assert.deepEqual(provider.results, []);
  await post(machine, browser, 'passwordless', { response: '{"id":"p"}' });
  const [{ login }] = provider.results;
  assert.equal(login.accountId, 'alice');
  assert.deepEqual(login.amr, ['hwk', 'user', 'mfa']);
  assert.equal(login.planasonix.phr, true);
  assert.equal(throttle.reserved, 0, 'no password, no password attempt');
  assert.equal(mfa.called('decide').length, 0);
});
