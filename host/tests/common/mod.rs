//! Shared fixtures for the host's tests: the components, built by the harness.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_host::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use planasonix_testkit::component::{build_component, target_dir};
#[allow(unused_imports)] // Each test file uses a different subset.
pub use planasonix_testkit::component::{conformance_wasm, plugin_wasm, workspace_root};

/// A deliberately broken component, built once per test binary.
pub fn faulty_wasm() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        build_component(
            "planasonix-faulty-plugin",
            "planasonix_faulty_plugin.wasm",
            "release",
            &[],
        )
    })
}

/// A private directory for compiled artifacts shared by the tests.
pub fn cache_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = target_dir().join("planasonix-component-cache");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// Records what the component asked to send; can be told to fail SMS.
#[derive(Default)]
pub struct Outbox {
    pub sms: Mutex<Vec<(String, String)>>,
    pub notices: Mutex<Vec<(String, String)>>,
    pub fail_sms: std::sync::atomic::AtomicBool,
}

impl Outbox {
    pub fn last_code(&self) -> Option<String> {
        let sms = self.sms.lock().unwrap();
        let (_, text) = sms.last()?;
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() >= 6)
            .map(str::to_owned)
    }
}

impl HostDelivery for Outbox {
    fn send_sms(&self, to: &str, text: &str) -> Result<(), planasonix_host::DeliveryError> {
        if self.fail_sms.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(planasonix_host::DeliveryError::not_sent(
                "gateway returned 503",
            ));
        }
        self.sms
            .lock()
            .unwrap()
            .push((to.to_owned(), text.to_owned()));
        Ok(())
    }
    fn send_notice(&self, user: &str, message: &str) -> Result<(), planasonix_host::DeliveryError> {
        self.notices
            .lock()
            .unwrap()
            .push((user.to_owned(), message.to_owned()));
        Ok(())
    }
}

pub const KEY: [u8; 32] = [7; 32];

/// How a test's instances draw randomness.
#[derive(Clone, Copy, Debug)]
pub enum Randomness {
    /// WASI random, as every shipped host.
    System,
    /// A fixed seed, through the conformance variant's `seeded` export.
    TestSeed(u64),
}

pub fn host_with(
    wasm: &Path,
    policy: &str,
    randomness: Randomness,
    limits: Limits,
    store: Arc<dyn Store>,
    outbox: Arc<Outbox>,
) -> PluginHost {
    let config = HostConfig {
        wasm: std::fs::read(wasm).unwrap(),
        cache_dir: Some(cache_dir()),
        policy_toml: policy.to_owned(),
        seal_key: zeroize::Zeroizing::new(KEY.to_vec()),
        limits,
        max_instances: 64,
    };
    let host = PluginHost::new(config, store, outbox).unwrap();
    match randomness {
        Randomness::System => host,
        Randomness::TestSeed(seed) => host.with_test_seed(seed),
    }
}

pub fn ctx() -> Context {
    Context {
        service: "idp".into(),
        remote: Some("198.51.100.4".into()),
        action: None,
        session: None,
    }
}
