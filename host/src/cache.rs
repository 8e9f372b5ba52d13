//! Compiling the component once: a compiled-artifact cache on disk.
//!
//! Compiling the 1 MB component with Cranelift takes seconds; loading the
//! precompiled artifact takes milliseconds. This file holds the crate's only
//! `unsafe`: wasmtime must trust a precompiled artifact, so we load only files
//! this host wrote itself, in a directory nobody else can write to.

#![allow(unsafe_code)] // Loading a precompiled artifact; see the SAFETY note.

use data_encoding::HEXLOWER;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
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
    let path = artifact_path(engine, wasm, dir);
    if trusted_dir(dir) && owned_private_file(&path) {
        // SAFETY: the artifact was written by `store_artifact` below from
        // `Component::serialize` of this engine configuration (the file name
        // hashes the wasm bytes and the engine's compatibility hash), it is
        // owned by this user with mode 0600, and the directory is writable by
        // this user only, so nobody else could have replaced it.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(component);
        }
    }
    let component = Component::new(engine, wasm)?;
    if trusted_dir(dir) {
        // A cache that cannot be written only costs time.
        let _ = store_artifact(&component, &path);
    }
    Ok(component)
}

fn artifact_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = ring::digest::digest(&ring::digest::SHA256, wasm);
    let name = format!(
        "planasonix-{}-{:016x}.cwasm",
        &HEXLOWER.encode(digest.as_ref())[..32],
        hasher.finish()
    );
    dir.join(name)
}

fn current_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

fn trusted_dir(dir: &Path) -> bool {
    std::fs::metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == current_uid() && m.mode() & 0o022 == 0)
}

fn owned_private_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file() && m.uid() == current_uid() && m.mode() & 0o077 == 0)
}

fn store_artifact(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
