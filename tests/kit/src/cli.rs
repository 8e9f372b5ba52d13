//! Running the `planasonix` CLI in tests: pointed at one simulated host's
//! files (never the machine's own `/etc/planasonix`), fed standard input,
//! and the tools a test relies on checked first. Shared by the CLI's tests
//! (`cli/tests/common`) and the PAM module's (`pam-module/tests/common`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The files of one simulated host that every `planasonix` run of a test
/// is pointed at.
#[derive(Debug, Clone, Copy)]
pub struct HostFiles<'a> {
    /// The policy (`--config`).
    pub policy: &'a Path,
    /// The seal key (`--key`).
    pub key: &'a Path,
    /// The sled database (`--db`).
    pub db: &'a Path,
    /// The store file (`--store`): absent means this host's sled, never the
    /// machine's `/etc/planasonix/store.toml`.
    pub store_file: &'a Path,
}

impl HostFiles<'_> {
    /// The global options pointing at these files.
    pub fn globals(&self) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            "--config".into(),
            path(self.policy),
            "--key".into(),
            path(self.key),
            "--db".into(),
            path(self.db),
            "--store".into(),
            path(self.store_file),
        ]
    }
}

/// Runs `cmd` with `stdin` as its standard input; its output.
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
