//! `planasonix init`: seal key, database directory and policy, each only if absent.

use crate::deployment::Deployment;
use crate::error::{io_error, CliError, CliResult};
use crate::files::{write_file, Existing, Written};
use crate::out::Out;
use crate::shared::read_policy;
use planasonix_core::policy::DEFAULT_POLICY_TOML;
use planasonix_core::SealKey;
use planasonix_native::{load_key_file, transaction, OsRandom};
use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

pub fn run(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
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
    if deployment.setting()?.is_shared() {
        // Nothing to create here: the records live in the shared store.
        out.line(format!(
            "the store is shared ({}): run `planasonix store migrate` once for the fleet, then start `planasonix serve`",
            deployment.store.display()
        ))?;
    } else {
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
