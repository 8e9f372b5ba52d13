// Passkeys at the reference provider in a real browser: Chromium's virtual
// authenticator (DevTools protocol `WebAuthn`, CTAP2, internal transport,
// user verification) registers a passkey on the Security page, names and
// renames it, and signs in with it as the second factor, with and without
// user verification, and for an application that asks for a phishing-
// resistant sign-in; the browser refuses it at a relaying look-alike site
// and, without user verification, for a passwordless sign-in. Each page is
// kept as a screenshot in $ARTIFACTS.
//
// Run by pam-module/tests/idp.rs in two phases (PHASE): `web` (the story
// above; the fleet's hosts then see the passkey and remove it), then
// `removed` (the provider no longer offers it; FAY_SECRET is the app the
// host enrolled meanwhile). The environment is browser.mjs's.
import { startRelay } from './relay.mjs';
import { startRp } from './rp.mjs';
import { assert, Codes, env, launch } from './lib.mjs';

const idp = env('IDP_URL');
const phase = env('PHASE');
const password = env('PASSWORD');
const rp = await startRp({ issuer: idp, clientId: env('CLIENT_ID'), port: Number(env('RP_PORT')) });
const { browser, person, errors } = await launch(env('ARTIFACTS'));

function step(text) {
  process.stdout.write(`passkeys: ${text}\n`);
}

async function claims(page) {
  await page.waitForURL(`${rp.url}/cb**`);
  return JSON.parse(await page.locator('#claims').textContent());
}

async function signInWithPassword(page, rpQuery = '', user = 'fay') {
  await page.goto(`${rp.url}/login${rpQuery}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function notice(page) {
  return (await page.locator('#notice').textContent()).trim();
}

/**
 * Chromium's virtual authenticator in `page`'s browser: a platform passkey
 * (internal transport, with user verification). `moveTo` puts its
 * credential on another virtual authenticator instead (the same passkey on
 * a USB security key without a PIN, say).
 */
async function authenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const add = async (options) => (await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', hasResidentKey: true, automaticPresenceSimulation: true, ...options },
  })).authenticatorId;
  let id = await add({ transport: 'internal', hasUserVerification: true, isUserVerified: true });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
  return {
    credentials,
    async moveTo(options) {
      const held = await credentials();
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
      id = await add(options);
      for (const credential of held) await cdp.send('WebAuthn.addCredential', { authenticatorId: id, credential });
    },
  };
}

const { context, page } = await person('fay');
// Fay's browser offers no passkey autofill (as browsers before conditional
// mediation): her sign-ins go through the password page as the steps mean
// them to. Pat's has it, and Chromium's virtual authenticator picks the
// passkey the moment it is offered.
await context.addInitScript(() => {
  PublicKeyCredential.isConditionalMediationAvailable = async () => false;
});

try {
  if (phase === 'web') {
    step('in grace, fay signs in with her password and opens Security');
    await signInWithPassword(page);
    await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    await page.getByRole('button', { name: 'Remind me later' }).click();
    assert.deepEqual((await claims(page)).amr, ['pwd']);
    await page.goto(`${idp}/security/mfa`);
    await page.getByRole('heading', { name: 'Passkeys and security keys' }).waitFor();
    assert.match(await page.locator('section[aria-labelledby="pk-h"]').textContent(), /None yet/);

    step('add a passkey: named, made by the browser, recovery codes shown once');
    const key = await authenticator(context, page);
    await page.getByLabel('Name it').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey or security key' }).click();
    await page.getByRole('heading', { name: 'Add a passkey or security key' }).waitFor();
    assert.match(await page.content(), /where to keep the passkey “Laptop”/);
    await page.shot('passkey-add');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal((await page.locator('ul.codes code').allTextContents()).length, 10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    assert.equal(await notice(page), 'Passkey “Laptop” added.');
    const section = page.locator('section[aria-labelledby="pk-h"]');
    assert.match(await section.textContent(), /Laptop\s+added .*, never used/);
    assert.equal((await key.credentials()).length, 1, 'the authenticator holds one credential');
    await page.shot('security-passkey');

    step('rename it');
    await section.getByText('Rename or remove').click();
    await section.getByLabel('New name').fill('Work laptop');
    await section.getByRole('button', { name: 'Rename' }).click();
    assert.equal(await notice(page), 'Passkey renamed to “Work laptop”.');

    step('a second passkey is a change of factors: the first one steps up');
    await page.getByLabel('Name it').fill('Again');
    await page.getByRole('button', { name: 'Add a passkey or security key' }).click();
    await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await page.getByRole('heading', { name: 'Multi-factor authentication' }).waitFor();
    assert.match(await notice(page), /Second factor confirmed/);

    step('the same authenticator cannot register twice');
    await page.getByLabel('Name it').fill('Again');
    await page.getByRole('button', { name: 'Add a passkey or security key' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('[data-passkey-status]').waitFor({ state: 'visible' });
    assert.match(await page.locator('[data-passkey-status]').textContent(), /registered already/);
    await page.shot('passkey-add-twice');

    step('sign in with the passkey as the second factor');
    await page.goto(`${idp}/session/end`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInWithPassword(page);
    await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    await page.shot('passkey-sign-in');
    await page.getByRole('button', { name: 'Use passkey' }).click();
    let c = await claims(page);
    assert.deepEqual(c.amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal(c.acr, 'urn:planasonix:acr:phr');

    step('on a USB key without user verification (this policy prefers it): no `user` in amr');
    await key.moveTo({ transport: 'usb', hasUserVerification: false });
    await signInWithPassword(page, '?prompt=login');
    await page.getByRole('button', { name: 'Use passkey' }).click();
    c = await claims(page);
    assert.deepEqual(c.amr, ['pwd', 'hwk', 'mfa']);
    assert.equal(c.acr, 'urn:planasonix:acr:phr');

    step('an application that asks for a phishing-resistant sign-in gets no code form');
    await signInWithPassword(page, `?prompt=login&acr_values=${encodeURIComponent('urn:planasonix:acr:phr')}`);
    await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Use a code instead' }).count(), 0);
    await page.getByRole('button', { name: 'Use passkey' }).click();
    assert.equal((await claims(page)).acr, 'urn:planasonix:acr:phr');

    step('at a relaying look-alike site, the password goes through and the passkey does not');
    const relay = await startRelay(idp);
    try {
      // The phishing link: the application's own sign-in, started at the relay.
      const start = await fetch(`${rp.url}/login?prompt=login`, { redirect: 'manual' });
      const authorize = new URL(start.headers.get('location'));
      assert.equal(authorize.origin, idp);
      await page.goto(`${relay.url}${authorize.pathname}${authorize.search}`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByLabel('User name').fill('fay');
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
      assert.ok(page.url().startsWith(relay.url), 'the relay passed the password on');
      await page.getByRole('button', { name: 'Use passkey' }).click();
      const refusal = page.locator('[data-passkey-status]');
      await refusal.waitFor({ state: 'visible' });
      assert.match(await refusal.textContent(), /not at the address passkeys are set up for/);
      await page.shot('passkey-phished');
      assert.ok(page.url().startsWith(relay.url), 'no sign-in reached the application');
    } finally {
      await relay.close();
    }

    step('in grace, pat sets up a passkey at sign-in, then signs in with it');
    const { context: patContext, page: pat } = await person('pat');
    await pat.goto(`${idp}/security/mfa`);
    const patKey = await authenticator(patContext, pat);
    await signInWithPassword(pat, '', 'pat');
    await pat.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    await pat.getByRole('button', { name: 'Set up a passkey' }).click();
    await pat.getByRole('heading', { name: 'Set up a passkey' }).waitFor();
    await pat.shot('passkey-enroll-at-sign-in');
    await pat.getByLabel('Name it').fill('Phone');
    await pat.getByRole('button', { name: 'Continue' }).click();
    await pat.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await pat.getByRole('button', { name: 'I have saved them' }).click();
    await pat.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    await pat.getByRole('button', { name: 'Use passkey' }).click();
    const patClaims = await claims(pat);
    assert.deepEqual(patClaims.amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal(patClaims.sub, 'pat');

    step('passkey autofill: the browser offers pat\'s passkey at the user name field, nothing typed');
    await pat.goto(`${rp.url}/login?prompt=login`);
    const alone = await claims(pat);
    assert.equal(alone.sub, 'pat');
    assert.deepEqual(alone.amr, ['hwk', 'user', 'mfa']);
    assert.equal(alone.acr, 'urn:planasonix:acr:phr');

    step('passwordless needs user verification: a key without a PIN is refused by the browser');
    await patKey.moveTo({ transport: 'usb', hasUserVerification: false });
    await pat.goto(`${rp.url}/login?prompt=login`);
    await pat.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const noUv = pat.locator('form[data-passkey="get"] [data-passkey-status]');
    await noUv.waitFor({ state: 'visible' });
    assert.match(await noUv.textContent(), /The passkey was not used/);
    assert.ok(pat.url().startsWith(idp), 'still at the sign-in page');

    step('passwordless with the button, in a browser without passkey autofill');
    await key.moveTo({ transport: 'internal', hasUserVerification: true, isUserVerified: true });
    await page.goto(`${rp.url}/login?prompt=login`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.shot('passwordless');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const fay = await claims(page);
    assert.equal(fay.sub, 'fay');
    assert.deepEqual(fay.amr, ['hwk', 'user', 'mfa']);

    step('the last factor of a user who must have one cannot be removed');
    await page.goto(`${idp}/security/mfa`);
    await section.getByText('Rename or remove').click();
    await section.getByRole('button', { name: 'Remove Work laptop' }).click();
    assert.match(await notice(page), /set up another factor before you remove this one/);
    assert.match(await section.textContent(), /Work laptop/);
  } else if (phase === 'removed') {
    step('removed on a host: the provider offers no passkey, the app signs in');
    await signInWithPassword(page);
    await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Use a passkey' }).count(), 0);
    const codes = new Codes(env('FAY_SECRET'));
    await page.getByLabel('Verification code').fill(await codes.fresh());
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.deepEqual((await claims(page)).amr, ['pwd', 'otp']);
    await page.goto(`${idp}/security/mfa`);
    assert.match(await page.locator('section[aria-labelledby="pk-h"]').textContent(), /None yet/);
  } else {
    throw new Error(`unknown PHASE ${phase}`);
  }
  assert.deepEqual(errors, [], 'the pages logged errors');
  step('passed');
} catch (e) {
  await page.shot('failure').catch(() => {});
  throw e;
} finally {
  await browser.close();
  await rp.close();
}
