// @ts-check
// The store file (planasonix-store(5)) parsed by the hosts' rules, in their
// order and with their words (native/src/store_file.rs `parse_store`), so a
// file the hosts refuse the provider refuses for the same reason. Both are
// checked against the same cases (tests/store-files.json). Pure: the CA and
// password files it names are read by config.mjs, after it.
import { parse as parseToml } from 'smol-toml';

/** A mistake in a store file; `kind` is the hosts' StoreFileError variant. */
export class StoreFileError extends Error {
  /** @param {string} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

const fail = (kind, message) => { throw new StoreFileError(kind, message); };

const PG_KEYS = ['hosts', 'port', 'database', 'user', 'password_file', 'sslmode', 'ca_file',
  'socket_owner', 'connect_timeout', 'statement_timeout', 'pool_size'];

const isUint = (v) => Number.isSafeInteger(v) && v >= 0;

/** serde's part of the hosts' parse: shape and types, every mistake a Syntax. */
function shape(raw) {
  const syntax = (why) => fail('Syntax', why);
  for (const key of Object.keys(raw)) if (!['kind', 'postgresql'].includes(key)) syntax(`unknown field \`${key}\`, expected \`kind\` or \`postgresql\``);
  if (raw.kind === undefined) syntax('missing field `kind`');
  if (typeof raw.kind !== 'string') syntax('invalid type for `kind`: expected a string');
  const pg = raw.postgresql;
  if (pg === undefined) return;
  if (typeof pg !== 'object' || pg === null || Array.isArray(pg)) syntax('invalid type for `postgresql`: expected a table');
  for (const key of Object.keys(pg)) if (!PG_KEYS.includes(key)) syntax(`unknown field \`${key}\` in [postgresql], expected one of ${PG_KEYS.map((k) => `\`${k}\``).join(', ')}`);
  for (const key of ['hosts', 'database', 'user']) if (pg[key] === undefined) syntax(`missing field \`${key}\` in [postgresql]`);
  if (!Array.isArray(pg.hosts) || pg.hosts.some((h) => typeof h !== 'string')) syntax('invalid type for `hosts`: expected a list of strings');
  for (const key of ['database', 'user', 'password_file', 'sslmode', 'ca_file', 'socket_owner']) {
    if (pg[key] !== undefined && typeof pg[key] !== 'string') syntax(`invalid type for \`${key}\`: expected a string`);
  }
  if (pg.port !== undefined && !(isUint(pg.port) && pg.port <= 65535)) syntax(`invalid value for \`port\`: expected a port number (u16), not ${pg.port}`);
  for (const key of ['connect_timeout', 'statement_timeout', 'pool_size']) {
    if (pg[key] !== undefined && !isUint(pg[key])) syntax(`invalid value for \`${key}\`: expected a non-negative integer, not ${JSON.stringify(pg[key])}`);
  }
}

/** A host name, an IP address, or a socket directory; nothing read as more. */
function checkHost(host) {
  const ok = host.startsWith('/')
    ? !/[\0\n]/.test(host) && Buffer.byteLength(host) <= 100
    : host !== '' && Buffer.byteLength(host) <= 253 && /^[A-Za-z0-9.:-]+$/.test(host);
  if (!ok) fail('BadHost', `[postgresql] host ${JSON.stringify(host)} is not a host name, an IP address or a socket directory`);
}

function checkName(what, name) {
  if (name === '' || Buffer.byteLength(name) > 63 || /[\0\n\r]/.test(name)) {
    fail('BadName', `[postgresql] ${what} ${JSON.stringify(name)} must be 1 to 63 bytes, without NUL or line breaks`);
  }
}

function absolute(what, p) {
  if (!p.startsWith('/')) fail('RelativePath', `[postgresql] ${what} ${p} must be an absolute path`);
}

function range(name, value, low, high, words) {
  if (value < low || value > high) fail('OutOfRange', `[postgresql] ${name} = ${value} is out of range: give ${words}`);
  return value;
}

/**
 * The settings of a store file's text: `{ kind: 'sled' }`, or
 * `{ kind: 'postgresql', hosts, port, database, user, passwordFile, tls:
 * 'verify-full' | 'socket', caFile, socketOwner, connectTimeout,
 * statementTimeout, poolSize }` (seconds; `poolSize` null when the file sets
 * none: each door has its default). Throws a StoreFileError.
 */
export function parseStoreFile(text) {
  let raw;
  try {
    raw = /** @type {any} */ (parseToml(text));
  } catch (e) {
    fail('Syntax', String(e?.message ?? e).split('\n')[0]);
  }
  shape(raw);
  const pg = raw.postgresql;
  if (raw.kind === 'sled') {
    if (pg !== undefined) fail('SledWithTable', 'kind = "sled" takes no [postgresql] table; remove it or set kind = "postgresql"');
    return { kind: 'sled' };
  }
  if (raw.kind !== 'postgresql') fail('UnknownKind', `kind = ${JSON.stringify(raw.kind)} is not a store: use "sled" or "postgresql"`);
  if (pg === undefined) fail('MissingTable', 'kind = "postgresql" needs a [postgresql] table');
  if (pg.hosts.length === 0) fail('NoHosts', '[postgresql] hosts is empty: name at least one host');
  pg.hosts.forEach(checkHost);
  checkName('database', pg.database);
  checkName('user', pg.user);
  if (pg.password_file !== undefined) absolute('password_file', pg.password_file);
  const sslmode = pg.sslmode ?? 'verify-full';
  let tls;
  let socketOwner = null;
  if (sslmode === 'verify-full') {
    if (pg.ca_file === undefined) fail('NoCaFile', 'sslmode = "verify-full" needs ca_file: the CA certificate (PEM) that signed the server\'s certificate');
    absolute('ca_file', pg.ca_file);
    tls = 'verify-full';
  } else if (sslmode === 'disable') {
    const tcp = pg.hosts.find((h) => !h.startsWith('/'));
    if (tcp !== undefined) {
      fail('PlainTcp', `sslmode = "disable" is refused for ${JSON.stringify(tcp)}: plain TCP, loopback included, hands the role's password and every login to whoever listens on that port (a local user can bind it while PostgreSQL restarts, and answer "never enrolled" for everyone); use sslmode = "verify-full" with ca_file (a server certificate for the address 127.0.0.1 works), or a unix socket directory as the host`);
    }
    if (pg.hosts.length !== 1) fail('ManySockets', '[postgresql] hosts names more than one socket directory: a unix socket store names one (list TCP hosts with verify-full for a failover)');
    socketOwner = pg.socket_owner ?? 'postgres';
    checkName('socket_owner', socketOwner);
    tls = 'socket';
  } else if (['allow', 'prefer', 'require', 'verify-ca'].includes(sslmode)) {
    fail('UncheckedSslmode', `sslmode = ${JSON.stringify(sslmode)} is not supported: it accepts a server whose name or certificate is not checked; use "verify-full" with ca_file (or "disable" on a unix socket)`);
  } else {
    fail('UnknownSslmode', `sslmode = ${JSON.stringify(sslmode)} is not an sslmode: use "verify-full" or "disable"`);
  }
  if (tls === 'verify-full' && pg.socket_owner !== undefined) {
    fail('SocketOwnerOverTls', '[postgresql] socket_owner is for a unix socket (sslmode = "disable"); over TLS the certificate says who the server is');
  }
  const poolSize = pg.pool_size === undefined ? null : range('pool_size', pg.pool_size, 1, 64, '1 to 64');
  const port = pg.port ?? 5432;
  if (port === 0) fail('PortZero', '[postgresql] port = 0 is not a port');
  return {
    kind: 'postgresql',
    hosts: pg.hosts,
    port,
    database: pg.database,
    user: pg.user,
    passwordFile: pg.password_file ?? null,
    tls,
    caFile: pg.ca_file ?? null,
    socketOwner,
    connectTimeout: range('connect_timeout', pg.connect_timeout ?? 3, 1, 300, '1 to 300 seconds'),
    statementTimeout: range('statement_timeout', pg.statement_timeout ?? 3, 1, 300, '1 to 300 seconds'),
    poolSize,
  };
}
