// Hostile input at every field of the sign-in: a 10,000-character code,
// bytes that are not UTF-8, control characters, a missing or foreign CSRF
// token, a form sent twice, a replayed interaction URL. Each gets a clear
// page with a status that says what happened, nothing is written to the
// store (the record's version does not move), no wrong code is counted, and
// the provider keeps serving.
//
// Run by pam-module/tests/idp.rs after browser.mjs, with the same
// environment, and BOB (a user enrolled through a host's CLI).
import { readStoreFile } from '../src/config.mjs';
import { startRp } from './rp.mjs';
import { assert, env, launch, plant, recordVersion } from './lib.mjs';

const idp = env('IDP_URL');
const password = env('PASSWORD');
const store = readStoreFile(env('STORE_FILE'));
const rp = await startRp({ issuer: idp, clientId: env('CLIENT_ID'), port: Number(env('RP_PORT')) });
const { browser, person, errors } = await launch(env('ARTIFACTS'));

function step(text) {
  process.stdout.write(`bad input: ${text}\n`);
}

/** Posts `body` (already encoded) to `path` with this browser's cookies. */
async function post(context, path, body, type = 'application/x-www-form-urlencoded') {
  const r = await context.request.post(`${idp}${path}`, {
    headers: { 'content-type': type },
    data: Buffer.from(body, 'latin1'),
    maxRedirects: 0,
  });
  return { status: r.status(), text: await r.text() };
}

/** A refusal: the status, our page (a heading and the reason announced), and the words. */
function refused(r, status, words) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.text, /<h1>/);
  assert.match(r.text, /role="alert"/);
  assert.match(r.text, words);
}

async function signInPage(page, user) {
  await page.goto(`${rp.url}/login`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const path = new URL(page.url()).pathname;
  const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
  if (user) {
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  return { path, csrf };
}

const { context, page } = await person('hostile');
try {
  step('the password form');
  let { path, csrf } = await signInPage(page, null);
  const before = await recordVersion(store, 'ida');
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=ida&password=${'a'.repeat(10_000)}`), 413, /too long/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=${'b'.repeat(20_000)}&password=x`), 413, /too large/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=%FF%FEida&password=x`), 400, /not valid text \(UTF-8\)/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=ida\xff&password=x`), 400, /not valid text \(UTF-8\)/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=ida%00&password=x`), 400, /control characters/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=ida%1B%5B31m&password=x`), 400, /control characters/);
  refused(await post(context, `${path}/password`, `username=ida&password=${encodeURIComponent(password)}`), 403, /did not come from this site/);
  refused(await post(context, `${path}/password`, `csrf=${'x'.repeat(43)}&username=ida&password=${encodeURIComponent(password)}`), 403, /did not come from this site/);
  refused(await post(context, `${path}/password`, `csrf=${csrf}&username=ida&username=bob&password=x`), 400, /sent twice/);
  refused(await post(context, `${path}/password`, JSON.stringify({ csrf, username: 'ida' }), 'application/json'), 415, /form submitted from its own page/);
  // A foreign site's form: no CSRF cookie at all (a new browser).
  const stranger = await person('stranger');
  refused(await post(stranger.context, `${path}/password`, `csrf=${csrf}&username=ida&password=x`), 400, /expired or was already finished/);
  // A field's name comes back in the refusal: as text, never as markup.
  const injected = await post(context, `${path}/password`, `csrf=${csrf}&${encodeURIComponent('<img src=x onerror=alert(1)>')}=${'a'.repeat(2000)}`);
  refused(injected, 413, /too long/);
  assert.ok(!injected.text.includes('<img src=x'), 'a field name reached the page as markup');
  assert.ok(injected.text.includes('&lt;img src=x onerror=alert(1)&gt;'));
  assert.equal(await recordVersion(store, 'ida'), before, 'a refused password form wrote to the store');

  step('the passkey answer: bounded, and junk is refused with a page, not counted');
  refused(await post(context, `${path}/passwordless`, `csrf=${csrf}&response=${'a'.repeat(13_000)}`), 413, /too large|too long/);
  for (const junk of ['', '%7B%7D', 'not%20json', encodeURIComponent('{"id":"AA","type":"public-key","response":{"clientDataJSON":"%%%"}}')]) {
    const r = await post(context, `${path}/passwordless`, `csrf=${csrf}&response=${junk}`);
    assert.equal(r.status, 303, `junk ${junk}: ${r.status} ${r.text.slice(0, 200)}`);
    const shown = await context.request.get(`${idp}${path}`);
    assert.match(await shown.text(), /The passkey was refused/);
  }
  assert.equal(await recordVersion(store, 'ida'), before, 'a refused passkey answer wrote to the store');

  step('password guessing pauses after ten wrong passwords');
  for (let i = 0; i < 10; i++) {
    const r = await post(context, `${path}/password`, `csrf=${csrf}&username=ada&password=wrong-${i}`);
    assert.equal(r.status, 303);
  }
  await page.goto(`${idp}${path}`);
  await page.getByLabel('User name').fill('ada');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  assert.match(await page.locator('#notice').textContent(), /Too many wrong passwords for this user/);

  step('the code form');
  ({ path, csrf } = await signInPage(page, 'bob'));
  await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
  const bob = await recordVersion(store, 'bob');
  refused(await post(context, `${path}/code`, `csrf=${csrf}&code=${'1'.repeat(10_000)}`), 413, /too long/);
  refused(await post(context, `${path}/code`, `csrf=${csrf}&code=%C0%AF12345`), 400, /not valid text \(UTF-8\)/);
  refused(await post(context, `${path}/code`, `csrf=${csrf}&code=123%0A456`), 400, /control characters/);
  refused(await post(context, `${path}/code`, `csrf=${csrf}&code=%E2%80%A8123456`), 400, /control characters/);
  refused(await post(context, `${path}/code`, 'code=123456'), 403, /did not come from this site/);
  refused(await post(context, `${path}/sms`, ''), 403, /did not come from this site/);
  assert.equal(await recordVersion(store, 'bob'), bob, 'a refused code form wrote to the store');
  // None of that counted as a wrong code: the first real one leaves four.
  await page.getByLabel('Verification code').fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.match(await page.locator('#notice').textContent(), /^Wrong code\. 4 more wrong codes lock second-factor sign-in\.$/);
  // What the component itself refuses arrives as a sentence, not a failure.
  await page.getByLabel('Verification code').fill('12');
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.match(await page.locator('#notice').textContent(), /That is not a code/);
  await page.shot('not-a-code');

  step('a record planted in the store without the seal key fails the sign-in closed');
  await plant(store, 'bob');
  await signInPage(page, 'bob');
  await page.getByRole('heading', { name: 'You cannot sign in right now' }).waitFor();
  assert.match(await page.locator('#notice').textContent(), /unavailable right now/);
  await page.shot('planted-record');

  step('a replayed interaction URL');
  const done = await signInPage(page, 'ida');
  await page.getByRole('button', { name: 'Remind me later' }).click();
  await page.waitForURL(`${rp.url}/cb**`);
  const after = await recordVersion(store, 'ida');
  await page.goto(`${idp}${done.path}`);
  assert.match(await page.locator('#notice').textContent(), /expired or was already finished/);
  await page.shot('replayed-interaction');
  refused(await post(context, `${done.path}/proceed`, `csrf=${done.csrf}`), 400, /expired or was already finished/);
  refused(await post(context, `${done.path}/code`, `csrf=${done.csrf}&code=123456`), 400, /expired or was already finished/);
  assert.equal(await recordVersion(store, 'ida'), after, 'a replayed interaction wrote to the store');
  const r = await context.request.get(`${idp}/interaction/${'x'.repeat(200)}`, { maxRedirects: 0 });
  assert.equal(r.status(), 404);

  step('an application that is not registered gets a page that says so');
  const unknown = await context.request.get(`${idp}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb`, { maxRedirects: 0 });
  assert.equal(unknown.status(), 400);
  const text = await unknown.text();
  assert.match(text, /<h1>Unknown application<\/h1>/);
  assert.match(text, /href="\/security\/mfa"/);

  step('the provider still serves');
  const discovery = await context.request.get(`${idp}/.well-known/openid-configuration`);
  assert.equal(discovery.status(), 200);
  // The two pages above that a person saw were errors shown on purpose;
  // nothing else may have logged one.
  const unexpected = errors.filter((e) => !/status of 400/.test(e));
  assert.deepEqual(unexpected, [], `the browser logged errors:\n${unexpected.join('\n')}`);
  step('passed');
} finally {
  await browser.close();
  await rp.close();
}
