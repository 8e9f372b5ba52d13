//! The compiled-artifact cache is code the host runs without checking it, so
//! only files this user wrote, reached through directories nobody else can
//! change, may be loaded (security issue 15, item 6). The attacker here can
//! write one directory on the way to the cache, or swap the cached file for a
//! link; they plant a real artifact of another component (the faulty test
//! plugin, whose `status` traps), so loading it shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::MemoryStore;
use planasonix_host::*;
use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const T0: u64 = 1_800_000_000;

/// Warnings the host logged, from every test in this binary.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Collect;

impl log::Log for Collect {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            LOGGED.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn logged_about(path: &Path) -> Vec<String> {
    let _ = log::set_logger(&Collect).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let path = path.display().to_string();
    LOGGED
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(&path))
        .cloned()
        .collect()
}

fn host_caching_in(wasm: &Path, cache: &Path) -> PluginHost {
    let _ = log::set_logger(&Collect).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let config = HostConfig {
        wasm: std::fs::read(wasm).unwrap(),
        cache_dir: Some(cache.to_owned()),
        policy_toml: String::new(),
        seal_key: zeroize::Zeroizing::new(KEY.to_vec()),
        limits: Limits::default(),
        max_instances: 4,
    };
    PluginHost::new(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(Outbox::default()),
    )
    .unwrap()
}

/// Whether `host` runs the real component (the faulty one traps in `status`).
fn runs_the_real_component(host: &PluginHost) -> bool {
    host.session().unwrap().status("alice", T0).is_ok()
}

fn private_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path.to_owned()
}

fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    found.sort();
    found
}

/// A scratch tree, root's (or this user's), mode 0755, removed on drop.
fn scratch(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("cache-{tag}"));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Fills `cache` with the real component's artifact name, and returns that
/// path and the path of a valid artifact of the faulty component (kept in
/// `elsewhere`, mode 0600, this user's).
fn plant(cache: &Path, elsewhere: &Path) -> (PathBuf, PathBuf) {
    let real = host_caching_in(plugin_wasm(), cache);
    assert!(runs_the_real_component(&real));
    let [name] = &artifacts(cache)[..] else {
        panic!("one artifact expected in {}", cache.display())
    };
    drop(host_caching_in(faulty_wasm(), elsewhere));
    let [faulty] = &artifacts(elsewhere)[..] else {
        panic!("one artifact expected in {}", elsewhere.display())
    };
    (name.clone(), faulty.clone())
}

/// Puts the faulty artifact's bytes at `name` as a plain file of this user's.
fn poison(name: &Path, faulty: &Path) {
    let tmp = name.with_extension("planted");
    std::fs::copy(faulty, &tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::rename(&tmp, name).unwrap();
}

#[test]
fn a_cache_under_a_directory_others_may_write_is_not_loaded() {
    let top = scratch("shared");
    let shared = top.join("shared");
    let cache = private_dir(&shared.join("cache"));
    let (name, faulty) = plant(&cache, &private_dir(&top.join("faulty")));
    poison(&name, &faulty);
    // The test can tell: with every directory private, the planted artifact
    // is what runs (it is this user's, mode 0600, in a 0700 directory).
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!runs_the_real_component(&host_caching_in(
        plugin_wasm(),
        &cache
    )));

    // A group that may write `shared` could have replaced `cache` (or its
    // contents) by its own: the host compiles instead, and says why.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o775)).unwrap();
    let host = host_caching_in(plugin_wasm(), &cache);
    assert!(
        runs_the_real_component(&host),
        "the planted artifact was loaded"
    );
    let lines = logged_about(&shared);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("writable by group or others")),
        "no warning naming {}: {lines:#?}",
        shared.display()
    );
    // Nor does it write its own artifact where others may reach it.
    assert_eq!(
        std::fs::read(&name).unwrap(),
        std::fs::read(&faulty).unwrap()
    );
}

#[test]
fn a_cached_artifact_swapped_for_a_link_is_never_loaded() {
    let top = scratch("link");
    let cache = private_dir(&top.join("cache"));
    let (name, faulty) = plant(&cache, &private_dir(&top.join("faulty")));
    let real_bytes = std::fs::read(&name).unwrap();

    // A link in place of the artifact, to a file that would pass every check.
    std::fs::remove_file(&name).unwrap();
    std::os::unix::fs::symlink(&faulty, &name).unwrap();
    let host = host_caching_in(plugin_wasm(), &cache);
    assert!(
        runs_the_real_component(&host),
        "the link's target was loaded"
    );
    let lines = logged_about(&name);
    assert!(
        lines.iter().any(|l| l.contains("symbolic link")),
        "no warning naming {}: {lines:#?}",
        name.display()
    );

    // The link swapped in and out while the host loads: what is checked
    // must be what is loaded, so the faulty artifact never runs.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, name, faulty) = (stop.clone(), name.clone(), faulty.clone());
        let plain = name.with_extension("plain");
        let link = name.with_extension("link");
        std::fs::write(&plain, &real_bytes).unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::thread::spawn(move || {
            let keep = name.with_extension("keep");
            std::fs::hard_link(&plain, &keep).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::hard_link(&keep, &plain);
                let _ = std::fs::rename(&plain, &name);
                let _ = std::os::unix::fs::symlink(&faulty, &link);
                let _ = std::fs::rename(&link, &name);
            }
        })
    };
    let started = Instant::now();
    let mut loads = 0;
    while loads < 40 && started.elapsed() < Duration::from_secs(40) {
        let host = host_caching_in(plugin_wasm(), &cache);
        loads += 1;
        if !runs_the_real_component(&host) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            swapper.join().unwrap();
            panic!("load {loads}: the link's target was loaded");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
}
