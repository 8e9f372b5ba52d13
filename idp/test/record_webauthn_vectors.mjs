// Records WebAuthn ceremonies from Chromium's own authenticator (the
// DevTools protocol's virtual CTAP2 authenticator, as Chromium implements
// it, not our encoder) into core/tests/vectors/webauthn/chromium.json, which
// core's tests verify (core/tests/webauthn_vectors.rs). Run again only to
// refresh them:
//   node idp/test/record_webauthn_vectors.mjs
// Each vector: a registration (attestation "none": headless Chromium
// refuses "direct", which would ask the user's permission) and then two
// assertions of the credential (the second with a grown counter), for ES256
// and EdDSA keys, with and without user verification.
import fs from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

const OUT = new URL('../../core/tests/vectors/webauthn/chromium.json', import.meta.url);
const PORT = 47123;
const ORIGIN = `http://localhost:${PORT}`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><title>vectors</title>');
}).listen(PORT, '127.0.0.1');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const vectors = [];
try {
  for (const [alg, uv, attestation] of [[-7, true, 'none'], [-7, false, 'none'], [-8, true, 'none'], [-8, false, 'none']]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${ORIGIN}/`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', transport: 'usb', hasResidentKey: true,
        hasUserVerification: uv, isUserVerified: uv, automaticPresenceSimulation: true,
      },
    });
    const challenges = [1, 2, 3].map((i) => Buffer.alloc(32, alg === -7 ? i : 0x40 + i));
    const recorded = await page.evaluate(async ({ alg, uv, attestation, challenges }) => {
      const bytes = (v) => Array.from(new Uint8Array(v));
      const fromB64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const created = await navigator.credentials.create({
        publicKey: {
          rp: { id: 'localhost', name: 'vectors' },
          user: { id: new Uint8Array([1, 2, 3, 4]), name: 'alice', displayName: 'Alice' },
          challenge: fromB64(challenges[0]),
          pubKeyCredParams: [{ type: 'public-key', alg }],
          authenticatorSelection: { userVerification: uv ? 'required' : 'discouraged', residentKey: uv ? 'preferred' : 'discouraged' },
          attestation,
        },
      });
      const out = {
        credential_id: bytes(created.rawId),
        client_data: bytes(created.response.clientDataJSON),
        attestation_object: bytes(created.response.attestationObject),
        assertions: [],
      };
      for (const challenge of challenges.slice(1)) {
        const got = await navigator.credentials.get({
          publicKey: {
            rpId: 'localhost', challenge: fromB64(challenge),
            allowCredentials: [{ type: 'public-key', id: created.rawId }],
            userVerification: uv ? 'required' : 'discouraged',
          },
        });
        out.assertions.push({
          challenge,
          client_data: bytes(got.response.clientDataJSON),
          authenticator_data: bytes(got.response.authenticatorData),
          signature: bytes(got.response.signature),
        });
      }
      return out;
    }, { alg, uv, attestation, challenges: challenges.map(b64) });
    vectors.push({
      why: `Chromium's virtual CTAP2 authenticator: alg ${alg}, user verification ${uv ? 'on' : 'off'}, attestation "${attestation}"`,
      rp_id: 'localhost',
      origin: ORIGIN,
      alg,
      user_verified: uv,
      registration: {
        challenge: b64(challenges[0]),
        credential_id: b64(recorded.credential_id),
        client_data: b64(recorded.client_data),
        attestation_object: b64(recorded.attestation_object),
      },
      assertions: recorded.assertions.map((a) => ({
        challenge: a.challenge,
        client_data: b64(a.client_data),
        authenticator_data: b64(a.authenticator_data),
        signature: b64(a.signature),
      })),
    });
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}
const browserVersion = browser.version();
fs.writeFileSync(OUT, `${JSON.stringify({ about: `Recorded by idp/test/record_webauthn_vectors.mjs from Chromium ${browserVersion}'s virtual CTAP2 authenticator (DevTools WebAuthn domain): an independent encoder of authenticator data, COSE keys, attestation objects and signatures. Verified by core/tests/webauthn_vectors.rs.`, vectors }, null, 1)}\n`);
console.log(`recorded ${vectors.length} vectors into ${OUT.pathname}`);
