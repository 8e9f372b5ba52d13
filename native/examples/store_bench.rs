//! Store benchmark: one PAM-style sled transaction (open, read a user record,
//! compare-and-swap it, append an audit event, flush, close) against database
//! size, 1 to 10,000 users, each with an audit history in the trail file (as
//! the PAM module and the CLI keep it). Prints a table; writes JSON.
//!
//! `cargo run --release -p planasonix-core --example store_bench -- [OUT.json]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use planasonix_core::hotp::Algorithm;
use planasonix_core::{
    AuditTrail, Engine, MemoryStore, Policy, SealKey, SecretBytes, SeededRandom, Store, TotpParams,
    UnixTime,
};
use planasonix_native::{FileTrail, SledStore};
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [1, 100, 1_000, 10_000];
/// Audit events stored per user (the default keeps up to 100).
const HISTORY: usize = 50;
const RUNS: usize = 60;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let out_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench-store.json".into());
    // One real record and event, made by the engine, copied to every user:
    // what is measured is the store, not PBKDF2 for 10,000 recovery-code sets.
    let policy = Policy::from_toml("").unwrap();
    let key = SealKey::from_bytes(&[7u8; 32]).unwrap();
    let mem = MemoryStore::new();
    let engine = Engine::new(&policy, &key, &mem);
    let params = TotpParams {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    let secret = SecretBytes::new(b"store-bench-secret-01".to_vec());
    let mut rng = SeededRandom::new(3);
    engine
        .provision_totp("u", &secret, params, UnixTime(1_800_000_000), &mut rng)
        .unwrap();
    let record = mem.get("user/u").unwrap().unwrap().value;
    let event = engine.audit_log(Some("u"), None).unwrap().remove(0);

    let base = std::env::temp_dir().join(format!("planasonix-store-bench.{}", std::process::id()));
    let mut rows = Vec::new();
    let mut filled = 0;
    let db = base.join("db");
    let trail = FileTrail::beside(&db);
    for size in SIZES {
        SledStore::transaction(&db, Duration::from_secs(3), |s| {
            for u in filled..size {
                s.compare_and_swap(&format!("user/u{u:05}"), None, Some(&record))?;
                let mut history = vec![event.clone(); HISTORY];
                history.iter_mut().for_each(|e| e.user = format!("u{u:05}"));
                trail.append(&history[0].user, 0, &history)?;
            }
            Ok::<(), planasonix_core::StoreError>(())
        })
        .unwrap();
        filled = size;
        let mut open_only = Vec::new();
        let mut tx = Vec::new();
        for r in 0..RUNS {
            let user = format!("user/u{:05}", (r * 7919) % size);
            let t = Instant::now();
            drop(SledStore::open_waiting(&db, Duration::from_secs(3)).unwrap());
            open_only.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            SledStore::transaction(&db, Duration::from_secs(3), |s| {
                let v = s.get(&user)?.unwrap();
                s.compare_and_swap(&user, Some(v.version), Some(&v.value))?;
                trail.append(&user[5..], 0, std::slice::from_ref(&event))?;
                Ok::<(), planasonix_core::StoreError>(())
            })
            .unwrap();
            tx.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let bytes = dir_size(&db) + std::fs::metadata(trail.path()).map_or(0, |m| m.len());
        rows.push((size, median(open_only), median(tx), bytes));
    }
    let _ = std::fs::remove_dir_all(&base);

    println!("| users (x{HISTORY} audit events) | database + trail size | open | open + read + CAS + append event + flush + close |");
    println!("|---|---|---|---|");
    let mut json = Vec::new();
    for (size, open, tx, bytes) in &rows {
        println!(
            "| {size} | {:.1} MB | {open:.2} ms | {tx:.2} ms |",
            *bytes as f64 / 1e6
        );
        json.push(format!(
            "{{\"users\":{size},\"audit_events_per_user\":{HISTORY},\"db_bytes\":{bytes},\"open_ms\":{open:.3},\"transaction_ms\":{tx:.3}}}"
        ));
    }
    std::fs::write(&out_path, format!("[{}]\n", json.join(","))).unwrap();
    println!("written: {out_path}");
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
