//! Test sites: a private policy, seal key, database and PAM service directory,
//! the real module built by cargo, and codes from `oathtool`.
#![allow(dead_code)]

pub use planasonix_testkit::accounts;
use planasonix_testkit::TempDir;
pub mod fleet;
pub mod libpam;
pub mod pam_wrapper;

use libpam::{Responder, Shown, Transaction};
use planasonix_core::otpauth::secret_base32;
use planasonix_core::{Engine, Policy, SealKey, SecretBytes, UnixTime};
use planasonix_native::{now, transaction, OsRandom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Runs `cargo build ARGS --quiet` for this workspace's current profile and
/// returns `artifact` (a path below the profile directory, e.g.
/// `examples/fleet_idp`), which must exist afterwards. `what` names it in
/// failures.
pub fn cargo_build(what: &str, args: &[&str], artifact: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .arg("build")
        .args(args)
        .arg("--quiet")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} to build {what}: {e}"));
    assert!(
        out.status.success(),
        "building {what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // target/debug/deps/<test binary> -> target/debug/<artifact>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(artifact);
    assert!(path.is_file(), "{} missing after the build", path.display());
    path
}

/// Builds the module once per test run (cargo test does not rebuild a cdylib)
/// and returns the path of the `.so`.
pub fn module_so() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        cargo_build(
            "the module",
            &["-p", "pam_planasonix", "--lib"],
            "libpam_planasonix.so",
        )
    })
}

/// Builds the `planasonix` CLI once per test run and returns its path.
pub fn cli_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        cargo_build(
            "the CLI",
            &["-p", "planasonix", "--bin", "planasonix"],
            "planasonix",
        )
    })
}

/// A fresh TOTP secret of 20 bytes, from the OS.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    planasonix_core::Random::fill(&mut OsRandom::new(), &mut s).unwrap();
    s
}

/// The TOTP code `oathtool` computes for `secret` at `at` (an oathtool -N time).
pub fn oathtool_at(secret: &[u8], at: &str) -> String {
    let b32 = secret_base32(secret);
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-N", at, b32.expose()])
        .output()
        .unwrap_or_else(|e| {
            panic!("oathtool is required for these tests (apt install oathtool): {e}")
        });
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 6, "oathtool printed {code:?}");
    code
}

/// The code for now.
pub fn oathtool(secret: &[u8]) -> String {
    oathtool_at(secret, &format!("@{}", now().0))
}

/// A private deployment: policy, key, database, PAM service files.
pub struct Site {
    pub dir: PathBuf,
    pub policy: PathBuf,
    pub key: PathBuf,
    pub db: PathBuf,
    pub confdir: PathBuf,
    /// Removes `dir` on drop (kept when the test failed).
    _scratch: TempDir,
}

impl Site {
    pub fn new(name: &str, policy: &str) -> Site {
        let scratch = TempDir::new(&format!("pam-it-{name}"));
        let dir = scratch.path().to_owned();
        std::fs::create_dir_all(dir.join("pam.d")).unwrap();
        let site = Site {
            policy: dir.join("policy.toml"),
            key: dir.join("seal.key"),
            db: dir.join("db"),
            confdir: dir.join("pam.d"),
            dir,
            _scratch: scratch,
        };
        std::fs::write(&site.policy, policy).unwrap();
        let key = SealKey::generate(&mut OsRandom::new()).unwrap();
        std::fs::write(&site.key, key.to_key_text().expose()).unwrap();
        std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o600)).unwrap();
        site
    }

    /// The module arguments pointing at this site; `extra` adds or replaces.
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            format!("config={}", self.policy.display()),
            format!("db={}", self.db.display()),
            format!("key={}", self.key.display()),
            // Never the host's /etc/planasonix/store.toml; absent = sled.
            format!("store={}", self.store_file().display()),
        ];
        for e in extra {
            let name = e.split('=').next().unwrap_or_default();
            args.retain(|a| a.split('=').next() != Some(name));
            args.push(e.to_string());
        }
        args
    }

    /// Writes service `name`: our module for auth and account, with `extra` args.
    pub fn service(&self, name: &str, extra: &[&str]) {
        let so = module_so().display().to_string();
        let args = self.args(extra).join(" ");
        std::fs::write(
            self.confdir.join(name),
            format!("auth required {so} {args}\naccount required {so} {args}\n"),
        )
        .unwrap();
    }

    /// Enrolls `user` with `secret` at `at`; returns the recovery codes.
    pub fn provision_at(&self, user: &str, secret: &[u8], at: UnixTime) -> Vec<String> {
        accounts::ensure(user);
        let policy = Policy::from_toml(&std::fs::read_to_string(&self.policy).unwrap()).unwrap();
        let key = planasonix_native::load_key_file(&self.key).unwrap();
        transaction(&self.db, Duration::from_secs(30), |store| {
            let engine = Engine::new(&policy, &key, store);
            let params = engine.totp_params();
            engine
                .provision_totp(
                    user,
                    &SecretBytes::new(secret.to_vec()),
                    params,
                    at,
                    &mut OsRandom::new(),
                )
                .map(|e| {
                    e.recovery_codes
                        .iter()
                        .map(|c| c.expose().to_owned())
                        .collect()
                })
        })
        .unwrap()
    }

    pub fn provision(&self, user: &str, secret: &[u8]) -> Vec<String> {
        self.provision_at(user, secret, now())
    }

    /// Enrolls `number` for `user`'s SMS codes through the core, with a
    /// channel that keeps the confirmation code (nothing is sent).
    pub fn enroll_sms(&self, user: &str, number: &str) {
        struct Keep(std::sync::Mutex<String>);
        impl planasonix_core::Delivery for Keep {
            fn send_sms(
                &self,
                _: &planasonix_core::phone::PhoneNumber,
                text: &str,
            ) -> Result<(), planasonix_core::DeliveryError> {
                *self.0.lock().unwrap() = text.to_owned();
                Ok(())
            }
            fn send_notice(
                &self,
                _: &planasonix_core::Notice,
            ) -> Result<(), planasonix_core::DeliveryError> {
                Ok(())
            }
        }
        accounts::ensure(user);
        let policy = Policy::from_toml(&std::fs::read_to_string(&self.policy).unwrap()).unwrap();
        let key = planasonix_native::load_key_file(&self.key).unwrap();
        let keep = Keep(std::sync::Mutex::new(String::new()));
        transaction(&self.db, Duration::from_secs(30), |store| {
            let engine = Engine::new(&policy, &key, store).with_delivery(&keep);
            engine.begin_sms(user, number, now(), &mut OsRandom::new())?;
            let code = sms_code(&keep.0.lock().unwrap());
            engine.confirm_sms(user, code.as_bytes(), now(), &mut OsRandom::new())
        })
        .unwrap();
    }

    /// This site's store file (absent: its sled database).
    pub fn store_file(&self) -> PathBuf {
        self.dir.join("store.toml")
    }

    /// The `planasonix` CLI pointed at this site, with `args`.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_command(args).output().unwrap()
    }

    /// [`Site::cli`], not yet run.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let store_file = self.store_file();
        let files = planasonix_testkit::cli::HostFiles {
            policy: &self.policy,
            key: &self.key,
            db: &self.db,
            store_file: &store_file,
        };
        let mut cmd = Command::new(cli_bin());
        cmd.args(files.globals()).args(args);
        cmd
    }

    /// Starts `planasonix serve` on this site's database and waits until it
    /// listens; it is killed when the returned guard drops.
    pub fn serve(&self) -> Serving {
        use std::io::BufRead;
        let mut child = Command::new(cli_bin())
            .arg("--db")
            .arg(&self.db)
            // The key's check value beside it, never /etc's.
            .arg("--key")
            .arg(&self.key)
            .arg("--store")
            .arg(self.store_file())
            .arg("serve")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.starts_with("serving "),
            "planasonix serve said {first:?}"
        );
        Serving(child)
    }

    /// A transaction for `service` and `user` from remote host 192.0.2.10.
    pub fn start(&self, service: &str, user: &str, responder: Responder) -> Transaction {
        accounts::ensure(user);
        self.start_unknown(service, user, responder)
    }

    /// Like [`Site::start`], for a name that must not be an account.
    pub fn start_unknown(&self, service: &str, user: &str, responder: Responder) -> Transaction {
        let mut tx = Transaction::start(&self.confdir, service, user, responder);
        tx.set_rhost("192.0.2.10");
        tx
    }
}

/// The code in an SMS text (the policy's template: "... code: 123456 ...").
pub fn sms_code(text: &str) -> String {
    text.split("code: ").nth(1).unwrap()[..6].to_owned()
}

/// A running `planasonix serve`; killed (SIGKILL, like a crash) on drop.
pub struct Serving(pub std::process::Child);

impl Serving {
    /// Kills it as a crash would, leaving its socket behind.
    pub fn crash(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Answers prompts with `answers` in order; more prompts than answers fail the
/// conversation. Use [`assert_all_answered`] style checks via the transcript.
pub fn answers(answers: &[&str]) -> Responder {
    let mut queue: std::collections::VecDeque<String> =
        answers.iter().map(|s| s.to_string()).collect();
    Box::new(move |_| queue.pop_front())
}

/// No prompt may happen.
pub fn no_prompts() -> Responder {
    Box::new(|shown| panic!("unexpected prompt: {shown:?}"))
}

/// Prompts shown, in order.
pub fn prompts(shown: &[Shown]) -> Vec<String> {
    shown
        .iter()
        .filter_map(|s| match s {
            Shown::Secret(t) | Shown::Visible(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// All text shown, one line per message.
pub fn transcript(shown: &[Shown]) -> String {
    shown
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs pamtester in a private mount namespace with a tmpfs over `/dev`
/// holding the few nodes pamtester needs and, if given, `log_socket` as
/// `/dev/log`; the host's `/dev` is untouched. Returns (success, output).
pub fn pamtester_in_namespace(
    site: &Site,
    service: &str,
    user: &str,
    input: &str,
    log_socket: Option<&Path>,
) -> (bool, String) {
    pamtester_in_namespace_from(site, service, user, "192.0.2.10", input, log_socket)
}

/// [`pamtester_in_namespace`] with `rhost` as PAM_RHOST (any bytes but NUL:
/// it reaches pamtester through the environment, never through the shell).
pub fn pamtester_in_namespace_from(
    site: &Site,
    service: &str,
    user: &str,
    rhost: &str,
    input: &str,
    log_socket: Option<&Path>,
) -> (bool, String) {
    accounts::ensure(user);
    let old = site.dir.join("olddev");
    std::fs::create_dir_all(&old).unwrap();
    let dev_log = log_socket.map_or_else(String::new, |socket| {
        format!(
            "touch /dev/log; mount --bind {} /dev/log\n",
            socket.display()
        )
    });
    let script = format!(
        "set -e\nmount --bind /dev {old}\nmount -t tmpfs -o size=1m tmpfs /dev\n\
         for n in null zero urandom random full; do touch /dev/$n; mount --bind {old}/$n /dev/$n; done\n\
         {dev_log}\
         exec pamtester -I \"rhost=$PLANASONIX_TEST_RHOST\" {service} {user} authenticate\n",
        old = old.display(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("PLANASONIX_TEST_RHOST", rhost);
    pam_wrapper::wrap(&mut cmd, &site.confdir);
    run_wrapped(
        &mut cmd,
        input,
        "unshare (util-linux) and root are required",
    )
}

/// Runs `cmd`, set up with [`pam_wrapper::wrap`], with `input` on standard
/// input; returns (success, stdout and stderr). `needs` says what to install
/// when it cannot start.
pub fn run_wrapped(cmd: &mut Command, input: &str, needs: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = pam_wrapper::spawn(
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
    .unwrap_or_else(|e| panic!("{needs}: {e}"));
    // A login the module refuses before its first prompt (a locked-out user,
    // say) ends without reading its input: the pipe is then broken, and what
    // the child printed says why.
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            panic!("writing the login's input: {e}")
        }
        _ => {}
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs pamtester in a private mount namespace whose `/dev/log` is a socket
/// this test reads, and returns the syslog datagrams the module sent.
pub fn pamtester_syslog(
    site: &Site,
    service: &str,
    user: &str,
    input: &str,
) -> (bool, Vec<String>) {
    pamtester_syslog_from(site, service, user, "192.0.2.10", input)
}

/// [`pamtester_syslog`] with `rhost` as PAM_RHOST.
pub fn pamtester_syslog_from(
    site: &Site,
    service: &str,
    user: &str,
    rhost: &str,
    input: &str,
) -> (bool, Vec<String>) {
    use std::os::unix::net::UnixDatagram;
    let socket = site.dir.join("log");
    let _ = std::fs::remove_file(&socket);
    let listener = UnixDatagram::bind(&socket).unwrap();
    listener
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let (ok, text) = pamtester_in_namespace_from(site, service, user, rhost, input, Some(&socket));
    let mut lines = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = listener.recv(&mut buf) {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        !lines.is_empty(),
        "no syslog lines received; pamtester said:\n{text}"
    );
    (ok, lines)
}
