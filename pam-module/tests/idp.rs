//! The reference identity provider (`idp/`: oidc-provider on Node.js, the
//! component transpiled by jco, the store through `pg`) on the fleet's
//! PostgreSQL, beside a host whose logins go through real libpam. A real
//! OpenID client and Debian's Chromium (playwright-core) drive it through
//! `idp/test/browser.mjs` (the whole story, with screenshots) and
//! `idp/test/bad_input.mjs` (hostile input); a user enrolled in the browser
//! logs in over PAM, and a code used in one door is a replay in the other.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::fleet::*;
use crate::common::*;
use planasonix_core::SealKey;
use planasonix_testkit::component::{plugin_wasm, target_dir, workspace_root};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What the browser story needs of the policy: MFA for all (the provider's
/// administrators are its admins) with a grace period in which the sign-in
/// may enroll, SMS to +44 (sends allowed close together), five wrong codes
/// lock, and two step-up actions: one always stale, one never.
const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\nadmin_groups = [\"admins\"]\ngrace_period = \"7d\"\nenroll_at_login = true\n\
    [lockout]\nmax_failures = 5\n\
    [sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\nresend_interval = \"1s\"\nmax_sends_per_hour = 60\n\
    [step_up]\nexport-secrets = \"1s\"\nsudo = \"1h\"\n";

/// Every test user's password (at the provider; the hosts never see it).
const PASSWORD: &str = "correct horse battery staple";

/// The fleet's seal key, handed to the provider as the hosts have it.
const KEY: [u8; 32] = [9; 32];

fn idp_dir() -> PathBuf {
    workspace_root().join("idp")
}

fn node() -> Command {
    let mut cmd = Command::new("node");
    cmd.current_dir(idp_dir());
    cmd
}

fn require_idp_packages() {
    assert!(
        idp_dir().join("node_modules/.bin/jco").exists()
            && idp_dir().join("node_modules/playwright-core").is_dir(),
        "the provider's Node packages are missing: run scripts/setup.sh (npm ci in idp/)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: run scripts/setup.sh"
    );
}

/// The component, built as shipped, transpiled by `idp/build.sh` into
/// `idp/gen/` (where the provider's packages resolve), its imports the
/// provider's own.
fn transpile() -> PathBuf {
    static DONE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DONE.get_or_init(|| transpile_into(plugin_wasm(), "gen"))
        .clone()
}

/// `wasm` transpiled by `idp/build.sh` into `idp/OUT/`, its imports the
/// provider's own; the module to load.
fn transpile_into(wasm: &Path, out: &str) -> PathBuf {
    let status = Command::new(idp_dir().join("build.sh"))
        .arg(wasm)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "idp/build.sh {out} failed");
    idp_dir().join(out).join("plugin.js")
}

fn hash_password() -> String {
    let mut child = node()
        .args(["src/main.mjs", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The running provider; stopped on drop.
struct Idp {
    child: Child,
    url: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    fleet: Fleet,
    idp: Idp,
    /// The upstream provider of a federated sign-in, when started.
    upstream: Option<Idp>,
    dir: PathBuf,
    rp_port: u16,
}

/// Writes a provider's configuration into `dir` (which it creates, 0700):
/// `host:port` as its issuer, the fleet's policy, key and store, `users`
/// (each with the test password), `clients`, and `extra` keys.
fn configure(
    dir: &Path,
    site: &Site,
    host: &str,
    port: u16,
    users: &str,
    clients: &str,
    extra: &str,
) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hash = hash_password();
    write(
        &dir.join("users.toml"),
        &users.replace("HASH", &hash),
        0o600,
    );
    write(&dir.join("clients.toml"), clients, 0o644);
    write(
        &dir.join("idp.toml"),
        &format!(
            "issuer = \"http://{host}:{port}\"\nlisten = \"127.0.0.1:{port}\"\n\
             policy = \"{}\"\nseal_key = \"{}\"\nstore = \"{}\"\n\
             users = \"users.toml\"\nclients = \"clients.toml\"\nstate_dir = \"state\"\n\
             admin_groups = [\"admins\"]\ncomponent = \"{}\"\n{extra}",
            site.policy.display(),
            site.key.display(),
            site.store_file().display(),
            idp_dir().join("gen/plugin.js").display()
        ),
        0o644,
    );
}

/// Starts the provider configured in `dir`; returns once it listens.
fn start(dir: &Path, host: &str) -> Idp {
    let log = dir.join("idp.log");
    let mut child = node()
        .args(["src/main.mjs", "serve", "--config"])
        .arg(dir.join("idp.toml"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("listening on "),
        "the provider did not start: {first:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // "listening on http://127.0.0.1:PORT as ISSUER"
    let listening = first.split_whitespace().nth(2).unwrap();
    let port = listening.rsplit(':').next().unwrap().to_owned();
    Idp {
        child,
        url: format!("http://{host}:{port}"),
    }
}

const USERS: &str = "[[user]]\nname = \"ida\"\ndisplay_name = \"Ida Example\"\nemail = \"ida@example.com\"\ngroups = [\"staff\"]\npassword = \"HASH\"\n\n\
    [[user]]\nname = \"bob\"\ngroups = [\"staff\"]\npassword = \"HASH\"\n\n\
    [[user]]\nname = \"fay\"\ngroups = [\"staff\"]\npassword = \"HASH\"\n\n\
    [[user]]\nname = \"pat\"\ngroups = [\"staff\"]\npassword = \"HASH\"\n\n\
    [[user]]\nname = \"ada\"\ndisplay_name = \"Ada Admin\"\ngroups = [\"admins\"]\npassword = \"HASH\"\n";

/// A fleet (PostgreSQL and two hosts) and the provider on its store;
/// `federated`: also an upstream provider it signs people in through.
fn setup(name: &str, federated: bool) -> Setup {
    require_idp_packages();
    let text = SealKey::from_bytes(&KEY).unwrap().to_key_text();
    // The provider is at http://localhost:PORT, the one plain-HTTP origin
    // browsers let use passkeys (an RP ID cannot be an IP address); the
    // fleet's one policy names it.
    let port = free_port();
    let policy = format!(
        "{POLICY}[passkeys]\nenabled = true\npasswordless = true\nrp_id = \"localhost\"\norigins = [\"http://localhost:{port}\"]\n\
         [approval]\nenabled = true\nurl = \"http://localhost:{port}/approve\"\n"
    );
    let fleet = fleet_keyed(name, &policy, Some(text.expose()));
    transpile();
    for user in ["ida", "bob", "fay"] {
        accounts::ensure(user);
    }
    let dir = fleet.a.site.dir.join("idp");
    let outbox = dir.join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    write(
        &dir.join("sms"),
        &format!("#!/bin/sh\ncat > \"{}/$(date +%s%N)\"\n", outbox.display()),
        0o700,
    );
    let rp_port = free_port();
    let clients = format!("[[client]]\nclient_id = \"test-app\"\nclient_name = \"Test App\"\nredirect_uris = [\"http://127.0.0.1:{rp_port}/cb\"]\n");
    let mut extra = "sms_command = \"sms\"\n".to_owned();
    let upstream = federated.then(|| {
        // On `127.0.0.1`, so that the browser keeps the two providers' cookies apart.
        let up_port = free_port();
        let up = fleet.a.site.dir.join("upstream");
        configure(
            &up,
            &fleet.a.site,
            "127.0.0.1",
            up_port,
            USERS,
            &format!("[[client]]\nclient_id = \"downstream\"\nclient_name = \"The reference provider\"\nredirect_uris = [\"http://localhost:{port}/upstream/callback\"]\n"),
            "",
        );
        extra.push_str(&format!(
            "\n[upstream]\nname = \"Example SSO\"\nissuer = \"http://127.0.0.1:{up_port}\"\nclient_id = \"downstream\"\n"
        ));
        start(&up, "127.0.0.1")
    });
    configure(
        &dir,
        &fleet.a.site,
        "localhost",
        port,
        USERS,
        &clients,
        &extra,
    );
    let idp = start(&dir, "localhost");
    Setup {
        idp,
        upstream,
        fleet,
        dir,
        rp_port,
    }
}

/// coreutils' `stdbuf` library (Debian's path): preloaded with `_STDBUF_O=0`,
/// pamtester writes each message as it comes, not when it exits (its
/// standard output is a pipe), so a test can read a login's instructions
/// while the login waits.
const LIBSTDBUF: &str = "/usr/libexec/coreutils/libstdbuf.so";

/// A login command for the Node tests: pamtester on `site` (sshd), the
/// user as its argument, what to type on standard input, its output
/// unbuffered.
fn pam_login_script(site: &Site, dir: &Path) -> PathBuf {
    assert!(
        Path::new(LIBSTDBUF).exists(),
        "{LIBSTDBUF} is missing (coreutils)"
    );
    let path = dir.join("pam-login");
    write(
        &path,
        &format!(
            "#!/bin/sh\nexec env LD_PRELOAD='libpam_wrapper.so {LIBSTDBUF}' _STDBUF_O=0 PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR='{}' \
             pamtester -I rhost=192.0.2.10 sshd \"$1\" authenticate\n",
            site.confdir.display()
        ),
        0o700,
    );
    path
}

/// Runs `script` of idp/test with the provider's environment and `env`; its output.
fn run_node_test(s: &Setup, script: &str, env: &[(&str, String)]) -> String {
    // One folder per script (and phase), emptied first: only this run's pages.
    let phase = env
        .iter()
        .find(|(k, _)| *k == "PHASE")
        .map(|(_, v)| format!("-{v}"))
        .unwrap_or_default();
    let artifacts = target_dir()
        .join("planasonix-idp-artifacts")
        .join(format!("{}{phase}", script.trim_end_matches(".mjs")));
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = node()
        .arg(format!("test/{script}"))
        .env("IDP_URL", &s.idp.url)
        .env("RP_PORT", s.rp_port.to_string())
        .env("CLIENT_ID", "test-app")
        .env("ARTIFACTS", &artifacts)
        .env("PASSWORD", PASSWORD)
        .env("PAM_LOGIN", pam_login_script(&s.fleet.a.site, &s.dir))
        .env("STORE_FILE", s.fleet.a.site.store_file())
        .env("OUTBOX", s.dir.join("outbox"))
        .env(
            "UPSTREAM_URL",
            s.upstream
                .as_ref()
                .map(|u| u.url.clone())
                .unwrap_or_default(),
        )
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "idp/test/{script} failed (screenshots in {}):\n{text}",
        artifacts.display()
    );
    text
}

#[test]
fn the_reference_provider_signs_people_in_with_the_fleets_second_factor() {
    let s = setup("idp-web", false);
    let said = run_node_test(&s, "browser.mjs", &[]);
    assert!(said.contains("browser: passed"), "{said}");
    // A user enrolled through a host's CLI, for the code page's bad input.
    enroll(&s.fleet.a.site, "bob", &new_secret());
    let said = run_node_test(&s, "bad_input.mjs", &[]);
    assert!(said.contains("bad input: passed"), "{said}");
    let fay_secret = passkeys_at_the_provider_and_on_the_hosts(&s);
    logins_approved_at_the_provider(&s, &fay_secret);
    // The provider's events are in the fleet's one audit trail, read on a host.
    let out = s.fleet.b.site.cli(&["--json", "audit", "--user", "ida"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&ok(&out, "audit")).unwrap();
    let has = |event: &str| events.iter().any(|e| e["event"] == event);
    for event in [
        "enrolled",
        "verified",
        "replay",
        "recovery-code-used",
        "factor-removed",
        "unlocked",
        "reset",
    ] {
        assert!(
            has(event),
            "no {event} event of the provider in the fleet's trail: {events:?}"
        );
    }
    assert!(
        has("locked") || has("remote-locked"),
        "the lockout is not in the trail: {events:?}"
    );
    let still = std::process::Command::new("kill")
        .args(["-0", &s.idp.child.id().to_string()])
        .status()
        .unwrap();
    assert!(still.success(), "the provider stopped during the tests");
}

/// A passkey fay registers at the provider (in Chromium, with a virtual
/// authenticator) is listed by `planasonix status` on a host; removing it
/// there (refused while it is her last factor) takes it away at the provider.
/// Gives fay's app secret (enrolled on a host meanwhile).
fn passkeys_at_the_provider_and_on_the_hosts(s: &Setup) -> String {
    let said = run_node_test(s, "passkeys.mjs", &[("PHASE", "web".into())]);
    assert!(said.contains("passkeys: passed"), "{said}");
    let host = &s.fleet.b.site;
    let listed = ok(&host.cli(&["status", "--user", "fay"]), "status");
    assert!(
        listed.contains("passkey:           \"Work laptop\" (model "),
        "the host does not list fay's passkey:\n{listed}"
    );
    let refused = host.cli(&["admin", "remove-passkey", "fay", "Work laptop"]);
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("add another factor"),
        "the host removed fay's last factor: {refused:?}"
    );
    let secret = new_secret();
    enroll(&s.fleet.a.site, "fay", &secret);
    ok(
        &host.cli(&["admin", "remove-passkey", "fay", "Work laptop"]),
        "remove-passkey",
    );
    let events = ok(&host.cli(&["--json", "audit", "--user", "fay"]), "audit");
    for event in ["passkey-added", "passkey-renamed", "passkey-removed"] {
        assert!(
            events.contains(event),
            "no {event} in the fleet's trail: {events}"
        );
    }
    let fay_secret = planasonix_core::otpauth::secret_base32(&secret)
        .expose()
        .to_owned();
    let said = run_node_test(
        s,
        "passkeys.mjs",
        &[
            ("PHASE", "removed".into()),
            ("FAY_SECRET", fay_secret.clone()),
        ],
    );
    assert!(said.contains("passkeys: passed"), "{said}");
    fay_secret
}

/// SSH logins of fay on host A (pamtester, real libpam) approved, refused
/// and bypassed at the provider's approval page in Chromium; the fleet's
/// trail, read on host B, has each.
fn logins_approved_at_the_provider(s: &Setup, fay_secret: &str) {
    let said = run_node_test(s, "approve.mjs", &[("FAY_SECRET", fay_secret.to_owned())]);
    assert!(said.contains("approve: passed"), "{said}");
    let out = s.fleet.b.site.cli(&["--json", "audit", "--user", "fay"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&ok(&out, "audit")).unwrap();
    let count = |event: &str| events.iter().filter(|e| e["event"] == event).count();
    assert_eq!(count("approval-requested"), 4, "{events:?}");
    assert_eq!(count("approval-approved"), 1, "{events:?}");
    assert_eq!(count("approval-used"), 1, "{events:?}");
    assert_eq!(count("approval-denied"), 2, "{events:?}");
    assert_eq!(count("approval-voided"), 1, "{events:?}");
    let approved = events
        .iter()
        .find(|e| e["event"] == "approval-approved")
        .unwrap();
    assert_eq!(approved["service"], "sshd", "{approved}");
    assert_eq!(approved["remote"], "192.0.2.10", "{approved}");
    assert!(
        approved["amr"].as_str().unwrap().contains("otp"),
        "the approving sign-in's amr: {approved}"
    );
}

/// What the attack run needs: admins must use MFA (others may), nobody
/// enrolls without a second factor at the provider, five wrong codes from one
/// address lock it, step-up actions of an hour and of 20 seconds (one of
/// them the Security page's own), and passkeys that must verify the person.
const ATTACK_POLICY: &str =
    "[enforcement]\nmode = \"required-for-admins\"\nadmin_groups = [\"admins\"]\n\
    grace_period = \"7d\"\nenroll_at_login = false\n\
    [lockout]\nmax_failures = 5\n\
    [step_up]\nsudo = \"1h\"\nquick = \"20s\"\nmanage-mfa = \"20s\"\n\
    [passkeys]\nenabled = true\nrp_id = \"idp.test\"\norigins = [\"https://idp.test\"]\nuser_verification = \"required\"\n";

/// Everyone of the attack run (password-guessing targets, users with and
/// without a factor, an admin in grace).
const ATTACK_USERS: &[(&str, &str)] = &[
    ("gus", "staff"),
    ("gil", "staff"),
    ("gail", "staff"),
    ("gwen", "staff"),
    ("gina", "staff"),
    ("ada", "admins"),
    ("bob", "staff"),
    ("ben", "staff"),
    ("bea", "staff"),
    ("bud", "staff"),
];

/// A provider configuration in `dir` as an organisation runs it: an https
/// issuer behind a TLS-terminating proxy (the test plays the proxy), on the
/// fleet's policy, key and store.
fn configure_behind_proxy(dir: &Path, site: &Site, port: u16, clients: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hash = hash_password();
    let users: String = ATTACK_USERS
        .iter()
        .map(|(name, group)| {
            format!(
                "[[user]]\nname = \"{name}\"\ngroups = [\"{group}\"]\npassword = \"{hash}\"\n\n"
            )
        })
        .collect();
    write(&dir.join("users.toml"), &users, 0o600);
    write(&dir.join("clients.toml"), clients, 0o644);
    write(
        &dir.join("idp.toml"),
        &format!(
            "issuer = \"https://idp.test\"\nlisten = \"127.0.0.1:{port}\"\n\
             policy = \"{}\"\nseal_key = \"{}\"\nstore = \"{}\"\n\
             users = \"users.toml\"\nclients = \"clients.toml\"\nstate_dir = \"state\"\n\
             admin_groups = [\"admins\"]\ncomponent = \"{}\"\n",
            site.policy.display(),
            site.key.display(),
            site.store_file().display(),
            idp_dir().join("gen/plugin.js").display()
        ),
        0o644,
    );
}

/// A command for the Node tests: `body` with the user as `$1`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    write(&path, &format!("#!/bin/sh\n{body}\n"), 0o700);
    path
}

#[test]
fn the_reviewed_attacks_on_the_provider_are_stopped() {
    require_idp_packages();
    let text = SealKey::from_bytes(&KEY).unwrap().to_key_text();
    let fleet = fleet_keyed("idp-attacks", ATTACK_POLICY, Some(text.expose()));
    transpile();
    let a = &fleet.a.site;
    a.service("sudo", &["action=sudo"]);
    let mut secrets = serde_json::Map::new();
    let mut recovery = serde_json::Map::new();
    for user in ["bob", "ben", "bea", "bud"] {
        let secret = new_secret();
        let codes = enroll(a, user, &secret);
        secrets.insert(
            user.into(),
            planasonix_core::otpauth::secret_base32(&secret)
                .expose()
                .into(),
        );
        recovery.insert(user.into(), codes.into());
    }
    let redirect = "http://127.0.0.1:9/cb";
    let clients =
        format!("[[client]]\nclient_id = \"test-app\"\nredirect_uris = [\"{redirect}\"]\n");
    let dir = a.dir.join("idp");
    let (port, port2) = (free_port(), free_port());
    configure_behind_proxy(&dir, a, port, &clients);
    let idp = start(&dir, "127.0.0.1");
    // A second process on the same store, as behind a load balancer.
    let dir2 = a.dir.join("idp2");
    configure_behind_proxy(&dir2, a, port2, &clients);
    let idp2 = start(&dir2, "127.0.0.1");
    let sudo = script(
        &dir,
        "pam-sudo",
        &format!(
            "exec env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR='{}' \
             pamtester sudo \"$1\" authenticate",
            a.confdir.display()
        ),
    );
    let reset = script(
        &dir,
        "admin-reset",
        &format!(
            "exec '{}' --config '{}' --db '{}' --key '{}' --store '{}' admin reset \"$1\" --reason 'attack test' >/dev/null",
            crate::common::cli_bin().display(),
            fleet.b.site.policy.display(),
            fleet.b.site.db.display(),
            fleet.b.site.key.display(),
            fleet.b.site.store_file().display()
        ),
    );
    let out = node()
        .arg("test/attacks.mjs")
        .env("IDP_URL", &idp.url)
        .env("SECOND_IDP_URL", &idp2.url)
        .env("CLIENT_ID", "test-app")
        .env("REDIRECT_URI", redirect)
        .env("PASSWORD", PASSWORD)
        .env("PAM_LOGIN", pam_login_script(a, &dir))
        .env("PAM_SUDO", sudo)
        .env("ADMIN_RESET", reset)
        .env("STORE_FILE", a.store_file())
        .env("SECRETS", serde_json::Value::Object(secrets).to_string())
        .env("RECOVERY", serde_json::Value::Object(recovery).to_string())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.contains("attacks: passed"),
        "idp/test/attacks.mjs:\n{said}\nprovider log:\n{}",
        std::fs::read_to_string(dir.join("idp.log")).unwrap_or_default()
    );

    // An administrator of the provider who is no admin of the policy (whom
    // required-for-admins would not ask for a second factor): refused at start.
    let toml = dir.join("idp.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let other = text
        .replace(
            "admin_groups = [\"admins\"]",
            "admin_groups = [\"mfa-admins\"]",
        )
        .replace(
            &format!("127.0.0.1:{port}"),
            &format!("127.0.0.1:{}", free_port()),
        );
    assert_ne!(text, other);
    write(&toml, &other, 0o644);
    let mut child = node()
        .args(["src/main.mjs", "serve", "--config"])
        .arg(&toml)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("a provider whose admins are not the policy's started and kept serving");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert_eq!(
        status.code(),
        Some(2),
        "a provider whose admins are not the policy's did not stop as a configuration error:\n{said}"
    );
    assert!(
        said.contains("admin_groups = [\"mfa-admins\"] is not the policy's [enforcement] admin_groups = [\"admins\"]"),
        "{said}"
    );
}

#[test]
fn a_federated_sign_in_counts_the_upstreams_amr_as_the_policy_says() {
    let s = setup("idp-fed", true);
    let secret = new_secret();
    let recovery = enroll(&s.fleet.a.site, "fay", &secret);
    let said = run_node_test(
        &s,
        "federation.mjs",
        &[
            (
                "FAY_SECRET",
                planasonix_core::otpauth::secret_base32(&secret)
                    .expose()
                    .to_owned(),
            ),
            ("FAY_RECOVERY", recovery[0].clone()),
        ],
    );
    assert!(said.contains("federation: passed"), "{said}");
}

/// The store contract the hosts' stores pass, natively and through wasmtime
/// (core's `testing::store_contract`), holds for the provider's own store
/// code: the component's conformance build, transpiled as the shipped one is
/// (its `store` import bound to `idp/src/mfa/bridge.mjs`), runs it from
/// inside through `bridge.mjs` and `db.mjs` on a freshly migrated fleet
/// database.
#[test]
fn the_store_contract_holds_for_the_providers_bridge_and_database() {
    require_idp_packages();
    let pg = planasonix_testkit::postgres::Postgres::start(planasonix_testkit::postgres::Tls::On);
    let site = Site::new("contract", POLICY);
    join(&site, &pg, &site.key.clone());
    ok(&site.cli(&["store", "migrate"]), "store migrate");
    transpile_into(
        planasonix_testkit::component::conformance_wasm(),
        "gen-conformance",
    );
    let out = node()
        .arg("test/store_contract.mjs")
        .arg(site.store_file())
        .arg(&site.key)
        .output()
        .unwrap();
    let said = ok(&out, "idp/test/store_contract.mjs");
    assert!(said.contains("the store contract holds"), "{said}");
}
