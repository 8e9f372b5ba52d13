//! Same answers everywhere: every scenario under tests/scenarios/ run against
//! the core directly, the component under wasmtime, and the component under
//! Node.js (jco). All three must agree with each other and with the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use crate::harness::native::NativeDoor;
use crate::harness::{call_session, matches, run, Door, Outcome, Scenario, Step};
use planasonix_core::MemoryStore;
use planasonix_host::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;

struct WasmDoor {
    session: Session,
    outbox: Arc<Outbox>,
    _host: PluginHost,
}

impl Door for WasmDoor {
    fn call(&mut self, step: &Step, input: &[u8], now: u64) -> Result<Outcome, PluginError> {
        call_session(&mut self.session, step, input, now)
    }
    fn set_gateway_failing(&mut self, fail: bool) {
        self.outbox.fail_sms.store(fail, Ordering::SeqCst);
    }
    fn last_sms_code(&self) -> Option<String> {
        self.outbox.last_code()
    }
}

fn scenarios() -> Vec<(String, PathBuf)> {
    let dir = workspace_root().join("tests/scenarios");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert!(
        out.len() >= 3,
        "scenario files missing in {}",
        dir.display()
    );
    out
}

fn load(path: &Path) -> Scenario {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn wasm_outcomes(scenario: &Scenario) -> Vec<String> {
    let outbox = Arc::new(Outbox::default());
    let host = host_with(
        conformance_wasm(),
        &scenario.policy,
        Randomness::TestSeed(scenario.seed),
        Limits::default(),
        Arc::new(MemoryStore::new()),
        outbox.clone(),
    );
    // One warm instance for the whole story, so the seeded randomness is drawn in
    // the same order as on the other doors.
    let session = host.session().unwrap();
    let mut door = WasmDoor {
        session,
        outbox,
        _host: host,
    };
    run(scenario, &mut door)
}

/// Transpiles the component's conformance variant (runner.mjs configures it with
/// a test seed) with jco.
fn jco_module() -> PathBuf {
    let jco_dir = workspace_root().join("tests/jco");
    // Inside tests/jco so the generated code finds the WASI shims in its node_modules.
    let out = jco_dir.join("out");
    let imports = jco_dir.join("imports.mjs");
    let jco = jco_dir.join("node_modules/.bin/jco");
    assert!(
        jco.exists(),
        "jco missing: run `npm ci` in {} (scripts/setup.sh does)",
        jco_dir.display()
    );
    let status = Command::new(&jco)
        .arg("transpile")
        .arg(conformance_wasm())
        .args(["--name", "plugin", "--quiet", "-o"])
        .arg(&out)
        .args([
            "--map",
            &format!("planasonix:mfa/store={}#store", imports.display()),
        ])
        .args([
            "--map",
            &format!("planasonix:mfa/delivery={}#delivery", imports.display()),
        ])
        .current_dir(&jco_dir)
        .status()
        .expect("jco runs");
    assert!(status.success(), "jco transpile failed");
    out.join("plugin.js")
}

fn jco_outcomes(module: &Path, scenario: &Path) -> Vec<String> {
    let out = Command::new("node")
        .arg(workspace_root().join("tests/jco/runner.mjs"))
        .arg(module)
        .arg(scenario)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "jco runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_door_gives_the_same_answers() {
    let module = jco_module();
    for (name, path) in scenarios() {
        let scenario = load(&path);
        let native = run(
            &scenario,
            &mut NativeDoor::new(&scenario.policy, &KEY, scenario.seed),
        );
        let wasm = wasm_outcomes(&scenario);
        let js = jco_outcomes(&module, &path);
        for (i, step) in scenario.steps.iter().enumerate() {
            let where_ = format!("{name} step {i} ({} {})", step.op, step.user);
            assert!(
                matches(&step.expect, &native[i]),
                "{where_}: native gave {:?}, expected {:?}",
                native[i],
                step.expect
            );
            assert_eq!(wasm[i], native[i], "{where_}: wasmtime differs from native");
            assert_eq!(js[i], native[i], "{where_}: jco differs from native");
        }
        assert_eq!(native.len(), scenario.steps.len());
    }
}
