// What the browser tests share: a headless Chromium (Debian's) that records
// console errors and keeps a screenshot of every page, codes from an
// independent TOTP implementation (oathtool), and a look at the raw store.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import pg from 'pg';
import { connectOptions } from '../src/mfa/pg.mjs';
import { chromium } from 'playwright-core';

export { assert };

/** Settings from the environment the Rust harness sets (pam-module/tests/idp.rs). */
export function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
}

export async function launch(artifacts) {
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  let shots = 0;
  /** A new browser (its own cookies), whose every console error is kept. */
  async function person(who) {
    // A reader far from UTC: the pages show times in the reader's own zone.
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${who}: console: ${m.text()} (${m.location().url})`); });
    page.on('pageerror', (e) => errors.push(`${who}: page error: ${e.message}`));
    page.shot = async (name) => {
      shots += 1;
      await page.screenshot({ path: path.join(artifacts, `${String(shots).padStart(2, '0')}-${who}-${name}.png`), fullPage: true });
    };
    return { context, page };
  }
  return { browser, person, errors };
}

/** oathtool's code for base32 `secret` at unix time `at`. */
export function oathtool(secret, at) {
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${at}`, secret], { encoding: 'utf8' }).trim();
}

/**
 * Codes for one secret, each for a time step later than the last one used
 * (a code is accepted once): the current step if unused, else the next
 * (within the ±1 step window), waiting for the clock if even that was used.
 */
export class Codes {
  constructor(secret) {
    this.secret = secret;
    this.last = 0;
  }
  static step() { return Math.floor(Date.now() / 1000 / 30); }
  async fresh() {
    let step = Math.max(Codes.step(), this.last + 1);
    while (step > Codes.step() + 1) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.last = step;
    return oathtool(this.secret, step * 30);
  }
  /** The last code handed out (now spent, if it was used). */
  spent() { return oathtool(this.secret, this.last * 30); }
}

/** The secret an otpauth:// QR code (a PNG) holds, decoded by zbarimg. */
export function qrSecret(png) {
  const out = spawnSync('zbarimg', ['--raw', '-q', png], { encoding: 'utf8' });
  assert.equal(out.status, 0, `zbarimg could not read the QR code: ${out.stderr}`);
  const uri = new URL(out.stdout.trim());
  assert.equal(uri.protocol, 'otpauth:');
  return uri.searchParams.get('secret');
}

/** Runs `work` with a client of the store's database, as its administrator could. */
async function withDatabase(storeSettings, work) {
  const client = new pg.Client(connectOptions(storeSettings));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The store's raw view of a user: the version of their record (null: none). */
export function recordVersion(storeSettings, user) {
  return withDatabase(storeSettings, async (c) => {
    const r = await c.query('SELECT version FROM planasonix_records WHERE key = $1', [`user/${user}`]);
    return r.rows.length ? String(r.rows[0].version) : null;
  });
}

/**
 * Replaces `user`'s record with one in the old, unauthenticated form (no
 * factor: it would mean a grace sign-in), as someone with the database but
 * not the seal key could.
 */
export function plant(storeSettings, user) {
  return withDatabase(storeSettings, (c) => c.query(
    "UPDATE planasonix_records SET value = convert_to('{\"schema\":2}', 'UTF8') WHERE key = $1",
    [`user/${user}`],
  ));
}

/** Runs the PAM login command the harness gave (pamtester on a host of the fleet). */
export function pamLogin(command, user, input) {
  const out = spawnSync(command, [user], { input: `${input}\n`, encoding: 'utf8', timeout: 60_000 });
  return { ok: out.status === 0, text: `${out.stdout}${out.stderr}` };
}
