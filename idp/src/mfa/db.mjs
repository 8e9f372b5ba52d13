// The database worker: the fleet's shared store on PostgreSQL, through the
// `pg` client, exactly as the hosts' `planasonix serve` reaches it
// (native/src/store/postgres.rs): one row per record in planasonix_records,
// compare-and-swap as one conditional statement, a deadline on every
// connection and statement, and a schema version it must know.
//
// It runs in its own thread because the component's `store` import is
// synchronous: the MFA worker posts a request here and blocks on a shared
// buffer until this thread, whose event loop stays free for pg's sockets,
// writes the answer (see bridge.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { pgOptions } from '../config.mjs';

/** The schema this build reads and writes (native's SCHEMA_VERSION). */
export const SCHEMA_VERSION = 1;

/** Keys of audit events (core's EVENT_KEY_PREFIX), never of records. */
const EVENT_KEY_PREFIX = 'audit/';

/** As the hosts do (native/src/store/postgres/statements.rs): an audit
 * event's statement commits without waiting for the disk; a record's always
 * waits. A crash of the server may lose the newest events, never a record. */
const ASYNC_COMMIT = "WITH async AS (SELECT set_config('synchronous_commit', 'off', true))";

const { settings, control, data } = workerData;
const ctrl = new Int32Array(control);
const bytes = new Uint8Array(data);
const encoder = new TextEncoder();
const target = `PostgreSQL ${settings.user}@${settings.hosts.join(',')}:${settings.port}/${settings.database}`;

const pool = new pg.Pool({
  // pg takes one host: the first one named (libpq's list is the hosts'
  // business; the reference provider documents this).
  ...pgOptions(settings),
  max: settings.poolSize,
  connectionTimeoutMillis: settings.connectTimeoutMs,
  statement_timeout: settings.statementTimeoutMs,
  query_timeout: settings.statementTimeoutMs + 500,
  application_name: 'planasonix-idp',
  keepAlive: true,
});
// An idle connection that dies (the server restarted) is dropped by the
// pool; the next request makes a new one. Nothing to do but not crash.
pool.on('error', () => {});

/** Connections whose schema version was checked. */
const checked = new WeakSet();

/** What went wrong, named by the step, as native's store says it. */
function describe(e) {
  const text = e?.message ?? String(e);
  let step = 'connection';
  if (e?.code?.startsWith?.('28')) step = 'authentication';
  else if (e?.code === '3D000') step = 'database';
  else if (e?.code && /^[0-9A-Z]{5}$/.test(e.code)) step = 'statement';
  else if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') step = 'DNS';
  else if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(e?.code)) step = 'TCP';
  else if (/certificate|TLS|SSL|self.signed|issuer/i.test(text)) step = 'TLS';
  else if (/timeout/i.test(text)) step = 'connection';
  return `${target}: ${step}: ${text}`;
}

async function schemaOf(client) {
  const exists = await client.query("SELECT to_regclass('planasonix_schema') IS NOT NULL AS e");
  if (!exists.rows[0].e) return null;
  const v = await client.query('SELECT max(version) AS v FROM planasonix_schema');
  return v.rows[0].v;
}

function schemaProblem(version) {
  if (version === SCHEMA_VERSION) return null;
  if (version === null) return `${target}: schema: the database has no planasonix schema: run \`planasonix store migrate\``;
  if (version > SCHEMA_VERSION) {
    return `${target}: schema: the schema is version ${version}, newer than this provider knows (${SCHEMA_VERSION}): upgrade planasonix-idp`;
  }
  return `${target}: schema: the schema is version ${version}, older than this provider's ${SCHEMA_VERSION}: run \`planasonix store migrate\``;
}

/** Runs `work` on a pooled connection whose schema this build knows. */
async function withClient(work) {
  const client = await pool.connect();
  let broken = false;
  try {
    if (!checked.has(client)) {
      const problem = schemaProblem(await schemaOf(client));
      if (problem) throw Object.assign(new Error(problem), { described: true });
      checked.add(client);
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

const ops = {
  async get({ key }) {
    const r = await withClient((c) => c.query({
      name: 'get', text: 'SELECT version, value FROM planasonix_records WHERE key = $1', values: [key],
    }));
    if (r.rows.length === 0) return { found: false };
    return { found: true, version: String(r.rows[0].version), value: r.rows[0].value.toString('base64') };
  },
  async cas({ key, expected, value }) {
    const bytes = value === null ? null : Buffer.from(value, 'base64');
    const event = key.startsWith(EVENT_KEY_PREFIX);
    const r = await withClient(async (c) => {
      if (event && expected === null && bytes !== null) {
        return c.query({
          name: 'insert_event',
          text: `${ASYNC_COMMIT} INSERT INTO planasonix_records (key, version, value)
                 SELECT $1, 1, $2 FROM async ON CONFLICT (key) DO NOTHING`,
          values: [key, bytes],
        });
      }
      if (event && expected !== null && bytes === null) {
        return c.query({
          name: 'delete_event',
          text: `${ASYNC_COMMIT} DELETE FROM planasonix_records
                 WHERE key = $1 AND version = $2 AND EXISTS (SELECT 1 FROM async)`,
          values: [key, expected],
        });
      }
      if (expected === null && bytes !== null) {
        return c.query({
          name: 'insert',
          text: 'INSERT INTO planasonix_records (key, version, value) VALUES ($1, 1, $2) ON CONFLICT (key) DO NOTHING',
          values: [key, bytes],
        });
      }
      if (expected !== null && bytes !== null) {
        return c.query({
          name: 'update',
          text: 'UPDATE planasonix_records SET version = version + 1, value = $3 WHERE key = $1 AND version = $2',
          values: [key, expected, bytes],
        });
      }
      if (expected !== null) {
        return c.query({
          name: 'delete', text: 'DELETE FROM planasonix_records WHERE key = $1 AND version = $2', values: [key, expected],
        });
      }
      const present = await c.query({
        name: 'exists', text: 'SELECT EXISTS (SELECT 1 FROM planasonix_records WHERE key = $1) AS p', values: [key],
      });
      return { rowCount: present.rows[0].p ? 0 : 1 };
    });
    if (r.rowCount !== 1) return { swapped: false };
    return { swapped: true, version: expected === null ? '1' : String(BigInt(expected) + 1n) };
  },
  async keys({ prefix }) {
    const pattern = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const r = await withClient((c) => c.query({
      name: 'keys', text: 'SELECT key FROM planasonix_records WHERE key LIKE $1 ORDER BY key', values: [pattern],
    }));
    return { keys: r.rows.map((row) => row.key) };
  },
  async check() {
    await withClient(async () => {});
    return {};
  },
};

/** The newest request received: answers to older ones are dropped. */
let latest = 0;

function answer(seq, result) {
  if (seq < latest) return;
  let encoded = encoder.encode(JSON.stringify(result));
  if (encoded.length > bytes.length) {
    encoded = encoder.encode(JSON.stringify({ error: `${target}: the answer is larger than ${bytes.length >> 20} MiB` }));
  }
  bytes.set(encoded);
  Atomics.store(ctrl, 2, encoded.length);
  Atomics.store(ctrl, 1, seq);
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}

parentPort.on('message', async (request) => {
  latest = Math.max(latest, request.seq);
  try {
    answer(request.seq, await ops[request.op](request));
  } catch (e) {
    answer(request.seq, { error: e?.described ? e.message : describe(e) });
  }
});
