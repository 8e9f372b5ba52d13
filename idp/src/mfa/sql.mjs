// @ts-check
// The fleet store's SQL, read from the one file the hosts compile in
// (service/store.sql, by service/build.rs): the schema version and every
// statement by name, parsed by the same rules, so the provider runs exactly
// the hosts' statements. A file that breaks the rules, or lacks a statement
// the provider runs, stops the provider when it starts, naming the line.
import fs from 'node:fs';

export const SQL_FILE = new URL('../../../service/store.sql', import.meta.url);

/** Statements the provider runs (db.mjs, pg.mjs, ../throttle.mjs). */
const USED = /** @type {const} */ ([
  'schema_present', 'schema_read', 'get', 'insert', 'insert_event', 'delete_event', 'update',
  'update_and_add', 'delete', 'exists', 'keys', 'throttle_reserve', 'throttle_release', 'throttle_evict',
]);

/**
 * `{ version, statements }` of a store.sql text: `-- schema-version: N`
 * once before the statements, each statement after its `-- name: NAME` line
 * up to the next, other comment lines dropped, and the final semicolon.
 */
export function parseSql(text) {
  let version = null;
  const statements = new Map();
  let current = null;
  text.split('\n').forEach((line, n) => {
    const at = n + 1;
    const trimmed = line.trim();
    const v = /^-- schema-version:(.*)$/.exec(trimmed);
    const named = /^-- name:(.*)$/.exec(trimmed);
    if (v) {
      if (version !== null || statements.size > 0) throw new Error(`line ${at}: schema-version must come once, before the statements`);
      if (!/^[1-9][0-9]*$/.test(v[1].trim())) throw new Error(`line ${at}: schema-version ${JSON.stringify(v[1].trim())} is not a positive integer`);
      version = Number(v[1].trim());
    } else if (named) {
      const name = named[1].trim();
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`line ${at}: statement name ${JSON.stringify(name)} is not lower_snake_case`);
      if (statements.has(name)) throw new Error(`line ${at}: statement ${name} is named twice`);
      current = [];
      statements.set(name, current);
    } else if (!trimmed.startsWith('--')) {
      if (current !== null) current.push(line.trimEnd());
      else if (trimmed !== '') throw new Error(`line ${at}: SQL before the first \`-- name:\` line`);
    }
  });
  if (version === null) throw new Error('no `-- schema-version:` line');
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, lines] of statements) {
    const body = lines.join('\n').trim().replace(/;$/, '').trimEnd();
    if (body === '') throw new Error(`statement ${name} is empty`);
    out[name] = body;
  }
  return { version, statements: Object.freeze(out) };
}

/** @returns {{ version: number, statements: Readonly<Record<(typeof USED)[number], string>> }} */
function load() {
  let parsed;
  try {
    parsed = parseSql(fs.readFileSync(SQL_FILE, 'utf8'));
  } catch (e) {
    throw new Error(`${SQL_FILE.pathname}: ${e.message}`);
  }
  const missing = USED.filter((name) => !(name in parsed.statements));
  if (missing.length > 0) throw new Error(`${SQL_FILE.pathname}: no statement ${missing.join(', ')}, which the provider runs`);
  return /** @type {any} */ (parsed);
}

const loaded = load();

/** The schema this build reads and writes (the hosts' SCHEMA_VERSION). */
export const SCHEMA_VERSION = loaded.version;

/** Every statement of store.sql, by name. */
export const SQL = loaded.statements;
