//! The store's statements, prepared once on each connection, so that a
//! request is one round trip (bind and execute) instead of two (parse and
//! describe, then bind and execute). A login makes several; on a remote
//! database each round trip is the network's latency.

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

/// A pooled connection with its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) sql: Statements,
}

/// One of each statement the store runs.
pub(super) struct Statements {
    pub(super) get: Statement,
    pub(super) insert: Statement,
    pub(super) insert_at: Statement,
    pub(super) update: Statement,
    pub(super) delete: Statement,
    pub(super) exists: Statement,
    pub(super) keys: Statement,
}

impl Statements {
    /// Prepares every statement on `client` (whose schema was checked).
    pub(super) async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        let (text, int8, bytea) = (Type::TEXT, Type::INT8, Type::BYTEA);
        Ok(Statements {
            get: client
                .prepare_typed(
                    "SELECT version, value FROM planasonix_records WHERE key = $1",
                    std::slice::from_ref(&text),
                )
                .await?,
            insert: client
                .prepare_typed(
                    "INSERT INTO planasonix_records (key, version, value) VALUES ($1, 1, $2)
                     ON CONFLICT (key) DO NOTHING",
                    &[text.clone(), bytea.clone()],
                )
                .await?,
            insert_at: client
                .prepare_typed(
                    "INSERT INTO planasonix_records (key, version, value) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO NOTHING",
                    &[text.clone(), int8.clone(), bytea.clone()],
                )
                .await?,
            update: client
                .prepare_typed(
                    "UPDATE planasonix_records SET version = version + 1, value = $3
                     WHERE key = $1 AND version = $2",
                    &[text.clone(), int8.clone(), bytea],
                )
                .await?,
            delete: client
                .prepare_typed(
                    "DELETE FROM planasonix_records WHERE key = $1 AND version = $2",
                    &[text.clone(), int8],
                )
                .await?,
            exists: client
                .prepare_typed(
                    "SELECT EXISTS (SELECT 1 FROM planasonix_records WHERE key = $1)",
                    std::slice::from_ref(&text),
                )
                .await?,
            keys: client
                .prepare_typed(
                    "SELECT key FROM planasonix_records WHERE key LIKE $1 ORDER BY key",
                    &[text],
                )
                .await?,
        })
    }
}
