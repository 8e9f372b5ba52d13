//! Temporary directories that are removed when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty directory under the system temp directory, named for the
/// test (`tag`), the process and a counter, removed with everything in it
/// when dropped. When a test fails (the thread is panicking) it is kept for
/// inspection instead, and its path printed: a database that went bad is
/// the evidence.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `planasonix-<tag>-<pid>-<n>`, mode 0755 (root-owned tests need
    /// other users to traverse it for some scenarios; nothing secret lives
    /// directly in it).
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("planasonix-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `path().join(name)`.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("test failed: kept {} for inspection", self.0.display());
            }
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}
