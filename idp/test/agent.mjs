// A user agent for HTTP-level tests: its own cookie jar, the pages as text,
// forms posted with the page's CSRF token, and the authorization-code flow
// (PKCE) done by hand, so a test controls every header: it plays the
// TLS-terminating proxy (X-Forwarded-Proto, X-Forwarded-For) and the
// attacker (a cookie planted by a sibling subdomain, a guess sent 200 times
// at once).
import crypto from 'node:crypto';

/** One browser: cookies kept by name, every request to the provider at `base`. */
export class Agent {
  /**
   * `base`: where the provider listens (http://127.0.0.1:PORT); `proxy`:
   * headers a proxy in front would add to every request (for example
   * `{ 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }`).
   */
  constructor(base, { proxy = {}, clientId, redirectUri } = {}) {
    this.base = base;
    this.proxy = proxy;
    this.clientId = clientId;
    this.redirectUri = redirectUri;
    this.jar = new Map();
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Keeps what Set-Cookie says (an expired cookie is dropped). */
  keep(headers) {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  /** One request, no redirect followed: `{ status, location, text, headers }`. */
  async request(method, path, { form = null, headers = {} } = {}) {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const h = { ...this.proxy, ...headers };
    if (this.jar.size > 0) h.cookie = this.cookieHeader();
    let body;
    if (form !== null) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    }
    const r = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    this.keep(r.headers);
    const text = await r.text();
    this.lastCsrf = csrfOf({ text }) || this.lastCsrf;
    return { status: r.status, location: r.headers.get('location'), text, headers: r.headers };
  }

  /**
   * GETs `path` and follows the provider's redirects to a page (returned
   * with its `url`) or to the relying party's redirect URI (returned as
   * `{ callback: URL }`, not requested).
   */
  async open(path) {
    let where = path;
    for (let hops = 0; hops < 20; hops++) {
      const r = await this.request('GET', where);
      if (![302, 303].includes(r.status)) return { ...r, url: where };
      const next = new URL(r.location, this.base.replace(/^http:/, 'https:'));
      if (this.redirectUri && next.href.startsWith(this.redirectUri)) return { callback: next };
      where = `${next.pathname}${next.search}`;
    }
    throw new Error(`more than 20 redirects from ${path}`);
  }

  /** Posts a form to `path` (the CSRF token taken from `page`), then follows as `open` does. */
  async submit(page, path, fields = {}) {
    const r = await this.post(page, path, fields);
    if (![302, 303].includes(r.status)) return { ...r, url: path };
    const next = new URL(r.location, this.base.replace(/^http:/, 'https:'));
    if (this.redirectUri && next.href.startsWith(this.redirectUri)) return { callback: next };
    return this.open(`${next.pathname}${next.search}`);
  }

  /**
   * Posts a form to `path` with `page`'s CSRF token (or, where the page has
   * no form, the last token this browser was given, as an attacker holding
   * the browser would); no redirect followed.
   */
  post(page, path, fields = {}) {
    return this.request('POST', path, { form: { csrf: csrfOf(page) || this.lastCsrf || '', ...fields } });
  }

  /** Starts a sign-in at the provider as the test client would (PKCE, nonce). */
  async authorize(extra = {}) {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const params = new URLSearchParams({
      client_id: this.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: this.redirectUri,
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: crypto.randomBytes(8).toString('hex'),
      nonce: crypto.randomBytes(8).toString('hex'),
      ...extra,
    });
    this.verifier = verifier;
    return this.open(`/auth?${params}`);
  }

  /** Exchanges the code of `callback` for tokens; the ID token's claims. */
  async claims(callback) {
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`no code in ${callback.href}`);
    const r = await this.request('POST', '/token', {
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.redirectUri,
        client_id: this.clientId,
        code_verifier: this.verifier,
      },
    });
    if (r.status !== 200) throw new Error(`token endpoint: ${r.status} ${r.text}`);
    const idToken = JSON.parse(r.text).id_token;
    return JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString('utf8'));
  }
}

/** The CSRF token of a page's first form. */
export function csrfOf(page) {
  const m = /name="csrf" value="([^"]*)"/.exec(page.text ?? '');
  return m ? m[1] : '';
}

/** The interaction path of a sign-in page (`/interaction/UID`). */
export function interactionOf(page) {
  const m = /^\/interaction\/[A-Za-z0-9_-]+/.exec(page.url ?? '');
  if (!m) throw new Error(`not a sign-in page: ${page.url}`);
  return m[0];
}

/** A page's heading and notice, for assertions and messages. */
export function said(page) {
  const h1 = /<h1>([^<]*)<\/h1>/.exec(page.text ?? '')?.[1] ?? '';
  const notice = /id="notice">([\s\S]*?)<\/div>/.exec(page.text ?? '')?.[1]?.replace(/<[^>]+>/g, '') ?? '';
  return { h1, notice, status: page.status, url: page.url };
}
