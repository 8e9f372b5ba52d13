// The one script WebAuthn needs: on a page with <form data-passkey="create">
// or "get", the button asks the browser for a passkey with the options the
// engine made (data-options, the JSON of WebAuthn Level 3), puts the
// browser's answer in the form's `response` field, and submits it. The
// engine checks everything; this only carries bytes. Without it, the page
// says that passkeys need JavaScript, and the other factors work as before.
const b64url = {
  decode(text) {
    const s = text.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(s + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
  },
  encode(buffer) {
    let s = '';
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
};

/** The options as the browser's API takes them (binary fields as buffers). */
function parse(kind, json) {
  if (kind === 'create' && PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  if (kind === 'get' && PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  const o = structuredClone(json);
  o.challenge = b64url.decode(o.challenge);
  if (o.user) o.user.id = b64url.decode(o.user.id);
  for (const list of [o.excludeCredentials, o.allowCredentials]) {
    for (const c of list ?? []) c.id = b64url.decode(c.id);
  }
  return o;
}

/** The credential as PublicKeyCredential.toJSON() gives it. */
function toJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = b64url.encode(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = b64url.encode(r.authenticatorData);
  if (r.signature) response.signature = b64url.encode(r.signature);
  if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  return { id: credential.id, rawId: b64url.encode(credential.rawId), type: credential.type, response, clientExtensionResults: {} };
}

const WHY = {
  NotAllowedError: 'The passkey was not used: it was cancelled, or the time ran out. Try again.',
  InvalidStateError: 'This passkey or security key is registered already.',
  SecurityError: 'This browser refused: the page is not at the address passkeys are set up for.',
  NotSupportedError: 'This browser or device cannot use a passkey here.',
};

/**
 * Passkey autofill (conditional mediation): the browser offers the user's
 * passkeys in the user name field, and the one picked posts `form`. Quiet
 * when the browser cannot or the user types a name instead. Gives a way to
 * withdraw the offer (the browser allows one request at a time), which
 * waits until it is withdrawn.
 */
function offerInAutofill(form) {
  const abort = new AbortController();
  const offer = (async () => {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
    const publicKey = parse('get', JSON.parse(form.dataset.options));
    const credential = await navigator.credentials.get({ mediation: 'conditional', signal: abort.signal, publicKey });
    form.elements.response.value = JSON.stringify(toJSON(credential));
    form.submit();
  })().catch(() => {});
  return async () => {
    abort.abort();
    await offer;
  };
}

let withdraw = async () => {};
for (const form of document.querySelectorAll('form[data-passkey]')) {
  const kind = form.dataset.passkey;
  const status = form.querySelector('[data-passkey-status]');
  const say = (text) => {
    status.textContent = text;
    status.hidden = false;
  };
  if (!window.PublicKeyCredential) {
    say(WHY.NotSupportedError);
    continue;
  }
  form.querySelector('[data-passkey-unsupported]')?.remove();
  if ('autofill' in form.dataset) withdraw = offerInAutofill(form);
  form.addEventListener('submit', async (event) => {
    if (form.elements.response.value !== '') return;
    event.preventDefault();
    status.hidden = true;
    await withdraw();
    try {
      const publicKey = parse(kind, JSON.parse(form.dataset.options));
      const credential = kind === 'create'
        ? await navigator.credentials.create({ publicKey })
        : await navigator.credentials.get({ publicKey });
      form.elements.response.value = JSON.stringify(toJSON(credential));
      form.submit();
    } catch (e) {
      say(WHY[e?.name] ?? `The passkey did not work (${e?.name ?? 'error'}). Try again.`);
    }
  });
}
