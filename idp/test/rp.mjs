// A relying party for the tests: a real OpenID client (openid-client) doing
// the authorization-code flow with PKCE against the provider, checking the
// ID token's signature against the provider's JWKS, and showing the claims
// it got on its callback page (<pre id="claims">).
//
//   GET /login[?acr_values=…&max_age=…&prompt=…]   starts a sign-in
//   GET /cb                                          finishes it
import crypto from 'node:crypto';
import http from 'node:http';
import * as oidc from 'openid-client';
import * as jose from 'jose';

export async function startRp({ issuer, clientId, port }) {
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), {
    // The provider under test listens on loopback over http.
    execute: [oidc.allowInsecureRequests],
  });
  // Signatures checked by the client itself, and again below with jose.
  oidc.enableNonRepudiationChecks(config);
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const redirectUri = `http://127.0.0.1:${port}/cb`;
  const pending = new Map();
  const rp = { claims: [], errors: [] };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, redirectUri);
    try {
      if (url.pathname === '/login') {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        const maxAge = url.searchParams.get('max_age');
        pending.set(state, { verifier, nonce, maxAge: maxAge === null ? undefined : Number(maxAge) });
        const params = {
          redirect_uri: redirectUri,
          scope: 'openid profile email',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        };
        for (const name of ['acr_values', 'max_age', 'prompt']) {
          if (url.searchParams.has(name)) params[name] = url.searchParams.get(name);
        }
        res.writeHead(302, { Location: oidc.buildAuthorizationUrl(config, params).href });
        res.end();
        return;
      }
      if (url.pathname === '/cb') {
        const state = url.searchParams.get('state');
        const flow = pending.get(state);
        pending.delete(state);
        if (!flow) throw new Error('unknown state');
        if (url.searchParams.has('error')) {
          rp.errors.push(url.searchParams.get('error'));
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end(`<!doctype html><title>RP</title><link rel="icon" href="data:,"><pre id="error">${url.searchParams.get('error')}</pre>`);
          return;
        }
        const tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: flow.verifier,
          expectedState: state,
          expectedNonce: flow.nonce,
          maxAge: flow.maxAge,
        });
        const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
          issuer: config.serverMetadata().issuer,
          audience: clientId,
        });
        const claims = { ...tokens.claims(), alg: protectedHeader.alg };
        if (payload.sub !== claims.sub) throw new Error('the verified token and the client disagree');
        rp.claims.push(claims);
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(`<!doctype html><title>RP</title><link rel="icon" href="data:,"><pre id="claims">${JSON.stringify(claims).replace(/</g, '\\u003c')}</pre>`);
        return;
      }
      res.writeHead(404);
      res.end();
    } catch (e) {
      rp.errors.push(String(e?.message ?? e));
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`relying party: ${e?.message ?? e}`);
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  rp.url = `http://127.0.0.1:${port}`;
  rp.close = () => new Promise((resolve) => server.close(resolve));
  rp.nonce = () => crypto.randomUUID();
  return rp;
}
