#!/usr/bin/env node
// planasonix-idp: the reference OpenID Provider with the Planasonix MFA
// component as the second step of its sign-in.
//
//   planasonix-idp serve --config FILE     run the provider (see idp/README.md)
//   planasonix-idp hash-password           read a password on stdin, print its argon2id hash
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import argon2 from '@node-rs/argon2';
import { ConfigError, readConfig } from './config.mjs';
import { BadRequest, sendPage } from './http.mjs';
import { Mfa } from './mfa/engine.mjs';
import * as pages from './pages.mjs';
import { buildProvider, stepUpActions } from './provider.mjs';
import { Security } from './security.mjs';
import { SignIn } from './signin.mjs';

function log(line) {
  // One line per event on stderr (the journal under systemd); never a
  // password, code, secret or number: callers pass only names and reasons.
  process.stderr.write(`planasonix-idp: ${String(line).replace(/[\r\n]+/g, ' ')}\n`);
}

const STATIC = new Map([
  ['/static/style.css', ['text/css; charset=utf-8', new URL('../static/style.css', import.meta.url)]],
  ['/static/icon.svg', ['image/svg+xml', new URL('../static/icon.svg', import.meta.url)]],
]);

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
  const actions = stepUpActions(config.policy);
  const renderError = async (ctx, out, error) => {
    if (error?.status >= 500 || !error?.expose) log(`provider error: ${error?.name ?? 'Error'}: ${error?.message ?? ''}`);
    sendPage(ctx, pages.error({ text: `${out.error_description ?? out.error ?? 'The request could not be completed.'}` }), ctx.status >= 400 ? ctx.status : 400);
  };
  const provider = buildProvider(config, { renderError });
  const signin = new SignIn({ provider, mfa, config, actions, log });
  const security = new Security({ provider, mfa, config, log });

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
        sendPage(ctx, pages.error({ text: e.message, status: e.status }), e.status);
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
    server.once('error', reject);
  });
  const { port } = server.address();
  process.stdout.write(`listening on http://${config.listen.host}:${port} as ${config.issuer}\n`);
  const stop = async () => {
    server.close();
    await mfa.close();
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
