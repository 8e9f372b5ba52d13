//! What one plugin instance may consume.

use std::time::Duration;

/// Bounds on a plugin instance, so a faulty plugin cannot hang or exhaust the host.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest linear memory an instance may grow to.
    pub max_memory: usize,
    /// Longest a single call may run before it is interrupted.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory: 64 << 20,
            call_timeout: Duration::from_secs(2),
        }
    }
}

/// The per-instance limiter: refuses growth past the limit and remembers it did.
#[derive(Debug)]
pub(crate) struct MemoryGuard {
    pub(crate) max_memory: usize,
    pub(crate) refused: bool,
}

impl wasmtime::ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
