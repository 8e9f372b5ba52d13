// @ts-check
// The provider's configuration file (see idp/README.md) and the files it
// names: the organisation's policy, the seal key and the store file the
// hosts use, the users and the clients. Every problem is one line that
// names the file and what to change; nothing starts on a guess.
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { FileError, readTrusted, readTrustedText } from './files.mjs';
import { sealKeyCheck } from './mfa/pg.mjs';
import { StoreFileError, parseStoreFile } from './store_file.mjs';

export class ConfigError extends Error {}

function toml(file, text) {
  try {
    return /** @type {any} */ (parseToml(text));
  } catch (e) {
    throw new ConfigError(`${file}: ${String(e.message).split('\n')[0]}`);
  }
}

function only(file, table, allowed, where = '') {
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${file}: unknown key ${JSON.stringify(key)}${where}: use ${allowed.join(', ')}`);
    }
  }
}

function str(file, table, key, { required = true, where = '' } = {}) {
  const v = table[key];
  if (v === undefined && !required) return null;
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${file}: ${key}${where} must be a non-empty string`);
  return v;
}

function strings(file, table, key, where = '') {
  const v = table[key] ?? [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw new ConfigError(`${file}: ${key}${where} must be a list of strings`);
  }
  return v;
}

/**
 * The 32 bytes of a seal key file's text (`planasonix-seal-key-v1` and the
 * key in canonical, padded base64), by core's rules (SealKey::from_key_text;
 * both are checked against tests/seal-key-texts.json); null if it is not one.
 * @param {string} text
 */
export function parseSealKeyText(text) {
  const words = text.trim().split(/\s+/);
  if (words.length !== 2 || words[0] !== 'planasonix-seal-key-v1' || !/^[A-Za-z0-9+/]*={0,2}$/.test(words[1])) return null;
  const bytes = Buffer.from(words[1], 'base64');
  return bytes.length === 32 && bytes.toString('base64') === words[1] ? new Uint8Array(bytes) : null;
}

/** The seal key file's 32 bytes (`planasonix-seal-key-v1 <base64>`). */
export function readSealKey(file) {
  const key = parseSealKeyText(readTrustedText(file, { secret: true, what: 'seal key' }));
  if (key === null) throw new ConfigError(`${file}: not a seal key (planasonix-seal-key-v1 and 32 bytes in base64)`);
  return key;
}

const LOCAL = /^(localhost|127\.[0-9.]+|::1)$/;  // an http issuer's host

/**
 * The store file's PostgreSQL settings, parsed by the hosts' rules
 * (store_file.mjs, planasonix-store(5)), then the CA and password files it
 * names read as the hosts read them. The provider shares the fleet's store:
 * a sled store (one host's own database) is refused.
 */
export function readStoreFile(file) {
  let s;
  try {
    s = parseStoreFile(readTrustedText(file, { what: 'store file' }));
  } catch (e) {
    if (e instanceof StoreFileError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
  if (s.kind !== 'postgresql') {
    throw new ConfigError(
      `${file}: kind = "postgresql" with a [postgresql] table is needed: the provider shares the fleet's store (sled is one host's own database)`,
    );
  }
  let password = null;
  if (s.passwordFile !== null) {
    const text = readTrustedText(s.passwordFile, { secret: true, what: 'database password' }).replace(/\r?\n$/, '');
    if (text === '' || /[\n\0]/.test(text)) throw new ConfigError(`${s.passwordFile}: the password file must hold one non-empty line`);
    password = text;
  }
  return {
    hosts: s.hosts,
    port: s.port,
    database: s.database,
    user: s.user,
    password,
    ca: s.tls === 'verify-full' ? readTrustedText(s.caFile, { what: 'CA file' }) : null,
    socketOwner: s.socketOwner,
    connectTimeoutMs: s.connectTimeout * 1000,
    statementTimeoutMs: s.statementTimeout * 1000,
    // Per database worker: each MFA worker lane and the throttle open one.
    poolSize: s.poolSize ?? 4,
  };
}

/** The users file: who may sign in, with password hashes (argon2id). */
export function readUsers(file) {
  const raw = toml(file, readTrustedText(file, { secret: true, what: 'users file' }));
  only(file, raw, ['user']);
  const users = new Map();
  for (const [i, u] of (raw.user ?? []).entries()) {
    const w = ` in [[user]] ${i + 1}`;
    only(file, u, ['name', 'display_name', 'email', 'groups', 'password'], w);
    const name = str(file, u, 'name', { where: w });
    if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(name)) {
      throw new ConfigError(`${file}: name ${JSON.stringify(name)}${w} is not a Unix account name (lower case, 1 to 32 characters): the subject must be the same name the hosts know`);
    }
    const password = str(file, u, 'password', { where: w });
    if (!password.startsWith('$argon2id$')) {
      throw new ConfigError(`${file}: password${w} is not an argon2id hash: make one with \`node idp/src/main.mjs hash-password\``);
    }
    if (users.has(name)) throw new ConfigError(`${file}: ${name} is listed twice`);
    users.set(name, {
      name,
      displayName: str(file, u, 'display_name', { required: false, where: w }) ?? name,
      email: str(file, u, 'email', { required: false, where: w }),
      groups: strings(file, u, 'groups', w),
      password,
    });
  }
  return users;
}

/** The clients file: the applications that may ask for sign-in. */
export function readClients(file) {
  const raw = toml(file, readTrustedText(file, { what: 'clients file' }));
  only(file, raw, ['client']);
  return (raw.client ?? []).map((c, i) => {
    const w = ` in [[client]] ${i + 1}`;
    only(file, c, ['client_id', 'client_name', 'redirect_uris', 'post_logout_redirect_uris', 'client_secret_file'], w);
    const secretFile = str(file, c, 'client_secret_file', { required: false, where: w });
    const client = {
      client_id: str(file, c, 'client_id', { where: w }),
      client_name: str(file, c, 'client_name', { required: false, where: w }) ?? undefined,
      redirect_uris: strings(file, c, 'redirect_uris', w),
      post_logout_redirect_uris: strings(file, c, 'post_logout_redirect_uris', w),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // auth_time in every ID token: relying parties enforce their own max age.
      require_auth_time: true,
    };
    if (secretFile === null) {
      client.token_endpoint_auth_method = 'none';
    } else {
      client.client_secret = readTrustedText(secretFile, { secret: true, what: 'client secret' }).trim();
      client.token_endpoint_auth_method = 'client_secret_basic';
    }
    return client;
  });
}

/** The [upstream] table: an OpenID Provider people may sign in through. */
function readUpstream(file, table, rel) {
  const w = ' in [upstream]';
  only(file, table, ['name', 'issuer', 'client_id', 'client_secret_file', 'username_claim'], w);
  const issuer = str(file, table, 'issuer', { where: w });
  if (!issuer.startsWith('https://') && !/^http:\/\/(127\.[0-9.]+|localhost)(:|\/|$)/.test(issuer)) {
    throw new ConfigError(`${file}: issuer${w} must be https:// (http:// only on a loopback address)`);
  }
  const secretFile = str(file, table, 'client_secret_file', { required: false, where: w });
  return {
    name: str(file, table, 'name', { where: w }),
    issuer,
    clientId: str(file, table, 'client_id', { where: w }),
    secret: secretFile === null ? null : readTrustedText(rel(secretFile), { secret: true, what: 'upstream client secret' }).trim(),
    usernameClaim: str(file, table, 'username_claim', { required: false, where: w }) ?? 'sub',
  };
}

/** `sms_input`: `"stdin"` (the number off the command line) or `"argument"` (the default). */
function smsInput(file, value) {
  if (value === undefined || value === 'argument') return false;
  if (value === 'stdin') return true;
  throw new ConfigError(`${file}: sms_input = ${JSON.stringify(value)}: use "stdin" (the number on the first line of standard input, off the command line) or "argument"`);
}

/** Reads the configuration file and everything it names. */
export function readConfig(file) {
  const where = path.resolve(file);
  const raw = toml(where, readTrustedText(where, { what: 'configuration' }));
  only(where, raw, ['issuer', 'listen', 'policy', 'seal_key', 'store', 'users', 'clients', 'state_dir',
    'admin_groups', 'sms_command', 'sms_input', 'notice_command', 'workers', 'component', 'upstream', 'proxy_hops']);
  const rel = (p) => path.resolve(path.dirname(where), p);
  const issuer = str(where, raw, 'issuer');
  let url;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`${where}: issuer ${JSON.stringify(issuer)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !LOCAL.test(url.hostname)) {
    throw new ConfigError(`${where}: issuer must be https:// (http:// only on a loopback address, for trying it out)`);
  }
  const listen = str(where, raw, 'listen', { required: false }) ?? '127.0.0.1:3000';
  const m = /^(.*):([0-9]{1,5})$/.exec(listen);
  if (!m) throw new ConfigError(`${where}: listen = ${JSON.stringify(listen)}: give ADDRESS:PORT`);
  const workers = raw.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 16) throw new ConfigError(`${where}: workers must be 1 to 16`);
  // Behind a TLS-terminating proxy (an https issuer) one hop by default:
  // exactly as many X-Forwarded-For entries as there are proxies are read.
  const proxyHops = raw.proxy_hops ?? (url.protocol === 'https:' ? 1 : 0);
  if (!Number.isInteger(proxyHops) || proxyHops < 0 || proxyHops > 5) {
    throw new ConfigError(`${where}: proxy_hops must be 0 to 5: the number of proxies in front that add to X-Forwarded-For`);
  }
  try {
    const config = {
      file: where,
      issuer: issuer.replace(/\/$/, ''),
      listen: { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) },
      policy: readTrustedText(rel(str(where, raw, 'policy')), { what: 'policy' }),
      sealKey: readSealKey(rel(str(where, raw, 'seal_key'))),
      store: readStoreFile(rel(str(where, raw, 'store'))),
      users: readUsers(rel(str(where, raw, 'users'))),
      clients: readClients(rel(str(where, raw, 'clients'))),
      stateDir: rel(str(where, raw, 'state_dir')),
      // The administrators are the policy's admins: a list here is only
      // accepted when it is the same (checked once the policy is loaded).
      adminGroups: raw.admin_groups === undefined ? null : strings(where, raw, 'admin_groups'),
      proxyHops,
      delivery: {
        sms: raw.sms_command === undefined ? null : rel(str(where, raw, 'sms_command')),
        smsStdin: smsInput(where, raw.sms_input),
        notice: raw.notice_command === undefined ? null : rel(str(where, raw, 'notice_command')),
      },
      workers,
      upstream: raw.upstream === undefined ? null : readUpstream(where, raw.upstream, rel),
      component: rel(str(where, raw, 'component', { required: false }) ?? new URL('../gen/plugin.js', import.meta.url).pathname),
    };
    // Every connection checks that the store is this key's fleet's.
    config.store.sealCheck = sealKeyCheck(config.sealKey);
    return config;
  } catch (e) {
    if (e instanceof FileError) throw new ConfigError(e.message);
    throw e;
  }
}

export { readTrusted };
