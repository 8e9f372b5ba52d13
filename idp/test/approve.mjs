// Approving a terminal login in the browser, end to end: pamtester (real
// libpam, the module on host A as sshd) asks for approval; fay, signed in
// at the provider in Chromium, types the terminal's code at /approve, sees
// who asks and picks the terminal's number; the login goes on. Then the
// ways it is refused: "This wasn't me", a wrong number, and a code typed
// at the terminal instead (which voids the request). Each page is kept as
// a screenshot in $ARTIFACTS.
//
// Run by pam-module/tests/idp.rs after passkeys.mjs's `removed` phase:
// FAY_SECRET is fay's app (enrolled on a host), PAM_LOGIN the login
// command. The environment is browser.mjs's.
import { spawn } from 'node:child_process';
import { assert, Codes, env, launch } from './lib.mjs';

const idp = env('IDP_URL');
const password = env('PASSWORD');
const codes = new Codes(env('FAY_SECRET'));
// The phase before used this step's code.
codes.last = Codes.step();
const { browser, person, errors } = await launch(env('ARTIFACTS'));

function step(text) {
  process.stdout.write(`approve: ${text}\n`);
}

/**
 * A terminal login of `user` that is asked for approval: pamtester started,
 * Enter pressed at the first prompt; resolves with what the terminal shows
 * to do (the code and the number) and a way to answer and wait for the end.
 */
async function terminalLogin(user) {
  const child = spawn(env('PAM_LOGIN'), [user], { stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const grew = () => new Promise((resolve) => {
    const on = () => { child.stdout.off('data', on); child.stderr.off('data', on); resolve(); };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
  });
  child.stdout.on('data', (d) => { text += d; });
  child.stderr.on('data', (d) => { text += d; });
  const until = async (re) => {
    const deadline = Date.now() + 30_000;
    while (!re.test(text)) {
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${re}:\n${text}`);
      await Promise.race([grew(), new Promise((r) => setTimeout(r, 200))]);
    }
  };
  await until(/press Enter to approve in the browser: /);
  child.stdin.write('\n');
  await until(/Press Enter once approved, or type a code: /);
  const [, url, code] = /Open (\S+) and enter (\S+)/.exec(text) ?? [];
  const number = Number(/pick the number (\d+)/.exec(text)?.[1]);
  assert.equal(url, `${idp}/approve`);
  return {
    code,
    number,
    /** Answers the waiting prompt with `line`; the exit status and everything shown. */
    async answer(line) {
      child.stdin.end(`${line}\n`);
      const status = await exited;
      return { status, text };
    },
  };
}

const { page } = await person('fay');

/** At /approve: the code typed, "Is this you?" shown; its facts. */
async function openRequest(code) {
  await page.goto(`${idp}/approve`);
  await page.getByRole('heading', { name: 'Approve a login' }).waitFor();
  await page.getByLabel('Code from the terminal').fill(code.toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Is this you?' }).waitFor();
  return (await page.locator('dl.facts').innerText()).replace(/\s+/g, ' ');
}

try {
  step('fay signs in at the provider (password and app) and opens the approval page');
  await page.goto(`${idp}/approve`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill('fay');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Two-factor authentication', exact: true }).waitFor();
  await page.getByLabel('Verification code').fill(await codes.fresh());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Approve a login' }).waitFor();
  await page.shot('approve-code');

  step('an SSH login asks; fay picks the terminal\'s number; the login goes on');
  let login = await terminalLogin('fay');
  assert.match(login.code, /^[A-Z0-9]{3}-[A-Z0-9]{3}$/);
  const facts = await openRequest(login.code);
  assert.match(facts, /Service sshd/);
  assert.match(facts, /From 192\.0\.2\.10/);
  await page.shot('approve-choose');
  const buttons = await page.locator('.numbers button').allTextContents();
  assert.equal(buttons.length, 3);
  assert.ok(buttons.includes(String(login.number)), `${buttons} lacks ${login.number}`);
  await page.getByRole('button', { name: String(login.number), exact: true }).click();
  await page.getByRole('heading', { name: 'Login approved' }).waitFor();
  await page.shot('approve-done');
  let end = await login.answer('');
  assert.equal(end.status, 0, end.text);

  step('the same code approves nothing any more');
  await page.goto(`${idp}/approve`);
  await page.getByLabel('Code from the terminal').fill(login.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Approve a login' }).waitFor();
  assert.match(await page.locator('#notice').textContent(), /No login of yours is waiting with that code/);

  step('"This wasn\'t me" refuses the login');
  login = await terminalLogin('fay');
  await openRequest(login.code);
  await page.getByRole('button', { name: 'This wasn’t me' }).click();
  await page.getByRole('heading', { name: 'Login refused' }).waitFor();
  await page.shot('approve-not-me');
  end = await login.answer('');
  assert.notEqual(end.status, 0, end.text);
  assert.match(end.text, /refused in the browser/);

  step('a wrong number refuses the login');
  login = await terminalLogin('fay');
  await openRequest(login.code);
  const wrong = (await page.locator('.numbers button').allTextContents()).find((n) => n !== String(login.number));
  await page.getByRole('button', { name: wrong, exact: true }).click();
  await page.getByRole('heading', { name: 'Login refused' }).waitFor();
  end = await login.answer('');
  assert.notEqual(end.status, 0, end.text);

  step('a code typed at the terminal instead still works, and voids the request');
  login = await terminalLogin('fay');
  end = await login.answer(await codes.fresh());
  assert.equal(end.status, 0, end.text);
  await page.goto(`${idp}/approve`);
  await page.getByLabel('Code from the terminal').fill(login.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.match(await page.locator('#notice').textContent(), /No login of yours is waiting with that code/);

  assert.deepEqual(errors, [], 'the pages logged errors');
  step('passed');
} catch (e) {
  await page.shot('failure').catch(() => {});
  throw e;
} finally {
  await browser.close();
}
