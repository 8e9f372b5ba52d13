//! The store's statements, prepared once on each connection, so that a
//! request is one round trip (bind and execute) instead of two (parse and
//! describe, then bind and execute). A login makes several; on a remote
//! database each round trip is the network's latency.

use super::sql;
use tokio::runtime::Runtime;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

/// A pooled connection with its prepared statements, and the runtime its
/// I/O task runs on (dropped last: it ends that task).
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) sql: Statements,
    pub(super) runtime: ClientRuntime,
}

/// The single-threaded runtime one connection runs on (timers for the
/// deadlines, sockets), driven by whichever thread uses the connection.
/// Dropped without waiting for its blocking thread: a host-name lookup
/// stuck in a resolver that does not answer must not hold the caller past
/// its deadline (tokio would wait for it).
pub(super) struct ClientRuntime(Option<Runtime>);

impl ClientRuntime {
    pub(super) fn new() -> std::io::Result<ClientRuntime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(ClientRuntime(Some(runtime)))
    }

    /// Runs `work` to completion on this thread (`None` only while the
    /// runtime is being dropped, which nothing can call into).
    pub(super) fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        self.0.as_ref().map(|runtime| runtime.block_on(work))
    }

    /// Lets the connection's task do what is waiting for it: the first
    /// yield lets the runtime poll its sockets, the second runs the task
    /// they woke. `None` as for [`ClientRuntime::block_on`].
    fn let_the_task_run(&self) -> Option<()> {
        self.block_on(async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        })
    }
}

impl Drop for ClientRuntime {
    fn drop(&mut self) {
        // The client went first (`Conn`'s field order): its task now tells
        // the server goodbye (Terminate, TLS close) if the socket takes it
        // at once; nothing here waits for an answer. Not from inside another
        // runtime, where tokio forbids blocking.
        if tokio::runtime::Handle::try_current().is_err() {
            self.let_the_task_run();
        }
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Conn {
    /// Whether the server is still there. The connection's task runs only
    /// while its thread drives the runtime, so a server that closed the
    /// connection while it sat in the pool (a restart) is noticed here, by
    /// letting the task read what arrived, not by the next statement.
    pub(super) fn is_open(&self) -> bool {
        if self.client.is_closed() {
            return false;
        }
        self.runtime.let_the_task_run().is_some() && !self.client.is_closed()
    }
}

/// One of each statement the store runs.
pub(super) struct Statements {
    pub(super) get: Statement,
    pub(super) insert: Statement,
    pub(super) insert_at: Statement,
    pub(super) insert_event: Statement,
    pub(super) delete_event: Statement,
    pub(super) update: Statement,
    pub(super) update_and_add: Statement,
    pub(super) delete: Statement,
    pub(super) exists: Statement,
    pub(super) keys: Statement,
}

impl Statements {
    /// Prepares every statement on `client` (whose schema was checked), as
    /// `store.sql` writes them.
    pub(super) async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        let (text, int8, bytea) = (Type::TEXT, Type::INT8, Type::BYTEA);
        let key_value = [text.clone(), bytea.clone()];
        let key_version = [text.clone(), int8.clone()];
        let key_version_value = [text.clone(), int8, bytea];
        let key = std::slice::from_ref(&text);
        Ok(Statements {
            get: client.prepare_typed(sql::GET, key).await?,
            insert: client.prepare_typed(sql::INSERT, &key_value).await?,
            insert_at: client
                .prepare_typed(sql::INSERT_AT, &key_version_value)
                .await?,
            insert_event: client.prepare_typed(sql::INSERT_EVENT, &key_value).await?,
            delete_event: client
                .prepare_typed(sql::DELETE_EVENT, &key_version)
                .await?,
            update: client
                .prepare_typed(sql::UPDATE, &key_version_value)
                .await?,
            update_and_add: client
                .prepare_typed(
                    sql::UPDATE_AND_ADD,
                    &[
                        key_version_value[0].clone(),
                        key_version_value[1].clone(),
                        key_version_value[2].clone(),
                        Type::TEXT_ARRAY,
                        Type::BYTEA_ARRAY,
                    ],
                )
                .await?,
            delete: client.prepare_typed(sql::DELETE, &key_version).await?,
            exists: client.prepare_typed(sql::EXISTS, key).await?,
            keys: client.prepare_typed(sql::KEYS, key).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ClientRuntime;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A host-name lookup runs on the runtime's blocking thread; one stuck in
    /// a resolver that does not answer must not keep a failed connection
    /// attempt from returning.
    #[test]
    fn dropping_a_connections_runtime_does_not_wait_for_a_stuck_lookup() {
        let runtime = ClientRuntime::new().unwrap();
        let (release, stuck) = mpsc::channel::<()>();
        let (started, has_started) = mpsc::channel();
        runtime
            .block_on(async {
                drop(tokio::task::spawn_blocking(move || {
                    let _ = started.send(());
                    let _ = stuck.recv();
                }));
            })
            .unwrap();
        has_started.recv().unwrap();
        let (dropped, was_dropped) = mpsc::channel();
        std::thread::spawn(move || {
            drop(runtime);
            let _ = dropped.send(());
        });
        // Generous: a drop that waited would wait until `release` below.
        let returned = was_dropped.recv_timeout(Duration::from_secs(30)).is_ok();
        let _ = release.send(());
        assert!(
            returned,
            "dropping the runtime waited for its blocking thread"
        );
    }
}
