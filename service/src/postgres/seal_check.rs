//! The fleet key's check value in the store (`meta/seal-key-check`): every
//! host's records must be sealed with one key, or each host's records are
//! unreadable to the others. A host that expects a check value
//! ([`PgStore::expect_seal_key`]) refuses every connection to a store that
//! keeps another one, or none, before a request is served.

use super::{ClientRuntime, PgStore};
use planasonix_core::seal::CHECK_VALUE_KEY;
use planasonix_core::store::{Store, StoreError};
use tokio_postgres::Client;

/// What the store says about the fleet key, for `planasonix store check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The store has no schema yet (`store migrate` will make it).
    NoSchema,
    /// The schema is there, without a check value.
    Absent,
    /// The check value the store keeps.
    Value(String),
}

impl PgStore {
    /// Every connection from now on is refused unless the store keeps
    /// `check`, this host's key's check value.
    pub fn expect_seal_key(&mut self, check: String) {
        self.seal_check = Some(check);
    }

    /// The check value the store keeps, read on a connection of its own
    /// (the schema may be missing or old: `planasonix init` asks before it
    /// makes a key).
    pub fn recorded_seal_key(&self) -> Result<Recorded, StoreError> {
        let runtime = super::client_runtime()?;
        let client = self.run(&runtime, "connecting", self.connect_timeout, self.connect())?;
        self.run(
            &runtime,
            "reading the seal key check",
            self.statement_timeout,
            read(&client),
        )
    }

    /// Records `check` as the fleet key's unless the store keeps one:
    /// returns what it keeps afterwards.
    pub fn record_seal_key(&self, check: &str) -> Result<String, StoreError> {
        let value = check.as_bytes();
        self.with_client(async |c, sql| c.execute(&sql.insert, &[&CHECK_VALUE_KEY, &value]).await)?;
        match self.get(CHECK_VALUE_KEY)? {
            Some(there) => text(&there.value),
            None => Err(StoreError::Corrupt {
                key: CHECK_VALUE_KEY.into(),
                detail: "it was written and is gone".into(),
            }),
        }
    }

    /// The check of a new connection, before it serves anything.
    pub(super) fn check_seal_key(
        &self,
        runtime: &ClientRuntime,
        client: &Client,
    ) -> Result<(), StoreError> {
        let Some(expected) = &self.seal_check else {
            return Ok(());
        };
        let found = self.run(
            runtime,
            "reading the seal key check",
            self.statement_timeout,
            read(client),
        )?;
        match found {
            Recorded::Value(v) if v == *expected => Ok(()),
            Recorded::Value(_) => Err(StoreError::Untrusted(format!(
                "{}: this host's seal key is not the fleet's: the store keeps another key's check value, so every record this host wrote would be unreadable to the other hosts, and theirs to it; copy the seal key from a host of the fleet (planasonix-store(5), A NEW HOST), run `planasonix init`, and restart `planasonix serve`",
                self.target
            ))),
            Recorded::Absent | Recorded::NoSchema => Err(StoreError::Untrusted(format!(
                "{}: the store keeps no seal key check yet: run `planasonix store migrate` on a host of the fleet (it records the fleet key's check value)",
                self.target
            ))),
        }
    }
}

/// Reads the check value over `client`.
async fn read(client: &Client) -> Result<Recorded, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(super::sql::RECORDS_PRESENT, &[])
        .await?
        .get(0);
    if !exists {
        return Ok(Recorded::NoSchema);
    }
    let row = client
        .query_opt(super::sql::GET, &[&CHECK_VALUE_KEY])
        .await?;
    Ok(match row {
        None => Recorded::Absent,
        // Not text: kept as a value no key gives, so it never matches.
        Some(row) => Recorded::Value(
            String::from_utf8(row.get::<_, Vec<u8>>(1))
                .unwrap_or_else(|_| "(not UTF-8)".to_owned()),
        ),
    })
}

fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt {
        key: CHECK_VALUE_KEY.into(),
        detail: "the seal key check is not UTF-8 text".into(),
    })
}
