//! End to end through OpenSSH: a private sshd on a loopback port with our
//! module in its PAM stack (through pam_wrapper, so nothing in /etc changes),
//! driven by `ssh` under `expect` answering the keyboard-interactive prompts.
//!
//! Needs root (sshd changes user for the session), `/usr/sbin/sshd`, `ssh`,
//! `expect`, `oathtool` and libpam-wrapper; a missing piece fails the test
//! with a message saying which.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
const PAM_PERMIT: &str = "/lib/x86_64-linux-gnu/security/pam_permit.so";

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is required for the sshd test (apt install {package})"
    );
}

fn require_tools() {
    require(SSHD, "openssh-server");
    require("/usr/bin/ssh", "openssh-client");
    require("/usr/bin/expect", "expect");
    require(PAM_PERMIT, "libpam-modules");
    // The effective user, from /proc (no libc call needed).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_owned();
    assert!(
        uid.split_whitespace().nth(2) == Some("0"),
        "the sshd end-to-end test must run as root (sshd switches to the user): {uid}"
    );
    // sshd's privilege-separation directory.
    std::fs::create_dir_all("/run/sshd").unwrap();
}

/// A private sshd serving `site`'s PAM stack on a free loopback port.
struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sshd {
    fn start(site: &Site) -> Sshd {
        require_tools();
        let dir = site.dir.join("sshd");
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("host_key");
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(&key)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh-keygen failed");
        // sshd names its PAM service after the program it runs as.
        let program = dir.join("sshd-planasonix");
        std::os::unix::fs::symlink(SSHD, &program).unwrap();
        let so = module_so().display().to_string();
        let args = site.args(&[]).join(" ");
        std::fs::write(
            site.confdir.join("sshd-planasonix"),
            format!("auth required {so} {args}\naccount required {so} {args}\nsession required {PAM_PERMIT}\n"),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nUsePAM yes\n\
                 KbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication no\n\
                 AuthenticationMethods keyboard-interactive\nPermitRootLogin yes\nStrictModes no\n",
                key.display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let mut cmd = Command::new(&program);
        cmd.args(["-D", "-e", "-f"]).arg(&config);
        // sshd calls pam_start per connection, not at start, so it is not
        // started through pam_wrapper::spawn; its logins here run one at a time.
        let child = pam_wrapper::wrap(&mut cmd, &site.confdir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let sshd = Sshd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// Runs `expect` with `script`, logging in as `user` to run `echo`; returns
    /// (exit status, output).
    fn login(&self, script: &str, user: &str, extra: &[&str]) -> (i32, String) {
        let path = self.dir.join("login.exp");
        std::fs::write(&path, script).unwrap();
        let out = Command::new("expect")
            .arg(&path)
            .arg(self.port.to_string())
            .arg(user)
            .args(extra)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SSH: &str =
    "spawn ssh -p [lindex $argv 0] -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
-o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 \
[lindex $argv 1]@127.0.0.1 echo hello-from-sshd\n";

/// Answers every `Verification code:` prompt with the third argument.
fn code_script() -> String {
    format!(
        "set timeout 30\n{SSH}expect {{\n\
         -re \"Verification code: \" {{ send \"[lindex $argv 2]\\r\"; exp_continue }}\n\
         \"hello-from-sshd\" {{ expect eof; exit 0 }}\n\
         \"Permission denied\" {{ exit 1 }}\n\
         timeout {{ exit 2 }}\n\
         eof {{ exit 3 }}\n}}\n"
    )
}

/// Enrolls during grace: reads the key shown, answers with oathtool codes.
fn enroll_script() -> String {
    format!(
        "set timeout 60\n{SSH}expect {{\n\
         -re \"Set up an authenticator app now\\\\? \\\\\\[y/N\\\\\\]: \" {{ send \"y\\r\"; exp_continue }}\n\
         -re \"by hand: (\\[A-Z2-7\\]+) \" {{ set key $expect_out(1,string); exp_continue }}\n\
         -re \"Code shown by the app: \" {{ send \"[exec oathtool --totp -b $key]\\r\"; exp_continue }}\n\
         -re \"Next code shown by the app: \" {{ send \"[exec oathtool --totp -b -N @[expr [clock seconds] + 30] $key]\\r\"; exp_continue }}\n\
         \"hello-from-sshd\" {{ expect eof; exit 0 }}\n\
         \"Permission denied\" {{ exit 1 }}\n\
         timeout {{ exit 2 }}\n\
         eof {{ exit 3 }}\n}}\n"
    )
}

#[test]
fn ssh_login_with_codes() {
    let site = Site::new("sshd-codes", "[enforcement]\nmode = \"required-for-all\"\n");
    let secret = new_secret();
    let recovery = site.provision("root", &secret);
    let sshd = Sshd::start(&site);

    let (rc, out) = sshd.login(&code_script(), "root", &[&oathtool(&secret)]);
    assert_eq!(
        rc,
        0,
        "valid code refused:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    assert!(out.contains("hello-from-sshd"));

    let wrong = if oathtool(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (rc, out) = sshd.login(&code_script(), "root", &[wrong]);
    assert_eq!(
        rc,
        1,
        "wrong code not refused:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    assert!(out.contains("Wrong code"), "{out}");

    let (rc, out) = sshd.login(&code_script(), "root", &[&recovery[0]]);
    assert_eq!(
        rc,
        0,
        "recovery code refused:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    assert!(out.contains("Recovery code accepted"), "{out}");
    let (rc, out) = sshd.login(&code_script(), "root", &[&recovery[0]]);
    assert_eq!(rc, 1, "recovery code worked twice:\n{out}");
    // sshd -e sends its own and its children's stderr to this log: the module
    // must have written nothing there.
    let log = sshd.log();
    assert!(
        !log.contains("panicked") && !log.contains("planasonix"),
        "{log}"
    );
    assert!(
        log.contains("Accepted keyboard-interactive/pam for root"),
        "{log}"
    );
}

#[test]
fn ssh_login_through_the_state_service() {
    let site = Site::new(
        "sshd-service",
        "[enforcement]\nmode = \"required-for-all\"\n",
    );
    let secret = new_secret();
    let recovery = site.provision("root", &secret);
    let _service = site.serve();
    let sshd = Sshd::start(&site);

    let (rc, out) = sshd.login(&code_script(), "root", &[&oathtool(&secret)]);
    assert_eq!(
        rc,
        0,
        "valid code refused:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    let (rc, out) = sshd.login(&code_script(), "root", &[&recovery[0]]);
    assert_eq!(
        rc,
        0,
        "recovery code refused:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    let (rc, out) = sshd.login(&code_script(), "root", &[&recovery[0]]);
    assert_eq!(rc, 1, "recovery code worked twice:\n{out}");
    // The service kept the database the whole time: sshd's logins went through it.
    assert_eq!(
        planasonix_native::SledStore::open(&site.db).unwrap_err(),
        planasonix_core::StoreError::Busy
    );
}

#[test]
fn ssh_enrollment_during_grace() {
    let site = Site::new(
        "sshd-enroll",
        "[enforcement]\nmode = \"required-for-all\"\nenroll_at_login = true\n",
    );
    let sshd = Sshd::start(&site);
    let (rc, out) = sshd.login(&enroll_script(), "root", &[]);
    assert_eq!(
        rc,
        0,
        "in-band enrollment failed:\n{out}\n--- sshd ---\n{}",
        sshd.log()
    );
    assert!(out.contains("recovery codes"), "{out}");
    // Enrolled now: a code is required.
    let (rc, out) = sshd.login(&code_script(), "root", &["000000"]);
    assert!(out.contains("Verification code: "), "{out}");
    assert_ne!(rc, 2, "{out}");
}
