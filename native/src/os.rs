//! The system clock, the OS random generator, and this machine's name.

use planasonix_core::random::{Random, RandomError};
use planasonix_core::time::UnixTime;
use ring::rand::SecureRandom;

/// The current time from the system clock.
#[allow(clippy::disallowed_methods)] // This adapter is the one place that reads the clock.
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UnixTime(secs)
}

/// This machine's host name (the kernel's), for the fleet's audit trail;
/// `unknown` when it cannot be read. At most 64 bytes, as the kernel allows.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().chars().take(64).collect::<String>())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The operating system's random generator (`getrandom`).
#[derive(Debug)]
pub struct OsRandom(ring::rand::SystemRandom);

impl OsRandom {
    /// The OS generator.
    #[allow(clippy::disallowed_methods)] // This adapter is the one place that uses it.
    pub fn new() -> Self {
        OsRandom(ring::rand::SystemRandom::new())
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.0.fill(dest).map_err(|_| RandomError)
    }
}
