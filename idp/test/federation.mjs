// A federated sign-in: the reference provider signs fay in through an
// upstream OpenID Provider (a second instance of the same provider, on
// `127.0.0.1` so the two keep their own cookies) and passes the upstream ID
// token's `amr` to the component as hers. The policy trusts `mfa` and not
// `otp` (its default `trusted_amr`):
//
//   upstream password + recovery code → amr [pwd, mfa] → no code asked here
//   upstream password + app code      → amr [pwd, otp] → a code asked here
//
// Run by pam-module/tests/idp.rs with IDP_URL, UPSTREAM_URL, RP_PORT,
// CLIENT_ID, PASSWORD, ARTIFACTS, FAY_SECRET (base32) and FAY_RECOVERY.
import { startRp } from './rp.mjs';
import { assert, Codes, env, launch } from './lib.mjs';

const idp = env('IDP_URL');
const rp = await startRp({ issuer: idp, clientId: env('CLIENT_ID'), port: Number(env('RP_PORT')) });
const { browser, person, errors } = await launch(env('ARTIFACTS'));
const codes = new Codes(env('FAY_SECRET'));
const password = env('PASSWORD');

function step(text) {
  process.stdout.write(`federation: ${text}\n`);
}

async function throughUpstream(page, second) {
  await page.goto(`${rp.url}/login`);
  await page.getByRole('button', { name: 'Sign in with Example SSO' }).click();
  await page.waitForURL(`${env('UPSTREAM_URL')}/**`);
  await page.getByLabel('User name').fill('fay');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel('Verification code').fill(second);
  await page.getByRole('button', { name: 'Verify' }).click();
}

async function claims(page) {
  await page.waitForURL(`${rp.url}/cb**`);
  return JSON.parse(await page.locator('#claims').textContent());
}

try {
  step('upstream MFA the policy trusts: no second code here');
  let { page } = await person('fay');
  await throughUpstream(page, env('FAY_RECOVERY'));
  await page.getByRole('button', { name: 'Continue' }).click();
  let c = await claims(page);
  assert.equal(c.sub, 'fay');
  assert.ok(c.amr.includes('mfa'), `amr ${c.amr}`);
  assert.equal(c.acr, 'urn:planasonix:acr:mfa');
  await page.shot('trusted-upstream');

  step('upstream MFA the policy does not trust: a code asked here');
  ({ page } = await person('fay-again'));
  await throughUpstream(page, await codes.fresh());
  await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
  await page.shot('untrusted-upstream');
  await page.getByLabel('Verification code').fill(await codes.fresh());
  await page.getByRole('button', { name: 'Verify' }).click();
  c = await claims(page);
  assert.deepEqual(c.amr, ['pwd', 'otp']);
  assert.deepEqual(rp.errors, []);
  assert.deepEqual(errors, [], `the browser logged errors:\n${errors.join('\n')}`);
  step('passed');
} finally {
  await browser.close();
  await rp.close();
}
