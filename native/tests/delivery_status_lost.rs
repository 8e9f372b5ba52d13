//! A host that ignores SIGCHLD (some daemons do) has its children reaped by
//! the kernel: their exit status is lost, and waiting for them fails with
//! ECHILD. The delivery runner must then say so, not call it a timeout and
//! SIGKILL the pid, which may by then belong to another process. Its own
//! test binary: the signal disposition is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, unsafe_code)]

use planasonix_core::{Message, Notice, NoticeKind, UnixTime};
use planasonix_native::delivery::{Commands, DeliveryFailure, Sender};
use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn a_lost_exit_status_is_reported_as_lost_and_nothing_is_killed() {
    // SAFETY: SIG_IGN for SIGCHLD installs no handler code; this test binary
    // has no other test that waits for children differently.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGCHLD,
            nix::sys::signal::SigHandler::SigIgn,
        )
    }
    .unwrap();
    let dir = TempDir::new("delivery-lost");
    let program = dir.join("notice");
    std::fs::write(&program, "#!/bin/sh\ncat >/dev/null\nexit 0\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o700)).unwrap();
    let commands = Commands {
        sms: None,
        sms_stdin: false,
        notice: Some(program),
        sms_timeout: Duration::from_secs(30),
        notice_timeout: Duration::from_secs(30),
    };
    let notice = Message::Notice(Notice {
        user: "alice".into(),
        kind: NoticeKind::Reset,
        at: UnixTime(0),
    });
    let started = std::time::Instant::now();
    let result = commands.send(&notice);
    assert!(
        matches!(result, Err(DeliveryFailure::StatusLost { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it waited for the timeout"
    );
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("exit status was lost"));
}
