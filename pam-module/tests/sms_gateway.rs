//! SMS codes through a real gateway, through real libpam: the module's
//! `sms_command` is `planasonix deliver sms` (as the packaged
//! /usr/lib/planasonix/deliver-sms runs it) with a delivery file naming a
//! fake gateway on loopback. A user types `sms`, the gateway receives the
//! code, the user types it and gets in; with the gateway down the user is
//! told at once and gets in with the app; a slow gateway never holds the
//! database.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::{name, Shown};
use crate::common::*;
use pam_sys::*;
use planasonix_testkit::gateway::{FakeGateway, Reply};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n\
    [sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\nresend_interval = \"0s\"\n";
const NUMBER: &str = "+447700900123";

/// `site` with frank enrolled (app and SMS), its sshd service sending SMS
/// through `gateway` with `planasonix deliver sms`.
fn setup(name: &str, gateway: &FakeGateway, extra: &str) -> (Site, Vec<u8>) {
    setup_with(name, POLICY, gateway, extra, false)
}

/// [`setup`] with `policy`; `stdin`: the module's `sms_input=stdin`, the
/// command run with no argument (the number on its standard input). The
/// command writes its arguments to `argv` in the site's directory.
fn setup_with(
    name: &str,
    policy: &str,
    gateway: &FakeGateway,
    extra: &str,
    stdin: bool,
) -> (Site, Vec<u8>) {
    let site = Site::new(name, policy);
    let delivery = site.dir.join("delivery.toml");
    std::fs::write(
        &delivery,
        format!(
            "[sms]\nkind = \"webhook\"\nurl = \"{}/messages\"\nbody = {{ to = \"{{to}}\", text = \"{{text}}\" }}\n{extra}",
            gateway.url()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&delivery, std::fs::Permissions::from_mode(0o600)).unwrap();
    // What the package's /usr/lib/planasonix/deliver-sms is, with this
    // delivery file (and a note of the arguments it was given).
    let sender = site.dir.join("deliver-sms");
    std::fs::write(
        &sender,
        format!(
            "#!/bin/sh\necho \"$#:$*\" > {argv}\n\
             if [ \"$#\" -eq 0 ]; then exec {cli} deliver sms --delivery {file}; fi\n\
             exec {cli} deliver sms --delivery {file} -- \"$1\"\n",
            argv = site.dir.join("argv").display(),
            cli = cli_bin().display(),
            file = delivery.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sender, std::fs::Permissions::from_mode(0o700)).unwrap();
    let command = format!("sms_command={}", sender.display());
    if stdin {
        site.service("sshd", &[&command, "sms_input=stdin"]);
    } else {
        site.service("sshd", &[&command]);
    }
    let secret = new_secret();
    site.provision("frank", &secret);
    site.enroll_sms("frank", NUMBER);
    (site, secret)
}

/// The text of the last message the gateway received.
fn last_text(gateway: &FakeGateway) -> String {
    let r = gateway
        .received()
        .pop()
        .expect("the gateway received nothing");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["to"], NUMBER);
    body["text"].as_str().unwrap().to_owned()
}

#[test]
fn a_code_asked_for_at_the_prompt_arrives_through_the_gateway_and_gets_the_user_in() {
    let gateway = FakeGateway::http();
    let (site, _) = setup("sms-gw", &gateway, "");
    let gw = gateway.clone();
    let responder: crate::common::libpam::Responder = Box::new(move |shown| {
        let prompt = shown.last().unwrap().text().to_owned();
        if prompt == "Verification code: " {
            return Some("sms".into());
        }
        assert!(prompt.starts_with("Code sent by SMS to +44"), "{prompt:?}");
        Some(sms_code(&last_text(&gw)))
    });
    let mut tx = site.start("sshd", "frank", responder);
    let rc = tx.authenticate();
    assert_eq!(rc, PAM_SUCCESS, "{}: {}", name(rc), transcript(&tx.shown()));
    assert_eq!(gateway.received().len(), 1);
}

#[test]
fn with_the_gateway_down_the_user_is_told_at_once_and_gets_in_with_the_app() {
    let gateway = FakeGateway::http();
    let (site, secret) = setup("sms-gw-down", &gateway, "retries = 1\n");
    gateway.script([
        Reply::Answer(503, "maintenance".into()),
        Reply::Answer(503, "maintenance".into()),
    ]);
    let asked = Arc::new(Mutex::new(0));
    let count = asked.clone();
    let responder: crate::common::libpam::Responder = Box::new(move |_shown| {
        let mut n = count.lock().unwrap();
        *n += 1;
        Some(if *n == 1 {
            "sms".into()
        } else {
            oathtool(&secret)
        })
    });
    let mut tx = site.start("sshd", "frank", responder);
    let rc = tx.authenticate();
    let shown = tx.shown();
    assert_eq!(rc, PAM_SUCCESS, "{}: {}", name(rc), transcript(&shown));
    assert!(
        shown.iter().any(|s| matches!(s, Shown::Error(t) | Shown::Info(t)
            if t.contains("The SMS could not be sent. Use your authenticator app or a recovery code."))),
        "the user was not told:\n{}",
        transcript(&shown)
    );
    assert_eq!(gateway.received().len(), 2, "503 is retried once");
    let out = site.cli(&["audit", "--user", "frank"]);
    let trail = String::from_utf8_lossy(&out.stdout);
    assert!(trail.contains("event=sms-failed"), "{trail}");
    assert!(
        !trail.contains(NUMBER) && !trail.contains("maintenance"),
        "{trail}"
    );
}

#[test]
fn a_slow_gateway_never_holds_the_database() {
    let gateway = FakeGateway::http();
    let (site, _) = setup("sms-gw-slow", &gateway, "timeout = \"5s\"\n");
    gateway.script([Reply::Slow(Duration::from_secs(3))]);
    let gw = gateway.clone();
    let login = std::thread::spawn({
        let confdir = site.confdir.clone();
        move || {
            let responder: crate::common::libpam::Responder = Box::new(|_| Some("sms".into()));
            let mut tx =
                crate::common::libpam::Transaction::start(&confdir, "sshd", "frank", responder);
            tx.set_rhost("192.0.2.10");
            tx.authenticate()
        }
    });
    // While the gateway sits on the message, the database is free: another
    // process opens it within a 300 ms wait (sled admits one at a time).
    while gw.received().is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = site.cli(&["--wait", "300ms", "status", "--user", "frank"]);
    assert!(
        out.status.success(),
        "the database was held while the SMS went out: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = login.join();
}

/// frank asks for a code and types it; whether he got in.
fn sms_login(site: &Site, gateway: &FakeGateway) -> (i32, String) {
    let gw = gateway.clone();
    let responder: crate::common::libpam::Responder = Box::new(move |shown| {
        let prompt = shown.last().unwrap().text().to_owned();
        if prompt == "Verification code: " {
            return Some("sms".into());
        }
        Some(sms_code(&last_text(&gw)))
    });
    let mut tx = site.start("sshd", "frank", responder);
    let rc = tx.authenticate();
    (rc, transcript(&tx.shown()))
}

#[test]
fn with_sms_input_stdin_the_number_never_reaches_a_command_line() {
    // The first contract puts the number on the command's command line,
    // where every local user reads it (ps, /proc/PID/cmdline).
    let gateway = FakeGateway::http();
    let (site, _) = setup("sms-argv", &gateway, "");
    let (rc, shown) = sms_login(&site, &gateway);
    assert_eq!(rc, PAM_SUCCESS, "{}: {shown}", name(rc));
    let argv = std::fs::read_to_string(site.dir.join("argv")).unwrap();
    assert_eq!(argv.trim(), format!("1:{NUMBER}"));

    // sms_input=stdin: no argument at all; the number reached the gateway.
    let gateway = FakeGateway::http();
    let (site, _) = setup_with("sms-stdin", POLICY, &gateway, "", true);
    let (rc, shown) = sms_login(&site, &gateway);
    assert_eq!(rc, PAM_SUCCESS, "{}: {shown}", name(rc));
    let argv = std::fs::read_to_string(site.dir.join("argv")).unwrap();
    assert_eq!(argv.trim(), "0:", "the command was given arguments");
    assert!(!argv.contains(NUMBER));
}

#[test]
fn a_gateway_outage_takes_nothing_from_the_users_sms_limit() {
    // Two texts an hour; the gateway is down for three tries.
    let policy = format!("{POLICY}max_sends_per_hour = 2\n");
    let gateway = FakeGateway::http();
    let (site, _) = setup_with("sms-outage", &policy, &gateway, "retries = 0\n", true);
    for _ in 0..3 {
        gateway.script([Reply::Answer(503, "down".into())]);
        let asked = Arc::new(Mutex::new(0));
        let count = asked.clone();
        // "sms", then nothing more: the login ends there.
        let responder: crate::common::libpam::Responder = Box::new(move |_| {
            let mut n = count.lock().unwrap();
            *n += 1;
            (*n == 1).then(|| "sms".to_owned())
        });
        let mut tx = site.start("sshd", "frank", responder);
        let _ = tx.authenticate();
        let shown = transcript(&tx.shown());
        assert!(shown.contains("The SMS could not be sent"), "{shown}");
    }
    // Back up: the hour's texts are all still frank's.
    let (rc, shown) = sms_login(&site, &gateway);
    assert_eq!(
        rc,
        PAM_SUCCESS,
        "after an outage frank could not get a text: {}: {shown}",
        name(rc)
    );
}
