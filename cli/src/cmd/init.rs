//! `planasonix init`: seal key, database directory and policy, each only if
//! absent; with `--postgresql URI`, the store file of a shared store too.

use crate::deployment::Deployment;
use crate::error::{io_error, CliError, CliResult, Exit};
use crate::files::{write_file, Existing, Written};
use crate::out::Out;
use crate::shared::read_policy;
use planasonix_core::policy::DEFAULT_POLICY_TOML;
use planasonix_core::SealKey;
use planasonix_native::store_file::{parse_store, read_password_file};
use planasonix_native::{load_key_file, store_file_from_uri, transaction, OsRandom, StoreSetting};
use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

pub fn run(deployment: &Deployment, out: &mut Out<'_>, postgresql: Option<&str>) -> CliResult<()> {
    // Checked before anything is written: a typo leaves the host as it was.
    if let Some(uri) = postgresql {
        write_store_file(deployment, out, uri)?;
    }
    // Key first: it is the one thing that can never be recreated.
    make_parent(&deployment.key, 0o755)?;
    let key =
        SealKey::generate(&mut OsRandom::new()).map_err(|e| CliError::failed(e.to_string()))?;
    match write_file(
        &deployment.key,
        key.to_key_text().expose().as_bytes(),
        0o600,
        Existing::Keep,
    )? {
        Written::Created => out.line(format!(
            "created seal key {} (mode 0600)",
            deployment.key.display()
        ))?,
        Written::Kept => {
            // Never overwritten; but say so if it is unusable.
            load_key_file(&deployment.key)?;
            out.line(format!(
                "kept existing seal key {}",
                deployment.key.display()
            ))?;
        }
    }
    drop(key);

    make_parent(&deployment.db, 0o755)?;
    match DirBuilder::new().mode(0o700).create(&deployment.db) {
        Ok(()) => {
            std::fs::set_permissions(&deployment.db, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error("cannot set mode of", &deployment.db, &e))?;
            out.line(format!(
                "created database directory {} (mode 0700)",
                deployment.db.display()
            ))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            out.line(format!(
                "kept existing database directory {}",
                deployment.db.display()
            ))?;
        }
        Err(e) => {
            return Err(io_error(
                "cannot create database directory",
                &deployment.db,
                &e,
            ))
        }
    }
    let shared = deployment.setting()?.is_shared();
    if !shared {
        // Opening once proves the database works (and creates its files).
        transaction(&deployment.db, deployment.wait, |_| Ok::<(), CliError>(()))?;
    }

    make_parent(&deployment.config, 0o755)?;
    match write_file(
        &deployment.config,
        DEFAULT_POLICY_TOML.as_bytes(),
        0o644,
        Existing::Keep,
    )? {
        Written::Created => out.line(format!(
            "created default policy {} (mode 0644)",
            deployment.config.display()
        ))?,
        Written::Kept => {
            read_policy(&deployment.config)?;
            out.line(format!(
                "kept existing policy {}",
                deployment.config.display()
            ))?;
        }
    }
    if shared {
        // Nothing to create or rewrite here: the records live in the shared
        // store, which holds only authenticated ones.
        return out.line(format!(
            "the store is shared ({}): run `planasonix store migrate` once for the fleet, then start `planasonix serve`",
            deployment.store.display()
        ));
    }
    // Records written before they were authenticated are rewritten
    // authenticated, and the database is marked so that an unauthenticated
    // record is refused from now on (it could only be a downgrade).
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let rewritten = deployment.with_engine(&policy, &key, None, |engine| {
        Ok(engine.upgrade_records(planasonix_native::now())?)
    })?;
    if rewritten > 0 {
        out.line(format!(
            "rewrote {rewritten} user records in the authenticated record format"
        ))?;
    }
    Ok(())
}

/// Writes the store file for `uri` unless one is there: kept if it says the
/// same, refused if it says something else (an admin's edit is never lost).
fn write_store_file(deployment: &Deployment, out: &mut Out<'_>, uri: &str) -> CliResult<()> {
    let path = &deployment.store;
    let text =
        store_file_from_uri(uri).map_err(|why| CliError::usage(format!("--postgresql: {why}")))?;
    if let StoreSetting::Postgresql(settings) =
        parse_store(&text).map_err(|why| CliError::usage(format!("--postgresql: {why}")))?
    {
        if let Some(file) = &settings.password_file {
            // The service reads it at every connection; say now if it cannot.
            read_password_file(file).map_err(|e| {
                CliError::new(
                    Exit::Store,
                    format!("--postgresql: password_file: {e}; create it first (one line, mode 0600, owned by root)"),
                )
            })?;
        }
    }
    make_parent(path, 0o755)?;
    match write_file(path, text.as_bytes(), 0o644, Existing::Keep)? {
        Written::Created => out.line(format!("created store file {} (mode 0644)", path.display())),
        Written::Kept => {
            let there =
                std::fs::read_to_string(path).map_err(|e| io_error("cannot read", path, &e))?;
            if there != text {
                return Err(CliError::new(
                    Exit::Store,
                    format!(
                        "{} exists and names another store; edit it, or remove it and run init again",
                        path.display()
                    ),
                ));
            }
            out.line(format!("kept existing store file {}", path.display()))
        }
    }
}

fn make_parent(path: &Path, mode: u32) -> CliResult<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir)
            .map_err(|e| io_error("cannot create directory", dir, &e)),
        _ => Ok(()),
    }
}
