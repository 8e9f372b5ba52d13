// The reference provider in a real browser (Debian's Chromium, headless,
// driven by playwright-core), with a real OpenID client as the application.
// One person's story, from the first sign-in in grace to an admin reset,
// each page kept as a screenshot in $ARTIFACTS; any console error fails it.
// Codes come from oathtool; the QR code is decoded from a screenshot.
//
// Run by pam-module/tests/idp.rs, which starts PostgreSQL, a host of the
// fleet and the provider, and gives: IDP_URL, RP_PORT, CLIENT_ID, ARTIFACTS,
// PASSWORD (every user's), PAM_LOGIN (a command: user as argument, what to
// type on stdin), STORE_FILE, OUTBOX (where the SMS command writes).
import fs from 'node:fs';
import path from 'node:path';
import { readStoreFile } from '../src/config.mjs';
import { startRp } from './rp.mjs';
import { assert, Codes, env, launch, pamLogin, qrSecret, recordVersion } from './lib.mjs';

const idp = env('IDP_URL');
const artifacts = env('ARTIFACTS');
const password = env('PASSWORD');
const pam = env('PAM_LOGIN');
const outbox = env('OUTBOX');
const store = readStoreFile(env('STORE_FILE'));
const rp = await startRp({ issuer: idp, clientId: env('CLIENT_ID'), port: Number(env('RP_PORT')) });
const { browser, person, errors } = await launch(artifacts);

function step(text) {
  process.stdout.write(`browser: ${text}\n`);
}

/** The claims the relying party got from the last sign-in. */
async function claims(page) {
  await page.waitForURL(`${rp.url}/cb**`);
  const text = await page.locator('#claims').textContent();
  return JSON.parse(text);
}

async function signInWithPassword(page, user, rpQuery = '') {
  await page.goto(`${rp.url}/login${rpQuery}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function typeCode(page, code) {
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

async function notice(page) {
  return (await page.locator('#notice').textContent()).trim();
}

async function signOut(page) {
  await page.goto(`${idp}/session/end`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Signed out' }).waitFor();
}

/** The code the SMS command last received for `to`. */
function lastText() {
  const files = fs.readdirSync(outbox).sort();
  assert.ok(files.length > 0, 'no SMS was sent');
  const text = fs.readFileSync(path.join(outbox, files.at(-1)), 'utf8');
  return /\b([0-9]{6,8})\b/.exec(text)[1];
}

const now = () => Math.floor(Date.now() / 1000);
const { page } = await person('ida');

try {
  step('first sign-in: in the grace period');
  await page.goto(`${rp.url}/login`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  // A wrong password keeps the user name typed.
  await page.getByLabel('User name').fill('ida');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  assert.match(await notice(page), /Wrong user name or password/);
  assert.equal(await page.getByLabel('User name').inputValue(), 'ida');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  // The deadline in words, in the reader's time (the context's zone is
  // Asia/Tokyo), the UTC value kept in the title.
  assert.match(await notice(page), /becomes mandatory for your account on \w+day,? \d{1,2} \w+ \d{4}.* \(in 7 days\)/);
  const deadline = page.locator('#notice time');
  assert.match(await deadline.getAttribute('title'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(UTC\)$/);
  assert.match(await deadline.textContent(), /GMT\+9|JST/);
  await page.shot('grace');

  step('enroll: QR code and key, confirmed with a code');
  await page.getByRole('button', { name: 'Set up now' }).click();
  await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
  await page.shot('enroll');
  // On a phone, the app is on the same device: a link hands it the key.
  assert.match(await page.getByRole('link', { name: 'Add to authenticator app' }).getAttribute('href'), /^otpauth:\/\/totp\//);
  const qrPng = path.join(artifacts, 'qr.png');
  await page.locator('img.qr').screenshot({ path: qrPng });
  const secret = qrSecret(qrPng);
  fs.rmSync(qrPng);
  await page.getByText('Can’t scan it? Type the key instead').click();
  const typed = (await page.locator('#secret').textContent()).replace(/\s+/g, '');
  assert.equal(typed, secret, 'the key on the page is not the one in the QR code');
  const codes = new Codes(secret);
  await page.getByLabel('Code shown by the app').fill('000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await notice(page), /code is not right/);
  assert.equal(await page.getByLabel('Code shown by the app').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Code shown by the app').fill(await codes.fresh());
  await page.getByRole('button', { name: 'Confirm' }).click();

  step('recovery codes, shown once');
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  let recovery = (await page.locator('ul.codes code').allTextContents()).map((c) => c.trim());
  assert.equal(recovery.length, 10);
  const download = decodeURIComponent((await page.getByRole('link', { name: 'Download' }).getAttribute('href')).split(',')[1]);
  for (const c of recovery) assert.ok(download.includes(c), 'the download lacks a code');
  await page.shot('recovery-codes');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  let c = await claims(page);
  assert.deepEqual(c.amr, ['pwd', 'otp']);
  assert.equal(c.acr, 'urn:planasonix:acr:mfa');
  assert.ok(Math.abs(c.auth_time - now()) < 120, `auth_time ${c.auth_time}`);
  assert.equal(c.sub, 'ida');
  step('enrolling counts as the second factor that just passed: a step-up needs no code');
  await page.goto(`${rp.url}/login?acr_values=${encodeURIComponent('urn:planasonix:acr:step-up:sudo')}`);
  const enrolled = await claims(page);
  assert.equal(enrolled.acr, 'urn:planasonix:acr:step-up:sudo');
  assert.deepEqual(enrolled.amr, c.amr, 'a step-up with nothing typed changed the amr');
  assert.equal(enrolled.auth_time, c.auth_time, 'a step-up with nothing typed renewed auth_time');
  await page.goto(`${idp}/security/mfa`);
  await page.getByRole('heading', { name: 'Multi-factor authentication' }).waitFor();
  const security = await page.content();
  for (const code of recovery) assert.ok(!security.includes(code), 'a recovery code was shown again');
  assert.ok(security.includes('10 unused recovery codes'));
  await page.shot('security');

  step('SMS opt-in, with its warnings');
  await page.getByRole('button', { name: 'Set up SMS' }).click();
  assert.match(await page.content(), /SIM swap/);
  assert.match(await page.content(), /Carriers sometimes fail to deliver/);
  await page.shot('sms-opt-in');
  await page.getByLabel('Mobile number').fill('+44 7700 900123');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await page.getByText('We texted a code to').waitFor();
  assert.match(await page.content(), /\+44•+23/);
  await page.getByLabel('Code from the text').fill(lastText());
  await page.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await notice(page), /SMS codes are on/);
  assert.match(await page.content(), /On: \+44•+23/);

  step('only administrators open the admin page, with a page that says so');
  await page.goto(`${idp}/admin`);
  await page.getByRole('heading', { name: 'Administrators only' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'go to your security settings' }).getAttribute('href'), '/security/mfa');
  await page.shot('admins-only');

  step('sign out, sign in with an app code');
  await signOut(page);
  await signInWithPassword(page, 'ida');
  await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
  await page.shot('code');
  const appCode = await codes.fresh();
  await typeCode(page, appCode);
  c = await claims(page);
  assert.deepEqual(c.amr, ['pwd', 'otp']);

  step('the same code over SSH is a replay; a fresh one gets in');
  let login = pamLogin(pam, 'ida', appCode);
  assert.ok(!login.ok, `SSH accepted a code the browser had used:\n${login.text}`);
  assert.match(login.text, /That code was already used/);
  login = pamLogin(pam, 'ida', await codes.fresh());
  assert.ok(login.ok, `SSH refused ida's next app code:\n${login.text}`);

  step('a replay in the browser is refused with the component’s message');
  await signOut(page);
  await signInWithPassword(page, 'ida');
  await typeCode(page, codes.spent());
  assert.match(await notice(page), /^That code was already used\. Wait for the next one\. \d+ more wrong codes lock second-factor sign-in\.$/);
  assert.equal(await page.getByLabel('Verification code').getAttribute('aria-invalid'), 'true');
  await page.shot('replay');

  step('text me a code');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  assert.match(await notice(page), /^Code sent by SMS to \+44•+23\.$/);
  await typeCode(page, lastText());
  c = await claims(page);
  assert.deepEqual(c.amr, ['pwd', 'sms']);

  step('a recovery code works once');
  await signOut(page);
  await signInWithPassword(page, 'ida');
  await typeCode(page, recovery[0].toLowerCase().replace('-', ''));
  await page.getByRole('heading', { name: 'Recovery code accepted' }).waitFor();
  assert.match(await notice(page), /9 recovery codes left/);
  await page.shot('recovery-accepted');
  await page.getByRole('button', { name: 'Continue' }).click();
  c = await claims(page);
  assert.deepEqual(c.amr, ['pwd', 'mfa']);
  await signOut(page);
  await signInWithPassword(page, 'ida');
  await typeCode(page, recovery[0]);
  assert.match(await notice(page), /^That recovery code was already used: each works once\. Use another one\. \d+ more wrong codes/);

  step('wrong codes lock second-factor sign-in');
  let tries = 0;
  while (!(await page.getByRole('heading', { name: 'You cannot sign in right now' }).isVisible())) {
    tries += 1;
    assert.ok(tries <= 5, 'still not locked after five more wrong codes');
    await typeCode(page, '000000');
  }
  assert.match(await notice(page), /^Too many wrong codes: second-factor sign-in is locked until \d\d:\d\d .*\(in 1[45] minutes\)\.$/);
  const advice = await page.locator('main').textContent();
  assert.match(advice, /The lock ends by itself at that time\. An administrator can lift it sooner/);
  assert.doesNotMatch(advice, /reset/i, 'the lock page steers toward a reset');
  await page.shot('locked');

  step('an admin in grace cannot use the admin page until a second factor passed');
  const admin = (await person('admin')).page;
  await admin.goto(`${idp}/admin`);
  await admin.getByLabel('User name').fill('ada');
  await admin.getByLabel('Password').fill(password);
  await admin.getByRole('button', { name: 'Sign in', exact: true }).click();
  await admin.getByRole('button', { name: 'Remind me later' }).click();
  await admin.getByRole('heading', { name: 'Administration needs a second factor' }).waitFor();
  assert.equal(await admin.getByRole('button', { name: 'Unlock' }).count(), 0);
  await admin.shot('admin-needs-a-factor');

  step('the admin enrolls at the next sign-in; then the admin page opens and unlocks ida');
  await signOut(admin);
  await admin.goto(`${idp}/admin`);
  await admin.getByLabel('User name').fill('ada');
  await admin.getByLabel('Password').fill(password);
  await admin.getByRole('button', { name: 'Sign in', exact: true }).click();
  await admin.getByRole('button', { name: 'Set up now' }).click();
  const adminQr = path.join(artifacts, 'admin-qr.png');
  await admin.locator('img.qr').screenshot({ path: adminQr });
  const adminCodes = new Codes(qrSecret(adminQr));
  fs.rmSync(adminQr);
  await admin.getByLabel('Code shown by the app').fill(await adminCodes.fresh());
  await admin.getByRole('button', { name: 'Confirm' }).click();
  await admin.getByRole('button', { name: 'I have saved them' }).click();
  await admin.getByRole('heading', { name: 'Administration' }).waitFor();
  await admin.getByLabel('User name').first().fill('ida');
  await admin.getByRole('button', { name: 'Look up' }).click();
  await admin.getByRole('heading', { name: 'ida', exact: true }).waitFor();
  assert.match(await admin.locator('main').textContent(), /Locked (from 127\.0\.0\.1|everywhere) until/);
  await admin.shot('admin');
  await admin.getByRole('button', { name: 'Unlock' }).click();
  assert.match(await notice(admin), /ida was unlocked/);

  step('regenerate recovery codes; remove SMS');
  await signInWithPassword(page, 'ida');
  await typeCode(page, await codes.fresh());
  await claims(page);
  await page.goto(`${idp}/security/mfa`);
  // On a phone the card keeps off the screen's edges.
  await page.setViewportSize({ width: 390, height: 844 });
  const card = await page.locator('main').boundingBox();
  assert.ok(card.x >= 8 && card.x + card.width <= 390 - 8, `the card touches the screen's edges: ${JSON.stringify(card)}`);
  await page.shot('security-phone');
  await page.setViewportSize({ width: 900, height: 1000 });
  await page.getByRole('button', { name: 'Generate new recovery codes' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  const fresh = (await page.locator('ul.codes code').allTextContents()).map((x) => x.trim());
  assert.equal(fresh.length, 10);
  assert.ok(!fresh.includes(recovery[1]));
  recovery = fresh;
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByRole('button', { name: 'Remove SMS' }).click();
  assert.match(await notice(page), /Text message \(SMS\) removed/);
  await page.getByRole('button', { name: 'Remove authenticator app' }).click();
  assert.match(await notice(page), /required for your account: set up another factor/);
  await page.shot('security-after');

  step('step-up: a sensitive action asks for a fresh code inside the session');
  await new Promise((r) => setTimeout(r, 1500));
  await page.goto(`${rp.url}/login?acr_values=${encodeURIComponent('urn:planasonix:acr:step-up:export-secrets')}`);
  await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
  assert.match(await page.content(), /export-secrets needs a recent second factor/);
  await page.shot('step-up');
  await typeCode(page, await codes.fresh());
  c = await claims(page);
  assert.equal(c.acr, 'urn:planasonix:acr:step-up:export-secrets');
  assert.ok(c.amr.includes('otp'));
  const before = c.auth_time;
  step('step-up an action whose window still holds: no prompt');
  await page.goto(`${rp.url}/login?acr_values=${encodeURIComponent('urn:planasonix:acr:step-up:sudo')}`);
  c = await claims(page);
  assert.equal(c.acr, 'urn:planasonix:acr:step-up:sudo');
  step('max_age: a fresh sign-in');
  await new Promise((r) => setTimeout(r, 2100));
  await page.goto(`${rp.url}/login?max_age=1`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill('ida');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await typeCode(page, await codes.fresh());
  c = await claims(page);
  assert.ok(c.auth_time > before, 'auth_time did not move on with a fresh sign-in');

  step('admin reset: enrollment is offered again');
  await admin.goto(`${idp}/admin`);
  await admin.locator('#reset-h').locator('..').getByLabel('User name').fill('ida');
  await admin.getByLabel('Reason (kept in the audit log)').fill('lost phone; identity checked by call-back');
  await admin.getByRole('button', { name: 'Reset…' }).click();
  await admin.getByRole('heading', { name: 'Reset ida’s two-factor authentication?' }).waitFor();
  assert.match(await notice(admin), /removes every factor and recovery code of ida, on every host/);
  await admin.shot('admin-confirm-reset');
  await admin.getByRole('button', { name: 'Reset ida' }).click();
  assert.match(await notice(admin), /ida’s two-factor authentication was reset/);
  await signOut(page);
  await signInWithPassword(page, 'ida');
  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  await page.getByRole('button', { name: 'Set up now' }).waitFor();
  await page.shot('after-reset');
  const version = await recordVersion(store, 'ida');
  assert.ok(version !== null);

  assert.deepEqual(rp.errors, [], `the relying party failed: ${rp.errors.join('; ')}`);
  // The admin page's refusals are 403 pages on purpose; Chromium logs each.
  const refusals = /: console: Failed to load resource: the server responded with a status of 403 \(Forbidden\) \(http:\/\/[^/]+\/admin\)$/;
  const unexpected = errors.filter((e) => !refusals.test(e));
  assert.deepEqual(unexpected, [], `the browser logged errors:\n${unexpected.join('\n')}`);
  step('passed');
} catch (e) {
  await page.shot('failure').catch(() => {});
  throw e;
} finally {
  await browser.close();
  await rp.close();
}
