// @ts-check
// The OpenID Provider: oidc-provider (a certified OP) configured for one
// organisation. Sign-in happens in our interaction pages (signin.mjs), where
// the password is followed by the MFA component's decision; the login result
// carries RFC 8176 `amr` and an `acr` that says whether a second factor (or
// which step-up) passed, and `auth_time` is in every ID token.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import Provider, { interactionPolicy } from 'oidc-provider';
import { page, html, raw } from './html.mjs';
import { readTrusted, writeSecret } from './files.mjs';
import { MemoryAdapter } from './memory_adapter.mjs';
import { extendSessions, live, now } from './session.mjs';
import { errorLine } from './mfa/engine.mjs';

/** acr of a sign-in with the password alone (MFA not required, or in grace). */
export const ACR_PASSWORD = 'urn:planasonix:acr:pwd';
/** acr of a sign-in where a second factor passed (here or upstream). */
export const ACR_MFA = 'urn:planasonix:acr:mfa';
/**
 * acr of a sign-in whose second factor was a passkey: phishing-resistant
 * (the browser binds the passkey to this site). A relying party that asks
 * for it in acr_values gets a sign-in that offers only passkeys.
 */
export const ACR_PHISHING_RESISTANT = 'urn:planasonix:acr:phr';
/** acr prefix of a step-up for the policy's action NAME. */
export const ACR_STEP_UP = 'urn:planasonix:acr:step-up:';

/** The client the provider's own Security pages sign in through. */
export const ACCOUNT_CLIENT = 'planasonix-account';

/**
 * What the provider reads of the policy, from the component's effective
 * policy (every default filled in by the engine, never guessed here).
 */
export function policyFacts(effectiveToml) {
  const p = /** @type {any} */ (parseToml(effectiveToml));
  return {
    stepUpActions: Object.keys(p.step_up ?? {}),
    adminGroups: p.enforcement.admin_groups,
    enrollAtLogin: p.enforcement.enroll_at_login,
    smsEnabled: p.sms.enabled,
    passkeysEnabled: p.passkeys.enabled,
    passwordless: p.passkeys.enabled && p.passkeys.passwordless,
  };
}

/** The step-up action a request's acr_values asks for, if any. */
export function requestedStepUp(acrValues, actions) {
  for (const acr of String(acrValues ?? '').split(' ')) {
    if (acr.startsWith(ACR_STEP_UP) && actions.includes(acr.slice(ACR_STEP_UP.length))) {
      return acr.slice(ACR_STEP_UP.length);
    }
  }
  return null;
}

/** Reads, or makes on first start, a root-only file in the state directory. */
function stateSecret(stateDir, name, make) {
  const file = path.join(stateDir, name);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeSecret(file, make());
  }
  return readTrusted(file, { secret: true, what: 'state file' });
}

/** The ID token signing keys: RS256 (what every relying party takes) and ES256. */
function signingKeys(stateDir) {
  const make = (type, options, alg) => () => {
    const { privateKey } = /** @type {any} */ (crypto.generateKeyPairSync)(type, options);
    const jwk = privateKey.export({ format: 'jwk' });
    return JSON.stringify({ ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg, use: 'sig' });
  };
  const rsa = stateSecret(stateDir, 'signing-key-rs256.jwk', make('rsa', { modulusLength: 2048 }, 'RS256'));
  const ec = stateSecret(stateDir, 'signing-key-es256.jwk', make('ec', { namedCurve: 'P-256' }, 'ES256'));
  return { keys: [JSON.parse(rsa.toString('utf8')), JSON.parse(ec.toString('utf8'))] };
}

function cookieKeys(stateDir) {
  return [stateSecret(stateDir, 'cookie-key', () => crypto.randomBytes(32).toString('base64url')).toString('utf8').trim()];
}

/**
 * Builds the provider. `renderError(ctx, out, error)` renders its errors;
 * `mfa` is the engine (sessions ended by a reset, a lock or a change of
 * factors are refused); `facts` what the policy says (policyFacts).
 */
export function buildProvider(config, { renderError, mfa, facts, log }) {
  const actions = facts.stepUpActions;
  const policy = interactionPolicy.base();
  // A session an admin reset, a lock or a change of factors ended since it
  // was proven is no session: a full sign-in again. The engine cannot
  // answer: the same (fail closed).
  policy.get('login').checks.add(new interactionPolicy.Check(
    'session_ended',
    'the session was ended by a reset, a lock or a change of factors',
    async (ctx) => {
      const session = ctx.oidc.session;
      if (!session.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const { value, error } = await mfa.status(session.accountId, now()).catch((e) => ({ error: { tag: 'engine', val: e.message } }));
      if (error) {
        log(`session of ${JSON.stringify(session.accountId)} not checked: ${errorLine(error)}`);
        return interactionPolicy.Check.REQUEST_PROMPT;
      }
      return live(session, value) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  ));
  // A client that names a step-up action in acr_values gets a fresh second
  // factor even inside a session: the interaction asks the component, which
  // accepts a recent enough one (the policy's [step_up]) or asks for a code.
  policy.get('login').checks.add(new interactionPolicy.Check(
    'step_up',
    'a step-up action was requested',
    (ctx) => {
      const action = requestedStepUp(ctx.oidc.params.acr_values, actions);
      if (action === null) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // The interaction that just finished asked the component and did what
      // it said (a code, or none for a recent one); its acr tells the client
      // which (a grace sign-in cannot step up, and is not asked again).
      if (ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return interactionPolicy.Check.REQUEST_PROMPT;
    },
  ));

  const clients = [
    ...config.clients,
    {
      client_id: ACCOUNT_CLIENT,
      client_name: 'Security settings',
      redirect_uris: [`${config.issuer}/security/callback`],
      response_types: ['none'],
      grant_types: [],
      token_endpoint_auth_method: 'none',
    },
  ];

  const provider = new Provider(config.issuer, {
    adapter: MemoryAdapter,
    clients,
    jwks: signingKeys(config.stateDir),
    cookies: { keys: cookieKeys(config.stateDir) },
    acrValues: [ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT, ...actions.map((a) => ACR_STEP_UP + a)],
    claims: {
      // acr and amr in every ID token (not only when a client asks for them).
      openid: ['sub', 'acr', 'amr'],
      profile: ['name', 'groups'],
      email: ['email'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    },
    scopes: ['openid', 'profile', 'email'],
    responseTypes: ['code', 'none'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = page({
            title: 'Sign out',
            body: html`<p>Sign out of Planasonix on this browser?</p>${rawForm(form)}`,
          });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = page({ title: 'Signed out', body: html`<p>You are signed out. <a href="/security/mfa">Sign in again</a></p>` });
        },
      },
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async loadExistingGrant(ctx) {
      // The organisation's own applications: consent is implied. The grant
      // covers the scopes and claims this request asked for.
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      const user = config.users.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          name: user.displayName,
          ...(user.email ? { email: user.email } : {}),
          groups: user.groups,
        }),
      };
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    renderError,
  });
  // Behind `proxy_hops` TLS-terminating proxies (one by default for an https
  // issuer, none on loopback http): their X-Forwarded-Proto (secure cookies)
  // and, of X-Forwarded-For, only the entries they added (the client's
  // address, for the per-address limits); what the client wrote before them
  // is never read.
  provider.proxy = config.proxyHops > 0;
  provider.app.maxIpsCount = config.proxyHops;
  extendSessions(provider);
  return provider;
}

/**
 * oidc-provider's logout form is HTML it built (its own xsrf field); it is
 * placed as given, with our button.
 */
function rawForm(form) {
  return raw(form.replace(
    '</form>',
    '<div class="actions"><button type="submit" class="primary" name="logout" value="yes" autofocus>Sign out</button></div></form>',
  ));
}
