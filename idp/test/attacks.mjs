// The attacks of the identity-provider review, each tried as an attacker
// would against the real provider (two processes on one store, as behind a
// load balancer) and the real component, over HTTP with a cookie jar of our
// own (agent.mjs), playing the TLS-terminating proxy in front.
//
// Every attack is tried even when an earlier one worked; the run lists what
// worked and fails if anything did.
//
// Run by pam-module/tests/idp.rs with: IDP_URL, SECOND_IDP_URL (a second
// provider process on the same store), CLIENT_ID, REDIRECT_URI, PASSWORD,
// PAM_LOGIN (sshd on host A), PAM_SUDO (sudo with action=sudo on host A),
// ADMIN_RESET (a host's `planasonix admin reset`, the user as argument),
// STORE_FILE, SECRETS (JSON: user → base32 secret of users enrolled through
// a host's CLI) and RECOVERY (JSON: user → recovery codes).
//
// The policy: required-for-admins (group admins), enroll_at_login = false,
// five wrong codes from one address lock it, [step_up] sudo = "1h",
// quick = "20s", manage-mfa = "20s", passkeys for https://idp.test that must
// verify the person.
import { readStoreFile } from '../src/config.mjs';
import { Agent, interactionOf, said } from './agent.mjs';
import { Codes, env, pamLogin, recordVersion } from './lib.mjs';
import { SoftAuthenticator, optionsOf as pageOptions } from '../../tests/jco/passkey.mjs';
import { execFileSync } from 'node:child_process';

const idp = env('IDP_URL');
const second = env('SECOND_IDP_URL');
const password = env('PASSWORD');
const store = readStoreFile(env('STORE_FILE'));
const codes = Object.fromEntries(Object.entries(JSON.parse(env('SECRETS'))).map(([u, s]) => [u, new Codes(s)]));
const recovery = JSON.parse(env('RECOVERY'));
const ACR_STEP_UP = 'urn:planasonix:acr:step-up:';

class Worked extends Error {}

function worked(detail) {
  throw new Worked(detail);
}

function step(text) {
  process.stdout.write(`attacks: ${text}\n`);
}

let address = 0;
/** A fresh client address, as the proxy in front would see it. */
function nextAddress() {
  address += 1;
  return `198.51.${100 + Math.floor(address / 250)}.${address % 250 + 1}`;
}

/** A browser behind the proxy: https, its own client address. */
function browser({ at = idp, from = nextAddress(), spoof = null } = {}) {
  const agent = new Agent(at, {
    clientId: env('CLIENT_ID'),
    redirectUri: env('REDIRECT_URI'),
    proxy: { 'x-forwarded-proto': 'https', 'x-forwarded-for': spoof ? `${spoof}, ${from}` : from },
  });
  agent.from = from;
  return agent;
}

const heading = (page) => said(page).h1;

/**
 * Signs `user` in from `page` (a password page) with the password and, if
 * asked, `second` (a code, or a function giving one); returns where it ended:
 * a page, or `{ callback }` at the client.
 */
async function signIn(agent, page, user, second = null, pw = password) {
  if (heading(page) !== 'Sign in') throw new Error(`not the password page: ${JSON.stringify(said(page))}`);
  let at = await agent.submit(page, `${interactionOf(page)}/password`, { username: user, password: pw });
  for (let i = 0; i < 4 && !at.callback; i++) {
    const h = heading(at);
    if (h === 'Two-factor authentication' && second !== null) {
      const code = typeof second === 'function' ? await second() : second;
      second = null;
      at = await agent.submit(at, `${interactionOf(at)}/code`, { code });
    } else if (h === 'Recovery code accepted' || h === 'Set up two-factor authentication') {
      at = await agent.submit(at, `${interactionOf(at)}/proceed`);
    } else {
      break;
    }
  }
  return at;
}

/** Signs `user` in to the Security page with a fresh second factor (if enrolled). */
async function securitySession(agent, user, second = null) {
  const page = await agent.open('/security/mfa');
  const at = await signIn(agent, page, user, second);
  if (heading(at) !== 'Multi-factor authentication') {
    throw new Error(`${user} did not reach the Security page: ${JSON.stringify(said(at))}`);
  }
  return at;
}

/** A sign-in started and one password tried; the page it led to. */
async function guess(agent, user, pw) {
  const page = await agent.authorize();
  return agent.submit(page, `${interactionOf(page)}/password`, { username: user, password: pw });
}

const results = [];
async function attack(name, run) {
  step(`${name}…`);
  try {
    await run();
    results.push({ name, worked: false });
    step(`${name}: stopped`);
  } catch (e) {
    if (!(e instanceof Worked)) {
      results.push({ name, worked: true, detail: `the test failed: ${e?.stack ?? e}` });
      step(`${name}: TEST ERROR: ${e?.stack ?? e}`);
      return;
    }
    results.push({ name, worked: true, detail: e.message });
    step(`${name}: WORKED: ${e.message}`);
  }
}

// 1. Password guessing.

await attack('200 parallel wrong passwords are each checked, and then the right one is accepted', async () => {
  const from = nextAddress();
  const agents = [];
  for (let i = 0; i < 200; i += 20) {
    agents.push(...await Promise.all(Array.from({ length: 20 }, async () => {
      const a = browser({ from });
      return { a, page: await a.authorize() };
    })));
  }
  const outcomes = await Promise.all(agents.map(({ a, page }, i) =>
    a.submit(page, `${interactionOf(page)}/password`, { username: 'gus', password: `wrong-${i}` })));
  const checked = outcomes.filter((p) => /Wrong user name or password/.test(said(p).notice)).length;
  const { a } = agents[0];
  const last = await signIn(a, await a.authorize(), 'gus');
  if (checked > 10) worked(`${checked} of 200 parallel guesses were checked (at most 10 may be)`);
  if (last.callback || !/Too many/.test(said(last).notice)) {
    worked(`after 200 guesses the right password was not refused: ${JSON.stringify(said(last))}`);
  }
});

await attack('two provider processes behind a load balancer each give a full budget', async () => {
  for (let i = 0; i < 12; i++) {
    await guess(browser({ at: i % 2 ? second : idp }), 'gil', `wrong-${i}`);
  }
  const a = browser();
  const last = await signIn(a, await a.authorize(), 'gil');
  if (last.callback || !/Too many/.test(said(last).notice)) {
    worked(`after 12 wrong passwords over two processes the right one was not refused: ${JSON.stringify(said(last))}`);
  }
});

await attack('names sprayed from one address are not limited per address', async () => {
  const from = nextAddress();
  for (let i = 0; i < 31; i++) {
    await guess(browser({ from }), `nobody${i}`, 'x');
  }
  const a = browser({ from });
  const last = await signIn(a, await a.authorize(), 'gail');
  if (last.callback || !/Too many/.test(said(last).notice)) {
    worked(`after 31 wrong passwords from ${from} a right one from there was accepted: ${JSON.stringify(said(last))}`);
  }
  // From elsewhere, gail signs in.
  const b = browser();
  const elsewhere = await signIn(b, await b.authorize(), 'gail');
  if (!elsewhere.callback) throw new Error(`gail could not sign in from elsewhere: ${JSON.stringify(said(elsewhere))}`);
});

await attack('10,001 names sprayed from many addresses clear every count', async () => {
  // gwen's count first: ten wrong passwords.
  for (let i = 0; i < 10; i++) {
    await guess(browser(), 'gwen', `wrong-${i}`);
  }
  // Then 10,001 other names, each from its own address, one interaction each.
  const one = browser();
  const page = await one.authorize();
  const path = `${interactionOf(page)}/password`;
  let n = 0;
  const sprayer = async () => {
    while (n < 10_001) {
      n += 1;
      const a = browser();
      a.jar = one.jar;
      await a.post(page, path, { username: `spray${n}`, password: 'x' });
    }
  };
  await Promise.all(Array.from({ length: 16 }, sprayer));
  const a = browser();
  const last = await signIn(a, await a.authorize(), 'gwen');
  if (last.callback || !/Too many/.test(said(last).notice)) {
    worked(`after the spray gwen's right password was accepted at once: ${JSON.stringify(said(last))}`);
  }
});

// 5. Forwarded addresses: the per-address code lockout.

await attack('a client-written X-Forwarded-For evades the per-address lockout', async () => {
  const from = nextAddress();
  let a = browser({ from, spoof: '10.9.9.1' });
  let page = await signIn(a, await a.authorize(), 'ben');
  for (let i = 2; i <= 5 && heading(page) === 'Two-factor authentication'; i++) {
    page = await a.submit(page, `${interactionOf(page)}/code`, { code: '000000' });
    a.proxy['x-forwarded-for'] = `10.9.9.${i}, ${from}`;
  }
  page = await a.submit(page, `${interactionOf(page)}/code`, { code: '000000' });
  if (heading(page) !== 'You cannot sign in right now') {
    worked(`five wrong codes from ${from}, each behind a different client-written address, did not lock it: ${JSON.stringify(said(page))}`);
  }
  // ben still signs in from another address, and over SSH.
  a = browser();
  page = await signIn(a, await a.authorize(), 'ben', () => codes.ben.fresh());
  if (!page.callback) throw new Error(`ben could not sign in from elsewhere: ${JSON.stringify(said(page))}`);
});

// 5. CSRF: a cookie a sibling subdomain can set.

await attack('a CSRF cookie planted by a sibling subdomain lets a forged form through', async () => {
  const a = browser();
  const page = await a.authorize();
  const names = [...a.jar.keys()].filter((k) => /csrf/i.test(k));
  if (!names.every((k) => k.startsWith('__Host-'))) worked(`the CSRF cookie is not __Host- prefixed: ${names}`);
  // The attacker's sibling site sets the cookie (for the parent domain) and
  // posts the login form with the matching token: a login CSRF into gina.
  for (const k of names) a.jar.delete(k);
  const planted = 'A'.repeat(43);
  a.jar.set('planasonix.csrf', planted);
  const r = await a.request('POST', `${interactionOf(page)}/password`, {
    form: { csrf: planted, username: 'gina', password },
  });
  if (r.status !== 403) worked(`the forged sign-in form got ${r.status}, not 403`);
});

// 2. Factor changes need a recent second factor; enrollment needs enroll_at_login.

await attack('a password-only session enrolls its own authenticator (enroll_at_login = false)', async () => {
  for (const user of ['gina', 'ada']) {
    const a = browser();
    const page = await securitySession(a, user);
    const r = await a.post(page, '/security/mfa/totp/begin');
    const next = r.location ? await a.open(r.location) : r;
    if (/otpauth:|Scan this QR code/.test(next.text)) {
      worked(`${user}, signed in with the password alone, was shown a QR code to enroll`);
    }
  }
});

await attack('a session opened before a change of factors elsewhere still acts', async () => {
  const s1 = browser();
  await securitySession(s1, 'bea', recovery.bea[0]);
  const s2 = browser();
  const page = await securitySession(s2, 'bea', recovery.bea[1]);
  const r = await s2.post(page, '/security/mfa/recovery/regenerate');
  const shown = await s2.open(r.location);
  if (heading(shown) !== 'Save your recovery codes') throw new Error(`bea could not regenerate: ${JSON.stringify(said(shown))}`);
  const again = await s1.open('/security/mfa');
  if (heading(again) === 'Multi-factor authentication') {
    worked('the other session still opens the Security page after the codes changed');
  }
});

await attack('a session opened before an admin reset re-enrolls in the fresh window', async () => {
  const a = browser();
  await securitySession(a, 'bud', recovery.bud[0]);
  execFileSync(env('ADMIN_RESET'), ['bud']);
  const page = await a.open('/security/mfa');
  if (heading(page) === 'Multi-factor authentication') {
    const r = await a.post(page, '/security/mfa/totp/begin');
    const next = r.location ? await a.open(r.location) : r;
    if (/Scan this QR code/.test(next.text)) worked('the old session enrolled a new app after the reset');
    worked('the old session still opens the Security page after the reset');
  }
});

// 3. The admin page.

await attack('an admin in grace resets a user with the password alone', async () => {
  const a = browser();
  let page = await a.open('/admin');
  page = await signIn(a, page, 'ada');
  // ben, whom no later attack needs: a reset here would change the rest.
  const before = await recordVersion(store, 'ben');
  if (heading(page) === 'Administration') {
    const r = await a.post(page, '/admin/reset', { user: 'ben', reason: 'attacker', confirm: 'yes' });
    if (r.status === 303) await a.post(await a.open(r.location), '/admin/reset', { user: 'ben', reason: 'attacker', confirm: 'yes' });
  } else {
    // Whatever the page, a forged form must do nothing either.
    await a.post(page, '/admin/reset', { user: 'ben', reason: 'attacker', confirm: 'yes' });
  }
  if ((await recordVersion(store, 'ben')) !== before) worked("ben's record changed: ada reset it with a password alone");
  if (heading(page) === 'Administration') worked('ada, in grace with no factor, was shown the admin page');
});

// 4. prompt=login and max_age with a step-up; what the tokens say.

await attack('prompt=login and max_age=0 are skipped when a step-up is asked', async () => {
  const a = browser();
  const first = await signIn(a, await a.authorize(), 'bob', () => codes.bob.fresh());
  const signedIn = await a.claims(first.callback);
  await new Promise((r) => setTimeout(r, 1100));
  for (const extra of [{ prompt: 'login' }, { max_age: '0' }]) {
    const page = await a.authorize({ acr_values: `${ACR_STEP_UP}sudo`, ...extra });
    if (page.callback) {
      const c = await a.claims(page.callback);
      worked(`${JSON.stringify(extra)} with a step-up signed in with no password typed: amr ${c.amr}, auth_time ${c.auth_time} (was ${signedIn.auth_time})`);
    }
    if (heading(page) !== 'Sign in') worked(`${JSON.stringify(extra)} with a step-up skipped the password: ${JSON.stringify(said(page))}`);
  }
  // A step-up the session's recent factor satisfies: nothing typed, so the
  // token says what the session did, when it did it.
  const page = await a.authorize({ acr_values: `${ACR_STEP_UP}sudo` });
  if (!page.callback) throw new Error(`the step-up asked again: ${JSON.stringify(said(page))}`);
  const c = await a.claims(page.callback);
  if (c.auth_time !== signedIn.auth_time || JSON.stringify(c.amr) !== JSON.stringify(signedIn.amr)) {
    worked(`a step-up with nothing typed renewed the sign-in: amr ${c.amr}, auth_time ${c.auth_time}, was ${signedIn.amr} at ${signedIn.auth_time}`);
  }
});

// 5. One MFA counts everywhere; 2. a factor change needs a recent one.

await attack('a code typed over SSH satisfies the browser\u2019s step-up; an old session changes factors', async () => {
  const a = browser();
  const page = await signIn(a, await a.authorize(), 'bob', () => codes.bob.fresh());
  if (!page.callback) throw new Error(`bob could not sign in: ${JSON.stringify(said(page))}`);
  const security = await a.open('/security/mfa');
  step('waiting 21 s for the quick step-up and manage-mfa ages to pass');
  await new Promise((r) => setTimeout(r, 21_000));
  const ssh = pamLogin(env('PAM_LOGIN'), 'bob', await codes.bob.fresh());
  if (!ssh.ok) throw new Error(`bob's SSH login failed: ${ssh.text}`);
  const up = await a.authorize({ acr_values: `${ACR_STEP_UP}quick` });
  if (up.callback) worked('the step-up was satisfied by the code typed over SSH');
  const r = await a.post(security, '/security/mfa/recovery/regenerate');
  const next = r.location ? await a.open(r.location) : r;
  if (heading(next) === 'Save your recovery codes') worked('a session whose second factor is 21 s old (manage-mfa = 20s) made new recovery codes');
});

await attack('a browser sign-in satisfies sudo\u2019s step-up on a host', async () => {
  const a = browser();
  const page = await signIn(a, await a.authorize(), 'bob', () => codes.bob.fresh());
  if (!page.callback) throw new Error(`bob could not sign in: ${JSON.stringify(said(page))}`);
  const sudo = pamLogin(env('PAM_SUDO'), 'bob', '');
  if (sudo.ok) worked(`sudo on a host let bob in without a code: ${sudo.text}`);
});

// 6. Passkeys, answered by a software authenticator as a browser would.

const optionsOf = (page) => pageOptions(page.text);

await attack('a passkey answer relayed by a look-alike site, made without the person, or replayed, signs in', async () => {
  const key = new SoftAuthenticator(42, 'https://idp.test');
  const a = browser();
  const security = await securitySession(a, 'bea', () => codes.bea.fresh());
  const begun = await a.submit(security, '/security/mfa/passkey/begin', { name: 'Key' });
  const added = await a.submit(begun, '/security/mfa/passkey/finish', { response: key.register(optionsOf(begun)) });
  if (!/Passkey “Key” added/.test(said(added).notice)) throw new Error(`bea's passkey was not added: ${JSON.stringify(said(added))}`);
  const b = browser();
  let page = await signIn(b, await b.authorize(), 'bea');
  if (heading(page) !== 'Use your passkey') throw new Error(`no passkey page: ${JSON.stringify(said(page))}`);
  key.origin = 'https://idp.test.evil.example';
  page = await b.submit(page, `${interactionOf(page)}/assert`, { response: key.signIn(optionsOf(page)) });
  if (page.callback) worked('an answer made for a look-alike origin signed bea in');
  if (!/not valid for this site/.test(said(page).notice)) throw new Error(`look-alike: ${JSON.stringify(said(page))}`);
  key.origin = 'https://idp.test';
  key.verifiesUser = false;
  page = await b.submit(page, `${interactionOf(page)}/assert`, { response: key.signIn(optionsOf(page)) });
  if (page.callback) worked('an answer without user verification signed bea in where the policy requires it');
  if (!/check it is you/.test(said(page).notice)) throw new Error(`no UV: ${JSON.stringify(said(page))}`);
  key.verifiesUser = true;
  const good = key.signIn(optionsOf(page));
  const done = await b.submit(page, `${interactionOf(page)}/assert`, { response: good });
  if (!done.callback) throw new Error(`bea's own passkey did not sign in: ${JSON.stringify(said(done))}`);
  const claims = await b.claims(done.callback);
  if (claims.acr !== 'urn:planasonix:acr:phr') throw new Error(`acr ${claims.acr}`);
  const c = browser();
  page = await signIn(c, await c.authorize(), 'bea');
  page = await c.submit(page, `${interactionOf(page)}/assert`, { response: good });
  if (page.callback) worked('a passkey answer replayed in another sign-in signed bea in');
  if (!/expired or was already used/.test(said(page).notice)) throw new Error(`replay: ${JSON.stringify(said(page))}`);
});

// 7. What users read, where this run's policy matters (SMS off).

await attack('SMS is offered by a policy that turns it off', async () => {
  const a = browser();
  const page = await securitySession(a, 'gina');
  if (/Set up SMS/.test(page.text)) worked('the Security page offers "Set up SMS"');
  const sms = await a.open('/security/mfa/sms');
  if (/Mobile number/.test(sms.text)) worked('the SMS page asks for a number');
});

const won = results.filter((r) => r.worked);
step(`${results.length - won.length} of ${results.length} attacks stopped`);
for (const r of won) step(`worked: ${r.name}: ${r.detail}`);
if (won.length > 0) process.exit(1);
step('passed');
