//! The PostgreSQL fixture works: a real server, TLS that verifies against its
//! CA and not against another, stop and restart, freeze and thaw, a server
//! without TLS, and nothing left behind after drop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use planasonix_testkit::postgres::{self, Postgres, Tls};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn require() {
    assert!(
        postgres::available(),
        "PostgreSQL server binaries are required (apt install postgresql), and openssl"
    );
}

/// The psql of the server's version (else the one on the PATH).
fn psql_binary() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path().join("bin/psql")))
                .collect()
        })
        .unwrap_or_default();
    dirs.retain(|p| p.is_file());
    dirs.sort_by_key(|p| {
        p.components().nth(4).and_then(|c| {
            c.as_os_str()
                .to_str()?
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        })
    });
    dirs.pop().unwrap_or_else(|| PathBuf::from("psql"))
}

/// `select ... ` as `planasonix` over TCP with extra conninfo `options`.
fn client(pg: &Postgres, options: &str, sql: &str) -> Output {
    let conninfo = format!(
        "host={} port={} dbname={} user={} {options}",
        pg.host(),
        pg.port(),
        pg.database(),
        pg.user()
    );
    Command::new(psql_binary())
        .env_clear()
        .env("PGPASSWORD", pg.password())
        .env("PGPASSFILE", "/nonexistent")
        .args(["-X", "-At", "-d", &conninfo, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "psql should have failed, printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SSL_IN_USE: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

fn verify_full(ca: &Path) -> String {
    format!("sslmode=verify-full sslrootcert={}", ca.display())
}

/// After drop: no process whose command line names the data dir, none of
/// the processes the cluster had, and its directory is gone.
fn assert_gone(data_dir: &Path, processes: &[u32]) {
    let needle = data_dir.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let named: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|pid: &u32| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
            })
            .collect();
        let left: Vec<u32> = processes
            .iter()
            .copied()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    s.rfind(')')
                        .is_some_and(|i| s[i + 1..].split_whitespace().next() != Some("Z"))
                })
            })
            .collect();
        if named.is_empty() && left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left running: {named:?} (by command line), {left:?} (of {processes:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = data_dir.parent().unwrap().parent().unwrap();
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn tls_cluster_verifies_restarts_freezes_and_leaves_nothing() {
    require();
    let started = Instant::now();
    let pg = Postgres::start(Tls::On);
    eprintln!("a TLS cluster started in {:?}", started.elapsed());

    assert_eq!(pg.psql("select 1"), "1");
    assert_eq!(pg.host(), "127.0.0.1");
    assert_eq!(pg.password().len(), 32);
    assert_eq!(
        std::fs::read_to_string(pg.password_file()).unwrap(),
        format!("{}\n", pg.password())
    );
    let toml = pg.store_toml("verify-full");
    assert!(
        toml.starts_with("kind = \"postgresql\"\n\n[postgresql]\n"),
        "{toml}"
    );
    assert!(toml.contains(&format!("port = {}\n", pg.port())), "{toml}");

    // planasonix over TCP, TLS verified against the CA (and the name).
    let verified = verify_full(pg.ca_file());
    assert_eq!(ok(&client(&pg, &verified, SSL_IN_USE)), "t");
    assert_eq!(
        ok(&client(&pg, &verified, "select current_user")),
        "planasonix"
    );
    // Plain TCP is allowed too; the wrong password is not.
    assert_eq!(ok(&client(&pg, "sslmode=disable", SSL_IN_USE)), "f");
    let wrong = Command::new(psql_binary())
        .env_clear()
        .env("PGPASSWORD", "wrong")
        .env("PGPASSFILE", "/nonexistent")
        .args(["-X", "-At", "-c", "select 1", "-d"])
        .arg(format!(
            "host=127.0.0.1 port={} dbname=planasonix user=planasonix sslmode=disable",
            pg.port()
        ))
        .output()
        .unwrap();
    assert!(fails(&wrong).contains("password authentication failed"));
    // Another CA: refused.
    let err = fails(&client(&pg, &verify_full(pg.other_ca_file()), "select 1"));
    assert!(err.contains("certificate verify failed"), "{err}");

    // The user owns its database (can create tables in public).
    ok(&client(
        &pg,
        &verified,
        "create table t (x int); insert into t values (7)",
    ));
    pg.fresh_database("empty one");
    assert_eq!(
        pg.psql("select pg_get_userbyid(datdba) from pg_database where datname = 'empty one'"),
        "planasonix"
    );

    pg.stop();
    fails(&client(&pg, &verified, "select 1"));
    let restarted = Instant::now();
    pg.start_again();
    eprintln!("restarted in {:?}", restarted.elapsed());
    assert_eq!(ok(&client(&pg, &verified, "select x from t")), "7");

    pg.freeze();
    let frozen = Instant::now();
    let err = fails(&client(
        &pg,
        &format!("{verified} connect_timeout=2"),
        "select 1",
    ));
    assert!(frozen.elapsed() < Duration::from_secs(10), "{err}");
    pg.thaw();
    assert_eq!(ok(&client(&pg, &verified, "select 1")), "1");

    let data_dir = pg.data_dir().to_owned();
    let processes = pg.processes();
    assert!(processes.len() > 1, "{processes:?}");
    // Frozen when dropped: drop thaws it to stop it.
    pg.freeze();
    drop(pg);
    assert_gone(&data_dir, &processes);
}

#[test]
fn cluster_without_tls_refuses_tls() {
    require();
    let started = Instant::now();
    let pg = Postgres::start(Tls::Off);
    eprintln!("a cluster without TLS started in {:?}", started.elapsed());

    let err = fails(&client(&pg, "sslmode=require", "select 1"));
    assert!(err.contains("does not support SSL"), "{err}");
    assert_eq!(ok(&client(&pg, "sslmode=disable", SSL_IN_USE)), "f");

    let data_dir = pg.data_dir().to_owned();
    let processes = pg.processes();
    drop(pg);
    assert_gone(&data_dir, &processes);
}
