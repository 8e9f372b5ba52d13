-- The fleet store's SQL: the schema and every statement run against it, by
-- the hosts' state service (service/src/postgres, which compiles these in
-- through service/build.rs) and by the identity provider (idp/src/mfa/sql.mjs,
-- which reads this file when it starts). Written once here, so the two sides
-- cannot drift; neither side holds SQL of its own (idp/test/unit.test.mjs
-- checks both source trees for it).
--
-- Format: `-- schema-version: N` once, then statements, each after a
-- `-- name: NAME` line up to the next one. Other comment lines are dropped,
-- and so is the statement's final semicolon. A result column is named
-- (`AS name`) where the provider reads it by name; the hosts read columns by
-- position, so the order of the columns is part of the contract.
--
-- Every write is one statement committed on its own: no long transaction,
-- no table lock (migration aside). A record is durable before its writer
-- hears `Swapped`; an audit event's statement sets synchronous_commit off
-- for itself (`WITH async AS …`), so a crash of the server may lose the
-- newest events, never a record (the trail's contract,
-- planasonix_core::EVENT_KEY_PREFIX).

-- schema-version: 2

-- name: schema_1
-- The records: key, version (compare-and-swap), sealed value.
CREATE TABLE planasonix_records (
    key text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL CHECK (version > 0),
    value bytea NOT NULL
);

-- name: schema_2
-- Attempt counters shared by every process of the fleet (the identity
-- provider's password throttle: a window opens at the first attempt and
-- counts until it is older than the limit's window). Nothing in it is a
-- secret or decides a login on its own; rows are evicted once their window
-- is over.
CREATE TABLE planasonix_throttle (
    key text COLLATE "C" PRIMARY KEY,
    window_start timestamptz NOT NULL,
    attempts integer NOT NULL CHECK (attempts >= 0)
);
CREATE INDEX planasonix_throttle_window ON planasonix_throttle (window_start);

-- name: migrate_lock
-- Two hosts migrating a fresh database at once: one waits here (CREATE
-- TABLE IF NOT EXISTS alone races on the catalog).
SELECT pg_advisory_xact_lock(7351946112400315);

-- name: migrate_version_table
CREATE TABLE IF NOT EXISTS planasonix_schema (version integer NOT NULL CHECK (version > 0));
LOCK TABLE planasonix_schema IN EXCLUSIVE MODE;

-- name: migrate_mark
-- $1 the schema version now in place.
INSERT INTO planasonix_schema (version) VALUES ($1);

-- name: schema_present
SELECT to_regclass('planasonix_schema') IS NOT NULL AS present;

-- name: schema_read
SELECT max(version) AS version FROM planasonix_schema;

-- name: records_present
SELECT to_regclass('planasonix_records') IS NOT NULL AS present;

-- name: get
-- $1 key.
SELECT version, value FROM planasonix_records WHERE key = $1;

-- name: insert
-- A record's first version ($1 key, $2 value), unless the key is taken.
INSERT INTO planasonix_records (key, version, value) VALUES ($1, 1, $2)
ON CONFLICT (key) DO NOTHING;

-- name: insert_at
-- A record copied at its version ($1 key, $2 version, $3 value), unless the
-- key is taken (planasonix store copy).
INSERT INTO planasonix_records (key, version, value) VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING;

-- name: insert_event
-- An audit event ($1 key, $2 value), unless the key is taken; not waiting
-- for the disk.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO planasonix_records (key, version, value)
SELECT $1, 1, $2 FROM async ON CONFLICT (key) DO NOTHING;

-- name: delete_event
-- An audit event pruned ($1 key, $2 version read); not waiting for the disk.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
DELETE FROM planasonix_records
WHERE key = $1 AND version = $2 AND EXISTS (SELECT 1 FROM async);

-- name: update
-- The conditional write of a record: its next version, only over the
-- version the writer read ($1 key, $2 version read, $3 value).
UPDATE planasonix_records SET version = version + 1, value = $3
WHERE key = $1 AND version = $2;

-- name: update_and_add
-- A record and its audit events in one statement, so one transaction and
-- one synchronous commit ($1-$3 as `update`, $4 the events' keys, $5 their
-- values): the events are added only if the record swapped, each unless its
-- key is taken. Answers the new version (NULL: not swapped) and the keys
-- added.
WITH swapped AS (
    UPDATE planasonix_records SET version = version + 1, value = $3
    WHERE key = $1 AND version = $2 RETURNING version
), added AS (
    INSERT INTO planasonix_records (key, version, value)
    SELECT e.key, 1, e.value
    FROM unnest($4::text[], $5::bytea[]) AS e(key, value)
    WHERE EXISTS (SELECT 1 FROM swapped)
    ON CONFLICT (key) DO NOTHING RETURNING key
)
SELECT (SELECT version FROM swapped) AS version, ARRAY(SELECT key FROM added) AS added;

-- name: delete
-- $1 key, $2 version read.
DELETE FROM planasonix_records WHERE key = $1 AND version = $2;

-- name: exists
-- $1 key.
SELECT EXISTS (SELECT 1 FROM planasonix_records WHERE key = $1) AS present;

-- name: keys
-- $1 a LIKE pattern: the prefix with \, % and _ escaped, then %.
SELECT key FROM planasonix_records WHERE key LIKE $1 ORDER BY key;

-- name: throttle_reserve
-- The provider's password throttle: one attempt counted on each key of $1
-- (in key order, so two reservations never deadlock), a window of $2
-- seconds opened or reopened. Answers each key's count, its window's start
-- (microseconds, as text) and the seconds the window has left.
INSERT INTO planasonix_throttle AS t (key, window_start, attempts)
SELECT k, now(), 1 FROM unnest($1::text[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET
  window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2) THEN now() ELSE t.window_start END,
  attempts = CASE WHEN t.window_start <= now() - make_interval(secs => $2) THEN 1 ELSE t.attempts + 1 END
RETURNING key, attempts, (extract(epoch FROM window_start) * 1000000)::bigint::text AS opened,
  ceil(extract(epoch FROM window_start + make_interval(secs => $2) - now()))::int AS seconds_left;

-- name: throttle_release
-- Reservations given back ($1 keys, $2 the windows they were counted in):
-- a window since reopened is left alone.
UPDATE planasonix_throttle AS t SET attempts = t.attempts - 1
FROM unnest($1::text[], $2::text[]) AS r(k, opened)
WHERE t.key = r.k AND (extract(epoch FROM t.window_start) * 1000000)::bigint::text = r.opened AND t.attempts > 0;

-- name: throttle_evict
-- Password windows over for $1 seconds.
DELETE FROM planasonix_throttle
WHERE key LIKE 'pw/%' AND window_start <= now() - make_interval(secs => $1);
