//! The end-to-end demo: one user's whole story through the engine on a real sled
//! database in a temporary directory. Run with `cargo run -p planasonix-core --example story`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use planasonix_core::hotp::totp;
use planasonix_core::otpauth::parse_base32;
use planasonix_core::phone::PhoneNumber;
use planasonix_core::*;
use planasonix_native::{load_key_file, now, OsRandom, SledStore, DEFAULT_BUSY_WAIT};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const POLICY: &str = r#"
[enforcement]
mode = "required-for-admins"
admin_groups = ["wheel"]
grace_period = "7d"
[sms]
enabled = true
allowed_prefixes = ["+44"]
[lockout]
max_failures = 3
duration = "10m"
[step_up]
sudo = "5m"
"#;

/// Delivers SMS codes and notices by appending to a file, like a test gateway.
struct FileOutbox(PathBuf);

impl Delivery for FileOutbox {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        // A real gateway gets the full number; the demo file shows it masked.
        self.append(&format!("SMS to {}: {text}", to.masked()))
    }
    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        self.append(&format!("NOTICE: {}", notice.message()))
    }
}

impl FileOutbox {
    fn append(&self, line: &str) -> Result<(), DeliveryError> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.0)
            .map_err(|e| DeliveryError::new(e.to_string()))?;
        writeln!(f, "{line}").map_err(|e| DeliveryError::new(e.to_string()))
    }

    fn last_code(&self) -> String {
        let text = std::fs::read_to_string(&self.0).unwrap();
        let line = text.lines().rev().find(|l| l.starts_with("SMS")).unwrap();
        line.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap()
            .to_owned()
    }
}

fn syslog_line(e: &AuditEvent) {
    println!("      audit[{:?}] {e}", e.level());
}

struct Demo {
    db: PathBuf,
    policy: Policy,
    key: SealKey,
    outbox: FileOutbox,
}

impl Demo {
    /// One short transaction, as the PAM module and CLI do it.
    fn tx<T>(&self, work: impl FnOnce(&Engine<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let sink = syslog_line;
        SledStore::transaction(&self.db, DEFAULT_BUSY_WAIT, |store| {
            work(
                &Engine::new(&self.policy, &self.key, store)
                    .with_delivery(&self.outbox)
                    .with_audit_sink(&sink),
            )
        })
    }
}

/// Stops the demo when a step does not behave as designed.
fn check(ok: bool, what: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::Store(StoreError::io(
            IoKind::Other,
            format!("demo expectation failed: {what}"),
        )))
    }
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() {
    let dir = std::env::temp_dir().join(format!("planasonix-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let result = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        println!("demo failed: {e}");
        std::process::exit(1);
    }
    println!("\nDemo complete: every step behaved as designed.");
}

fn write_key(path: &Path, rng: &mut OsRandom) {
    let key = SealKey::generate(rng).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(key.to_key_text().expose().as_bytes()).unwrap();
}

fn run(dir: &Path) -> Result<(), Error> {
    let mut rng = OsRandom::new();
    step("Policy and seal key");
    let key_path = dir.join("seal.key");
    write_key(&key_path, &mut rng);
    let demo = Demo {
        db: dir.join("db"),
        policy: Policy::from_toml(POLICY)?,
        key: load_key_file(&key_path)
            .map_err(|e| Error::Store(StoreError::io(IoKind::Other, e.to_string())))?,
        outbox: FileOutbox(dir.join("outbox.txt")),
    };
    println!(
        "   policy: mode=required-for-admins, grace 7d, SMS to +44 only, lock after 3 failures"
    );
    println!("   sled database: {}", demo.db.display());
    let bad = Policy::from_toml("[lockout]\nmax_failures = \"three\"\n").unwrap_err();
    println!("   a broken policy is refused precisely: {bad}");

    let alice = Subject {
        user: "alice".into(),
        groups: vec!["wheel".into()],
        amr: vec![],
    };
    let bob = Subject {
        user: "bob".into(),
        groups: vec!["users".into()],
        amr: vec![],
    };
    let ssh = Context {
        service: "sshd".into(),
        remote: Some("192.0.2.10".into()),
        action: None,
        session: None,
    };
    let t = now();

    step("Who must use MFA");
    println!(
        "   bob (not an admin): {:?}",
        demo.tx(|e| e.decide(&bob, &ssh, t))?
    );
    println!(
        "   alice (admin, not enrolled): {:?}",
        demo.tx(|e| e.decide(&alice, &ssh, t))?
    );

    step("alice enrolls an authenticator app");
    let pending = demo.tx(|e| e.begin_totp("alice", t, &mut rng))?;
    println!(
        "{}",
        pending
            .qr()
            .map(|q| q.terminal(false).expose().to_owned())
            .unwrap_or_default()
    );
    println!("   otpauth URI: {}", pending.uri.expose());
    let secret = parse_base32(pending.secret_base32.expose()).unwrap();
    let code_now = |at: UnixTime| totp(hotp::Algorithm::Sha1, &secret, at.0, 30, 6);
    let enrolled = demo.tx(|e| e.confirm_totp("alice", code_now(t).as_bytes(), t, &mut rng))?;
    println!("   confirmed with the app's current code; recovery codes (shown once):");
    for c in &enrolled.recovery_codes {
        println!("      {}", c.expose());
    }
    println!("   now: {:?}", demo.tx(|e| e.decide(&alice, &ssh, t))?);

    step("alice logs in with the next code, then someone replays it");
    let t1 = t.plus(Duration::from_secs(30));
    let code = code_now(t1);
    let first = demo.tx(|e| e.verify("alice", code.as_bytes(), &ssh, t1, &mut rng))?;
    println!("   code from the app: {first:?}");
    check(
        matches!(first, Verification::Accepted { .. }),
        "a fresh code is accepted",
    )?;
    let again = demo.tx(|e| e.verify("alice", code.as_bytes(), &ssh, t1, &mut rng))?;
    println!("   same code again:   {again:?}");
    check(
        matches!(again, Verification::Replayed { .. }),
        "a replayed code is refused",
    )?;

    step("alice uses a recovery code, twice");
    let rc = enrolled.recovery_codes[0].expose().to_lowercase();
    let first = demo.tx(|e| e.verify("alice", rc.as_bytes(), &ssh, t1, &mut rng))?;
    println!("   first use:  {first:?}");
    check(
        matches!(
            first,
            Verification::Accepted {
                factor: Factor::Recovery,
                ..
            }
        ),
        "a recovery code works",
    )?;
    let again = demo.tx(|e| e.verify("alice", rc.as_bytes(), &ssh, t1, &mut rng))?;
    println!("   second use: {again:?}");
    check(
        matches!(again, Verification::RecoveryCodeSpent { .. }),
        "a recovery code works only once, and a second use says it was spent",
    )?;

    step("alice adds SMS (weaker than an app: SIM swap) and logs in with it");
    let masked = demo.tx(|e| e.begin_sms("alice", "+44 7700 900123", t1, &mut rng))?;
    println!("   confirmation code sent to {masked} (see the outbox file)");
    let sms_code = demo.outbox.last_code();
    demo.tx(|e| e.confirm_sms("alice", sms_code.as_bytes(), t1, &mut rng))?;
    let t2 = t1.plus(Duration::from_secs(60));
    println!(
        "   typing `sms` at the prompt: {:?}",
        demo.tx(|e| e.verify("alice", b"sms", &ssh, t2, &mut rng))?
    );
    let sms_code = demo.outbox.last_code();
    let sms_login = demo.tx(|e| e.verify("alice", sms_code.as_bytes(), &ssh, t2, &mut rng))?;
    println!("   the texted code: {sms_login:?}");
    check(
        matches!(
            sms_login,
            Verification::Accepted {
                factor: Factor::Sms,
                ..
            }
        ),
        "the SMS code works",
    )?;
    let sudo = Context {
        action: Some("sudo".into()),
        ..ssh.clone()
    };
    println!(
        "   sudo step-up 2 minutes later: {:?}",
        demo.tx(|e| e.decide(&alice, &sudo, t2.plus(Duration::from_secs(120))))?
    );
    println!(
        "   sudo step-up 1 hour later:    {:?}",
        demo.tx(|e| e.decide(&alice, &sudo, t2.plus(Duration::from_secs(3600))))?
    );

    step("An attacker guesses codes");
    for guess in ["000000", "123456", "999999"] {
        println!(
            "   {guess}: {:?}",
            demo.tx(|e| e.verify("alice", guess.as_bytes(), &ssh, t2, &mut rng))?
        );
    }
    let t3 = t2.plus(Duration::from_secs(30));
    let locked = demo.tx(|e| e.verify("alice", code_now(t3).as_bytes(), &ssh, t3, &mut rng))?;
    println!("   even the right code now: {locked:?}");
    check(
        matches!(locked, Verification::Locked { .. }),
        "a lock holds against the right code",
    )?;
    let t4 = t3.plus(Duration::from_secs(601));
    let after = demo.tx(|e| e.verify("alice", code_now(t4).as_bytes(), &ssh, t4, &mut rng))?;
    println!("   after the lock ends:     {after:?}");
    check(
        matches!(after, Verification::Accepted { .. }),
        "the lock ends",
    )?;

    step("alice loses her phone: an admin resets her");
    demo.tx(|e| e.admin_reset("alice", "lost phone, identity checked in person", t4))?;
    let st = demo.tx(|e| e.status("alice", t4))?;
    println!(
        "   status: enrolled={} factors={:?} enroll_by={:?}",
        st.enrolled,
        st.factors,
        st.enroll_by.map(|t| t.to_string())
    );
    let next = demo.tx(|e| e.decide(&alice, &ssh, t4))?;
    println!("   next login: {next:?}");
    check(
        !st.enrolled && matches!(next, Decision::Grace { .. }),
        "a reset opens a fresh enrollment window",
    )?;

    step("What the outbox (SMS gateway and notices) received");
    for line in std::fs::read_to_string(dir.join("outbox.txt"))
        .unwrap_or_default()
        .lines()
    {
        println!("   {line}");
    }
    Ok(())
}
