// Sign-ins per second through the reference provider (idp/), warm, with the
// MFA step and without it, on one machine in one run. A sign-in is what a
// browser does from the authorization request to the redirect back to the
// application with a code: the sign-in page, the password (argon2id), the
// component's decision, and for the MFA sign-in the code page and an
// accepted app code. "Without" is a user the policy does not cover (the
// decision says out of scope), so the provider, its password hashing and
// its one call to the component are the same on both sides. A third kind
// signs in with a passkey as the second factor instead of an app code: a
// software authenticator (tests/jco/passkey.mjs) answers the options the
// passkey page carries, as a browser with a security key would.
//
//   node bench/idp_bench.mjs IDP_CONFIG USERS_PER_KIND OUT.json
// (bench/idp_bench.sh makes the configuration and a private PostgreSQL.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { readConfig } from '../idp/src/config.mjs';
import { Mfa } from '../idp/src/mfa/engine.mjs';
import { totp } from '../tests/jco/totp.mjs';
import { SoftAuthenticator, optionsOf } from '../tests/jco/passkey.mjs';

const [configFile, perKind, outFile] = process.argv.slice(2);
const n = Number(perKind);
const config = readConfig(configFile);
const password = fs.readFileSync(new URL('password', pathToFileURL(configFile)), 'utf8').trim();

// Enroll the MFA users through the component itself, before the provider starts.
const mfa = await Mfa.start({
  component: pathToFileURL(config.component).href,
  policy: config.policy,
  sealKey: config.sealKey,
  store: config.store,
  delivery: config.delivery,
});
const secrets = new Map();
const t0 = Math.floor(Date.now() / 1000);
for (let i = 0; i < n + 10; i++) {
  const user = `mfa${i}`;
  const { value: e, error } = await mfa.beginTotp(user, BigInt(t0));
  if (error) throw new Error(`enroll ${user}: ${error.tag} ${error.val ?? ''}`);
  const confirmed = await mfa.confirmTotp(user, Buffer.from(totp(e.secretBase32, t0 - 30)), BigInt(t0));
  if (confirmed.error) throw new Error(`confirm ${user}: ${confirmed.error.tag}`);
  secrets.set(user, e.secretBase32);
}
// The passkey users: one software authenticator each, at the policy's origin.
const origin = /origins = \["([^"]+)"\]/.exec(config.policy)[1];
const authenticators = new Map();
for (let i = 0; i < n + 10; i++) {
  const user = `pk${i}`;
  const key = new SoftAuthenticator(1 + (i % 250), origin);
  key.credentialId = crypto.createHash('sha256').update(user).digest().subarray(0, 16);
  const { value: options, error } = await mfa.passkeyRegistrationOptions(user, '', BigInt(t0));
  if (error) throw new Error(`passkey options ${user}: ${error.tag}`);
  const registered = await mfa.registerPasskey(user, 'bench key', key.register(options), BigInt(t0));
  if (registered.error) throw new Error(`register ${user}: ${registered.error.tag} ${JSON.stringify(registered.error.val)}`);
  authenticators.set(user, key);
}
await mfa.close();

const idp = spawn('node', [new URL('../idp/src/main.mjs', import.meta.url).pathname, 'serve', '--config', configFile], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((resolve, reject) => {
  idp.stdout.once('data', (d) => {
    const m = /listening on (\S+)/.exec(String(d));
    if (m) resolve(m[1]); else reject(new Error(`provider said ${d}`));
  });
  idp.once('exit', (code) => reject(new Error(`provider exited ${code}`)));
});

/** A browser's cookie jar, as far as one sign-in needs. */
class Jar {
  constructor() { this.cookies = new Map(); }
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function request(jar, path, form) {
  const r = await fetch(new URL(path, base), {
    method: form ? 'POST' : 'GET',
    headers: { cookie: jar.header(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
    redirect: 'manual',
  });
  jar.take(r);
  const body = await r.text();
  return { status: r.status, location: r.headers.get('location'), body };
}

const client = config.clients[0];
/** One sign-in; returns when the provider redirects to the application. */
async function signIn(user, code, key = null) {
  const jar = new Jar();
  const verifier = crypto.randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: client.redirect_uris[0],
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'bench',
  });
  let r = await request(jar, `/auth?${q}`);
  const interaction = r.location;
  r = await request(jar, interaction);
  const csrf = /name="csrf" value="([^"]+)"/.exec(r.body)[1];
  r = await request(jar, `${interaction}/password`, { csrf, username: user, password });
  if (code !== null) {
    r = await request(jar, r.location);
    if (!r.body.includes('Verification code')) throw new Error(`${user}: no code page`);
    r = await request(jar, `${interaction}/code`, { csrf, code });
  }
  if (key !== null) {
    r = await request(jar, r.location);
    if (!r.body.includes('data-options=')) throw new Error(`${user}: no passkey page`);
    r = await request(jar, `${interaction}/assert`, { csrf, response: key.signIn(optionsOf(r.body)) });
  }
  while (r.status === 303 || r.status === 302) {
    if (r.location.startsWith(client.redirect_uris[0])) {
      if (!r.location.includes('code=')) throw new Error(`${user}: no code in ${r.location}`);
      return;
    }
    r = await request(jar, r.location);
  }
  throw new Error(`${user}: sign-in stopped at ${r.status}: ${r.body.slice(0, 300)}`);
}

/** One sign-in of `user`, in milliseconds (the app code is made beforehand). */
async function timed(kind, user) {
  const code = kind === 'mfa' ? totp(secrets.get(user), Math.floor(Date.now() / 1000)) : null;
  const start = process.hrtime.bigint();
  await signIn(user, code, kind === 'passkey' ? authenticators.get(user) : null);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

try {
  // Warm: JIT, connections, the component's instance.
  for (let i = 0; i < 10; i++) {
    await timed('plain', `plain${n + i}`);
    await timed('mfa', `mfa${n + i}`);
    await timed('passkey', `pk${n + i}`);
  }
  // Alternating, so that drift in the machine's speed hits both kinds alike
  // (as bench/pam_bench.py interleaves its modules); each figure a median.
  const plain = [];
  const mfa = [];
  const passkey = [];
  for (let i = 0; i < n; i++) {
    plain.push(await timed('plain', `plain${i}`));
    mfa.push(await timed('mfa', `mfa${i}`));
    passkey.push(await timed('passkey', `pk${i}`));
  }
  const plainMs = median(plain);
  const mfaMs = median(mfa);
  const passkeyMs = median(passkey);
  const result = {
    signin_plain_ms: plainMs,
    signin_mfa_ms: mfaMs,
    signin_passkey_ms: passkeyMs,
    signins_per_sec_plain: 1000 / plainMs,
    signins_per_sec_mfa: 1000 / mfaMs,
    mfa_share: (mfaMs - plainMs) / mfaMs,
    signins: n,
  };
  fs.writeFileSync(outFile, `${JSON.stringify(result)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  idp.kill();
}
