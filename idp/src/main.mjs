#!/usr/bin/env node
// @ts-check
// planasonix-idp: the reference OpenID Provider with the Planasonix MFA
// component as the second step of its sign-in.
//
//   node idp/src/main.mjs serve --config FILE     run the provider (see idp/README.md)
//   node idp/src/main.mjs hash-password           read a password on stdin, print its argon2id hash
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import argon2 from '@node-rs/argon2';
import { ConfigError, readConfig } from './config.mjs';
import { BadRequest, Csrf, sendPage } from './http.mjs';
import { Mfa, errorLine } from './mfa/engine.mjs';
import * as pages from './pages.mjs';
import { buildProvider, policyFacts } from './provider.mjs';
import { Security } from './security.mjs';
import { SignIn } from './signin.mjs';
import { Throttle } from './throttle.mjs';

function log(line) {
  // One line per event on stderr (the journal under systemd); never a
  // password, code, secret or number: callers pass only names and reasons.
  process.stderr.write(`planasonix-idp: ${String(line).replace(/[\r\n]+/g, ' ')}\n`);
}

const STATIC = new Map([
  ['/static/style.css', ['text/css; charset=utf-8', new URL('../static/style.css', import.meta.url)]],
  ['/static/icon.svg', ['image/svg+xml', new URL('../static/icon.svg', import.meta.url)]],
  ['/static/local-time.js', ['text/javascript; charset=utf-8', new URL('../static/local-time.js', import.meta.url)]],
  ['/static/passkey.js', ['text/javascript; charset=utf-8', new URL('../static/passkey.js', import.meta.url)]],
]);

/** What oidc-provider's refusals say to a person, by error code. */
const PROVIDER_ERRORS = {
  invalid_client: ['Unknown application', 'The application that sent you here is not registered with this sign-in service. Tell the people who run that application.'],
  invalid_redirect_uri: ['Unknown return address', 'The application asked to send you back to an address it did not register here. Tell the people who run that application.'],
  invalid_request: ['This sign-in request is not valid', 'The application sent a request this sign-in service cannot take. Go back to the application and try again; if it happens again, tell the people who run it.'],
  session_not_found: ['This sign-in has ended', 'It expired or was already finished. Go back to the application and sign in again.'],
  invalid_token: ['This sign-in has ended', 'It expired or was already finished. Go back to the application and sign in again.'],
  access_denied: ['Sign-in cancelled', 'The sign-in was not finished. Go back to the application to start again.'],
};

/**
 * The administrators are the policy's admins (required-for-admins asks
 * them for a second factor): a list in idp.toml must be the same list.
 */
function adminGroups(config, facts) {
  const policy = [...new Set(facts.adminGroups)].sort();
  if (config.adminGroups !== null) {
    const here = [...new Set(config.adminGroups)].sort();
    if (JSON.stringify(here) !== JSON.stringify(policy)) {
      throw new ConfigError(
        `${config.file}: admin_groups = ${JSON.stringify(config.adminGroups)} is not the policy's [enforcement] admin_groups = ${JSON.stringify(facts.adminGroups)}: `
        + 'the provider\u2019s administrators are the policy\u2019s admins (whom required-for-admins asks for a second factor); remove admin_groups from idp.toml, or make the two lists the same',
      );
    }
  }
  return facts.adminGroups;
}

async function serve(configFile) {
  const config = readConfig(configFile);
  const mfa = await Mfa.start({
    component: pathToFileURL(config.component).href,
    policy: config.policy,
    sealKey: config.sealKey,
    store: config.store,
    delivery: config.delivery,
    workers: config.workers,
    onProblem: log,
  });
  const policy = await mfa.effectivePolicy();
  if (policy.error) throw new ConfigError(`the policy: ${errorLine(policy.error)}`);
  const facts = policyFacts(policy.value);
  config.adminGroups = adminGroups(config, facts);
  const renderError = async (ctx, out, error) => {
    if (error?.status >= 500 || !error?.expose) log(`provider error: ${error?.name ?? 'Error'}: ${error?.message ?? ''}`);
    const [title, text] = PROVIDER_ERRORS[out.error] ?? ['This request could not be completed', out.error_description ?? 'Go back to the application and try again.'];
    sendPage(ctx, pages.error({ title, text, status: ctx.status }), ctx.status >= 400 ? ctx.status : 400);
  };
  const provider = buildProvider(config, { renderError, mfa, facts, log });
  const csrf = new Csrf(config.sealKey);
  const throttle = new Throttle(config.store, config.sealKey, { log });
  const signin = new SignIn({ provider, mfa, config, facts, csrf, throttle, log });
  const security = new Security({ provider, mfa, config, facts, csrf, log });

  provider.use(async (ctx, next) => {
    const asset = STATIC.get(ctx.path);
    if (asset && ctx.method === 'GET') {
      ctx.type = asset[0];
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = fs.readFileSync(asset[1]);
      return;
    }
    if (ctx.path === '/' && ctx.method === 'GET') {
      ctx.status = 303;
      ctx.redirect('/security/mfa');
      return;
    }
    try {
      if (await signin.handle(ctx)) return;
      if (await security.handle(ctx)) return;
    } catch (e) {
      if (e instanceof BadRequest) {
        sendPage(ctx, pages.error({ title: e.title, text: e.message, status: e.status }), e.status);
        return;
      }
      log(`page ${ctx.method} ${ctx.path.slice(0, 80)} failed: ${e?.stack ?? e}`);
      sendPage(ctx, pages.error({ text: 'Two-factor authentication is unavailable right now; contact your administrator.' }), 503);
      return;
    }
    if (ctx.path.startsWith('/interaction') || ctx.path.startsWith('/security') || ctx.path.startsWith('/admin')) {
      sendPage(ctx, pages.error({ text: 'There is no such page.', status: 404 }), 404);
      return;
    }
    await next();
  });

  const server = provider.listen(config.listen.port, config.listen.host);
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e) => reject(e?.code === 'EADDRINUSE'
      ? new ConfigError(`${config.listen.host}:${config.listen.port} is already in use: stop what listens there, or set listen in ${config.file}`)
      : e));
  });
  const { port } = server.address();
  process.stdout.write(`listening on http://${config.listen.host}:${port} as ${config.issuer}\n`);
  const stop = async () => {
    server.close();
    await Promise.all([mfa.close(), throttle.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function hashPassword() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 8) throw new ConfigError('a password needs at least 8 characters');
  // OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane).
  process.stdout.write(`${await argon2.hash(password, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 })}\n`);
}

const [command = 'serve', ...rest] = process.argv.slice(2);
try {
  if (command === 'hash-password') {
    await hashPassword();
  } else if (command === 'serve') {
    const i = rest.indexOf('--config');
    const file = i >= 0 ? rest[i + 1] : process.env.PLANASONIX_IDP_CONFIG ?? '/etc/planasonix/idp.toml';
    if (!file) throw new ConfigError('--config needs a file');
    await serve(file);
  } else {
    throw new ConfigError(`unknown command ${JSON.stringify(command)}: use serve --config FILE, or hash-password`);
  }
} catch (e) {
  process.stderr.write(`planasonix-idp: ${e instanceof ConfigError ? e.message : e?.stack ?? e}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}
