// The database worker: the fleet's shared store on PostgreSQL, through the
// `pg` client, exactly as the hosts' `planasonix serve` reaches it
// (service/src/postgres.rs): one row per record in planasonix_records,
// compare-and-swap as one conditional statement, a deadline on every
// connection and statement, and a schema version it must know.
//
// It runs in its own thread because the component's `store` import is
// synchronous: the MFA worker posts a request here and blocks on a shared
// buffer until this thread, whose event loop stays free for pg's sockets,
// writes the answer (see bridge.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import { describe, openPool, withClient } from './pg.mjs';

/** Keys of audit events (core's EVENT_KEY_PREFIX), never of records. */
const EVENT_KEY_PREFIX = 'audit/';

/** As the hosts do (service/src/postgres/statements.rs): an audit
 * event's statement commits without waiting for the disk; a record's always
 * waits. A crash of the server may lose the newest events, never a record. */
const ASYNC_COMMIT = "WITH async AS (SELECT set_config('synchronous_commit', 'off', true))";

const { settings, control, data } = workerData;
const ctrl = new Int32Array(control);
const bytes = new Uint8Array(data);
const encoder = new TextEncoder();
const db = openPool(settings, 'planasonix-idp');
const target = db.target;

const ops = {
  async get({ key }) {
    const r = await withClient(db, (c) => c.query({
      name: 'get', text: 'SELECT version, value FROM planasonix_records WHERE key = $1', values: [key],
    }));
    if (r.rows.length === 0) return { found: false };
    return { found: true, version: String(r.rows[0].version), value: r.rows[0].value.toString('base64') };
  },
  async cas({ key, expected, value }) {
    const bytes = value === null ? null : Buffer.from(value, 'base64');
    const event = key.startsWith(EVENT_KEY_PREFIX);
    const r = await withClient(db, async (c) => {
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
  // A record and its audit events in one statement, so one transaction and
  // one synchronous commit (service/src/postgres/statements.rs
  // `update_and_add`): the events are added only if the record swapped,
  // each unless its key is taken.
  async swapAdd({ key, expected, value, add }) {
    const r = await withClient(db, (c) => c.query({
      name: 'update_and_add',
      text: `WITH swapped AS (
               UPDATE planasonix_records SET version = version + 1, value = $3
               WHERE key = $1 AND version = $2 RETURNING version
             ), added AS (
               INSERT INTO planasonix_records (key, version, value)
               SELECT e.key, 1, e.value
               FROM unnest($4::text[], $5::bytea[]) AS e(key, value)
               WHERE EXISTS (SELECT 1 FROM swapped)
               ON CONFLICT (key) DO NOTHING RETURNING key
             )
             SELECT (SELECT version FROM swapped) AS version, ARRAY(SELECT key FROM added) AS added`,
      values: [key, expected, Buffer.from(value, 'base64'), add.map(([k]) => k), add.map(([, v]) => Buffer.from(v, 'base64'))],
    }));
    const row = r.rows[0];
    if (row.version === null) return { swapped: false };
    const added = new Set(row.added);
    return { swapped: true, version: String(row.version), present: add.map(([k]) => k).filter((k) => !added.has(k)) };
  },
  async keys({ prefix }) {
    const pattern = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const r = await withClient(db, (c) => c.query({
      name: 'keys', text: 'SELECT key FROM planasonix_records WHERE key LIKE $1 ORDER BY key', values: [pattern],
    }));
    return { keys: r.rows.map((row) => row.key) };
  },
  async check() {
    await withClient(db, async () => {});
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
    answer(request.seq, { error: describe(target, e) });
  }
});
