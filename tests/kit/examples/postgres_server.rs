//! For `scripts/bench.sh`: starts a private, durable PostgreSQL (TLS by a
//! test CA), writes a store file for it to the path given, prints `ready`,
//! and stops it (removing everything) when standard input closes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use planasonix_testkit::postgres::{Postgres, Tls};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

fn main() {
    let store_file = std::env::args()
        .nth(1)
        .expect("usage: postgres_server STORE_FILE");
    let pg = Postgres::start_durable(Tls::On);
    std::fs::write(&store_file, pg.store_toml("verify-full")).unwrap();
    std::fs::set_permissions(&store_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(pg);
}
