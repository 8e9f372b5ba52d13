//! # planasonix-host
//!
//! The wasmtime reference host for the Planasonix MFA component. An identity
//! provider written in Rust embeds it: [`PluginHost::new`] compiles the component
//! once (with an on-disk artifact cache), links WASI 0.2 and the component's
//! `store` import (a long-lived sled handle or any [`Store`]) and `delivery`
//! import (a [`HostDelivery`] the embedder implements), and pre-instantiates it.
//! Each request then gets a fresh, configured instance from
//! [`PluginHost::session`] in microseconds, from a pooling allocator.
//!
//! Every instance is bounded ([`Limits`]): its memory cannot grow past a limit
//! and each call is interrupted after a deadline (epoch interruption), so a
//! faulty plugin cannot hang or exhaust the identity provider.
//!
//! Instances always draw randomness from WASI random: the shipped world
//! `plugin` has no way to hand them a fixed seed (which would make every
//! fresh instance enroll the same secret). Only this crate's own tests reach
//! one, through the `test-randomness` feature and the component's
//! conformance variant (world `conformance`, export `seeded`); the shipped
//! component does not even have that export.

mod bindings;
mod cache;
mod gateway;
mod limits;
mod session;
mod state;

pub use bindings::exports::planasonix::mfa::engine::{
    Accepted, Answered, ApprovalAnswer, ApprovalError, ApprovalView, AuditEvent, Context, Decision,
    Denied, Error as PluginError, Factor, Grace, NotRequired, PasskeyAccepted, PasskeyError,
    PasskeyInfo, PasskeyRefusal, PasskeyRefused, PasskeyVerification, PasswordlessAccepted,
    PasswordlessVerification, RemoteLock, Required, Session as EngineSession, Subject,
    TotpEnrollment, UserStatus, Verification,
};
pub use bindings::planasonix::mfa::store::{
    BadRecord, IoFailure, IoKind as WitIoKind, StoreError as WitStoreError,
};
pub use gateway::GatewayDelivery;
pub use limits::Limits;
pub use planasonix_core::store::Store;
pub use session::Session;
pub use state::{store_error_to_wit, DeliveryError, HostDelivery, HostState};

use bindings::PluginPre;
use limits::MemoryGuard;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::WasiCtxBuilder;
use zeroize::Zeroizing;

/// How often the epoch ticks; call deadlines are counted in ticks.
/// The version of the WIT package `planasonix:mfa` this host speaks (the
/// `package` line of `wit/mfa.wit`, which a unit test holds it to): the
/// interfaces it looks up by name carry it.
pub const WIT_VERSION: &str = "0.4.0";

const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why the host could not serve a call.
#[derive(Debug)]
#[non_exhaustive]
pub enum HostError {
    /// The component could not be compiled or linked.
    Load(String),
    /// An instance could not be created (the pool is exhausted, for example).
    Instantiate(String),
    /// The call ran past [`Limits::call_timeout`] and was stopped.
    Timeout,
    /// The plugin tried to grow its memory past [`Limits::max_memory`] and was stopped.
    MemoryLimit,
    /// The plugin trapped.
    Trap(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Load(e) => write!(f, "cannot load the MFA component: {e}"),
            HostError::Instantiate(e) => write!(f, "cannot instantiate the MFA component: {e}"),
            HostError::Timeout => {
                f.write_str("the MFA component ran past its time limit and was stopped")
            }
            HostError::MemoryLimit => {
                f.write_str("the MFA component exceeded its memory limit and was stopped")
            }
            HostError::Trap(e) => write!(f, "the MFA component failed: {e}"),
        }
    }
}

impl std::error::Error for HostError {}

/// Everything a host needs to serve the component.
pub struct HostConfig {
    /// The component (`planasonix_mfa.wasm`).
    pub wasm: Vec<u8>,
    /// Where compiled artifacts are cached (must be writable by this user only).
    pub cache_dir: Option<PathBuf>,
    /// Policy TOML handed to every instance.
    pub policy_toml: String,
    /// The 32-byte sealing key handed to every instance.
    pub seal_key: Zeroizing<Vec<u8>>,
    /// Bounds per instance.
    pub limits: Limits,
    /// Instances that may exist at once (pool size).
    pub max_instances: u32,
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("wasm_bytes", &self.wasm.len())
            .field("cache_dir", &self.cache_dir)
            .field("limits", &self.limits)
            .field("max_instances", &self.max_instances)
            .finish_non_exhaustive()
    }
}

/// A loaded component, ready to hand out instances.
pub struct PluginHost {
    engine: Engine,
    pre: PluginPre<HostState>,
    store: Arc<dyn Store>,
    delivery: Arc<dyn HostDelivery>,
    policy_toml: String,
    seal_key: Zeroizing<Vec<u8>>,
    /// A fixed seed, in `test-randomness` builds that were given one.
    #[cfg(feature = "test-randomness")]
    seed: Option<u64>,
    limits: Limits,
    ticker_stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The wasmtime configuration the host runs the component under: an
/// instance pool of `max_instances`, each memory bounded by `limits` (the
/// pool's slot size and the per-instance limiter both refuse growth past
/// it), and epoch interruption for the call deadline. Each slot still
/// reserves wasmtime's default 4 GiB of address space (not memory), so
/// that compiled code needs no bounds check on a load or store: a smaller
/// reservation made the cryptography in the component 40% slower (the
/// benchmark's floor rows). Public so that the benchmark can run other
/// guests under exactly the same.
pub fn engine_config(limits: &Limits, max_instances: u32) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances)
        .total_core_instances(max_instances * 2)
        .total_memories(max_instances * 2)
        .total_tables(max_instances * 2)
        .max_memory_size(limits.max_memory);
    let mut wasm_config = Config::new();
    wasm_config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    wasm_config
}

impl PluginHost {
    /// Compiles (or loads from cache), links and pre-instantiates the component.
    pub fn new(
        config: HostConfig,
        store: Arc<dyn Store>,
        delivery: Arc<dyn HostDelivery>,
    ) -> Result<PluginHost, HostError> {
        let load = |e: wasmtime::Error| HostError::Load(format!("{e:#}"));
        let wasm_config = engine_config(&config.limits, config.max_instances);
        let engine = Engine::new(&wasm_config).map_err(load)?;
        let component = cache::load_component(&engine, &config.wasm, config.cache_dir.as_deref())
            .map_err(load)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(load)?;
        bindings::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(load)?;
        let pre =
            PluginPre::new(linker.instantiate_pre(&component).map_err(load)?).map_err(load)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker_stop.clone());
        Ok(PluginHost {
            engine,
            pre,
            store,
            delivery,
            policy_toml: config.policy_toml,
            seal_key: config.seal_key,
            #[cfg(feature = "test-randomness")]
            seed: None,
            limits: config.limits,
            ticker_stop,
        })
    }

    /// Test builds only (feature `test-randomness`): every session is seeded
    /// with `seed` after it is configured, through the conformance variant's
    /// `seeded` export. The shipped component has no such export, so
    /// [`PluginHost::session`] then fails with [`HostError::Load`].
    #[cfg(feature = "test-randomness")]
    pub fn with_test_seed(mut self, seed: u64) -> PluginHost {
        self.seed = Some(seed);
        self
    }

    /// Test builds only (feature `test-randomness`): runs the store contract
    /// inside the conformance component, against this host's store through
    /// the WIT `store` import (which must be empty). `Ok(Err(broken))` names
    /// the first promise the store broke.
    #[cfg(feature = "test-randomness")]
    pub fn check_store_contract(&self) -> Result<Result<(), String>, HostError> {
        self.session()?.check_store_contract()
    }

    /// A fresh instance, configured with the host's policy and key. Cheap: it
    /// comes from the pre-instantiated component and the instance pool.
    pub fn session(&self) -> Result<Session, HostError> {
        let state = HostState {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            guard: MemoryGuard {
                max_memory: self.limits.max_memory,
                refused: false,
            },
            store: self.store.clone(),
            delivery: self.delivery.clone(),
        };
        let mut store = wasmtime::Store::new(&self.engine, state);
        store.limiter(|s| &mut s.guard);
        let mut session = Session::new(store, &self.pre, self.limits, EPOCH_TICK)?;
        session.configure(&self.policy_toml, &self.seal_key)?;
        #[cfg(feature = "test-randomness")]
        if let Some(seed) = self.seed {
            session.seed(seed)?;
        }
        Ok(session)
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("planasonix-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .ok();
}

/// Opens a sled database for a long-lived host (one handle for the process).
pub fn open_sled(path: &Path) -> Result<Arc<dyn Store>, planasonix_core::StoreError> {
    Ok(Arc::new(planasonix_native::SledStore::open(path)?))
}

/// Opens the store a store file names (`/etc/planasonix/store.toml`, see
/// planasonix-store(5)): the fleet's shared PostgreSQL database, so the
/// identity provider and the hosts share every record, replay and lockout;
/// or, when the file is absent or says `kind = "sled"`, the sled database at
/// `sled`. The file is checked like the hosts check it, and a shared store
/// must keep the check value of `seal_key` (the fleet's key; see
/// planasonix-store(5), A NEW HOST), or every connection is refused.
pub fn open_store(
    store_file: &Path,
    sled: &Path,
    seal_key: &[u8],
) -> Result<Arc<dyn Store>, planasonix_core::StoreError> {
    use planasonix_native::store_file::{read_store_file, StoreSetting};
    match read_store_file(store_file).map_err(|e| {
        planasonix_core::StoreError::io(planasonix_core::store::IoKind::Other, e.to_string())
    })? {
        StoreSetting::Sled => open_sled(sled),
        StoreSetting::Postgresql(settings) => {
            let mut store = planasonix_service::PgStore::new(&settings)?;
            let key = planasonix_core::SealKey::from_bytes(seal_key).map_err(|e| {
                planasonix_core::StoreError::io(
                    planasonix_core::store::IoKind::Other,
                    format!("the seal key: {e}"),
                )
            })?;
            store.expect_seal_key(key.check_value());
            store.check()?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod wit_version {
    #[test]
    fn is_the_wit_package_version() {
        let wit = include_str!("../../wit/mfa.wit");
        let line = format!("package planasonix:mfa@{};", super::WIT_VERSION);
        assert!(
            wit.lines().any(|l| l == line),
            "wit/mfa.wit has no `{line}`"
        );
    }
}
