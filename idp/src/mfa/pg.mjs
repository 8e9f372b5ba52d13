// The fleet's PostgreSQL as the provider reaches it: a `pg` pool with the
// store file's deadlines, a schema version it must know, and failures named
// by their step as the hosts name them (native/src/store/postgres.rs). Used
// by the database worker (db.mjs, the component's records) and by the
// password throttle (../throttle.mjs, on the HTTP thread, asynchronously).
import pg from 'pg';
import { pgOptions } from '../config.mjs';

/** The schema this build reads and writes (native's SCHEMA_VERSION). */
export const SCHEMA_VERSION = 2;

/** `user@hosts:port/database`, for messages (never the password). */
export function targetOf(settings) {
  return `PostgreSQL ${settings.user}@${settings.hosts.join(',')}:${settings.port}/${settings.database}`;
}

/** A pool for `settings` (config.mjs's store settings), named `name` on the server. */
export function openPool(settings, name) {
  const pool = new pg.Pool({
    // pg takes one host: the first one named (libpq's list is the hosts'
    // business; the reference provider documents this).
    ...pgOptions(settings),
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
  return { pool, target: targetOf(settings), checked: new WeakSet() };
}

/** What went wrong, named by the step, as native's store says it. */
export function describe(target, e) {
  if (e?.described) return e.message;
  const text = e?.message ?? String(e);
  let step = 'connection';
  if (e?.code?.startsWith?.('28')) step = 'authentication';
  else if (e?.code === '3D000') step = 'database';
  else if (e?.code && /^[0-9A-Z]{5}$/.test(e.code)) step = 'statement';
  else if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') step = 'DNS';
  else if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(e?.code)) step = 'TCP';
  else if (/certificate|TLS|SSL|self.signed|issuer/i.test(text)) step = 'TLS';
  return `${target}: ${step}: ${text}`;
}

async function schemaOf(client) {
  const exists = await client.query("SELECT to_regclass('planasonix_schema') IS NOT NULL AS e");
  if (!exists.rows[0].e) return null;
  const v = await client.query('SELECT max(version) AS v FROM planasonix_schema');
  return v.rows[0].v;
}

function schemaProblem(target, version) {
  if (version === SCHEMA_VERSION) return null;
  if (version === null) return `${target}: schema: the database has no planasonix schema: run \`planasonix store migrate\``;
  if (version > SCHEMA_VERSION) {
    return `${target}: schema: the schema is version ${version}, newer than this provider knows (${SCHEMA_VERSION}): upgrade planasonix-idp`;
  }
  return `${target}: schema: the schema is version ${version}, older than this provider's ${SCHEMA_VERSION}: run \`planasonix store migrate\``;
}

/** Runs `work` on a pooled connection whose schema this build knows. */
export async function withClient(db, work) {
  const client = await db.pool.connect();
  let broken = false;
  try {
    if (!db.checked.has(client)) {
      const problem = schemaProblem(db.target, await schemaOf(client));
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
