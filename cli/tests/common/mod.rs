//! Helpers shared by the CLI tests: a throwaway host layout and the binary.
#![allow(dead_code)] // Each test file uses a different subset.

use planasonix_testkit::TempDir;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use planasonix_testkit::accounts;

pub const BIN: &str = env!("CARGO_BIN_EXE_planasonix");

/// The accounts the CLI tests name: the CLI resolves `--user` through NSS.
pub const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank",
];

/// A temporary `/etc/planasonix` + `/var/lib/planasonix` stand-in, removed
/// when dropped (with its [`TempDir`]).
pub struct Layout {
    pub root: PathBuf,
    _dir: TempDir,
}

impl Layout {
    /// An empty layout (nothing created yet).
    pub fn empty(name: &str) -> Layout {
        accounts::ensure_all(USERS);
        let dir = TempDir::new(&format!("cli-{name}"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Layout {
            root: dir.path().to_owned(),
            _dir: dir,
        }
    }

    /// A layout after a successful `planasonix init`.
    pub fn init(name: &str) -> Layout {
        let host = Layout::empty(name);
        let out = host.run(&["init"], "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "init failed: {}",
            text(&out.stderr)
        );
        host
    }

    /// A layout after `init`, with `policy` as the policy file.
    pub fn with_policy(name: &str, policy: &str) -> Layout {
        let host = Layout::init(name);
        std::fs::write(host.config(), policy).unwrap();
        host
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("etc/policy.toml")
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("etc/seal.key")
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("var/db")
    }

    /// The global options pointing into this layout.
    pub fn globals(&self) -> Vec<String> {
        vec![
            "--config".into(),
            self.config().display().to_string(),
            "--key".into(),
            self.key().display().to_string(),
            "--db".into(),
            self.db().display().to_string(),
            // Never the machine's /etc/planasonix/store.toml (absent = sled).
            "--store".into(),
            self.root.join("etc/store.toml").display().to_string(),
        ]
    }

    /// `planasonix GLOBALS args…` with `stdin` as standard input.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(self.globals()).args(args);
        cmd.env_remove("PLANASONIX_SMS_COMMAND")
            .env_remove("PLANASONIX_NOTICE_COMMAND");
        cmd
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with_stdin(&mut self.command(args), stdin)
    }
}

pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the documented failure shape: `code`, nothing on stdout that
/// looks like success, and exactly one line on stderr, which is returned.
pub fn fails_with(out: &Output, code: i32) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}; stderr: {err}; stdout: {}",
        text(&out.stdout)
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {err:?}");
    assert!(lines[0].starts_with("planasonix: "), "{err}");
    lines[0].to_owned()
}

/// Fails clearly when a tool the test relies on is absent.
pub fn require_tool(name: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `{name}`: install the Debian package `{package}`"
    );
}

/// The current TOTP code for a base32 secret, from `oathtool`.
pub fn oathtool(secret: &str) -> String {
    require_tool("oathtool", "oathtool");
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_owned()
}

/// The `secret` parameter of an otpauth URI.
pub fn uri_secret(uri: &str) -> String {
    let query = uri.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap()
        .to_owned()
}

/// Recovery codes as printed (`XXXXX-XXXXX` on their own line).
pub fn recovery_codes(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.len() == 11
                && l.as_bytes()[5] == b'-'
                && l.chars()
                    .filter(|c| *c != '-')
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The effective user id (from /proc, no libc needed).
pub fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

/// Checks `input` at a login prompt with the core engine on the database the
/// CLI wrote (an independent reader of the CLI's work).
pub fn verify(host: &Layout, user: &str, input: &str) -> planasonix_core::Verification {
    use planasonix_native::{load_key_file, now, OsRandom, SledStore};
    let policy =
        planasonix_core::Policy::from_toml(&std::fs::read_to_string(host.config()).unwrap())
            .unwrap();
    let key = load_key_file(&host.key()).unwrap();
    // sled releases its lock a little after the last handle drops.
    let store = SledStore::open_waiting(&host.db(), std::time::Duration::from_secs(10)).unwrap();
    let engine = planasonix_core::Engine::new(&policy, &key, &store);
    let ctx = planasonix_core::Context {
        service: "cli-test".into(),
        ..Default::default()
    };
    let result = engine
        .verify(user, input.as_bytes(), &ctx, now(), &mut OsRandom::new())
        .unwrap();
    store.flush().unwrap();
    result
}
