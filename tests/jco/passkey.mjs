// The conformance suite's software passkey for the jco door: what
// planasonix_core::testing::SoftAuthenticator is for the Rust doors (Ed25519
// from a seed, its attestation, the answer as PublicKeyCredential.toJSON()
// gives it), written again here because this door is JavaScript.
import crypto from 'node:crypto';
import fs from 'node:fs';

/** The test vendor's attestation files (core/tests/vectors/webauthn/attestation). */
const vendorFile = (name) => fs.readFileSync(new URL(`../../core/tests/vectors/webauthn/attestation/${name}`, import.meta.url));

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');

/** CBOR (RFC 8949) for the few shapes an attestation holds. */
function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  }
  throw new Error(`no CBOR for ${typeof value}`);
}

/**
 * The options a provider page carries for the browser (its `data-options`
 * attribute), as the browser reads the attribute; `{}` when there is none.
 */
export function optionsOf(html) {
  const attribute = /data-options="([^"]*)"/.exec(html ?? '')?.[1];
  if (attribute === undefined) return '{}';
  return attribute.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export class SoftAuthenticator {
  constructor(seed, origin) {
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, seed)]);
    this.key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    this.publicKey = crypto.createPublicKey(this.key).export({ format: 'der', type: 'spki' }).subarray(-32);
    this.credentialId = Buffer.alloc(16, seed);
    this.origin = origin;
    this.counter = 0;
    this.verifiesUser = true;
    this.aaguid = Buffer.alloc(16, 0x5a);
    this.attestation = 'none';
  }

  /** The attestation format and statement over `data` and `client` (the harness's names). */
  statement(data, client) {
    const signed = Buffer.concat([data, crypto.createHash('sha256').update(client).digest()]);
    if (this.attestation === 'none') return ['none', new Map()];
    if (this.attestation === 'self') {
      return ['packed', new Map([['alg', -8], ['sig', new Uint8Array(crypto.sign(null, signed, this.key))]])];
    }
    const chain = { vendor: ['leaf.der', 'intermediate.der'], 'vendor-leaf-only': ['leaf.der'] }[this.attestation];
    if (!chain) throw new Error(`no attestation ${this.attestation}`);
    const key = crypto.createPrivateKey({ key: vendorFile('leaf.pk8'), format: 'der', type: 'pkcs8' });
    return ['packed', new Map([
      ['alg', -7],
      ['sig', new Uint8Array(crypto.sign('sha256', signed, key))],
      ['x5c', chain.map((f) => new Uint8Array(vendorFile(f)))],
    ])];
  }

  authData(rpId, attested) {
    const flags = 0x01 | (this.verifiesUser ? 0x04 : 0) | (attested ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const parts = [crypto.createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      parts.push(this.aaguid, len, this.credentialId, cbor(new Map([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array(this.publicKey)]])));
    }
    return Buffer.concat(parts);
  }

  clientData(type, challenge) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  register(options) {
    const o = JSON.parse(options || '{}');
    const client = this.clientData('webauthn.create', o.challenge ?? '');
    const data = this.authData(o.rp?.id ?? '', true);
    const [fmt, statement] = this.statement(data, client);
    const attestation = cbor(new Map([['fmt', fmt], ['attStmt', statement], ['authData', new Uint8Array(data)]]));
    return JSON.stringify({
      id: b64(this.credentialId), rawId: b64(this.credentialId), type: 'public-key',
      response: { clientDataJSON: b64(client), attestationObject: b64(attestation), transports: ['internal'] },
      clientExtensionResults: {},
    });
  }

  signIn(options) {
    this.counter = (this.counter + 1) >>> 0;
    const o = JSON.parse(options || '{}');
    const client = this.clientData('webauthn.get', o.challenge ?? '');
    const data = this.authData(o.rpId ?? '', false);
    const signed = Buffer.concat([data, crypto.createHash('sha256').update(client).digest()]);
    return JSON.stringify({
      id: b64(this.credentialId), rawId: b64(this.credentialId), type: 'public-key',
      response: { clientDataJSON: b64(client), authenticatorData: b64(data), signature: b64(crypto.sign(null, signed, this.key)), userHandle: null },
      clientExtensionResults: {},
    });
  }
}
