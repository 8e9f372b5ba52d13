// @ts-check
// What every page of ours needs from HTTP: a bounded form body read as
// text, CSRF tokens bound to the browser and the session, security headers,
// and answers.
import crypto from 'node:crypto';

/** Largest form body accepted (a sign-in form is far smaller). */
export const MAX_BODY = 16 << 10;

/** Longest value kept from one form field; longer ones are refused. */
export const MAX_FIELD = 1024;

/**
 * Longest browser answer to a passkey ceremony (the `response` field of the
 * passkey pages): a credential's JSON with an attestation of format `none`
 * is a few kilobytes at most; the engine bounds each part again.
 */
export const MAX_PASSKEY_RESPONSE = 12 << 10;

/** A refusal shown as a page: what happened (`message`), its status, a title. */
export class BadRequest extends Error {
  constructor(message, status = 400, title = null) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body of at most MAX_BODY
 * bytes into a Map. Bytes that are not UTF-8 and control characters other
 * than tab are refused by name, before anything acts on the input. Each
 * field is at most MAX_FIELD long, except those `longer` names with their
 * own bound.
 * @param {any} ctx
 * @param {Record<string, number>} [longer]
 */
export async function readForm(ctx, longer = {}) {
  const type = ctx.get('content-type').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new BadRequest('This page takes a form submitted from its own page.', 415);
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY) throw new BadRequest('What was sent is too large.', 413);
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadRequest('What was sent is too large.', 413);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString('latin1');
  const fields = new Map();
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (fields.has(name)) throw new BadRequest('A field was sent twice.');
    if (value.length > (Object.hasOwn(longer, name) ? longer[name] : MAX_FIELD)) throw new BadRequest(`What was typed in “${name.slice(0, 40)}” is too long.`, 413);
    fields.set(name, value);
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decoding to UTF-8, refusing invalid bytes and control characters. */
function decode(text) {
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '+') bytes.push(0x20);
    else if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  let out;
  try {
    out = utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new BadRequest('What was typed is not valid text (UTF-8).');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/.test(out)) {
    throw new BadRequest('What was typed holds control characters.');
  }
  return out;
}

/**
 * CSRF tokens bound to this browser and to what the form acts on.
 *
 * The browser holds a random secret in a cookie (`__Host-` prefixed over
 * https: a sibling subdomain can neither set nor overwrite it; plain on a
 * loopback http issuer, where no sibling exists). A form carries an HMAC of
 * that secret and its scope (the sign-in's interaction, or the session the
 * Security and admin pages act for), under a key derived from the fleet's
 * seal key, so every provider process checks every other's forms. A cookie
 * planted by someone else, or a token of another session, fails.
 */
export class Csrf {
  constructor(sealKey) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', sealKey, Buffer.alloc(0), 'planasonix/v1/idp/csrf', 32));
  }

  static cookieName(ctx) {
    return ctx.secure ? '__Host-planasonix.csrf' : 'planasonix.csrf';
  }

  secret(ctx) {
    const name = Csrf.cookieName(ctx);
    let secret = ctx.cookies.get(name);
    if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
      secret = crypto.randomBytes(32).toString('base64url');
      ctx.cookies.set(name, secret, { httpOnly: true, sameSite: 'strict', signed: false, overwrite: true, path: '/', secure: ctx.secure });
    }
    return secret;
  }

  mac(secret, scope) {
    return crypto.createHmac('sha256', this.key).update(`${secret}\0${scope}`).digest('base64url');
  }

  /** The token for a form acting on `scope` (set the cookie first if needed). */
  token(ctx, scope) {
    return this.mac(this.secret(ctx), scope);
  }

  /** Refuses a form whose token is not this browser's for `scope` (nothing has been done yet). */
  check(ctx, fields, scope) {
    const secret = ctx.cookies.get(Csrf.cookieName(ctx)) ?? '';
    const sent = Buffer.from(fields.get('csrf') ?? '');
    const want = Buffer.from(this.mac(secret, scope));
    if (!/^[A-Za-z0-9_-]{43}$/.test(secret) || sent.length !== want.length || !crypto.timingSafeEqual(sent, want)) {
      throw new BadRequest('This form has expired or did not come from this site. Go back, reload the page and try again.', 403);
    }
  }
}

/** Sends a page with the headers every page of ours carries. */
export function sendPage(ctx, htmlText, status = 200) {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.body = htmlText;
}

/** A 303 to `location` (after a form, the browser GETs it). */
export function seeOther(ctx, location) {
  ctx.status = 303;
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(location);
  ctx.status = 303;
}

/**
 * The client's address: the socket's peer, or behind `proxy_hops` trusted
 * proxies the address the outermost of them saw (Koa counts that many
 * entries from the right of X-Forwarded-For; whatever the client wrote to
 * the left of them is ignored).
 */
export function remoteAddress(ctx) {
  return (ctx.app.proxy ? ctx.ip : ctx.req.socket.remoteAddress) || undefined;
}
