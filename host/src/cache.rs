//! Compiling the component once: a compiled-artifact cache on disk.
//!
//! Compiling the 1 MB component with Cranelift takes seconds; loading the
//! precompiled artifact takes milliseconds. This file holds the crate's only
//! `unsafe`: wasmtime runs a precompiled artifact as native code without
//! checking it, so we load only bytes this user wrote, reached without
//! following a link, through directories nobody else can change.
//!
//! Every check is made on an opened descriptor, and what is loaded is what was
//! read from that descriptor, so no path can be swapped between the check and
//! the load:
//!
//! * the cache directory is resolved once, then opened from `/` down, one
//!   component at a time, without following links; each directory on the way
//!   is owned by root or this user and writable by neither group nor others
//!   unless it is sticky (`/tmp`) and the next one is root's or this user's;
//!   the cache directory itself is this user's and writable by no one else;
//! * the artifact is opened in that directory without following a link, and
//!   must be a regular file of this user's, mode 0600 or stricter.
//!
//! A cache that fails a check is not used (nor written): the host compiles
//! and logs a warning that says why.

#![allow(unsafe_code)] // Loading a precompiled artifact; see the SAFETY note.

use data_encoding::HEXLOWER;
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{geteuid, unlinkat, UnlinkatFlags};
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component as PathPart, Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Compiles `wasm`, or loads it from `cache_dir` when compiled before by the
/// same wasmtime with the same settings.
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let cache = match CacheDir::open(dir) {
        Ok(cache) => cache,
        Err(why) => {
            log::warn!(
                "compiled-artifact cache {} not used, compiling: {why}",
                dir.display()
            );
            return Component::new(engine, wasm);
        }
    };
    let name = artifact_name(engine, wasm);
    match cache.read(&name) {
        Ok(Some(bytes)) => {
            // SAFETY: wasmtime runs these bytes as native code unchecked, so
            // they must be what `Component::serialize` produced. They were read
            // from the descriptor the checks were made on: a regular file owned
            // by this user, mode 0600 or stricter, opened without following a
            // link in a directory only this user may write, itself reached
            // through directories only root or this user could change. So only
            // this user or root wrote them, and this host writes only what
            // `CacheDir::write` serializes. The name hashes the wasm and the
            // engine's compatibility hash; wasmtime checks the header too.
            match unsafe { Component::deserialize(engine, &bytes) } {
                Ok(component) => return Ok(component),
                Err(e) => log::warn!(
                    "cached artifact {} not loaded, compiling: {e:#}",
                    cache.path.join(&name).display()
                ),
            }
        }
        Ok(None) => {}
        Err(why) => log::warn!(
            "cached artifact {} not loaded, compiling: {why}",
            cache.path.join(&name).display()
        ),
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = cache.write(&component, &name) {
        // A cache that cannot be written only costs time.
        log::warn!(
            "cannot write the compiled artifact to {}: {e}",
            cache.path.display()
        );
    }
    Ok(component)
}

fn artifact_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = ring::digest::digest(&ring::digest::SHA256, wasm);
    format!(
        "planasonix-{}-{:016x}.cwasm",
        &HEXLOWER.encode(digest.as_ref())[..32],
        hasher.finish()
    )
}

/// The cache directory, opened and checked.
struct CacheDir {
    path: PathBuf,
    fd: OwnedFd,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

fn stat(fd: &OwnedFd, path: &Path) -> Result<Metadata, String> {
    let file = File::from(
        fd.try_clone()
            .map_err(|e| format!("{}: {e}", path.display()))?,
    );
    file.metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

fn writable_by_others(meta: &Metadata) -> bool {
    meta.mode() & 0o022 != 0
}

impl CacheDir {
    fn open(dir: &Path) -> Result<CacheDir, String> {
        let euid = geteuid().as_raw();
        // Links are resolved once, here; the walk below follows none, so a
        // link changed meanwhile makes it fail rather than lead elsewhere.
        let resolved = std::fs::canonicalize(dir).map_err(|e| e.to_string())?;
        let mut path = PathBuf::from("/");
        let mut fd: OwnedFd = File::open(&path).map_err(|e| format!("/: {e}"))?.into();
        let mut meta = stat(&fd, &path)?;
        for part in resolved.components() {
            let name: &OsStr = match part {
                PathPart::RootDir => continue,
                PathPart::Normal(name) => name,
                other => return Err(format!("unexpected {other:?} in {}", resolved.display())),
            };
            let parent = (path.clone(), meta);
            path.push(name);
            fd = openat(&fd, name, DIR_FLAGS, Mode::empty()).map_err(|e| match e {
                Errno::ELOOP | Errno::ENOTDIR => {
                    format!("{} is a link or not a directory", path.display())
                }
                e => format!("cannot open {}: {e}", path.display()),
            })?;
            meta = stat(&fd, &path)?;
            let (parent_path, parent_meta) = parent;
            if parent_meta.uid() != 0 && parent_meta.uid() != euid {
                return Err(format!(
                    "{} is owned by uid {}",
                    parent_path.display(),
                    parent_meta.uid()
                ));
            }
            // In a sticky directory others may write, only an entry's owner
            // (or root) can rename or remove it.
            let sticky = parent_meta.mode() & 0o1000 != 0;
            let owned = meta.uid() == 0 || meta.uid() == euid;
            if writable_by_others(&parent_meta) && !(sticky && owned) {
                return Err(format!(
                    "{} is writable by group or others (mode {:o})",
                    parent_path.display(),
                    parent_meta.mode() & 0o7777
                ));
            }
        }
        if meta.uid() != euid {
            return Err(format!(
                "{} is owned by uid {}, not {euid}",
                path.display(),
                meta.uid()
            ));
        }
        if writable_by_others(&meta) {
            return Err(format!(
                "{} is writable by group or others (mode {:o})",
                path.display(),
                meta.mode() & 0o7777
            ));
        }
        Ok(CacheDir { path, fd })
    }

    /// The bytes of artifact `name`, read from the descriptor that passed the
    /// checks; `None` if there is none yet.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => return Err("it is a symbolic link".into()),
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let mut file = File::from(fd);
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot stat it: {e}"))?;
        let euid = geteuid().as_raw();
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        if meta.uid() != euid {
            return Err(format!("it is owned by uid {}, not {euid}", meta.uid()));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "its mode {:o} lets group or others in",
                meta.mode() & 0o7777
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        Ok(Some(bytes))
    }

    /// Writes `component` as artifact `name`: a new file (never an existing
    /// one or a link's target), then renamed into place.
    fn write(&self, component: &Component, name: &str) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let tmp = format!("{name}.tmp{}", std::process::id());
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = Mode::from_bits_truncate(0o600);
        let fd = match openat(&self.fd, tmp.as_str(), flags, mode) {
            // Left behind by a crashed process with the same pid.
            Err(Errno::EEXIST) => {
                unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir)?;
                openat(&self.fd, tmp.as_str(), flags, mode)?
            }
            other => other?,
        };
        let mut file = File::from(fd);
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        let placed = written.and_then(|()| {
            renameat(self.fd.as_fd(), tmp.as_str(), self.fd.as_fd(), name).map_err(Into::into)
        });
        if placed.is_err() {
            let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        placed
    }
}
