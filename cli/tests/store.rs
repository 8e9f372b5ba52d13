//! `planasonix init --postgresql` and `planasonix store check` against a real
//! PostgreSQL (a private cluster per test, TLS by a test CA): the store file
//! init writes, and every way of reaching the database that can fail, each
//! named by its step (DNS, TCP, TLS, authentication, database, schema) by
//! `store check` and by `planasonix serve` at its start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use planasonix_testkit::postgres::{Postgres, Tls};
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// Exit status of a store that cannot be used (`Exit::Store`).
const STORE: i32 = 4;

fn store_file(host: &Layout) -> PathBuf {
    host.root.join("etc/store.toml")
}

fn write_store(host: &Layout, text: &str) {
    std::fs::write(store_file(host), text).unwrap();
    std::fs::set_permissions(store_file(host), std::fs::Permissions::from_mode(0o644)).unwrap();
}

fn uri(pg: &Postgres) -> String {
    format!(
        "postgresql://{}@{}:{}/{}?sslrootcert={}&password_file={}",
        pg.user(),
        pg.host(),
        pg.port(),
        pg.database(),
        pg.ca_file().display(),
        pg.password_file().display()
    )
}

#[test]
fn init_writes_the_store_file_and_store_check_says_what_is_missing() {
    let pg = Postgres::start(Tls::On);
    let host = Layout::empty("store-init");
    let out = host.run(&["init", "--postgresql", &uri(&pg)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("created store file"), "{said}");
    assert!(said.contains("run `planasonix store migrate`"), "{said}");
    assert_eq!(mode(&store_file(&host)), 0o644);
    // The seal key and policy are made as by a plain init; no sled database
    // is opened on a shared host.
    assert_eq!(mode(&host.key()), 0o600);
    assert!(!host.db().join("conf").exists(), "a sled database was made");
    let written = std::fs::read_to_string(store_file(&host)).unwrap();
    assert!(!written.contains(pg.password()), "{written}");

    let line = fails_with(&host.run(&["store", "check"], ""), STORE);
    assert!(
        line.contains("schema: the database has no planasonix schema")
            && line.contains("run `planasonix store migrate`"),
        "{line}"
    );
    let out = host.run(&["store", "migrate"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = host.run(&["store", "check"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("connected, schema version 2"),
        "{}",
        text(&out.stdout)
    );

    // Again with the same URI: kept. With another: refused, file unchanged.
    let out = host.run(&["init", "--postgresql", &uri(&pg)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("kept existing store file"));
    let other = uri(&pg).replace(&format!(":{}/", pg.port()), ":6543/");
    let line = fails_with(&host.run(&["init", "--postgresql", &other], ""), STORE);
    assert!(line.contains("names another store"), "{line}");
    assert_eq!(std::fs::read_to_string(store_file(&host)).unwrap(), written);
}

#[test]
fn init_refuses_a_uri_it_cannot_use_and_writes_nothing() {
    let pg = Postgres::start(Tls::On);
    let host = Layout::empty("store-init-bad");
    let with_password = uri(&pg).replace(
        &format!("{}@", pg.user()),
        &format!("{}:{}@", pg.user(), pg.password()),
    );
    let line = fails_with(&host.run(&["init", "--postgresql", &with_password], ""), 2);
    assert!(line.contains("password_file"), "{line}");
    assert!(
        !line.contains(pg.password()),
        "the password was echoed: {line}"
    );
    let missing = uri(&pg).replace(
        &pg.password_file().display().to_string(),
        "/nonexistent/db-password",
    );
    let line = fails_with(&host.run(&["init", "--postgresql", &missing], ""), STORE);
    assert!(
        line.contains("password_file") && line.contains("create it first"),
        "{line}"
    );
    let unverified = format!(
        "postgresql://{}@{}:{}/{}?sslmode=require&password_file={}",
        pg.user(),
        pg.host(),
        pg.port(),
        pg.database(),
        pg.password_file().display()
    );
    let line = fails_with(&host.run(&["init", "--postgresql", &unverified], ""), 2);
    assert!(line.contains("\"require\" is not supported"), "{line}");
    assert!(
        !store_file(&host).exists(),
        "a refused URI left a store file"
    );
    assert!(!host.key().exists(), "a refused URI went on to make a key");
}

/// The fleet's seal key: before, a second host's `init --postgresql` made a
/// key of its own and `store check` said "connected", and every record it
/// wrote was unreadable to the others. Now the store keeps the fleet key's
/// check value (recorded by `store migrate`) and a host without that key
/// is refused, with how to carry the key over.
#[test]
fn a_new_host_joins_the_fleet_only_with_the_fleets_seal_key() {
    let pg = Postgres::start(Tls::On);
    let a = Layout::empty("fleet-key-a");
    let out = a.run(&["init", "--postgresql", &uri(&pg)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = a.run(&["store", "migrate"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("check value as the fleet's seal key"),
        "{}",
        text(&out.stdout)
    );
    let check = std::fs::read_to_string(a.root.join("etc/seal.key.check")).unwrap();
    assert!(
        check.starts_with("planasonix-seal-key-check-v1 "),
        "{check}"
    );
    assert_eq!(mode(&a.root.join("etc/seal.key.check")), 0o644);
    assert_eq!(
        pg.psql("SELECT convert_from(value, 'UTF8') FROM planasonix_records WHERE key = 'meta/seal-key-check'"),
        check.trim()
    );

    // No key at all: refused, nothing written.
    let b = Layout::empty("fleet-key-b");
    let line = fails_with(&b.run(&["init", "--postgresql", &uri(&pg)], ""), STORE);
    assert!(
        line.contains("serves a fleet already") && line.contains("copy the fleet's seal key"),
        "{line}"
    );
    assert!(
        !b.key().exists() && !store_file(&b).exists(),
        "a refused init wrote files"
    );

    // A key of its own (as the package's install makes): refused the same.
    let out = b.run(&["init"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = fails_with(&b.run(&["init", "--postgresql", &uri(&pg)], ""), STORE);
    assert!(
        line.contains("is not the seal key of the fleet") && line.contains("A NEW HOST"),
        "{line}"
    );
    assert!(
        !store_file(&b).exists(),
        "a refused init wrote the store file"
    );
    // The store file written by hand: store check names the mismatch.
    std::fs::copy(store_file(&a), store_file(&b)).unwrap();
    let line = fails_with(&b.run(&["store", "check"], ""), STORE);
    assert!(
        line.contains("this host's seal key is not the fleet's"),
        "{line}"
    );
    // And migrate does not make B's key the fleet's.
    let line = fails_with(&b.run(&["store", "migrate"], ""), STORE);
    assert!(line.contains("is not the seal key of the fleet"), "{line}");
    std::fs::remove_file(store_file(&b)).unwrap();

    // With A's key copied over, as the README says: joined.
    std::fs::copy(a.key(), b.key()).unwrap();
    let out = b.run(&["init", "--postgresql", &uri(&pg)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wrote the seal key's check value"),
        "the check file of the old key was kept: {}",
        text(&out.stdout)
    );
    let out = b.run(&["store", "check"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("sealed with this host's seal key"));
}

/// A fleet whose records were all sealed with one key: `store migrate` on
/// a host with another key does not record that one as the fleet's.
#[test]
fn migrate_records_no_key_that_opens_none_of_the_records() {
    let pg = Postgres::start(Tls::On);
    let a = Layout::empty("fleet-key-records-a");
    let out = a.run(&["init", "--postgresql", &uri(&pg)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = a.run(&["store", "migrate"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A record this key does not open, in a store from before check values.
    pg.psql("INSERT INTO planasonix_records (key, version, value) SELECT 'user/zed', 1, convert_to('PXR', 'UTF8') || decode(repeat('00', 40), 'hex')");
    pg.psql("DELETE FROM planasonix_records WHERE key = 'meta/seal-key-check'");
    let b = Layout::init("fleet-key-records-b");
    std::fs::copy(store_file(&a), store_file(&b)).unwrap();
    let line = fails_with(&b.run(&["store", "migrate"], ""), STORE);
    assert!(line.contains("none of the 1 user records opens"), "{line}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM planasonix_records WHERE key = 'meta/seal-key-check'"),
        "0"
    );
}

/// Runs `store check` with the store file `text`; its one error line.
fn check_fails(host: &Layout, text: &str) -> String {
    check_fails_with(host, text, STORE)
}

fn check_fails_with(host: &Layout, text: &str, code: i32) -> String {
    write_store(host, text);
    fails_with(&host.run(&["store", "check"], ""), code)
}

/// Exit status of a refused login to the database (`Exit::Permission`).
const PERMISSION: i32 = 3;

#[test]
fn store_check_names_the_step_that_failed() {
    let pg = Postgres::start(Tls::On);
    let host = Layout::init("store-check");
    let good = pg.store_toml("verify-full");
    write_store(&host, &good);
    let out = host.run(&["store", "migrate"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let line = check_fails(
        &host,
        &good.replace(&format!("\"{}\"", pg.host()), "\"db.nonexistent.invalid\""),
    );
    assert!(line.contains(": DNS: "), "{line}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let line = check_fails(
        &host,
        &good.replace(&format!("port = {}", pg.port()), &format!("port = {port}")),
    );
    assert!(
        line.contains(": TCP: ") && line.contains("refused"),
        "{line}"
    );

    let line = check_fails(
        &host,
        &good.replace(
            &pg.ca_file().display().to_string(),
            &pg.other_ca_file().display().to_string(),
        ),
    );
    assert!(
        line.contains(": TLS: ") && line.contains("UnknownIssuer"),
        "{line}"
    );

    let wrong = host.root.join("etc/wrong-password");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let line = check_fails_with(
        &host,
        &good.replace(
            &pg.password_file().display().to_string(),
            &wrong.display().to_string(),
        ),
        PERMISSION,
    );
    assert!(
        line.contains(": authentication: ") && line.contains("password authentication failed"),
        "{line}"
    );
    assert!(!line.contains("not-the-password"), "{line}");

    let line = check_fails(
        &host,
        &good.replace(
            &format!("database = \"{}\"", pg.database()),
            "database = \"nosuchdb\"",
        ),
    );
    assert!(
        line.contains(": database: ") && line.contains("does not exist"),
        "{line}"
    );

    pg.psql("INSERT INTO planasonix_schema (version) VALUES (99)");
    let line = check_fails(&host, &good);
    assert!(
        line.contains(": schema: ") && line.contains("newer than this planasonix knows"),
        "{line}"
    );

    let plain = Postgres::start(Tls::Off);
    let line = check_fails(&host, &plain.store_toml("verify-full"));
    assert!(
        line.contains(": TLS: ") && line.contains("server does not support TLS"),
        "{line}"
    );
}

#[test]
fn the_service_names_the_failed_step_at_start_and_serves_anyway() {
    let pg = Postgres::start(Tls::On);
    let host = Layout::init("store-serve");
    write_store(
        &host,
        &pg.store_toml("verify-full").replace(
            &pg.ca_file().display().to_string(),
            &pg.other_ca_file().display().to_string(),
        ),
    );
    let mut child = host
        .command(&["serve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut serving = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut serving)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.contains(": TLS: ") && first.contains("serving anyway"),
        "{first}"
    );
    assert!(serving.starts_with("serving PostgreSQL"), "{serving}");
}

/// A store file of the previous release: plain TCP to loopback.
const PLAIN_LOOPBACK: &str = "kind = \"postgresql\"\n[postgresql]\nhosts = [\"127.0.0.1\"]\n\
    database = \"planasonix\"\nuser = \"planasonix\"\nsslmode = \"disable\"\n";

#[test]
fn plain_tcp_to_loopback_is_refused_by_name_with_its_fix_by_store_check_and_serve() {
    let host = Layout::init("store-plain");
    write_store(&host, PLAIN_LOOPBACK);
    let out = host.run(&["store", "check"], "");
    let said = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("sslmode = \"disable\" is refused for \"127.0.0.1\"")
            && said.contains("use sslmode = \"verify-full\" with ca_file")
            && said.contains("unix socket directory"),
        "{said}"
    );
    let out = host
        .command(&["serve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let said = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "serve started: {said}");
    assert!(
        said.contains("sslmode = \"disable\" is refused") && said.contains("verify-full"),
        "{said}"
    );
}
