//! The CLI holds secrets in memory (seal key, TOTP secrets, recovery codes)
//! while it waits for a person: it marks itself non-dumpable, so no core dump
//! is written and processes of the same user cannot read its memory or
//! environment through /proc or ptrace (security issue 15, item 7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const USER: &str = "alice";

/// `cmd…` run as `USER`, with no other groups.
fn as_user(cmd: &[&str]) -> Command {
    require_tool("setpriv", "util-linux");
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={USER}"),
        &format!("--regid={USER}"),
        "--clear-groups",
    ])
    .args(cmd);
    c
}

/// Whether `USER` may open `/proc/<pid>/environ`.
fn user_reads_environ_of(pid: u32) -> bool {
    as_user(&["head", "-c", "1", &format!("/proc/{pid}/environ")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn owner_of_proc(pid: u32) -> u32 {
    std::fs::metadata(format!("/proc/{pid}/environ"))
        .unwrap()
        .uid()
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid);
        }
    }
}

fn finish(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_cli_waiting_for_a_code_cannot_be_read_by_its_own_user() {
    assert_eq!(euid(), 0, "this test runs the CLI as {USER}; it needs root");
    let host = Layout::init("dumpable");
    let uid = accounts::uid_of(USER).unwrap();
    // Alice's own host: her key and database, root's policy.
    chown_tree(&host.root.join("var"), uid);
    chown_tree(&host.key(), uid);
    let bin = host.root.join("planasonix");
    std::fs::copy(BIN, &bin).unwrap();

    // The check can tell: an ordinary process of alice's is readable by her.
    let mut control = as_user(&["sleep", "30"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let control_readable = user_reads_environ_of(control.id());
    let control_owner = owner_of_proc(control.id());
    let _ = control.kill();
    let _ = control.wait();
    assert!(
        control_readable,
        "alice cannot read her own sleep's environ"
    );
    assert_eq!(control_owner, uid);

    let globals = host.globals();
    let mut args: Vec<&str> = vec![bin.to_str().unwrap()];
    args.extend(globals.iter().map(String::as_str));
    args.extend(["enroll", "totp", "--user", USER]);
    let mut child = as_user(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // setpriv execs the CLI: same pid. Wait until it shows the secret and
    // waits for the confirmation code.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let stdin = child.stdin.take();
            drop(stdin);
            let out = child.wait_with_output().unwrap();
            panic!("no URI line; stdout: {seen}; stderr: {}", text(&out.stderr));
        }
        seen.push_str(&line);
        if line.starts_with("URI: ") {
            break;
        }
    }
    let pid = child.id();
    let readable = user_reads_environ_of(pid);
    let owner = owner_of_proc(pid);
    finish(child);
    assert!(
        !readable,
        "alice read the environment of the CLI holding her new secret"
    );
    assert_eq!(owner, 0, "/proc/{pid} belongs to uid {owner}: dumpable");
}
