//! The system clock and the OS random generator.

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
