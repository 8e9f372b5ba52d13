// @ts-check
// HTML for the provider's pages: one layout, escaped text everywhere, and
// forms that carry their CSRF token. Every string from outside (a user name,
// a client's name, what was typed) goes through `esc` or `attr`; a page
// holds no inline script, and the Content-Security-Policy (http.mjs) runs
// only the provider's own files (static/local-time.js on every page,
// static/passkey.js on the pages that ask the browser for a passkey).

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or an attribute value. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A trusted fragment of HTML (built only from `html` and `esc`). */
class Html {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

/**
 * Tagged template: interpolated values are escaped, unless they are `Html`
 * (or arrays of it), so markup can be composed without ever trusting input.
 */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

function render(v) {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** Marks text already safe (used only for constants of this program). */
export function raw(text) {
  return new Html(text);
}

/**
 * A whole page. `notice` is shown first and announced to screen readers
 * (`role="alert"` for an error, `role="status"` otherwise).
 */
export function page({ title, body, notice = null, user = null, signingIn = false, scripts = [] }) {
  const alert = notice
    ? html`<div class="notice ${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}" id="notice">${notice.text}</div>`
    : '';
  let account = html``;
  if (user && signingIn) {
    account = html`<nav aria-label="Account"><span class="who">Signing in as <strong>${user}</strong></span></nav>`;
  } else if (user) {
    account = html`<nav aria-label="Account"><span class="who">Signed in as <strong>${user}</strong></span> <a href="/security/mfa">Security</a></nav>`;
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Planasonix</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/local-time.js" defer></script>
${scripts.map((src) => `<script src="${esc(src)}" defer></script>\n`).join('')}</head>
<body>
<header><a class="brand" href="/security/mfa"><img src="/static/icon.svg" alt="" width="28" height="28"> Planasonix</a>${account}</header>
<main>
<h1>${esc(title)}</h1>
${alert}
${body}
</main>
<footer>Protected by Planasonix MFA</footer>
</body>
</html>
`;
}

/** A POST form with its CSRF token; `fields` is Html. */
export function form({ action, csrf, fields, submit, secondary = null, className = '' }) {
  return html`<form method="post" action="${action}" class="${className}" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
${fields}
<div class="actions"><button type="submit" class="primary">${submit}</button>${secondary ?? ''}</div>
</form>`;
}

/**
 * A labelled input. `error` marks it invalid and points its description at
 * the page's notice, so a screen reader reads why.
 */
export function field({ name, id = name, label, type = 'text', autocomplete = 'off', hint = null, error = false, value = '', autofocus = false, extra = '' }) {
  const hintId = hint ? `${id}-hint` : null;
  const described = [hintId, error ? 'notice' : null].filter(Boolean).join(' ');
  return html`<div class="field">
<label for="${id}">${label}</label>
${hint ? html`<p class="hint" id="${hintId}">${hint}</p>` : ''}
<input id="${id}" name="${name}" type="${type}" autocomplete="${autocomplete}" value="${value}"${autofocus ? raw(' autofocus') : ''}${error ? raw(' aria-invalid="true"') : ''}${described ? html` aria-describedby="${described}"` : ''}${raw(extra)}>
</div>`;
}
