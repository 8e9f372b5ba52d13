//! Helpers shared by the CLI tests: a throwaway host layout and the binary.
#![allow(dead_code)] // Each test file uses a different subset.

use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use planasonix_testkit::accounts;
pub use planasonix_testkit::cli::{require_tool, run_with_stdin, HostFiles};

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
        let (config, key, db) = (self.config(), self.key(), self.db());
        let store_file = self.root.join("etc/store.toml");
        HostFiles {
            policy: &config,
            key: &key,
            db: &db,
            store_file: &store_file,
        }
        .globals()
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
