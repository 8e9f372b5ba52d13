//! The WebAssembly components, built by the test harness (never by hand) for
//! the suites that load them: the host's, and the fleet's identity-provider
//! leg in the PAM module's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Where cargo builds: `CARGO_TARGET_DIR`, else `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds a guest crate for wasm32-wasip2 with `profile` (and `extra` cargo
/// arguments) and returns the component.
pub fn build_component(package: &str, file: &str, profile: &str, extra: &[&str]) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "--profile",
            profile,
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
        ])
        .args(extra)
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building {package} for wasm32-wasip2 failed"
    );
    let path = target_dir().join("wasm32-wasip2").join(profile).join(file);
    assert!(path.exists(), "{} missing after build", path.display());
    path
}

/// The component's conformance variant: feature `test-randomness` (world
/// `conformance`: the `seeded` export takes a seed, the `contract` export
/// runs the store contract), profile `conformance`, so it never overwrites
/// the shipped build. Built once per test binary; never packaged.
pub fn conformance_wasm() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        build_component(
            "planasonix-wasm",
            "planasonix_wasm.wasm",
            "conformance",
            &["--features", "test-randomness"],
        )
    })
}

/// The real component (`planasonix_wasm.wasm`), built once per test binary
/// exactly as packaging/build.sh builds the one it ships: release, no features.
pub fn plugin_wasm() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_component("planasonix-wasm", "planasonix_wasm.wasm", "release", &[]))
}
