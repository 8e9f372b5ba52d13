// @ts-check
// Sign-in through an upstream OpenID Provider (a federated login): the
// person signs in there, this provider reads the upstream ID token (checked
// by openid-client: signature, issuer, audience, nonce, PKCE) and hands its
// RFC 8176 `amr` to the component as the subject's, which counts it as MFA
// only where the policy's `trusted_amr` says so. The local account is the
// one whose name the configured claim carries; it must be in the users file
// (its groups decide what the policy requires).
import * as oidc from 'openid-client';

const LOOPBACK = /^http:\/\/(127\.[0-9.]+|localhost|\[::1\])(:|\/|$)/;

export class Upstream {
  constructor(settings) {
    this.settings = settings;
    this.config = null;
  }

  /** The upstream's metadata, fetched on first use (and again after a failure). */
  async configuration() {
    if (this.config) return this.config;
    const { issuer, clientId, secret } = this.settings;
    const auth = secret === null ? oidc.None() : oidc.ClientSecretBasic(secret);
    this.config = await oidc.discovery(new URL(issuer), clientId, undefined, auth, {
      // http only for an upstream on this machine (for trying it out).
      execute: LOOPBACK.test(issuer) ? [oidc.allowInsecureRequests] : [],
    });
    oidc.enableNonRepudiationChecks(this.config);
    return this.config;
  }

  /** The upstream authorization URL, and what the callback needs to check it. */
  async start(redirectUri) {
    const config = await this.configuration();
    const pending = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /**
   * Finishes at the callback `currentUrl`: the local user name and the
   * upstream's `amr` (strings only), or throws with why.
   */
  async finish(currentUrl, pending) {
    const config = await this.configuration();
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const claims = tokens.claims();
    const name = claims[this.settings.usernameClaim];
    if (typeof name !== 'string' || name === '') {
      throw new Error(`the upstream ID token has no ${this.settings.usernameClaim}`);
    }
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((a) => typeof a === 'string' && /^[a-z]{1,16}$/.test(a)) : [];
    return { name, amr };
  }
}
