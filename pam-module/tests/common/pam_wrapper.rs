//! Starting programs under pam_wrapper (private PAM service files, nothing in
//! `/etc/pam.d` touched) without its directory race.
//!
//! pam_wrapper 1.1 copies the service files into `/tmp/pam.<letter>` (62
//! letters) at `pam_start`: it looks for a letter whose directory does not
//! exist, then creates it, then writes its pid into `pid`. Two processes
//! starting together can pick the same letter; the loser truncates the
//! winner's pid file, fails, and removes the directory the winner uses. Either
//! login then fails before our module runs, which a test reads as a refusal
//! that counted nothing (CI saw both). And a process killed between `mkdir`
//! and writing its pid leaves a directory pam_wrapper never reclaims, so the
//! letters run out over many runs.
//!
//! So programs start here one at a time: a lock is held from spawn until the
//! child's pid is in its directory (or the child has exited); the logins
//! themselves still run in parallel. Before each start, directories of
//! processes that are gone are removed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a start may take before the lock is released anyway (the test
/// then goes on and fails or passes on its own output).
const START_LIMIT: Duration = Duration::from_secs(10);

/// A directory with no readable pid this old is a killed start, not one in
/// progress (a start takes milliseconds).
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

static STARTING: Mutex<()> = Mutex::new(());

/// Sets the environment that loads pam_wrapper with `confdir` as the PAM
/// service directory. A caller preloading more sets `LD_PRELOAD` after this.
pub fn wrap<'a>(cmd: &'a mut Command, confdir: &Path) -> &'a mut Command {
    cmd.env("LD_PRELOAD", "libpam_wrapper.so")
        .env("PAM_WRAPPER", "1")
        .env("PAM_WRAPPER_SERVICE_DIR", confdir)
}

/// Spawns `cmd`; if it is set up with [`wrap`], once no other start is in
/// progress, returning when its pam_wrapper directory is claimed.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    if !cmd.get_envs().any(|(key, _)| key == "PAM_WRAPPER") {
        return cmd.spawn();
    }
    let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    sweep();
    let mut child = cmd.spawn()?;
    let pid = child.id().to_string();
    let deadline = Instant::now() + START_LIMIT;
    while directory_of(&pid).is_none()
        && !matches!(child.try_wait(), Ok(Some(_)))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(child)
}

fn candidates() -> impl Iterator<Item = PathBuf> {
    (b'0'..=b'9')
        .chain(b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .map(|letter| PathBuf::from(format!("/tmp/pam.{}", letter as char)))
}

fn directory_of(pid: &str) -> Option<PathBuf> {
    candidates().find(|dir| {
        std::fs::read_to_string(dir.join("pid")).is_ok_and(|written| written.trim() == pid)
    })
}

/// Removes pam_wrapper directories whose process is gone, and ones a killed
/// start left without a pid.
fn sweep() {
    for dir in candidates() {
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let gone = match std::fs::read_to_string(dir.join("pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        {
            Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            None => meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > ABANDONED_AFTER),
        };
        if gone {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
