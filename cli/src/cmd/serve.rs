//! `planasonix serve`: the state service. Keeps the database open and serves
//! it over `<db>.sock` to the PAM module and this CLI, so a login costs a few
//! socket round trips instead of opening sled twice in a fresh process.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::text::escape_line;
use planasonix_native::StoreService;
use std::io::Write;

pub fn run(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    deployment.check_db()?;
    let service = StoreService::start(&deployment.db, deployment.wait)?;
    out.line(format!(
        "serving {} on {}",
        deployment.db.display(),
        service.socket().display()
    ))?;
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
