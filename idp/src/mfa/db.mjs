// @ts-check
// The database worker: the fleet's shared store on PostgreSQL, through the
// `pg` client, exactly as the hosts' `planasonix serve` reaches it
// (service/src/postgres.rs): one row per record in planasonix_records,
// compare-and-swap as one conditional statement, a deadline on every
// connection and statement, and a schema version it must know. The
// statements are the hosts' own, from service/store.sql (sql.mjs).
//
// It runs in its own thread because the component's `store` import is
// synchronous: the MFA worker posts a request here and blocks on a shared
// buffer until this thread, whose event loop stays free for pg's sockets,
// writes the answer (see bridge.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import { describe, openPool, withClient } from './pg.mjs';
import { SQL } from './sql.mjs';

/** Keys of audit events (core's EVENT_KEY_PREFIX), never of records. */
const EVENT_KEY_PREFIX = 'audit/';

const { settings, control, data } = workerData;
const ctrl = new Int32Array(control);
const bytes = new Uint8Array(data);
const encoder = new TextEncoder();
const db = openPool(settings, 'planasonix-idp');
const target = db.target;

const ops = {
  async get({ key }) {
    const r = await withClient(db, (c) => c.query({
      name: 'get', text: SQL.get, values: [key],
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
          name: 'insert_event', text: SQL.insert_event, values: [key, bytes],
        });
      }
      if (event && expected !== null && bytes === null) {
        return c.query({
          name: 'delete_event', text: SQL.delete_event, values: [key, expected],
        });
      }
      if (expected === null && bytes !== null) {
        return c.query({
          name: 'insert', text: SQL.insert, values: [key, bytes],
        });
      }
      if (expected !== null && bytes !== null) {
        return c.query({
          name: 'update', text: SQL.update, values: [key, expected, bytes],
        });
      }
      if (expected !== null) {
        return c.query({
          name: 'delete', text: SQL.delete, values: [key, expected],
        });
      }
      const present = await c.query({
        name: 'exists', text: SQL.exists, values: [key],
      });
      return { rowCount: present.rows[0].present ? 0 : 1 };
    });
    if (r.rowCount !== 1) return { swapped: false };
    return { swapped: true, version: expected === null ? '1' : String(BigInt(expected) + 1n) };
  },
  // A record and its audit events in one statement, so one transaction and
  // one synchronous commit (store.sql `update_and_add`): the events are
  // added only if the record swapped, each unless its key is taken.
  async swapAdd({ key, expected, value, add }) {
    const r = await withClient(db, (c) => c.query({
      name: 'update_and_add',
      text: SQL.update_and_add,
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
      name: 'keys', text: SQL.keys, values: [pattern],
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
