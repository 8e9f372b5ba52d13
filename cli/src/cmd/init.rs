//! `planasonix init`: seal key, database directory and policy, each only if
//! absent; with `--postgresql URI`, the store file of a shared store too.

use crate::deployment::Deployment;
use crate::error::{io_error, CliError, CliResult, Exit};
use crate::files::{write_file, Existing, Written};
use crate::out::Out;
use crate::shared::read_policy;
use planasonix_core::policy::DEFAULT_POLICY_TOML;
use planasonix_core::SealKey;
use planasonix_native::store_file::{parse_store, read_password_file, PgSettings};
use planasonix_native::{
    check_file_beside, load_key_file, read_check_file, store_file_from_uri, transaction, OsRandom,
    StoreSetting,
};
use planasonix_service::{PgStore, Recorded};
use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

pub fn run(deployment: &Deployment, out: &mut Out<'_>, postgresql: Option<&str>) -> CliResult<()> {
    // Checked before anything is written: a typo, or a store whose fleet
    // key this host does not hold, leaves the host as it was.
    if let Some(uri) = postgresql {
        let (text, settings) = store_text(uri)?;
        if store_file_differs(deployment, &text)? {
            return Err(CliError::new(
                Exit::Store,
                format!(
                    "{} exists and names another store; edit it, or remove it and run init again",
                    deployment.store.display()
                ),
            ));
        }
        require_fleet_key(deployment, &settings)?;
        write_store_file(deployment, out, &text)?;
    }
    // Key first: it is the one thing that can never be recreated.
    make_parent(&deployment.key, 0o755)?;
    let key =
        SealKey::generate(&mut OsRandom::new()).map_err(|e| CliError::failed(e.to_string()))?;
    let check = match write_file(
        &deployment.key,
        key.to_key_text().expose().as_bytes(),
        0o600,
        Existing::Keep,
    )? {
        Written::Created => {
            out.line(format!(
                "created seal key {} (mode 0600)",
                deployment.key.display()
            ))?;
            key.check_value()
        }
        Written::Kept => {
            // Never overwritten; but say so if it is unusable.
            let kept = load_key_file(&deployment.key)?;
            out.line(format!(
                "kept existing seal key {}",
                deployment.key.display()
            ))?;
            kept.check_value()
        }
    };
    drop(key);
    // The key's check value, for the state service (which may not read the
    // key) to hold a shared store to: derived, so always rewritten.
    let check_file = check_file_beside(&deployment.key);
    if read_check_file(&check_file).ok().flatten().as_deref() != Some(check.as_str()) {
        write_file(
            &check_file,
            format!("{check}\n").as_bytes(),
            0o644,
            Existing::Replace,
        )?;
        out.line(format!(
            "wrote the seal key's check value {} (mode 0644)",
            check_file.display()
        ))?;
    }

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

/// The store file for `uri`, and its settings: refused as a usage error
/// when `uri` cannot be used, or its password file cannot be read.
fn store_text(uri: &str) -> CliResult<(String, PgSettings)> {
    let text =
        store_file_from_uri(uri).map_err(|why| CliError::usage(format!("--postgresql: {why}")))?;
    let StoreSetting::Postgresql(settings) =
        parse_store(&text).map_err(|why| CliError::usage(format!("--postgresql: {why}")))?
    else {
        return Err(CliError::usage(
            "--postgresql: the URI names no PostgreSQL store",
        ));
    };
    if let Some(file) = &settings.password_file {
        // The service reads it at every connection; say now if it cannot.
        read_password_file(file).map_err(|e| {
            CliError::new(
                Exit::Store,
                format!("--postgresql: password_file: {e}; create it first (one line, mode 0600, owned by root)"),
            )
        })?;
    }
    Ok((text, settings))
}

/// A host joins a fleet with the fleet's seal key, never with a key of its
/// own: asked of the store before anything is written. A store that keeps
/// no check value yet starts a fleet, whose key is this host's (recorded by
/// `planasonix store migrate`).
fn require_fleet_key(deployment: &Deployment, settings: &PgSettings) -> CliResult<()> {
    let store = PgStore::new(settings)?;
    let recorded = store.recorded_seal_key().map_err(|e| {
        CliError::new(
            Exit::Store,
            format!("--postgresql: cannot ask the store whether it serves a fleet already (whose seal key this host must hold): {e}"),
        )
    })?;
    let Recorded::Value(fleet) = recorded else {
        return Ok(());
    };
    let key = &deployment.key;
    let copy = format!(
        "copy the fleet's seal key from a host of the fleet to {} (owned by root, mode 0600), then run this again; see planasonix-store(5), A NEW HOST",
        key.display()
    );
    if !key.exists() {
        return Err(CliError::new(
            Exit::Store,
            format!("--postgresql: the store serves a fleet already, and this host has no seal key: a new one would seal this host's records so that no other host can read them; {copy}"),
        ));
    }
    if load_key_file(key)?.check_value() == fleet {
        return Ok(());
    }
    Err(CliError::new(
        Exit::Store,
        format!(
            "--postgresql: {} is not the seal key of the fleet this store serves (its check value is another): records this host wrote would be unreadable to the other hosts, and theirs to it. If this host has no users of its own yet (the key was made when the package was installed), {copy}",
            key.display()
        ),
    ))
}

/// Whether a store file is there that says something else than `text` (an
/// admin's edit is never lost).
fn store_file_differs(deployment: &Deployment, text: &str) -> CliResult<bool> {
    let path = &deployment.store;
    match std::fs::read_to_string(path) {
        Ok(there) => Ok(there != text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("cannot read", path, &e)),
    }
}

/// Writes the store file `text` unless it is there already.
fn write_store_file(deployment: &Deployment, out: &mut Out<'_>, text: &str) -> CliResult<()> {
    let path = &deployment.store;
    make_parent(path, 0o755)?;
    match write_file(path, text.as_bytes(), 0o644, Existing::Keep)? {
        Written::Created => out.line(format!("created store file {} (mode 0644)", path.display())),
        // Checked above: it says the same.
        Written::Kept => out.line(format!("kept existing store file {}", path.display())),
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
