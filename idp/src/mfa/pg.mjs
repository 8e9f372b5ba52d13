// @ts-check
// The fleet's PostgreSQL as the provider reaches it: a `pg` pool with the
// store file's deadlines, a schema version it must know, and failures named
// by their step as the hosts name them (service/src/postgres.rs). Used
// by the database worker (db.mjs, the component's records) and by the
// password throttle (../throttle.mjs, on the HTTP thread, asynchronously).
//
// Trusted as the hosts trust it: TLS verify-full, or a unix socket in a
// directory owned by root or the database's OS user that others cannot
// write, the socket itself that user's; and the role's password goes only
// to SCRAM (with channel binding over TLS), never in clear or as MD5, which
// a listener impersonating the database would ask for.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { SCHEMA_VERSION, SQL } from './sql.mjs';


/** Store key of the fleet key's check value (core's CHECK_VALUE_KEY). */
const CHECK_VALUE_KEY = 'meta/seal-key-check';
const CHECK_VALUE_TAG = 'planasonix-seal-key-check-v1';

/** The seal key's check value, as core's SealKey::check_value makes it:
 * an HMAC under a key derived for this purpose, which shows nothing of the
 * key. The store keeps the fleet key's; a provider with another key would
 * write records no host can open. */
export function sealKeyCheck(key) {
  const derived = createHmac('sha256', key).update('planasonix/v3/key-check').digest();
  return `${CHECK_VALUE_TAG} ${createHmac('sha256', derived).update(CHECK_VALUE_TAG).digest('base64')}`;
}

/** `user@hosts:port/database`, for messages (never the password). */
export function targetOf(settings) {
  return `PostgreSQL ${settings.user}@${settings.hosts.join(',')}:${settings.port}/${settings.database}`;
}

/** Why the database is not trusted; the connection fails with it. */
class Untrusted extends Error {
  constructor(message) {
    super(message);
    this.code = 'PLANASONIX_UNTRUSTED';
  }
}

/**
 * A `pg` client that sends the role's password only to SCRAM: a request for
 * it in clear or as MD5 ends the connection, and over TLS only SCRAM with
 * channel binding (SCRAM-SHA-256-PLUS) is taken.
 */
export class StrictClient extends pg.Client {
  /** pg's connection (not in its types): the refusal ends it. */
  refuse(error) {
    const { connection } = /** @type {any} */ (this);
    connection.emit('error', error);
    connection.end();
  }

  _handleAuthCleartextPassword() {
    this.refuse(new Untrusted('the server asked for the password in clear: refused (a server that is not the database would ask so, to learn it); set password_encryption = \'scram-sha-256\' and scram-sha-256 in pg_hba.conf'));
  }

  _handleAuthMD5Password() {
    this.refuse(new Untrusted('the server asked for the password as MD5: refused (anyone who reads an MD5 exchange, or impersonates the server, can replay it); set password_encryption = \'scram-sha-256\' and scram-sha-256 in pg_hba.conf'));
  }

  _handleAuthSASL(msg) {
    if (/** @type {any} */ (this).ssl && !msg.mechanisms.includes('SCRAM-SHA-256-PLUS')) {
      this.refuse(new Untrusted('the server did not offer SCRAM with channel binding over TLS, so the password was not sent; use scram-sha-256 in pg_hba.conf (hostssl)'));
      return;
    }
    super._handleAuthSASL(msg);
  }
}

/** The uid of OS user `name` (NSS, through id(1)). */
function uidOf(name) {
  try {
    return Number(execFileSync('id', ['-u', '--', name], { encoding: 'utf8' }).trim());
  } catch {
    throw new Untrusted(`socket_owner ${JSON.stringify(name)} is not a user of this system`);
  }
}

/**
 * The socket of `settings` may be the database's: its directory a real
 * directory owned by root or the database's OS user that others cannot
 * write, and the socket that user's. (The hosts also check the server's peer
 * credentials, which Node.js cannot read; in such a directory no one else
 * can create the socket.)
 */
export function checkSocket(settings) {
  const owner = uidOf(settings.socketOwner);
  const dir = settings.hosts[0];
  const d = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!d?.isDirectory()) throw new Untrusted(`socket directory ${dir} is not a directory (a symlink is not followed)`);
  if (d.uid !== 0 && d.uid !== owner) {
    throw new Untrusted(`socket directory ${dir} is owned by uid ${d.uid}, not by root or the database's user (uid ${owner}): whoever owns it can put their own server there`);
  }
  if (d.mode & 0o002) {
    throw new Untrusted(`socket directory ${dir} is writable by others (mode ${(d.mode & 0o7777).toString(8)}): any local user could put their own server there; make it 0755 (or 2775 for the database's group)`);
  }
  const socket = path.join(dir, `.s.PGSQL.${settings.port}`);
  const s = fs.lstatSync(socket, { throwIfNoEntry: false });
  if (s && (!s.isSocket() || s.uid !== owner)) {
    throw new Untrusted(`${socket} is not a socket of the database's user (uid ${owner})`);
  }
}

/**
 * Connection options for a client of the store file's settings: the first
 * host (pg takes one), TLS verified against the file's CA with channel
 * binding, or the unix socket directory.
 */
export function connectOptions(store) {
  return {
    Client: StrictClient,
    host: store.hosts[0],
    port: store.port,
    database: store.database,
    user: store.user,
    password: store.password ?? undefined,
    ssl: store.ca === null ? false : { ca: store.ca, rejectUnauthorized: true },
    enableChannelBinding: store.ca !== null,
  };
}

/** A pool for `settings` (config.mjs's store settings), named `name` on the server. */
export function openPool(settings, name) {
  const pool = new pg.Pool({
    ...connectOptions(settings),
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 500,
    application_name: name,
    keepAlive: true,
  });
  // An idle connection that dies (the server restarted) is dropped by the
  // pool; the next request makes a new one. Nothing to do but not crash.
  pool.on('error', () => {});
  return {
    pool,
    target: targetOf(settings),
    checked: new WeakSet(),
    socket: settings.socketOwner ? settings : null,
    sealCheck: settings.sealCheck ?? null,
  };
}

/** What went wrong, named by the step, as native's store says it. */
export function describe(target, e) {
  if (e?.described) return e.message;
  const text = e?.message ?? String(e);
  let step = 'connection';
  if (e?.code === 'PLANASONIX_UNTRUSTED' || e?.code?.startsWith?.('28')) step = 'authentication';
  else if (e?.code === '3D000') step = 'database';
  else if (e?.code && /^[0-9A-Z]{5}$/.test(e.code)) step = 'statement';
  else if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') step = 'DNS';
  else if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(e?.code)) step = 'TCP';
  else if (/certificate|TLS|SSL|self.signed|issuer/i.test(text)) step = 'TLS';
  return `${target}: ${step}: ${text}`;
}

async function schemaOf(client) {
  const exists = await client.query(SQL.schema_present);
  if (!exists.rows[0].present) return null;
  const v = await client.query(SQL.schema_read);
  return v.rows[0].version;
}

function schemaProblem(target, version) {
  if (version === SCHEMA_VERSION) return null;
  if (version === null) return `${target}: schema: the database has no planasonix schema: run \`planasonix store migrate\``;
  if (version > SCHEMA_VERSION) {
    return `${target}: schema: the schema is version ${version}, newer than this provider knows (${SCHEMA_VERSION}): upgrade planasonix-idp`;
  }
  return `${target}: schema: the schema is version ${version}, older than this provider's ${SCHEMA_VERSION}: run \`planasonix store migrate\``;
}

/** Why the store is not this provider's fleet's, as the hosts' service says it. */
async function sealProblem(db, client) {
  if (db.sealCheck === null) return null;
  const r = await client.query(SQL.get, [CHECK_VALUE_KEY]);
  if (r.rows.length === 0) {
    return `${db.target}: the store keeps no seal key check yet: run \`planasonix store migrate\` on a host of the fleet (it records the fleet key's check value)`;
  }
  if (r.rows[0].value.toString('utf8') === db.sealCheck) return null;
  return `${db.target}: this provider's seal key is not the fleet's: the store keeps another key's check value, so every record the provider wrote would be unreadable to the hosts, and theirs to it; give seal_key the fleet's key (planasonix-store(5), A NEW HOST)`;
}

/** Runs `work` on a pooled connection whose schema this build knows, in
 * a store that keeps this provider's seal key's check value. */
export async function withClient(db, work) {
  if (db.socket) checkSocket(db.socket);
  const client = await db.pool.connect();
  let broken = false;
  try {
    if (!db.checked.has(client)) {
      const problem = schemaProblem(db.target, await schemaOf(client)) ?? await sealProblem(db, client);
      if (problem) throw Object.assign(new Error(problem), { described: true });
      db.checked.add(client);
    }
    return await work(client);
  } catch (e) {
    // A refused statement leaves the connection usable; anything else not.
    broken = !(e?.code && /^[0-9A-Z]{5}$/.test(e.code) && !e.code.startsWith('08'));
    throw e;
  } finally {
    client.release(broken);
  }
}
