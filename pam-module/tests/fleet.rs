//! A fleet: two hosts (separate config directories, each with its own
//! `planasonix serve` and socket) sharing one real PostgreSQL (TLS by a test
//! CA) and one seal key. Logins go through real libpam (pamtester under
//! pam_wrapper) with oathtool's codes; enrollment and resets through the CLI.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::fleet::*;
use crate::common::*;
use planasonix_testkit::postgres::{Postgres, Tls};
use std::os::unix::fs::PermissionsExt;

#[test]
fn enrolled_on_one_host_a_code_works_on_the_other_and_is_a_replay_on_the_first() {
    let f = fleet("replay");
    let secret = new_secret();
    enroll(&f.a.site, "alice", &secret);
    let code = oathtool(&secret);
    let (ok, text) = login(&f.b.site, "alice", &format!("{code}\n"));
    assert!(
        ok,
        "host B refused the code of an enrollment made on A:\n{text}"
    );
    let (ok, text) = login(&f.a.site, "alice", &format!("{code}\n"));
    assert!(!ok, "host A accepted a code host B had accepted:\n{text}");
    assert!(text.contains("That code was already used"), "{text}");
    // Someone with database access but no seal key replaces alice's record
    // with an old, unauthenticated one (no factor: a grace login). Refused.
    f.pg.psql(
        "UPDATE planasonix_records SET value = convert_to('{\"schema\":2}', 'UTF8') WHERE key = 'user/alice'",
    );
    let (ok, text) = login(&f.a.site, "alice", "");
    assert!(
        !ok,
        "a planted unauthenticated record let alice in:\n{text}"
    );
    assert!(text.contains("unavailable right now"), "{text}");
    // Refused on A, and said in the fleet's trail, read on B: not only in
    // A's syslog.
    let trail: Vec<serde_json::Value> = serde_json::from_str(&crate::common::fleet::ok(
        &f.b.site.cli(&["--json", "audit", "--user", "alice"]),
        "audit on B",
    ))
    .unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e["event"] == "record-refused" && e["level"] == "error"),
        "the refused record is not in the fleet's trail: {trail:?}"
    );
}

#[test]
fn a_lockout_reached_on_one_host_holds_on_the_other_and_a_reset_on_it_reaches_the_first() {
    let f = fleet("lockout");
    let secret = new_secret();
    enroll(&f.a.site, "bob", &secret);
    for _ in 0..3 {
        let (ok, _) = login(&f.a.site, "bob", "000000\n");
        assert!(!ok);
    }
    // The lock refuses before any prompt, so none of this input is read: more
    // than a pipe holds, so the refusal is certain to meet a full pipe.
    let unread = format!("{}\n{}", oathtool(&secret), "0\n".repeat(1 << 17));
    let (ok, text) = login(&f.b.site, "bob", &unread);
    assert!(!ok, "host B let in a user locked on host A:\n{text}");
    assert!(text.contains("Too many wrong codes"), "{text}");
    ok_reset(&f.b.site, "bob");
    // Reset: no factor and no lockout left, and a fresh grace period, so A
    // lets bob in and asks him to enroll.
    let (ok, text) = login(&f.a.site, "bob", "");
    assert!(ok, "{text}");
    assert!(
        text.contains("Set up an authenticator app before then"),
        "host A did not ask bob to enroll after the reset on B:\n{text}"
    );
}

fn ok_reset(site: &Site, user: &str) {
    ok(
        &site.cli(&["admin", "reset", user, "--reason", "lost phone"]),
        "admin reset",
    );
}

#[test]
fn with_the_database_down_logins_fail_closed_break_glass_gets_in_and_its_return_needs_no_restart() {
    let f = fleet("down");
    let secret = new_secret();
    enroll(&f.a.site, "carol", &secret);
    f.pg.stop();
    let (ok, lines) = pamtester_syslog(
        &f.a.site,
        "sshd",
        "carol",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(!ok, "a login got in with the shared store down");
    let all = lines.join("\n");
    assert!(
        all.contains("failing closed") && all.contains(&format!("127.0.0.1:{}", f.pg.port())),
        "the syslog line does not say the store is unreachable and where:\n{all}"
    );
    let (ok, lines) = pamtester_syslog(&f.a.site, "sshd", "root", "");
    assert!(
        ok,
        "break-glass root was refused with the store down:\n{}",
        lines.join("\n")
    );
    f.pg.start_again();
    // The service reconnects by itself: no restart. Its first request may
    // find a connection that died with the server; the next one is fresh.
    let code = oathtool(&secret);
    let (ok, text) = login(&f.a.site, "carol", &format!("{code}\n"));
    let (ok, text) = if ok {
        (ok, text)
    } else {
        login(&f.b.site, "carol", &format!("{code}\n"))
    };
    assert!(ok, "the login after PostgreSQL came back failed:\n{text}");
}

#[test]
fn without_its_service_a_shared_host_refuses_rather_than_open_a_local_database() {
    let mut f = fleet("noservice");
    let secret = new_secret();
    enroll(&f.a.site, "dave", &secret);
    f.a.serving.take().unwrap().crash();
    let (ok, lines) = pamtester_syslog(
        &f.a.site,
        "sshd",
        "dave",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(!ok);
    let all = lines.join("\n");
    assert!(
        all.contains("reached only through `planasonix serve`"),
        "{all}"
    );
    assert!(
        !f.a.site.db.join("conf").exists(),
        "a sled database was created on a shared host"
    );
    let out = f.a.site.cli(&["status", "--user", "dave"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reached only through `planasonix serve`"),
        "{err}"
    );
    drop(f.b.serving.take());
}

#[test]
fn a_sled_host_copied_into_the_shared_store_logs_in_on_both_hosts() {
    // Today's single host, enrolled the old way.
    let old = Site::new("copy-old", POLICY);
    let secret = new_secret();
    old.provision("erin", &secret);
    let pg = Postgres::start(Tls::On);
    let a = Site::new("copy-a", POLICY);
    let b = Site::new("copy-b", POLICY);
    join(&a, &pg, &old.key);
    join(&b, &pg, &old.key);
    ok(&a.cli(&["store", "migrate"]), "store migrate");
    let from = format!("sled:{}", old.db.display());
    let first = ok(&a.cli(&["store", "copy", "--from", &from]), "store copy");
    assert!(
        first.contains("(0 already there, 0 different and kept, 0 not authenticated"),
        "{first}"
    );
    let again = ok(
        &a.cli(&["store", "copy", "--from", &from]),
        "store copy again",
    );
    assert!(
        again.contains("copied 0 records") && again.contains("0 different and kept"),
        "{again}"
    );
    let (_sa, _sb) = (a.serve(), b.serve());
    let (ok_a, text) = login(&a, "erin", &format!("{}\n", oathtool(&secret)));
    assert!(ok_a, "{text}");
    let recovery = old.provision("frank", &new_secret());
    // erin's record has moved on in the shared store (her login): the copy
    // adds frank, keeps erin's newer record, and says so by failing.
    let third = a.cli(&["store", "copy", "--from", &from]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&third.stdout),
        String::from_utf8_lossy(&third.stderr)
    );
    assert!(!third.status.success(), "{said}");
    assert!(!said.contains("copied 0 records"), "{said}");
    assert!(said.contains("were not overwritten: user/erin"), "{said}");
    // A record still in the unauthenticated form (written before records
    // were authenticated) is not copied: the shared store would refuse it.
    planasonix_native::SledStore::transaction(&old.db, std::time::Duration::from_secs(5), |s| {
        planasonix_core::Store::compare_and_swap(s, "user/olga", None, Some(b"{\"schema\":2}"))
    })
    .unwrap();
    let fourth = a.cli(&["store", "copy", "--from", &from]);
    let said = String::from_utf8_lossy(&fourth.stderr);
    assert!(!fourth.status.success());
    assert!(
        said.contains("unauthenticated form a shared store refuses: user/olga")
            && said.contains("run `planasonix init`"),
        "{said}"
    );
    let (ok_b, text) = login(&b, "frank", &format!("{}\n", recovery[0]));
    assert!(
        ok_b,
        "a recovery code copied from sled was refused on B:\n{text}"
    );
    let (ok_a, text) = login(&a, "frank", &format!("{}\n", recovery[0]));
    assert!(
        !ok_a,
        "a recovery code used on B was accepted again on A:\n{text}"
    );
}

#[test]
fn thirty_two_parallel_logins_over_two_hosts_all_get_in_and_one_recovery_code_is_spent_once() {
    let f = fleet("parallel");
    let users: Vec<String> = (0..24).map(|i| format!("fleet{i:02}")).collect();
    planasonix_testkit::accounts::ensure_all(&users);
    let secrets: Vec<Vec<u8>> = users.iter().map(|_| new_secret()).collect();
    for (user, secret) in users.iter().zip(&secrets) {
        enroll(&f.a.site, user, secret);
    }
    let codes = enroll(&f.b.site, "rita", &new_secret());
    let contested = codes[0].clone();
    let sites = [&f.a.site, &f.b.site];
    let (totp, recovery) = std::thread::scope(|scope| {
        let totp: Vec<_> = users
            .iter()
            .zip(&secrets)
            .enumerate()
            .map(|(i, (user, secret))| {
                let site = sites[i % 2];
                scope.spawn(move || login(site, user, &format!("{}\n", oathtool(secret))))
            })
            .collect();
        let recovery: Vec<_> = (0..8)
            .map(|i| {
                let (site, code) = (sites[i % 2], contested.clone());
                scope.spawn(move || login(site, "rita", &format!("{code}\n")))
            })
            .collect();
        let join = |handles: Vec<std::thread::ScopedJoinHandle<'_, (bool, String)>>| -> Vec<_> {
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        };
        (join(totp), join(recovery))
    });
    for ((ok, text), user) in totp.iter().zip(&users) {
        assert!(
            ok,
            "{user}'s TOTP login was refused among 32 parallel ones:\n{text}"
        );
    }
    let accepted = recovery.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(
        accepted,
        1,
        "one recovery code raced by 8 logins on two hosts was accepted {accepted} times:\n{}",
        recovery
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
}

/// [`login`] on a machine named `host` (its own UTS namespace), as one host
/// of a real fleet would be.
fn login_as_host(site: &Site, host: &str, user: &str, input: &str) -> (bool, String) {
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--uts", "sh", "-c"])
        .arg("hostname \"$FLEET_HOST\" && exec pamtester -I rhost=192.0.2.10 sshd \"$FLEET_USER\" authenticate")
        .env("FLEET_HOST", host)
        .env("FLEET_USER", user);
    pam_wrapper::wrap(&mut cmd, &site.confdir);
    run_wrapped(
        &mut cmd,
        input,
        "unshare (util-linux) and root are required",
    )
}

#[test]
fn the_audit_trail_is_the_fleets_each_event_naming_its_host() {
    let f = fleet("audit");
    let secret = new_secret();
    enroll(&f.a.site, "gina", &secret);
    let (in_b, text) = login_as_host(
        &f.b.site,
        "fleet-b",
        "gina",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(in_b, "{text}");
    let (in_a, _) = login_as_host(&f.a.site, "fleet-a", "gina", "000000\n");
    assert!(!in_a);
    let events = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["--json", "audit", "--user", "gina"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&f.a.site.cli(&all), "audit")).unwrap()
    };
    let fleet = events(&[]);
    let on = |host: &str, event: &str| {
        fleet
            .iter()
            .any(|e| e["host"] == host && e["event"] == event)
    };
    assert!(
        on("fleet-b", "verified"),
        "B's login is not in the trail read on A: {fleet:?}"
    );
    assert!(
        on("fleet-a", "failed"),
        "A's failure is not in the trail: {fleet:?}"
    );
    let only_b = events(&["--host", "fleet-b"]);
    assert!(!only_b.is_empty());
    assert!(only_b.iter().all(|e| e["host"] == "fleet-b"), "{only_b:?}");
}

/// Under systemd the service runs as its own user, which cannot read the
/// root-only password file; `LoadCredential=db-password:FILE` hands it over
/// as `$CREDENTIALS_DIRECTORY/db-password`, which wins over password_file.
#[test]
fn the_password_comes_from_a_systemd_credential_when_there_is_one() {
    let pg = Postgres::start(Tls::On);
    let site = Site::new("credential", POLICY);
    let wrong = site.dir.join("wrong.password");
    std::fs::write(&wrong, "wrong\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = pg.store_toml("verify-full").replace(
        &pg.password_file().display().to_string(),
        &wrong.display().to_string(),
    );
    std::fs::write(site.store_file(), text).unwrap();
    let refused = site.cli(&["store", "migrate"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("password authentication failed"), "{err}");
    let credentials = site.dir.join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::copy(pg.password_file(), credentials.join("db-password")).unwrap();
    std::fs::set_permissions(
        credentials.join("db-password"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let out = site
        .cli_command(&["store", "migrate"])
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .output()
        .unwrap();
    ok(&out, "store migrate with the credential");
}

#[test]
fn with_the_database_frozen_a_login_fails_closed_within_the_wait_and_never_hangs() {
    let f = fleet("frozen");
    let secret = new_secret();
    enroll(&f.a.site, "hana", &secret);
    f.pg.freeze();
    // A hang would hang this test; the line says which deadline ran out.
    let (ok, lines) = pamtester_syslog(
        &f.a.site,
        "sshd",
        "hana",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(!ok, "a login got in with the shared store frozen");
    let all = lines.join("\n");
    assert!(
        all.contains("failing closed") && all.contains("no answer within"),
        "the syslog line does not say the database stopped answering:\n{all}"
    );
    let (root_ok, lines) = pamtester_syslog(&f.a.site, "sshd", "root", "");
    f.pg.thaw();
    assert!(
        root_ok,
        "break-glass root was refused with the store frozen:\n{}",
        lines.join("\n")
    );
}

/// Host A's store file comes to trust another CA (as if the server it
/// reaches were someone else's): its logins fail closed, the syslog line
/// names the TLS step, break-glass root still gets in, and host B, which
/// still trusts the right CA, is untouched.
#[test]
fn a_host_that_cannot_verify_the_servers_certificate_fails_closed_and_says_tls() {
    let mut f = fleet("tls");
    let secret = new_secret();
    enroll(&f.a.site, "ivan", &secret);
    drop(f.a.serving.take());
    std::fs::write(
        f.a.site.store_file(),
        f.pg.store_toml("verify-full").replace(
            &f.pg.ca_file().display().to_string(),
            &f.pg.other_ca_file().display().to_string(),
        ),
    )
    .unwrap();
    f.a.serving = Some(f.a.site.serve());
    let (ok, lines) = pamtester_syslog(
        &f.a.site,
        "sshd",
        "ivan",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(
        !ok,
        "a login got in through a server whose certificate was not verified"
    );
    let all = lines.join("\n");
    assert!(
        all.contains("failing closed") && all.contains(": TLS: "),
        "the syslog line does not name the TLS step:\n{all}"
    );
    let (root_ok, lines) = pamtester_syslog(&f.a.site, "sshd", "root", "");
    assert!(
        root_ok,
        "break-glass root was refused:\n{}",
        lines.join("\n")
    );
    let (ok, text) = login(&f.b.site, "ivan", &format!("{}\n", oathtool(&secret)));
    assert!(
        ok,
        "host B, which trusts the right CA, refused ivan:\n{text}"
    );
}

#[test]
fn a_store_file_with_plain_tcp_to_loopback_fails_closed_and_says_the_fix() {
    let f = fleet("plain");
    let secret = new_secret();
    enroll(&f.a.site, "ivan", &secret);
    std::fs::write(
        f.a.site.store_file(),
        f.pg.store_toml("disable")
            .replace("\nca_file", "\n# ca_file"),
    )
    .unwrap();
    let (ok, lines) = pamtester_syslog(
        &f.a.site,
        "sshd",
        "ivan",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(!ok, "a login got in through a plain-text store");
    let all = lines.join("\n");
    assert!(
        all.contains("sslmode = \"disable\" is refused for \"127.0.0.1\"")
            && all.contains("use sslmode = \"verify-full\" with ca_file"),
        "the syslog line does not name the setting and its fix:\n{all}"
    );
    let (root_ok, lines) = pamtester_syslog(&f.a.site, "sshd", "root", "");
    assert!(
        root_ok,
        "break-glass root was refused:\n{}",
        lines.join("\n")
    );
}

/// A host given a seal key of its own (the package's install makes one)
/// instead of the fleet's: before, its service served it, its logins read
/// every record as tampered and its enrollments wrote records no other
/// host could open. Now the store keeps the fleet key's check value, and
/// the host is refused before it reads or writes anything.
#[test]
fn a_host_with_another_seal_key_is_refused_before_it_writes_a_record_the_fleet_cannot_read() {
    let f = fleet("key");
    let secret = new_secret();
    enroll(&f.a.site, "judy", &secret);
    let c = Site::new("key-c", POLICY);
    join(&c, &f.pg, &c.key.clone());

    let out = c.cli(&["store", "check"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "store check passed on a host with another key"
    );
    assert!(
        said.contains("this host's seal key is not the fleet's") && said.contains("A NEW HOST"),
        "{said}"
    );

    let _serving = c.serve();
    let (ok_c, lines) = pamtester_syslog(&c, "sshd", "judy", &format!("{}\n", oathtool(&secret)));
    assert!(!ok_c, "a host with another key let judy in");
    let all = lines.join("\n");
    assert!(
        all.contains("not the fleet's"),
        "the syslog line does not say why:\n{all}"
    );

    planasonix_testkit::accounts::ensure("kate");
    let mut child = c
        .cli_command(&["admin", "provision-totp", "kate", "--secret", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base32 = planasonix_core::otpauth::secret_base32(&new_secret());
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("{}\n", base32.expose()).as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an enrollment went through a host with another key"
    );
    assert!(said.contains("not the fleet's"), "{said}");
    let rows =
        f.pg.psql("SELECT count(*) FROM planasonix_records WHERE key = 'user/kate'");
    assert_eq!(
        rows.trim(),
        "0",
        "a record sealed with another key reached the store"
    );

    let (root_ok, lines) = pamtester_syslog(&c, "sshd", "root", "");
    assert!(
        root_ok,
        "break-glass root was refused:\n{}",
        lines.join("\n")
    );
    let (ok_a, text) = login(&f.a.site, "judy", &format!("{}\n", oathtool(&secret)));
    assert!(ok_a, "{text}");
}

/// Whoever administers the database cannot forge a record, but could put
/// back an older one: before, a recovery code spent on host A worked again
/// on A, and a deleted record gave a password-only grace login. A's service
/// remembers what it wrote and refuses anything older, through a restart;
/// an admin reset through A's CLI replaces the record.
#[test]
fn a_record_put_back_from_before_is_refused_by_the_host_that_wrote_a_later_one() {
    let mut f = fleet("rollback");
    let secret = new_secret();
    let codes = enroll(&f.a.site, "lena", &secret);
    f.pg.psql("CREATE TABLE saved AS SELECT * FROM planasonix_records WHERE key = 'user/lena'");
    let (ok_in, text) = login(&f.a.site, "lena", &format!("{}\n", codes[0]));
    assert!(ok_in, "{text}");
    let refused_on_a = |what: &str| {
        let (ok_in, lines) =
            pamtester_syslog(&f.a.site, "sshd", "lena", &format!("{}\n", codes[0]));
        let all = lines.join("\n");
        assert!(
            !ok_in,
            "{what}: the spent recovery code worked again:\n{all}"
        );
        assert!(
            all.contains("put back") && all.contains("record-refused"),
            "{what}: the syslog does not say why:\n{all}"
        );
    };

    // The row put back whole, its version included.
    f.pg.psql(
        "UPDATE planasonix_records r SET version = s.version, value = s.value FROM saved s WHERE r.key = s.key",
    );
    refused_on_a("an older row");
    // The old value under a newer version.
    f.pg.psql(
        "UPDATE planasonix_records r SET version = r.version + 5, value = s.value FROM saved s WHERE r.key = s.key",
    );
    refused_on_a("an old value under a newer version");
    // Deleted: not "never enrolled" (a grace period without a code).
    f.pg.psql("DELETE FROM planasonix_records WHERE key = 'user/lena'");
    let (ok_in, lines) = pamtester_syslog(&f.a.site, "sshd", "lena", "");
    assert!(
        !ok_in,
        "a deleted record let lena in:\n{}",
        lines.join("\n")
    );
    // A restart of A's service remembers.
    drop(f.a.serving.take());
    f.a.serving = Some(f.a.site.serve());
    let (ok_in, _) = pamtester_syslog(&f.a.site, "sshd", "lena", "");
    assert!(!ok_in, "after a restart, the deleted record let lena in");
    f.pg.psql("INSERT INTO planasonix_records SELECT * FROM saved");
    refused_on_a("after a restart, the older row");

    // The refusals are in the fleet's trail, read on B.
    let trail: Vec<serde_json::Value> = serde_json::from_str(&crate::common::fleet::ok(
        &f.b.site.cli(&["--json", "audit", "--user", "lena"]),
        "audit on B",
    ))
    .unwrap();
    assert!(
        trail.iter().any(|e| e["event"] == "record-refused"
            && e["detail"].as_str().is_some_and(|d| d.contains("put back"))),
        "{trail:?}"
    );
    // An admin reset through A replaces the record: lena enrolls again.
    let said = crate::common::fleet::ok(
        &f.a.site
            .cli(&["admin", "reset", "lena", "--reason", "restored row"]),
        "admin reset on A",
    );
    assert!(said.contains("lena"), "{said}");
    let status: serde_json::Value = serde_json::from_str(&crate::common::fleet::ok(
        &f.a.site.cli(&["--json", "status", "--user", "lena"]),
        "status on A",
    ))
    .unwrap();
    assert_eq!(status["enrolled"], false, "{status}");
}
