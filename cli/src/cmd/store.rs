//! `planasonix store check | migrate | copy`: the shared PostgreSQL store's
//! setup, run by root on one host of the fleet (see planasonix-store(5)).
//!
//! These connect to PostgreSQL themselves (the CLI links the client; the PAM
//! module never does); every other command reaches a shared store through
//! `planasonix serve`.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::record::is_authenticated_form;
use planasonix_core::Store;
use planasonix_native::store::{Copied, PgStore, SCHEMA_VERSION};
use planasonix_native::{read_store_file, SledStore, StoreSetting};
use std::path::Path;

/// The shared store named by `file`, or why there is none.
fn shared(file: &Path) -> CliResult<PgStore> {
    match read_store_file(file).map_err(|e| CliError::new(Exit::Store, e.to_string()))? {
        StoreSetting::Postgresql(settings) => Ok(PgStore::new(&settings)?),
        StoreSetting::Sled => Err(CliError::new(
            Exit::Usage,
            format!(
                "{} does not name a shared store (absent, or kind = \"sled\"): this host uses its embedded database",
                file.display()
            ),
        )),
    }
}

pub fn check(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    if deployment.setting()? == StoreSetting::Sled {
        deployment.check_db()?;
        out.line(format!(
            "store: the embedded database {} ({} absent or kind = \"sled\")",
            deployment.db.display(),
            deployment.store.display()
        ))?;
        return Ok(());
    }
    let store = shared(&deployment.store)?;
    store.check()?;
    out.line(format!(
        "store: {}: connected, schema version {SCHEMA_VERSION}",
        store.target()
    ))
}

pub fn migrate(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    let store = shared(&deployment.store)?;
    let done = store.migrate()?;
    out.line(match done.from {
        None => format!(
            "store: {}: created the schema, version {}",
            store.target(),
            done.to
        ),
        Some(from) if from == done.to => format!(
            "store: {}: the schema is already version {from}",
            store.target()
        ),
        Some(from) => format!(
            "store: {}: upgraded the schema from version {from} to {}",
            store.target(),
            done.to
        ),
    })
}

pub fn copy(
    deployment: &Deployment,
    out: &mut Out<'_>,
    from: &str,
    to: Option<&Path>,
) -> CliResult<()> {
    let Some(source) = from.strip_prefix("sled:").map(Path::new) else {
        return Err(CliError::usage(format!(
            "--from {from:?}: give sled:PATH, the sled database directory to copy"
        )));
    };
    if !source.is_dir() {
        return Err(CliError::new(
            Exit::Store,
            format!("--from: {} is not a database directory", source.display()),
        ));
    }
    let target = shared(to.unwrap_or(&deployment.store))?;
    target.check()?;
    // Opened whole, so the copy is of one moment: the service on that
    // database must be stopped (sled admits one process).
    let sled = SledStore::open_waiting(source, deployment.wait)?;
    let (mut added, mut same, mut different) = (0u64, 0u64, Vec::new());
    let mut unauthenticated = Vec::new();
    for key in sled.keys("")? {
        let Some(record) = sled.get(&key)? else {
            continue;
        };
        // A shared store refuses these at every login (its administrator is
        // not trusted with the old form); the old host's init rewrites them.
        if key.starts_with("user/") && !is_authenticated_form(&record.value) {
            unauthenticated.push(key);
            continue;
        }
        match target.copy_record(&key, &record)? {
            Copied::Added => added += 1,
            Copied::Same => same += 1,
            Copied::Different => different.push(key),
        }
    }
    out.line(format!(
        "copied {added} records from {} to {} ({same} already there, {} different and kept, {} not authenticated and skipped)",
        source.display(),
        target.target(),
        different.len(),
        unauthenticated.len()
    ))?;
    let mut problems = Vec::new();
    if !different.is_empty() {
        problems.push(format!(
            "{} records differ from the ones already in {} and were not overwritten: {}",
            different.len(),
            target.target(),
            different.join(", ")
        ));
    }
    if !unauthenticated.is_empty() {
        problems.push(format!(
            "{} records are still in the unauthenticated form a shared store refuses: {}; run `planasonix init` on the host of {} (it rewrites them authenticated), then copy again",
            unauthenticated.len(),
            unauthenticated.join(", "),
            source.display()
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError::new(Exit::Store, problems.join("; ")))
}
