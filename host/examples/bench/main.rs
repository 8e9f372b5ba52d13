//! Component benchmark: warm verify calls per second, fresh-instance verify
//! latency, native core verify latency and the WASM/native ratio, all measured
//! in one run on this machine, the warm ones in alternating rounds. Prints a
//! table and writes JSON.
//!
//! `cargo run --release -p planasonix-host --example bench -- [OUT.json]`
//! (builds the component first if `PLANASONIX_WASM` does not point to one).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod floor;
#[path = "../shared/mod.rs"]
mod shared;

use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::{
    Engine, MemoryStore, Policy, SealKey, SecretBytes, SeededRandom, TotpParams, UnixTime,
};
use planasonix_host::*;
use std::sync::Arc;
use std::time::Instant;

const T0: u64 = 1_800_000_000;
const SECRET: &[u8] = b"benchmark-secret-0001";
const POLICY: &str = "";
const N: u64 = 20_000;
/// Turns native, component and bare cryptography take, N / ROUNDS logins each.
const ROUNDS: u64 = 20;

struct Quiet;
impl HostDelivery for Quiet {
    fn send_sms(&self, _: &str, _: &str) -> Result<(), planasonix_host::DeliveryError> {
        Ok(())
    }
    fn send_notice(&self, _: &str, _: &str) -> Result<(), planasonix_host::DeliveryError> {
        Ok(())
    }
}

/// The reference host on `store`, configured with `policy` and the key,
/// delivering nothing.
fn bench_host(
    wasm: Vec<u8>,
    policy: &str,
    key_bytes: [u8; 32],
    store: Arc<dyn Store>,
    max_instances: u32,
) -> PluginHost {
    PluginHost::new(
        HostConfig {
            wasm,
            cache_dir: None,
            policy_toml: policy.into(),
            seal_key: zeroize::Zeroizing::new(key_bytes.to_vec()),
            limits: Limits::default(),
            max_instances,
        },
        store,
        Arc::new(Quiet),
    )
    .unwrap()
}

/// Code and time of the i-th login: one new TOTP step per call, so every
/// verify is a real accepted login with its replay bookkeeping.
fn login(i: u64) -> (Vec<u8>, u64) {
    let at = T0 + 30 * (i + 1);
    (totp(Algorithm::Sha1, SECRET, at, 30, 6).into_bytes(), at)
}

/// The cryptography one accepted login cannot do without, timed bare with
/// ring (`planasonix_crypto_floor::totp_crypto`: the ±1 window's HMACs, the
/// secret's AEAD open, the record's HMAC-SHA256 check and tag over its
/// `record_len` bytes). The native verify is measured against it.
fn bare_crypto_us(n: u64, record_len: usize) -> f64 {
    let start = Instant::now();
    std::hint::black_box(planasonix_crypto_floor::totp_crypto(
        n as u32,
        record_len as u32,
    ));
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// The policy of the passkey rounds.
const PASSKEY_POLICY: &str = "[passkeys]\nenabled = true\nrp_id = \"example.com\"\norigins = [\"https://login.example.com\"]\n";

/// One passkey sign-in, natively and in the warm component, taking turns:
/// the options (a fresh challenge written to the record) and the browser's
/// answer checked (the challenge taken out, the Ed25519 signature, the
/// counter). The software authenticator signs between the two calls,
/// outside the timing. Medians of native µs, component µs and their ratio.
fn passkey_rounds(key_bytes: [u8; 32], wasm: Vec<u8>) -> Passkeys {
    use planasonix_core::testing::SoftAuthenticator;
    let policy = Policy::from_toml(PASSKEY_POLICY).unwrap();
    let key = SealKey::from_bytes(&key_bytes).unwrap();
    let store = MemoryStore::new();
    let engine = Engine::new(&policy, &key, &store);
    let shared: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut rng = SeededRandom::new(3);
    let mut native_key = SoftAuthenticator::new(1, "https://login.example.com");
    let mut wasm_key = SoftAuthenticator::new(1, "https://login.example.com");
    for s in [&store as &dyn Store, shared.as_ref()] {
        let e = Engine::new(&policy, &key, s);
        let options = e
            .passkey_registration_options("alice", "", UnixTime(T0), &mut rng)
            .unwrap();
        e.register_passkey(
            "alice",
            "key",
            native_key.register(&options).as_bytes(),
            UnixTime(T0),
            &mut rng,
        )
        .unwrap();
    }
    let host = bench_host(wasm, PASSKEY_POLICY, key_bytes, shared, 4);
    let mut session = host.session().unwrap();
    let ctx = planasonix_core::Context {
        service: "idp".into(),
        remote: None,
        action: None,
        session: None,
    };
    let wctx = Context {
        service: "idp".into(),
        remote: None,
        action: None,
        session: None,
    };
    let per_round = 200;
    let (mut native, mut warm, mut ratios, mut verify_ratios) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let (mut spent, mut verify) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for i in 0..per_round {
            // Ten seconds apart, as a busy user's sign-ins might be.
            let at = UnixTime(T0 + 10 * (1 + round * per_round + i));
            let t = Instant::now();
            let options = engine
                .passkey_sign_in_options("alice", at, &mut rng)
                .unwrap();
            spent += t.elapsed();
            let answer = native_key.sign_in(&options);
            let t = Instant::now();
            let v = engine
                .verify_passkey("alice", answer.as_bytes(), &ctx, at)
                .unwrap();
            verify += t.elapsed();
            assert!(matches!(
                v,
                planasonix_core::PasskeyVerification::Accepted { .. }
            ));
        }
        let native_us = (spent + verify).as_secs_f64() * 1e6 / per_round as f64;
        let native_verify_us = verify.as_secs_f64() * 1e6 / per_round as f64;
        let (mut spent, mut verify) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for i in 0..per_round {
            let at = T0 + 10 * (1 + round * per_round + i);
            let t = Instant::now();
            let options = session
                .passkey_sign_in_options("alice", at)
                .unwrap()
                .unwrap();
            spent += t.elapsed();
            let answer = wasm_key.sign_in(&options);
            let t = Instant::now();
            let v = session
                .verify_passkey("alice", &answer, &wctx, at)
                .unwrap()
                .unwrap();
            verify += t.elapsed();
            assert!(matches!(v, PasskeyVerification::Accepted(_)));
        }
        let warm_us = (spent + verify).as_secs_f64() * 1e6 / per_round as f64;
        let warm_verify_us = verify.as_secs_f64() * 1e6 / per_round as f64;
        native.push(native_us);
        warm.push(warm_us);
        ratios.push(warm_us / native_us);
        verify_ratios.push(warm_verify_us / native_verify_us);
    }
    Passkeys {
        native_us: median(native),
        warm_us: median(warm),
        ratio: median(ratios),
        verify_ratio: median(verify_ratios),
    }
}

/// The passkey rounds' medians: a whole sign-in (options and verify) natively
/// and in the component, their ratio, and the ratio of the verify call alone.
struct Passkeys {
    native_us: f64,
    warm_us: f64,
    ratio: f64,
    verify_ratio: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let out_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench-component.json".into());
    let params = TotpParams {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    let key_bytes = [7u8; 32];

    // Native: the core directly on an in-memory store.
    let policy = Policy::from_toml(POLICY).unwrap();
    let key = SealKey::from_bytes(&key_bytes).unwrap();
    let store = MemoryStore::new();
    let engine = Engine::new(&policy, &key, &store);
    let mut rng = SeededRandom::new(1);
    engine
        .provision_totp(
            "alice",
            &SecretBytes::new(SECRET.to_vec()),
            params,
            UnixTime(T0),
            &mut rng,
        )
        .unwrap();
    let ctx = planasonix_core::Context {
        service: "idp".into(),
        remote: None,
        action: None,
        session: None,
    };
    // The component: one warm instance, then a fresh instance per call.
    let shared: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let setup = Engine::new(&policy, &key, shared.as_ref());
    setup
        .provision_totp(
            "alice",
            &SecretBytes::new(SECRET.to_vec()),
            params,
            UnixTime(T0),
            &mut rng,
        )
        .unwrap();
    let wasm = std::env::var_os("PLANASONIX_WASM")
        .map_or_else(shared::component, |p| std::fs::read(p).unwrap());
    let host = bench_host(wasm.clone(), POLICY, key_bytes, shared, 16);
    let wctx = Context {
        service: "idp".into(),
        remote: None,
        action: None,
        session: None,
    };
    let mut session = host.session().unwrap();

    // Native, component and bare cryptography take turns, a slice of the
    // logins each per round, so that a slow spell of this (shared, virtual)
    // machine falls on all three alike; each figure is the median over the
    // rounds, the ratio the median of each round's own ratio.
    let per_round = N / ROUNDS;
    let (mut native, mut warm, mut crypto, mut ratios) = (vec![], vec![], vec![], vec![]);
    let mut record_len = 0;
    for round in 0..ROUNDS {
        let logins: Vec<(Vec<u8>, u64)> = (round * per_round..(round + 1) * per_round)
            .map(login)
            .collect();
        let start = Instant::now();
        for (code, at) in &logins {
            let v = engine
                .verify("alice", code, &ctx, UnixTime(*at), &mut rng)
                .unwrap();
            assert!(matches!(v, planasonix_core::Verification::Accepted { .. }));
        }
        let native_us = start.elapsed().as_secs_f64() * 1e6 / per_round as f64;
        let start = Instant::now();
        for (code, at) in &logins {
            let v = session.verify("alice", code, &wctx, *at).unwrap().unwrap();
            assert!(matches!(v, Verification::Accepted(_)));
        }
        let warm_us = start.elapsed().as_secs_f64() * 1e6 / per_round as f64;
        // The record as the last verify left it: what each verify authenticates.
        record_len = planasonix_core::Store::get(&store, "user/alice")
            .unwrap()
            .unwrap()
            .value
            .len();
        crypto.push(bare_crypto_us(per_round, record_len));
        native.push(native_us);
        warm.push(warm_us);
        ratios.push(warm_us / native_us);
    }
    let (native_us, warm_us, crypto_us) = (median(native), median(warm), median(crypto));
    let warm_per_sec = 1e6 / warm_us;

    let fresh_n = 2_000u64;
    let mut fresh = Vec::with_capacity(fresh_n as usize);
    let mut instantiate = Vec::with_capacity(fresh_n as usize);
    for i in N..N + fresh_n {
        let (code, at) = login(i);
        let t = Instant::now();
        let mut s = host.session().unwrap();
        instantiate.push(t.elapsed().as_secs_f64() * 1e6);
        let v = s.verify("alice", &code, &wctx, at).unwrap().unwrap();
        assert!(matches!(v, Verification::Accepted(_)));
        fresh.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let fresh_us = median(fresh);
    let inst_us = median(instantiate);
    let ratio = median(ratios);
    let pk = passkey_rounds(key_bytes, wasm);
    let (pk_native_us, pk_warm_us, pk_ratio, pk_verify_ratio) =
        (pk.native_us, pk.warm_us, pk.ratio, pk.verify_ratio);
    let floor_wasm = std::env::var_os("PLANASONIX_FLOOR_WASM").map_or_else(
        || shared::build("planasonix-crypto-floor", "planasonix_crypto_floor.wasm"),
        |p| std::fs::read(p).unwrap(),
    );
    let f = floor::Floors::measure(&floor_wasm, ROUNDS as usize, 500, record_len as u32);
    let pk_floor = f.passkey_wasm_us / f.passkey_native_us;
    let pk_floor_default = f.passkey_wasm_default_us / f.passkey_native_us;
    let totp_floor = f.totp_wasm_us / f.totp_native_us;
    let totp_floor_default = f.totp_wasm_default_us / f.totp_native_us;

    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| bare cryptography of one verify (3 HMAC-SHA1, 1 AEAD open, 2 HMAC-SHA256 over the {record_len}-byte record) | {crypto_us:.2} µs |"
    );
    println!("| native core verify (in-memory store) | {native_us:.1} µs |");
    println!(
        "| component warm verify | {warm_us:.1} µs ({warm_per_sec:.0} verifies/s, one core) |"
    );
    println!("| component fresh instance + configure + verify (median) | {fresh_us:.1} µs |");
    println!("|   of which instantiate + configure | {inst_us:.1} µs |");
    println!("| WASM/native ratio (warm) | {ratio:.2} |");
    println!("| native passkey sign-in (options + verify, Ed25519) | {pk_native_us:.1} µs |");
    println!("| component passkey sign-in (warm) | {pk_warm_us:.1} µs |");
    println!("| passkey WASM/native ratio, whole sign-in | {pk_ratio:.2} |");
    println!("| passkey WASM/native ratio, the verify call alone | {pk_verify_ratio:.2} |");
    println!(
        "| floor: a passkey check's bare cryptography (2 SHA-256, 1 Ed25519 verify), native / component / component under wasmtime's defaults | {:.1} / {:.1} / {:.1} µs ({pk_floor:.2}× / {pk_floor_default:.2}×) |",
        f.passkey_native_us, f.passkey_wasm_us, f.passkey_wasm_default_us
    );
    println!(
        "| floor: a code check's bare cryptography, native / component / component under wasmtime's defaults | {:.2} / {:.2} / {:.2} µs ({totp_floor:.2}× / {totp_floor_default:.2}×) |",
        f.totp_native_us, f.totp_wasm_us, f.totp_wasm_default_us
    );
    let json = format!(
        "{{\"passkey_native_us\":{pk_native_us:.2},\"passkey_warm_us\":{pk_warm_us:.2},\"passkey_wasm_native_ratio\":{pk_ratio:.3},\"passkey_verify_wasm_native_ratio\":{pk_verify_ratio:.3},\"bare_crypto_us\":{crypto_us:.3},\"record_bytes\":{record_len},\"native_verify_us\":{native_us:.2},\"warm_verify_us\":{warm_us:.2},\"warm_verifies_per_sec\":{warm_per_sec:.0},\"fresh_instance_verify_us\":{fresh_us:.2},\"instantiate_configure_us\":{inst_us:.2},\"wasm_native_ratio\":{ratio:.3},\"floor_passkey_native_us\":{:.2},\"floor_passkey_wasm_us\":{:.2},\"floor_passkey_wasm_default_us\":{:.2},\"floor_passkey_ratio\":{pk_floor:.3},\"floor_passkey_ratio_default\":{pk_floor_default:.3},\"floor_totp_native_us\":{:.3},\"floor_totp_wasm_us\":{:.3},\"floor_totp_wasm_default_us\":{:.3},\"floor_totp_ratio\":{totp_floor:.3},\"floor_totp_ratio_default\":{totp_floor_default:.3}}}\n",
        f.passkey_native_us,
        f.passkey_wasm_us,
        f.passkey_wasm_default_us,
        f.totp_native_us,
        f.totp_wasm_us,
        f.totp_wasm_default_us
    );
    std::fs::write(&out_path, json).unwrap();
    println!("written: {out_path}");
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
