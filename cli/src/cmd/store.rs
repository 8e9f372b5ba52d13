//! `planasonix store check | migrate | copy`: the shared PostgreSQL store's
//! setup, run by root on one host of the fleet (see planasonix-store(5)).
//!
//! These connect to PostgreSQL themselves (the CLI links the client; the PAM
//! module never does); every other command reaches a shared store through
//! `planasonix serve`.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::record::{is_authenticated_form, UserRecord, USER_KEY_PREFIX};
use planasonix_core::Store;
use planasonix_native::{
    check_file_beside, read_check_file, read_store_file, SledStore, StoreSetting,
};
use planasonix_service::{Copied, PgStore, Recorded, SCHEMA_VERSION};
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
    let mut store = shared(&deployment.store)?;
    let check = deployment.seal_key()?.check_value();
    // As the service holds it to: every connection checks the fleet's key.
    store.expect_seal_key(check.clone());
    store.check()?;
    out.line(format!(
        "store: {}: connected, schema version {SCHEMA_VERSION}, sealed with this host's seal key",
        store.target()
    ))?;
    check_file_agrees(deployment, &check)
}

/// Whether the check file the service reads says what the key says (the
/// key was copied in, and `planasonix init` not run again).
fn check_file_agrees(deployment: &Deployment, check: &str) -> CliResult<()> {
    let file = check_file_beside(&deployment.key);
    match read_check_file(&file) {
        Ok(Some(there)) if there == check => Ok(()),
        Ok(_) => Err(CliError::new(
            Exit::Store,
            format!(
                "{} does not hold {}'s check value (missing, or from another key): `planasonix serve` would refuse the store; run `planasonix init` to write it, then restart the service",
                file.display(),
                deployment.key.display()
            ),
        )),
        Err(e) => Err(CliError::new(Exit::Store, e.to_string())),
    }
}

/// Records this host's key as the fleet's in a store that keeps none yet,
/// unless the records already there say it is not the fleet's.
fn record_fleet_key(deployment: &Deployment, store: &PgStore, out: &mut Out<'_>) -> CliResult<()> {
    let key = deployment.seal_key()?;
    let check = key.check_value();
    if let Recorded::Value(fleet) = store.recorded_seal_key()? {
        if fleet == check {
            return Ok(());
        }
        return Err(CliError::new(
            Exit::Store,
            format!(
                "{}: {} is not the seal key of the fleet this store serves (the store keeps another key's check value); copy the fleet's key from a host of the fleet, see planasonix-store(5), A NEW HOST",
                store.target(),
                deployment.key.display()
            ),
        ));
    }
    let (mut opened, mut refused) = (0usize, 0usize);
    for name in store.keys(USER_KEY_PREFIX)? {
        if let Some(record) = store.get(&name)? {
            match UserRecord::open(&key, &name, &record.value) {
                Ok(_) => opened += 1,
                Err(_) => refused += 1,
            }
        }
    }
    if opened == 0 && refused > 0 {
        return Err(CliError::new(
            Exit::Store,
            format!(
                "{}: none of the {refused} user records opens with {}: it is not the key they were sealed with, so it is not recorded as the fleet's; run `planasonix store migrate` on a host that holds the fleet's key",
                store.target(),
                deployment.key.display()
            ),
        ));
    }
    let kept = store.record_seal_key(&check)?;
    if kept != check {
        return Err(CliError::new(
            Exit::Store,
            format!(
                "{}: another host recorded another seal key as the fleet's meanwhile; this host's {} is not it",
                store.target(),
                deployment.key.display()
            ),
        ));
    }
    out.line(format!(
        "store: {}: recorded {}'s check value as the fleet's seal key (every host's `planasonix serve` refuses the store unless it holds that key)",
        store.target(),
        deployment.key.display()
    ))?;
    if refused > 0 {
        out.line(format!(
            "store: {refused} of {} user records do not open with this key: those users are refused at every door until `planasonix admin reset USER --reason TEXT` (see `planasonix admin list`)",
            opened + refused
        ))?;
    }
    Ok(())
}

pub fn migrate(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    let store = shared(&deployment.store)?;
    let done = store.migrate()?;
    let said = out.line(match done.from {
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
    });
    said?;
    record_fleet_key(deployment, &store, out)
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
