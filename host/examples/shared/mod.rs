//! What the examples share: building the components they load.

use std::path::PathBuf;
use std::process::Command;

/// Builds `planasonix-wasm` for wasm32-wasip2 (release) and returns its bytes.
pub fn component() -> Vec<u8> {
    build("planasonix-wasm", "planasonix_wasm.wasm")
}

/// Builds guest `package` for wasm32-wasip2 (release) and returns its
/// component `file`.
#[allow(dead_code)] // Only the benchmark builds a second guest.
pub fn build(package: &str, file: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let ok = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
        ])
        .current_dir(&root)
        .status()
        .unwrap()
        .success();
    assert!(ok, "building {package} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    std::fs::read(target.join("wasm32-wasip2/release").join(file)).unwrap()
}
