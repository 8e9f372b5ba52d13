//! The shared store on a real PostgreSQL (one private cluster per test, TLS
//! by a test CA): the store contract, compare-and-swap across two processes'
//! worth of pools, the schema's versions, and every way the connection can
//! fail, each with a message that names it and a deadline that holds.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap};
use planasonix_native::store_file::{parse_store, StoreFileError, StoreSetting};
use planasonix_service::{Copied, PgStore};
use planasonix_testkit::postgres::{Postgres, Tls};

fn settings(
    pg: &Postgres,
    sslmode: &str,
    extra: &str,
) -> planasonix_native::store_file::PgSettings {
    let text = format!("{}{extra}", pg.store_toml(sslmode));
    match parse_store(&text).unwrap() {
        StoreSetting::Postgresql(s) => s,
        StoreSetting::Sled => unreachable!(),
    }
}

fn migrated(pg: &Postgres) -> PgStore {
    let store = PgStore::new(&settings(pg, "verify-full", "")).unwrap();
    store.migrate().unwrap();
    store
}

fn detail(e: &StoreError) -> String {
    e.to_string()
}

#[test]
fn meets_the_store_contract_over_tls() {
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    planasonix_testkit::check_store(&store);
    // A LIKE wildcard in a prefix is a character, not a pattern.
    store
        .compare_and_swap("user/a_b", None, Some(b"1"))
        .unwrap();
    store
        .compare_and_swap("user/axb", None, Some(b"2"))
        .unwrap();
    assert_eq!(store.keys("user/a_").unwrap(), vec!["user/a_b".to_owned()]);
}

#[test]
fn two_hosts_racing_on_one_record_never_both_win() {
    let pg = Postgres::start(Tls::On);
    let a = std::sync::Arc::new(migrated(&pg));
    let b = std::sync::Arc::new(PgStore::new(&settings(&pg, "verify-full", "")).unwrap());
    a.compare_and_swap("counter", None, Some(b"0")).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                let mut wins = 0;
                for _ in 0..25 {
                    loop {
                        let now = store.get("counter").unwrap().unwrap();
                        let n: u64 = std::str::from_utf8(&now.value).unwrap().parse().unwrap();
                        let next = (n + 1).to_string();
                        match store
                            .compare_and_swap("counter", Some(now.version), Some(next.as_bytes()))
                            .unwrap()
                        {
                            Cas::Swapped(v) => {
                                assert_eq!(v, now.version + 1);
                                wins += 1;
                                break;
                            }
                            Cas::Conflict => continue,
                        }
                    }
                }
                wins
            })
        })
        .collect();
    let wins: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let end = a.get("counter").unwrap().unwrap();
    assert_eq!(wins, 200);
    assert_eq!(end.value, b"200", "a lost update");
    assert_eq!(end.version, 201);
}

#[test]
fn the_schema_is_created_once_and_a_newer_or_missing_one_is_refused() {
    let pg = Postgres::start(Tls::On);
    let store = PgStore::new(&settings(&pg, "verify-full", "")).unwrap();
    let e = store.get("user/alice").unwrap_err();
    assert!(
        detail(&e).contains("no planasonix schema: run `planasonix store migrate`"),
        "{e}"
    );
    let first = store.migrate().unwrap();
    assert_eq!(first.from, None);
    let again = store.migrate().unwrap();
    assert_eq!(again.from, Some(2), "a second migrate changes nothing");
    pg.psql("UPDATE planasonix_schema SET version = 99");
    let fresh = PgStore::new(&settings(&pg, "verify-full", "")).unwrap();
    let e = fresh.get("user/alice").unwrap_err();
    assert!(
        detail(&e).contains("version 99, newer than this planasonix knows (2)"),
        "{e}"
    );
    let e = fresh.migrate().unwrap_err();
    assert!(
        detail(&e).contains("newer than this planasonix knows"),
        "{e}"
    );
}

#[test]
fn a_schema_1_database_is_upgraded_with_its_records_kept_and_refused_until_then() {
    let pg = Postgres::start(Tls::On);
    // What `planasonix store migrate` of the previous release made.
    pg.psql(
        "SET ROLE planasonix;
         CREATE TABLE planasonix_schema (version integer NOT NULL CHECK (version > 0));
         INSERT INTO planasonix_schema VALUES (1);
         CREATE TABLE planasonix_records (key text COLLATE \"C\" PRIMARY KEY,
             version bigint NOT NULL CHECK (version > 0), value bytea NOT NULL);
         INSERT INTO planasonix_records VALUES ('audit/x', 3, 'kept');",
    );
    let store = PgStore::new(&settings(&pg, "verify-full", "")).unwrap();
    let e = store.get("audit/x").unwrap_err();
    assert!(
        detail(&e)
            .contains("version 1, older than this planasonix's 2: run `planasonix store migrate`"),
        "{e}"
    );
    let done = store.migrate().unwrap();
    assert_eq!((done.from, done.to), (Some(1), 2));
    let fresh = PgStore::new(&settings(&pg, "verify-full", "")).unwrap();
    let kept = fresh.get("audit/x").unwrap().unwrap();
    assert_eq!((kept.version, kept.value.as_slice()), (3, &b"kept"[..]));
    assert!(pg
        .psql("SELECT count(*) FROM planasonix_throttle")
        .contains('0'));
}

#[test]
fn copying_a_record_adds_it_keeps_an_identical_one_and_never_overwrites() {
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    let record = planasonix_core::store::Versioned {
        version: 7,
        value: b"sealed".to_vec(),
    };
    assert_eq!(store.copy_record("user/a", &record).unwrap(), Copied::Added);
    assert_eq!(store.get("user/a").unwrap(), Some(record.clone()));
    assert_eq!(store.copy_record("user/a", &record).unwrap(), Copied::Same);
    let other = planasonix_core::store::Versioned {
        version: 7,
        value: b"other".to_vec(),
    };
    assert_eq!(
        store.copy_record("user/a", &other).unwrap(),
        Copied::Different
    );
    assert_eq!(store.get("user/a").unwrap(), Some(record));
}

#[test]
fn wrong_password_wrong_ca_and_plain_text_are_named() {
    let pg = Postgres::start(Tls::On);
    migrated(&pg);
    let wrong = pg.password_file().with_file_name("wrong.password");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = pg.store_toml("verify-full").replace(
        &pg.password_file().display().to_string(),
        &wrong.display().to_string(),
    );
    let StoreSetting::Postgresql(s) = parse_store(&text).unwrap() else {
        unreachable!()
    };
    let e = PgStore::new(&s).unwrap().check().unwrap_err();
    assert_eq!(e.io_kind(), Some(IoKind::PermissionDenied), "{e}");
    assert!(detail(&e).contains("password authentication failed"), "{e}");

    let text = pg.store_toml("verify-full").replace(
        &pg.ca_file().display().to_string(),
        &pg.other_ca_file().display().to_string(),
    );
    let StoreSetting::Postgresql(s) = parse_store(&text).unwrap() else {
        unreachable!()
    };
    let e = PgStore::new(&s).unwrap().check().unwrap_err();
    assert_eq!(e.io_kind(), Some(IoKind::Unreachable), "{e}");
    assert!(
        detail(&e).contains("TLS") || detail(&e).contains("certificate"),
        "{e}"
    );
    assert!(
        detail(&e).to_lowercase().contains("unknownissuer") || detail(&e).contains("issuer"),
        "{e}"
    );

    // The password file must be root's alone.
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let text = pg.store_toml("verify-full").replace(
        &pg.password_file().display().to_string(),
        &wrong.display().to_string(),
    );
    let StoreSetting::Postgresql(s) = parse_store(&text).unwrap() else {
        unreachable!()
    };
    let e = PgStore::new(&s).unwrap_err();
    assert!(
        detail(&e).contains("the database password")
            && detail(&e).contains("lets group or others read"),
        "{e}"
    );

    let plain = Postgres::start(Tls::Off);
    let e = PgStore::new(&settings(&plain, "verify-full", ""))
        .unwrap()
        .check()
        .unwrap_err();
    assert!(detail(&e).contains("server does not support TLS"), "{e}");
}

#[test]
fn a_stopped_server_fails_at_once_and_its_return_needs_no_restart() {
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    pg.stop();
    let e = store.get("k").unwrap_err();
    assert_eq!(e.io_kind(), Some(IoKind::Unreachable), "{e}");
    assert!(
        detail(&e).contains(&format!("127.0.0.1:{}", pg.port())),
        "{e}"
    );
    pg.start_again();
    // The pool's connections died with the server; the next request makes a
    // new one.
    assert_eq!(store.get("k").unwrap().unwrap().value, b"v");
}

/// The server restarted while the pool's connections sat idle (a nightly
/// upgrade): the first request after it is served, on a new connection.
#[test]
fn a_restart_while_idle_costs_no_request() {
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    assert!(store.get("k").unwrap().is_some());
    pg.stop();
    pg.start_again();
    // A write first: it is never asked twice, so it must get a live
    // connection at once.
    assert_eq!(
        store.compare_and_swap("k", Some(1), Some(b"w")).unwrap(),
        Cas::Swapped(2)
    );
    pg.stop();
    pg.start_again();
    assert_eq!(store.get("k").unwrap().unwrap().value, b"w");
}

#[test]
fn a_frozen_server_fails_within_the_statement_timeout_never_hangs() {
    let pg = Postgres::start(Tls::On);
    let store = PgStore::new(&settings(
        &pg,
        "verify-full",
        "connect_timeout = 2\nstatement_timeout = 2\n",
    ))
    .unwrap();
    store.migrate().unwrap();
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    pg.freeze();
    // A hang would hang this test; the error says the deadline ran out.
    let e = store.get("k").unwrap_err();
    pg.thaw();
    assert_eq!(e.io_kind(), Some(IoKind::Unreachable), "{e}");
    assert!(detail(&e).contains("no answer within 2 s"), "{e}");
    // The server was just thawed; on a loaded machine a new connection may
    // need more than these short deadlines once.
    let got = store.get("k").or_else(|_| store.get("k")).unwrap();
    assert_eq!(got.unwrap().value, b"v");
}

/// A database administrator has no seal key, but can write any row. On a
/// shared store no record may be in the old, unauthenticated form, mark or
/// no mark: a planted one (here: alice's record as schema 2 with her
/// failures wiped) is refused, never read.
#[test]
fn a_database_administrator_cannot_plant_an_unauthenticated_record() {
    use planasonix_core::{Engine, Error, Policy, SealKey, SeededRandom, Subject, UnixTime};
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    let policy = Policy::from_toml("[enforcement]\nmode = \"required-for-all\"\n").unwrap();
    let key = SealKey::from_bytes(&[9; 32]).unwrap();
    let engine = Engine::new(&policy, &key, &store);
    let mut rng = SeededRandom::new(3);
    let t0 = UnixTime(1_900_000_000);
    engine
        .provision_totp(
            "alice",
            &planasonix_core::SecretBytes::new(vec![1; 20]),
            engine.totp_params(),
            t0,
            &mut rng,
        )
        .unwrap();
    let ctx = planasonix_core::Context {
        service: "sshd".into(),
        remote: None,
        action: None,
        session: None,
    };
    engine
        .verify("alice", b"000000", &ctx, t0, &mut rng)
        .unwrap();
    let sealed = store.get("user/alice").unwrap().unwrap().value;
    let mut body: serde_json::Value = serde_json::from_slice(&sealed[4 + 32..]).unwrap();
    body["schema"] = serde_json::Value::from(2);
    body["failures"] = serde_json::Value::Array(vec![]);
    let planted = serde_json::to_vec(&body).unwrap();
    // What the administrator writes: no key needed, no mark present.
    pg.psql(&format!(
        "DELETE FROM planasonix_records WHERE key LIKE 'meta/%';
         UPDATE planasonix_records SET value = '\\x{}'::bytea WHERE key = 'user/alice'",
        planted
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let subject = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    let decided = engine.decide(&subject, &ctx, t0);
    assert!(
        matches!(decided, Err(Error::Store(StoreError::Tampered { .. }))),
        "a planted unauthenticated record was read: {decided:?}"
    );
}

/// A record is durable before its writer hears `Swapped`; only the audit
/// trail's events are committed without waiting for the disk (a crash of the
/// server may lose the newest events, never a change). A trigger notes the
/// `synchronous_commit` each write's transaction commits with.
#[test]
fn audit_events_alone_are_committed_without_waiting_for_the_disk_and_with_a_record_with_it() {
    let pg = Postgres::start_durable(Tls::On);
    let store = migrated(&pg);
    pg.psql(&format!(
        "CREATE TABLE commit_mode (n serial, key text, mode text);
         GRANT INSERT ON commit_mode TO {user};
         GRANT USAGE ON SEQUENCE commit_mode_n_seq TO {user};
         CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP = 'DELETE' THEN
             INSERT INTO commit_mode (key, mode) VALUES (OLD.key, current_setting('synchronous_commit'));
           ELSE
             INSERT INTO commit_mode (key, mode) VALUES (NEW.key, current_setting('synchronous_commit'));
           END IF;
           RETURN NULL;
         END $$;
         CREATE TRIGGER note AFTER INSERT OR UPDATE OR DELETE ON planasonix_records
           FOR EACH ROW EXECUTE FUNCTION note_commit_mode()",
        user = pg.user()
    ));
    let event = "audit/alice/0000000000000001";
    assert_eq!(
        store
            .compare_and_swap("user/alice", None, Some(b"1"))
            .unwrap(),
        Cas::Swapped(1)
    );
    assert_eq!(
        store.compare_and_swap(event, None, Some(b"e")).unwrap(),
        Cas::Swapped(1)
    );
    // An event key that is taken conflicts like any other.
    assert_eq!(
        store.compare_and_swap(event, None, Some(b"f")).unwrap(),
        Cas::Conflict
    );
    assert_eq!(
        store
            .compare_and_swap("user/alice", Some(1), Some(b"2"))
            .unwrap(),
        Cas::Swapped(2)
    );
    assert_eq!(
        store.compare_and_swap(event, Some(1), None).unwrap(),
        Cas::Swapped(2)
    );
    assert_eq!(
        store.compare_and_swap("user/alice", Some(2), None).unwrap(),
        Cas::Swapped(3)
    );
    assert_eq!(store.get(event).unwrap(), None);
    assert_eq!(
        pg.psql("SELECT key || ' ' || mode FROM commit_mode ORDER BY n"),
        format!("user/alice on\n{event} off\nuser/alice on\n{event} off\nuser/alice on")
    );
    // Events sent with their record share its statement, so its commit.
    pg.psql("DELETE FROM commit_mode");
    store
        .compare_and_swap("user/bob", None, Some(b"1"))
        .unwrap();
    let with = [("audit/bob/0000000000000001".to_owned(), b"e".to_vec())];
    assert!(matches!(
        store.swap_and_add("user/bob", Some(1), b"2", &with).unwrap(),
        Swap::Swapped { version: 2, present: Ok(p) } if p.is_empty()
    ));
    assert_eq!(
        pg.psql("SELECT key || ' ' || mode FROM commit_mode ORDER BY key, n"),
        "audit/bob/0000000000000001 on\nuser/bob on\nuser/bob on"
    );
}

/// A store that is dropped (a CLI command ending, a pool connection given
/// up) says goodbye: the server's log shows no connection torn down under it.
#[test]
fn a_dropped_store_closes_its_connections_cleanly() {
    let pg = Postgres::start(Tls::On);
    let store = migrated(&pg);
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    drop(store);
    // Until the server has seen every backend go.
    for _ in 0..100 {
        if pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename <> 'postgres' AND backend_type = 'client backend'") == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = pg.log();
    for torn in [
        "unexpected EOF",
        "could not receive data",
        "Connection reset",
        "SSL error",
    ] {
        assert!(
            !log.contains(torn),
            "the server saw a connection torn down ({torn}):\n{log}"
        );
    }
}

/// What a listener where the database should be got from a client: it
/// answers TLS with "no", asks for the password in clear, and keeps every
/// byte the client sent after that.
struct Impostor {
    sent: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Impostor {
    fn serve(mut conn: impl std::io::Read + std::io::Write + Send + 'static) -> Impostor {
        use std::io::Read;
        let (tx, sent) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let read_packet = |conn: &mut dyn Read| -> Option<Vec<u8>> {
                let mut len = [0u8; 4];
                conn.read_exact(&mut len).ok()?;
                let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
                conn.read_exact(&mut body).ok()?;
                Some(body)
            };
            let mut first = read_packet(&mut conn).unwrap_or_default();
            // An SSLRequest (code 80877103): no TLS here.
            if first.len() == 4 && first == 80_877_103u32.to_be_bytes() {
                let _ = conn.write_all(b"N");
                first = read_packet(&mut conn).unwrap_or_default();
            }
            if first.is_empty() {
                let _ = tx.send(Vec::new());
                return;
            }
            // AuthenticationCleartextPassword.
            let _ = conn.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
            let mut after = Vec::new();
            let _ = conn.read_to_end(&mut after);
            let _ = tx.send(after);
        });
        Impostor { sent }
    }

    /// What the client sent after the request for its password.
    fn got(&self) -> Vec<u8> {
        self.sent
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_default()
    }
}

/// A root-only password file in `dir`.
fn password_file(dir: &std::path::Path, password: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join("password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

#[test]
fn a_local_user_listening_on_the_loopback_port_learns_no_password() {
    // What the review found: with sslmode = "disable" on 127.0.0.1, a local
    // user who binds the port while PostgreSQL restarts receives the role's
    // password in clear (and could answer "never enrolled" for everyone).
    let dir = planasonix_testkit::TempDir::new("impostor");
    let secret = "the-roles-password";
    let file = password_file(dir.path(), secret);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let plain = format!(
        "kind = \"postgresql\"\n[postgresql]\nhosts = [\"127.0.0.1\"]\nport = {port}\n\
         database = \"planasonix\"\nuser = \"planasonix\"\npassword_file = \"{}\"\nsslmode = \"disable\"\n",
        file.display()
    );
    let e = parse_store(&plain).unwrap_err();
    assert_eq!(
        e,
        StoreFileError::PlainTcp {
            host: "127.0.0.1".into()
        }
    );
    let e = e.to_string();
    assert!(
        e.contains("sslmode = \"disable\" is refused") && e.contains("verify-full"),
        "{e}"
    );
    // Over TLS the listener cannot answer for the server: nothing is sent.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "").unwrap();
    let tls = plain.replace(
        "sslmode = \"disable\"",
        &format!("sslmode = \"verify-full\"\nca_file = \"{}\"", ca.display()),
    );
    let StoreSetting::Postgresql(s) = parse_store(&tls).unwrap() else {
        unreachable!()
    };
    let accepted = std::thread::spawn(move || Impostor::serve(listener.accept().unwrap().0));
    // An empty CA file is refused before any connection; a real one is needed.
    assert!(PgStore::new(&s).is_err());
    let pg = Postgres::start(Tls::On);
    let real_ca = tls.replace(
        &ca.display().to_string(),
        &pg.ca_file().display().to_string(),
    );
    let StoreSetting::Postgresql(s) = parse_store(&real_ca).unwrap() else {
        unreachable!()
    };
    let e = PgStore::new(&s).unwrap().check().unwrap_err();
    assert!(detail(&e).contains("TLS"), "{e}");
    let impostor = accepted.join().unwrap();
    let got = impostor.got();
    assert!(
        !String::from_utf8_lossy(&got).contains(secret),
        "the password reached the listener"
    );
}

#[test]
fn over_tls_a_server_that_asks_for_the_password_in_clear_or_as_md5_is_refused() {
    let pg = Postgres::start(Tls::On);
    migrated(&pg);
    let connect = || {
        PgStore::new(&settings(&pg, "verify-full", ""))
            .unwrap()
            .check()
    };
    pg.set_hba("hostssl all planasonix 127.0.0.1/32 password\n");
    let e = connect().unwrap_err();
    assert_eq!(e.io_kind(), Some(IoKind::PermissionDenied), "{e}");
    assert!(detail(&e).contains("channel binding"), "{e}");
    assert!(
        detail(&e).contains("scram-sha-256"),
        "the message does not say the fix: {e}"
    );
    // An MD5 exchange: the role's password stored as MD5.
    pg.psql(&format!(
        "SET password_encryption = 'md5'; ALTER ROLE planasonix PASSWORD '{}';",
        pg.password()
    ));
    pg.set_hba("hostssl all planasonix 127.0.0.1/32 md5\n");
    let e = connect().unwrap_err();
    assert!(detail(&e).contains("channel binding"), "{e}");
    // SCRAM over TLS: in, with channel binding.
    pg.psql(&format!(
        "SET password_encryption = 'scram-sha-256'; ALTER ROLE planasonix PASSWORD '{}';",
        pg.password()
    ));
    pg.set_hba("hostssl all planasonix 127.0.0.1/32 scram-sha-256\n");
    connect().unwrap();
}

#[test]
fn a_unix_socket_store_trusts_only_its_directory_its_server_and_scram() {
    use std::os::unix::fs::PermissionsExt;
    let pg = Postgres::start(Tls::On);
    pg.set_hba("local all planasonix scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n");
    let socket = |owner: &str| {
        let StoreSetting::Postgresql(s) = parse_store(&pg.socket_store_toml(owner)).unwrap() else {
            unreachable!()
        };
        PgStore::new(&s).unwrap()
    };
    let store = socket("postgres");
    store.migrate().unwrap();
    planasonix_testkit::check_store(&store);
    drop(store);

    // The server asks for the password in clear, or as MD5: refused.
    pg.set_hba("local all planasonix password\n");
    let e = socket("postgres").check().unwrap_err();
    assert!(
        detail(&e).contains("asked for the password in clear"),
        "{e}"
    );
    pg.psql(&format!(
        "SET password_encryption = 'md5'; ALTER ROLE planasonix PASSWORD '{}';",
        pg.password()
    ));
    pg.set_hba("local all planasonix md5\n");
    let e = socket("postgres").check().unwrap_err();
    assert!(detail(&e).contains("as MD5"), "{e}");
    pg.psql(&format!(
        "SET password_encryption = 'scram-sha-256'; ALTER ROLE planasonix PASSWORD '{}';",
        pg.password()
    ));
    pg.set_hba("local all planasonix scram-sha-256\n");
    socket("postgres").check().unwrap();

    // A server that is not the database's user: refused (here the real one,
    // taken for root's, in a directory root owns).
    let dir = pg.socket_dir();
    let postgres = planasonix_native::accounts::resolve("postgres")
        .unwrap()
        .uid;
    std::os::unix::fs::chown(dir, Some(0), None).unwrap();
    let e = socket("root").check().unwrap_err();
    std::os::unix::fs::chown(dir, Some(postgres), None).unwrap();
    assert!(detail(&e).contains("runs as uid"), "{e}");

    // A directory others may write, or another user owns: refused.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = socket("postgres").check().unwrap_err();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(detail(&e).contains("writable by others"), "{e}");
    let nobody = planasonix_native::accounts::resolve("nobody").unwrap().uid;
    std::os::unix::fs::chown(dir, Some(nobody), None).unwrap();
    let e = socket("postgres").check().unwrap_err();
    std::os::unix::fs::chown(dir, Some(postgres), None).unwrap();
    assert!(detail(&e).contains("is owned by uid"), "{e}");
    socket("postgres").check().unwrap();
}

#[test]
fn an_impostor_on_a_trusted_socket_that_asks_for_the_password_in_clear_gets_nothing() {
    // The impostor runs as the user the store trusts (root, here), in a
    // directory root owns: only the SCRAM rule is left to stop it.
    use std::os::unix::fs::PermissionsExt;
    let dir = planasonix_testkit::TempDir::new("socket-impostor");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = "the-roles-password";
    let file = password_file(dir.path(), secret);
    let listener =
        std::os::unix::net::UnixListener::bind(dir.path().join(".s.PGSQL.5432")).unwrap();
    let accepted = std::thread::spawn(move || Impostor::serve(listener.accept().unwrap().0));
    let text = format!(
        "kind = \"postgresql\"\n[postgresql]\nhosts = [\"{}\"]\n\
         database = \"planasonix\"\nuser = \"planasonix\"\npassword_file = \"{}\"\n\
         sslmode = \"disable\"\nsocket_owner = \"root\"\n",
        dir.path().display(),
        file.display()
    );
    let StoreSetting::Postgresql(s) = parse_store(&text).unwrap() else {
        unreachable!()
    };
    let e = PgStore::new(&s).unwrap().check().unwrap_err();
    assert!(
        detail(&e).contains("asked for the password in clear"),
        "{e}"
    );
    let got = accepted.join().unwrap().got();
    assert!(
        !String::from_utf8_lossy(&got).contains(secret),
        "the password reached the impostor"
    );
}

#[test]
fn a_ca_file_others_may_write_is_refused() {
    // Whoever can write the CA file can put their own server in the
    // database's place.
    use std::os::unix::fs::PermissionsExt;
    let pg = Postgres::start(Tls::On);
    std::fs::set_permissions(pg.ca_file(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = PgStore::new(&settings(&pg, "verify-full", "")).unwrap_err();
    std::fs::set_permissions(pg.ca_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        detail(&e).contains("CA file") && detail(&e).contains("is not trusted"),
        "{e}"
    );
    PgStore::new(&settings(&pg, "verify-full", ""))
        .unwrap()
        .migrate()
        .unwrap();
}

#[test]
fn a_pool_with_every_connection_in_use_says_so_naming_the_store() {
    // The message of one host's sled ("another planasonix process kept it
    // open") would send an admin looking for a process that does not exist.
    let pg = Postgres::start(Tls::On);
    let store = std::sync::Arc::new(
        PgStore::new(&settings(
            &pg,
            "verify-full",
            "pool_size = 1\nconnect_timeout = 1\nstatement_timeout = 5\n",
        ))
        .unwrap(),
    );
    store.migrate().unwrap();
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    pg.freeze();
    let holder = std::thread::spawn({
        let store = store.clone();
        move || store.get("k")
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let e = store.get("k").unwrap_err();
    pg.thaw();
    let _ = holder.join();
    assert!(
        detail(&e).contains(": pool: all 1 connections stayed in use for 1 s")
            && detail(&e).contains("raise pool_size")
            && detail(&e).contains("planasonix@127.0.0.1"),
        "{e}"
    );
    assert!(!detail(&e).contains("another planasonix process"), "{e}");
}
