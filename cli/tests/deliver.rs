//! `planasonix deliver`: SMS and notices through a fake gateway on loopback
//! that records what it received and answers as a gateway would (2xx, 4xx
//! with an error body, 5xx, too slow, not there, TLS with the right and a
//! wrong CA), Twilio's Messages API against a fake that checks its form, and
//! notices through a sendmail that records what it was given.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use planasonix_testkit::gateway::{closed_port, FakeGateway, Reply};
use planasonix_testkit::tls::TestTls;
use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

const NUMBER: &str = "+447700900456";
/// Quotes, a line break, an ampersand and Unicode: each must stay one value.
const TEXT: &str = "Your Planasonix code is 123456. \"Quoted\" & more\nÜnïcödé ✓";

struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let dir = TempDir::new(&format!("deliver-{name}"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Setup { dir }
    }

    fn secret(&self, name: &str, value: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn file(&self, text: &str) -> PathBuf {
        let path = self.dir.join("delivery.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn run(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let file = self.dir.join("delivery.toml");
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["deliver"])
            .args(&args[..1])
            .arg("--delivery")
            .arg(&file)
            .args(&args[1..]);
        run_with_stdin(&mut cmd, stdin)
    }
}

fn webhook(url: &str, extra: &str) -> String {
    format!(
        "[sms]\nkind = \"webhook\"\nurl = \"{url}/send?tenant=acme\"\nformat = \"json\"\n\
         body = {{ to = \"{{to}}\", text = \"{{text}}\", code = \"{{code}}\", reference = \"{{id}}\" }}\n\
         headers = {{ \"X-Tenant\" = \"acme\" }}\nmessage_id = \"/id\"\n{extra}"
    )
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()),
        body,
    );
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_webhook_gets_the_message_as_json_with_its_auth_and_signature() {
    let gw = FakeGateway::http();
    let s = Setup::new("json");
    let token = s.secret("token", "tok-SECRET-123");
    let key = s.secret("signing", "sign-key-456");
    s.file(&webhook(
        &gw.url(),
        &format!(
            "auth = \"bearer\"\nsecret_file = \"{}\"\nsignature_header = \"X-Signature\"\nsignature_key_file = \"{}\"\nsuccess = \"queued\"\n",
            token.display(),
            key.display()
        ),
    ));
    let out = s.run(&["sms", NUMBER], &format!("{TEXT}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let got = gw.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/send?tenant=acme")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), Some("Bearer tok-SECRET-123"));
    assert_eq!(r.header("x-tenant"), Some("acme"));
    assert_eq!(
        r.header("x-signature").map(str::to_owned),
        Some(format!("sha256={}", hmac_hex("sign-key-456", &r.body)))
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["to"], NUMBER);
    assert_eq!(body["text"], TEXT);
    assert_eq!(body["code"], "123456");
    assert_eq!(body["reference"].as_str().unwrap().len(), 24);
}

#[test]
fn a_form_body_and_a_url_template_percent_encode_every_value() {
    let gw = FakeGateway::http();
    let s = Setup::new("form");
    s.file(&format!(
        "[sms]\nkind = \"webhook\"\nurl = \"{}/send?to={{to}}\"\nformat = \"form\"\nbody = {{ msg = \"{{text}}\" }}\n",
        gw.url()
    ));
    let out = s.run(&["sms", NUMBER], TEXT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = &gw.received()[0];
    assert_eq!(r.target, "/send?to=%2B447700900456");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let body = r.text();
    assert!(
        body.starts_with(
            "msg=Your%20Planasonix%20code%20is%20123456.%20%22Quoted%22%20%26%20more%0A%C3%9C"
        ),
        "{body}"
    );
    assert_eq!(body.matches('&').count(), 0, "{body}");
}

/// One failure line on standard error, naming what happened and nothing secret.
fn failure(out: &std::process::Output, code: i32, words: &str) -> String {
    let line = fails_with(out, code);
    assert!(line.contains(words), "{line}");
    for secret in [NUMBER, "123456", "tok-SECRET"] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
    line
}

#[test]
fn each_failure_is_named_and_retried_only_when_the_gateway_says_so() {
    let gw = FakeGateway::http();
    let s = Setup::new("fail");
    s.file(&webhook(&gw.url(), "retries = 1\ntimeout = \"700ms\"\n"));

    // A refusal with an error body (which echoes the number): not retried.
    gw.script([Reply::Answer(
        400,
        format!("{{\"error\":\"bad number {NUMBER}\"}}"),
    )]);
    let line = failure(
        &s.run(&["sms", NUMBER], TEXT),
        1,
        "refused: the gateway answered HTTP 400",
    );
    assert!(!line.contains("bad number"), "{line}");
    assert_eq!(gw.received().len(), 1);

    // Busy, then taken: sent again once, with the same message id.
    gw.script([
        Reply::Answer(503, "busy".into()),
        Reply::Answer(200, "{\"id\":\"m-2\"}".into()),
    ]);
    let out = s.run(&["sms", NUMBER], TEXT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = gw.received();
    assert_eq!(got.len(), 3);
    let id = |i: usize| {
        serde_json::from_slice::<serde_json::Value>(&got[i].body).unwrap()["reference"].clone()
    };
    assert_eq!(id(1), id(2), "a retry must carry the same id");

    // Down for good: as many tries as allowed, then unavailable.
    gw.script([
        Reply::Answer(502, "x".into()),
        Reply::Answer(502, "x".into()),
    ]);
    // It provably did not go out: exit 69, its send given back.
    failure(&s.run(&["sms", NUMBER], TEXT), 69, "HTTP 502");
    assert_eq!(gw.received().len(), 5);

    // Too slow: never sent again (it may have gone out).
    gw.script([Reply::Slow(Duration::from_secs(3))]);
    failure(&s.run(&["sms", NUMBER], TEXT), 4, "not sent again");
    assert_eq!(gw.received().len(), 6);

    // A 2xx without the success pattern.
    s.file(&webhook(
        &gw.url(),
        "success = \"\\\"status\\\":\\\"queued\\\"\"\n",
    ));
    gw.script([Reply::Answer(200, "{\"status\":\"rejected\"}".into())]);
    failure(&s.run(&["sms", NUMBER], TEXT), 1, "without");

    // Nobody there.
    s.file(&webhook(
        &format!("http://127.0.0.1:{}", closed_port()),
        "retries = 0\n",
    ));
    failure(&s.run(&["sms", NUMBER], TEXT), 69, "refused the connection");
}

#[test]
fn tls_is_verified_against_the_configured_ca() {
    let tls = TestTls::new();
    let gw = FakeGateway::https(&tls.cert, &tls.key);
    let s = Setup::new("tls");
    s.file(&webhook(
        &gw.url(),
        &format!("ca_file = \"{}\"\n", tls.ca.display()),
    ));
    let out = s.run(&["sms", NUMBER], TEXT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(gw.received().len(), 1);
    s.file(&webhook(
        &gw.url(),
        &format!("ca_file = \"{}\"\nretries = 0\n", tls.other_ca.display()),
    ));
    failure(&s.run(&["sms", NUMBER], TEXT), 69, "TLS");
    assert_eq!(
        gw.received().len(),
        1,
        "a request went to a gateway whose certificate did not verify"
    );
}

#[test]
fn the_twilio_preset_sends_the_documented_form_and_the_test_shows_the_sid() {
    let gw = FakeGateway::http();
    let s = Setup::new("twilio");
    let sid = "AC0123456789abcdef0123456789abcdef";
    let token = s.secret("twilio-token", "tw-token-SECRET");
    s.file(&format!(
        "[sms]\nkind = \"twilio\"\naccount_sid = \"{sid}\"\nauth_token_file = \"{}\"\nfrom = \"+15005550006\"\nbase_url = \"{}\"\n",
        token.display(),
        gw.url()
    ));
    gw.script([Reply::Answer(
        201,
        "{\"sid\":\"SM0123456789abcdef0123456789abcdef\",\"status\":\"queued\"}".into(),
    )]);
    let out = s.run(&["test", "--to", NUMBER], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "sent: SMS to +44••••••••56, HTTP 201, message id SM0123456789abcdef0123456789abcdef"
        ),
        "{said}"
    );
    assert!(said.contains("Authorization: ••••••••"), "{said}");
    assert!(
        !said.contains("tw-token-SECRET"),
        "the token was shown:\n{said}"
    );
    let r = &gw.received()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.target,
        format!("/2010-04-01/Accounts/{sid}/Messages.json")
    );
    let basic = data_encoding::BASE64.encode(format!("{sid}:tw-token-SECRET").as_bytes());
    assert_eq!(
        r.header("authorization").map(str::to_owned),
        Some(format!("Basic {basic}"))
    );
    let form: Vec<(String, String)> = r
        .text()
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), percent_decode(v))
        })
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("To"), Some(NUMBER));
    assert_eq!(field("From"), Some("+15005550006"));
    assert!(field("Body")
        .unwrap()
        .starts_with("Planasonix MFA: a test message"));
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn notices_go_by_sendmail_to_the_users_address() {
    let s = Setup::new("mail");
    let log = s.dir.join("sendmail.log");
    let sendmail = s.dir.join("sendmail");
    std::fs::write(
        &sendmail,
        format!("#!/bin/sh\necho \"$@\" > {0}\ncat >> {0}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o700)).unwrap();
    let addresses = s.dir.join("addresses");
    // mallory's entry would add a recipient if it reached a header.
    std::fs::write(
        &addresses,
        "# user address\nalice alice@example.com\nmallory mallory@example.com,x@evil.example\n",
    )
    .unwrap();
    s.file(&format!(
        "[notice]\nkind = \"sendmail\"\nsendmail = \"{}\"\nfrom = \"mfa@example.com\"\naddresses = \"{}\"\n",
        sendmail.display(),
        addresses.display()
    ));
    let out = s.run(&["notice", "alice"], "A recovery code was used.\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mail = std::fs::read_to_string(&log).unwrap();
    let mut lines = mail.lines();
    assert_eq!(
        lines.next(),
        Some("-i -f mfa@example.com -- alice@example.com")
    );
    assert!(
        mail.contains("To: alice@example.com\r\n") && mail.contains("A recovery code was used."),
        "{mail}"
    );
    failure(
        &s.run(&["notice", "bob"], "x\n"),
        1,
        "no mail address is known for bob",
    );
    failure(
        &s.run(&["notice", "mallory"], "x\n"),
        1,
        "not a mail address",
    );
}

#[test]
fn a_delivery_file_or_a_secret_others_may_read_is_refused() {
    let gw = FakeGateway::http();
    let s = Setup::new("unsafe");
    let token = s.secret("token", "tok-SECRET-123");
    let path = s.file(&webhook(
        &gw.url(),
        &format!("auth = \"bearer\"\nsecret_file = \"{}\"\n", token.display()),
    ));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Nothing went out: the command contract's "provably not sent" (69).
    let line = failure(&s.run(&["sms", NUMBER], TEXT), 69, "chmod 600");
    assert!(line.contains("delivery file"), "{line}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = failure(&s.run(&["sms", NUMBER], TEXT), 69, "the gateway's token");
    assert!(line.contains("lets group or others read"), "{line}");
    assert!(
        gw.received().is_empty(),
        "a request went out without its secret"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    failure(&s.run(&["sms", "07700 900123"], TEXT), 69, "E.164");
    failure(&s.run(&["sms", NUMBER], ""), 69, "no text");
}

#[test]
fn a_ca_file_or_an_address_book_others_may_write_is_refused_before_anything_is_sent() {
    // Whoever can write the CA file can put their own gateway in its place.
    let tls = TestTls::new();
    let gw = FakeGateway::https(&tls.cert, &tls.key);
    let s = Setup::new("trusted-ca");
    let ca = s.dir.join("gateway-ca.pem");
    std::fs::copy(&tls.ca, &ca).unwrap();
    s.file(&webhook(
        &gw.url(),
        &format!("ca_file = \"{}\"\nretries = 0\n", ca.display()),
    ));
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o666)).unwrap();
    let line = failure(&s.run(&["sms", NUMBER], TEXT), 69, "CA file");
    assert!(line.contains("is not trusted"), "{line}");
    assert!(gw.received().is_empty(), "a request went out");
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s.run(&["sms", NUMBER], TEXT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Whoever can write the address book reroutes every notice.
    let log = s.dir.join("sendmail.log");
    let sendmail = s.dir.join("sendmail");
    std::fs::write(&sendmail, format!("#!/bin/sh\ncat > {}\n", log.display())).unwrap();
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o700)).unwrap();
    let addresses = s.dir.join("addresses");
    std::fs::write(&addresses, "alice alice@example.com\n").unwrap();
    std::fs::set_permissions(&addresses, std::fs::Permissions::from_mode(0o666)).unwrap();
    s.file(&format!(
        "[notice]\nkind = \"sendmail\"\nsendmail = \"{}\"\nfrom = \"mfa@example.com\"\naddresses = \"{}\"\n",
        sendmail.display(),
        addresses.display()
    ));
    let line = failure(
        &s.run(&["notice", "alice"], "x\n"),
        69,
        "mail addresses file",
    );
    assert!(line.contains("is not trusted"), "{line}");
    assert!(!log.exists(), "a notice went out");
}

#[test]
fn the_test_shows_the_request_masked_never_the_gateways_answer() {
    // A gateway that echoes the request back, token and all.
    let gw = FakeGateway::http();
    let s = Setup::new("echo");
    let token = s.secret("token", "tok-SECRET-123");
    s.file(&webhook(
        &gw.url(),
        &format!("auth = \"bearer\"\nsecret_file = \"{}\"\n", token.display()),
    ));
    gw.script([Reply::Answer(
        200,
        "{\"id\":\"m-1\",\"echo\":\"Authorization: Bearer tok-SECRET-123\"}".into(),
    )]);
    let out = s.run(&["test", "--to", NUMBER], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(!said.contains("tok-SECRET"), "the token was shown:\n{said}");
    assert!(said.contains("Authorization: ••••••••"), "{said}");
    assert!(said.contains("HTTP 200, message id m-1"), "{said}");
    assert!(
        said.contains("a send takes at most 30.9 s with every retry"),
        "{said}"
    );
}
