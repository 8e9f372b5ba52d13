//! The floors under the component's ratios: the bare cryptography of one
//! code check and of one passkey check (`planasonix-crypto-floor`, written
//! once), run natively and inside a component, under the host's own
//! wasmtime configuration and under wasmtime's defaults (no memory bound, no
//! epoch checks), taking turns. Used by `bench.rs`.

use planasonix_host::{engine_config, Limits};
use std::time::Instant;
use wasmtime::component::{Component, Linker, ResourceTable, TypedFunc};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One warm instance of the floor component.
struct Guest {
    store: Store<State>,
    passkey: TypedFunc<(u32,), (u32,)>,
    totp: TypedFunc<(u32, u32), (u32,)>,
}

impl Guest {
    fn new(config: &Config, wasm: &[u8]) -> Guest {
        let engine = Engine::new(config).unwrap();
        let component = Component::new(&engine, wasm).unwrap();
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        let mut store = Store::new(
            &engine,
            State {
                wasi: WasiCtxBuilder::new().build(),
                table: ResourceTable::new(),
            },
        );
        // Epochs never advance here: the deadline is far enough.
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let passkey = instance
            .get_typed_func(&mut store, "passkey-crypto")
            .unwrap();
        let totp = instance.get_typed_func(&mut store, "totp-crypto").unwrap();
        Guest {
            store,
            passkey,
            totp,
        }
    }

    fn passkey_us(&mut self, n: u32) -> f64 {
        let t = Instant::now();
        let (verified,) = self.passkey.call(&mut self.store, (n,)).unwrap();
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        assert_eq!(verified, n, "the component's signature checks failed");
        us
    }

    fn totp_us(&mut self, n: u32, record_len: u32) -> f64 {
        let t = Instant::now();
        let (sink,) = self.totp.call(&mut self.store, (n, record_len)).unwrap();
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        std::hint::black_box(sink);
        us
    }
}

/// Microseconds per check of `f(n)`, run natively.
fn native_us(n: u32, f: impl Fn(u32) -> u32) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f(std::hint::black_box(n)));
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// The floors' medians, µs per check.
pub struct Floors {
    pub passkey_native_us: f64,
    pub passkey_wasm_us: f64,
    pub passkey_wasm_default_us: f64,
    pub totp_native_us: f64,
    pub totp_wasm_us: f64,
    pub totp_wasm_default_us: f64,
}

impl Floors {
    /// Native, the host's configuration and wasmtime's defaults take turns
    /// for `rounds` rounds of `n` checks each; `record_len` is the record the
    /// code checks authenticate.
    pub fn measure(wasm: &[u8], rounds: usize, n: u32, record_len: u32) -> Floors {
        let mut host = Guest::new(&engine_config(&Limits::default(), 2), wasm);
        let mut plain_config = Config::new();
        plain_config.wasm_component_model(true);
        let mut plain = Guest::new(&plain_config, wasm);
        let mut rows: [Vec<f64>; 6] = Default::default();
        for _ in 0..rounds {
            rows[0].push(native_us(n, planasonix_crypto_floor::passkey_crypto));
            rows[1].push(host.passkey_us(n));
            rows[2].push(plain.passkey_us(n));
            rows[3].push(native_us(n, |n| {
                planasonix_crypto_floor::totp_crypto(n, record_len)
            }));
            rows[4].push(host.totp_us(n, record_len));
            rows[5].push(plain.totp_us(n, record_len));
        }
        let [a, b, c, d, e, f] = rows.map(crate::median);
        Floors {
            passkey_native_us: a,
            passkey_wasm_us: b,
            passkey_wasm_default_us: c,
            totp_native_us: d,
            totp_wasm_us: e,
            totp_wasm_default_us: f,
        }
    }
}
