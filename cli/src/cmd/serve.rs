//! `planasonix serve`: the state service. Keeps the database open and serves
//! it over `<db>.sock` to the PAM module and this CLI, so a login costs a few
//! socket round trips instead of opening sled twice in a fresh process.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::text::escape_line;
use planasonix_native::{check_file_beside, read_check_file, StoreSetting};
use planasonix_service::{PgStore, StoreService};
use std::io::Write;

pub fn run(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    let (service, what) = match deployment.setting()? {
        StoreSetting::Sled => {
            deployment.check_db()?;
            let service = StoreService::start(&deployment.db, deployment.wait)?;
            (service, deployment.db.display().to_string())
        }
        StoreSetting::Postgresql(settings) => {
            let mut store = PgStore::new(&settings)?;
            let target = store.target().to_owned();
            // The key itself is root's alone; its check value is beside it.
            let check_file = check_file_beside(&deployment.key);
            match read_check_file(&check_file)
                .map_err(|e| CliError::new(Exit::Store, e.to_string()))?
            {
                Some(check) => store.expect_seal_key(check),
                None => {
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "planasonix serve: {} is missing, so a host with another seal key than the fleet's goes unnoticed until its records are read: run `planasonix init` as root, then restart the service",
                        escape_line(&check_file.display().to_string())
                    );
                }
            }
            // Down now is not fatal: every request connects again, and
            // logins fail closed with the reason until the server is back.
            if let Err(e) = store.check() {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "planasonix serve: {}; serving anyway, every request retries",
                    escape_line(&e.to_string())
                );
            }
            let service = StoreService::start_shared(&deployment.db, store)?;
            (service, target)
        }
    };
    out.line(format!("serving {what} on {}", service.socket().display()))?;
    out.flush()?;
    // Only protocol breaches and I/O failures are reported; never values
    // (they are sealed anyway) and never user names.
    let stopped = service.run(|problem| {
        // stderr is the journal under systemd; a failed write has nowhere to go.
        // A client's bad frame may be quoted in it: escaped like every log line.
        let _ = writeln!(
            std::io::stderr().lock(),
            "planasonix serve: {}",
            escape_line(&problem)
        );
    });
    Err(CliError::new(
        Exit::Store,
        format!("stopped serving: accepting connections kept failing: {stopped}"),
    ))
}
