//! The fleet's shared store: PostgreSQL, behind `planasonix serve`.
//!
//! Every host's state service and the identity provider's host hold a
//! [`PgStore`]; the PAM module never does (it never links this code, see the
//! `postgres` feature). A record is one row of `planasonix_records` (key,
//! version, sealed value). Compare-and-swap is one conditional statement on
//! one row (`UPDATE … WHERE key = $1 AND version = $2`, `INSERT … ON
//! CONFLICT DO NOTHING`, `DELETE … WHERE version = $2`), committed on its
//! own: no long transaction, no table lock, and two hosts racing on one
//! record get one `Swapped` and one `Conflict`, as with sled.
//!
//! Every statement and every connection attempt has a deadline (the store
//! file's `statement_timeout` and `connect_timeout`), so a stopped, frozen or
//! unreachable server fails a login closed in seconds instead of hanging it.
//! A connection that failed or timed out is dropped, and the next request
//! makes a new one: the service reconnects by itself when the server is back.

use planasonix_core::store::{swap_then_add, Cas, IoKind, Store, StoreError, Swap, Versioned};
use planasonix_core::EVENT_KEY_PREFIX;
use planasonix_native::store_file::{read_password_file, PgSettings, PgTls};
use planasonix_native::trusted_file::{read_trusted, Kind, TrustedFileError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config, NoTls};

mod seal_check;
mod socket;
mod sql;
mod statements;
pub use seal_check::Recorded;
pub use sql::SCHEMA_VERSION;
use statements::{ClientRuntime, Conn, Statements};

/// A [`Store`] on a shared PostgreSQL database, with a small pool of
/// connections.
///
/// Each connection runs on its own single-threaded runtime, driven by the
/// thread that uses it: a statement is written, answered and read on the
/// caller's thread, with no hand-over to a worker thread and back. On a busy
/// host every such hand-over is a wait for a core, several per statement.
pub struct PgStore {
    config: Config,
    transport: Transport,
    /// `user@host:port/database`, for messages (never the password).
    target: String,
    connect_timeout: Duration,
    statement_timeout: Duration,
    pool_size: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// The check value of this host's seal key, which every connection
    /// checks the store keeps ([`PgStore::expect_seal_key`]).
    seal_check: Option<String>,
}

/// How connections reach the server: never plain TCP.
enum Transport {
    /// TLS, `verify-full`, SCRAM with channel binding.
    Tls(postgres_rustls::MakeTlsConnector),
    /// A unix socket in this directory, whose server runs as this uid.
    Socket(std::path::PathBuf, u32),
}

/// Whether a failed request's connection had died while idle in the pool.
enum Stale {
    Yes,
    No,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    /// Connections open, idle or in use.
    open: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// What [`PgStore::migrate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The schema before (`None`: there was none).
    pub from: Option<i32>,
    /// The schema now.
    pub to: i32,
}

/// What [`PgStore::copy_record`] did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copied {
    /// It was not there and is now, with its version.
    Added,
    /// The same record (version and bytes) was already there.
    Same,
    /// A different record is there under that key; nothing was written.
    Different,
}

/// Why setting up the store failed before any connection.
fn setup(what: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::io(IoKind::Other, format!("{what}: {why}"))
}

/// A runtime for one connection ([`ClientRuntime`]).
fn client_runtime() -> Result<ClientRuntime, StoreError> {
    ClientRuntime::new().map_err(|e| setup("cannot start the PostgreSQL client", e))
}

impl PgStore {
    /// Prepares the store for `settings`: reads the password file and the CA
    /// file, starts the client's runtime. Connects lazily: a server that is
    /// down now is retried by every request ([`PgStore::check`] connects
    /// at once).
    pub fn new(settings: &PgSettings) -> Result<PgStore, StoreError> {
        let mut config = Config::new();
        for host in &settings.hosts {
            config.host(host);
        }
        config
            .port(settings.port)
            .dbname(&settings.database)
            .user(&settings.user)
            .application_name("planasonix")
            .connect_timeout(settings.connect_timeout)
            // Of several hosts, the one that takes writes (never a standby).
            .target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options(format!(
                "-c statement_timeout={}",
                settings.statement_timeout.as_millis()
            ));
        if let Some(file) = password_source(settings) {
            let password = read_password_file(&file).map_err(|e| file_error(&e))?;
            config.password(password.as_bytes());
        }
        let transport = match &settings.tls {
            PgTls::Socket { owner } => {
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let uid = planasonix_native::accounts::resolve(owner)
                    .map_err(|e| setup(&format!("socket_owner {owner:?}"), e))?
                    .uid;
                let dir = settings
                    .hosts
                    .first()
                    .ok_or_else(|| setup("[postgresql] hosts", "names no socket directory"))?;
                Transport::Socket(dir.into(), uid)
            }
            PgTls::VerifyFull { ca_file } => {
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                // SCRAM with channel binding only: a server that asks for
                // the password in clear or as MD5, or skips SCRAM, is
                // refused before the password leaves (whoever holds a
                // certificate of the CA still cannot learn it).
                config.channel_binding(tokio_postgres::config::ChannelBinding::Require);
                Transport::Tls(tls_connector(ca_file)?)
            }
        };
        Ok(PgStore {
            config,
            transport,
            target: format!(
                "PostgreSQL {}@{}:{}/{}",
                settings.user,
                settings.hosts.join(","),
                settings.port,
                settings.database
            ),
            // Each host gets its own connect_timeout, tried in order.
            connect_timeout: settings.connect_timeout * settings.hosts.len().max(1) as u32,
            statement_timeout: settings.statement_timeout,
            pool_size: settings.pool_size,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
            seal_check: None,
        })
    }

    /// `user@hosts:port/database`, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Connects now and checks the schema: what `planasonix store check`
    /// and the service at start report. Every new connection is checked the
    /// same way before it serves a request.
    pub fn check(&self) -> Result<(), StoreError> {
        let (conn, _) = self.take()?;
        self.give_back(Some(conn));
        Ok(())
    }

    /// Creates or upgrades the schema to [`SCHEMA_VERSION`]; refuses a newer
    /// one. Safe to run on several hosts at once (the version table is
    /// locked for the upgrade) and to run again.
    pub fn migrate(&self) -> Result<Migrated, StoreError> {
        let runtime = client_runtime()?;
        let mut client = self.run(&runtime, "connecting", self.connect_timeout, self.connect())?;
        let result = self.run(&runtime, "migrating", self.statement_timeout * 4, async {
            let tx = client.transaction().await?;
            // Two hosts migrating a fresh database at once: one waits here
            // (CREATE TABLE IF NOT EXISTS alone races on the catalog).
            tx.batch_execute(sql::MIGRATE_LOCK).await?;
            tx.batch_execute(sql::MIGRATE_VERSION_TABLE).await?;
            let from: Option<i32> = tx
                .query_opt(sql::SCHEMA_READ, &[])
                .await?
                .and_then(|row| row.get(0));
            if from.is_some_and(|v| v > SCHEMA_VERSION) {
                return Ok(Err(from));
            }
            if from.is_none() {
                tx.batch_execute(sql::SCHEMA_1).await?;
            }
            if from.is_none_or(|v| v < 2) {
                tx.batch_execute(sql::SCHEMA_2).await?;
            }
            if from != Some(SCHEMA_VERSION) {
                tx.execute(sql::MIGRATE_MARK, &[&SCHEMA_VERSION]).await?;
            }
            tx.commit().await?;
            Ok(Ok(from))
        })?;
        match result {
            Ok(from) => Ok(Migrated {
                from,
                to: SCHEMA_VERSION,
            }),
            Err(newer) => Err(newer_schema(&self.target, newer.unwrap_or_default())),
        }
    }

    /// Writes `value` at `version` under `key` unless a record is there:
    /// [`Copied::Same`] if it is this one, [`Copied::Different`] if not
    /// (nothing is overwritten). For `planasonix store copy`.
    pub fn copy_record(&self, key: &str, record: &Versioned) -> Result<Copied, StoreError> {
        let version = i64::try_from(record.version)
            .map_err(|_| corrupt(key, "its version does not fit a PostgreSQL bigint"))?;
        let value = record.value.as_slice();
        let added = self.with_client(async |c, sql| {
            c.execute(&sql.insert_at, &[&key, &version, &value]).await
        })?;
        if added == 1 {
            return Ok(Copied::Added);
        }
        Ok(match self.get(key)? {
            Some(there) if there == *record => Copied::Same,
            _ => Copied::Different,
        })
    }

    /// Runs `op` on a pooled connection with the statement deadline; a
    /// connection that fails or times out is closed, not reused.
    fn with_client<T>(
        &self,
        op: impl AsyncFnOnce(&Client, &Statements) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        self.attempt(op).map_err(|(e, _)| e)
    }

    /// [`PgStore::with_client`] for a statement that changes nothing: if
    /// the pooled connection it got had died while idle (a server restart
    /// not yet noticed, see `Conn::is_open`), it is asked once more on a new
    /// connection. A write is never asked twice: it may have been done.
    fn read<T>(
        &self,
        op: impl AsyncFn(&Client, &Statements) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        match self.attempt(&op) {
            Err((_, Stale::Yes)) => self.with_client(&op),
            other => other.map_err(|(e, _)| e),
        }
    }

    fn attempt<T>(
        &self,
        op: impl AsyncFnOnce(&Client, &Statements) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, (StoreError, Stale)> {
        let (conn, reused) = self.take().map_err(|e| (e, Stale::No))?;
        let outcome = self.run(
            &conn.runtime,
            "waiting for an answer",
            self.statement_timeout,
            op(&conn.client, &conn.sql),
        );
        match outcome {
            Ok(value) => {
                self.give_back(Some(conn));
                Ok(value)
            }
            Err(e) => {
                // A statement the server refused leaves the connection fine;
                // anything else (timeout, lost connection) does not.
                let closed = conn.client.is_closed();
                let reusable = !closed && e.io_kind() == Some(IoKind::Other);
                self.give_back(reusable.then_some(conn));
                let stale = if reused && closed {
                    Stale::Yes
                } else {
                    Stale::No
                };
                Err((e, stale))
            }
        }
    }

    /// A pooled connection (`true`: it was idle in the pool), or a new one
    /// while fewer than `pool_size` are open; waits for one to come back
    /// otherwise.
    fn take(&self) -> Result<(Conn, bool), StoreError> {
        #[allow(clippy::disallowed_methods)] // A deadline, not a time the engine sees.
        let deadline = Instant::now() + self.connect_timeout;
        let mut pool = self.lock();
        loop {
            if let Some(conn) = pool.idle.pop() {
                // Checked, and dropped if dead, without holding the pool.
                drop(pool);
                if conn.is_open() {
                    return Ok((conn, true));
                }
                drop(conn);
                self.give_back(None);
                pool = self.lock();
                continue;
            }
            if pool.open < self.pool_size {
                pool.open += 1;
                drop(pool);
                let made = self.open();
                if made.is_err() {
                    self.give_back(None);
                }
                return made.map(|conn| (conn, false));
            }
            #[allow(clippy::disallowed_methods)] // As above.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Not another process holding a file, as on one host: every
                // pooled connection is busy with another request.
                return Err(StoreError::io(
                    IoKind::Unreachable,
                    format!(
                        "{}: pool: all {} connections stayed in use for {} s (more logins at once than pool_size, or statements the server does not finish): raise pool_size in the store file, or look for stuck statements on the server",
                        self.target,
                        self.pool_size,
                        self.connect_timeout.as_secs()
                    ),
                ));
            }
            pool = self
                .returned
                .wait_timeout(pool, left)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
    }

    /// Opens a connection on its own runtime, checks the schema and
    /// prepares the statements.
    fn open(&self) -> Result<Conn, StoreError> {
        let runtime = client_runtime()?;
        let client = self.run(&runtime, "connecting", self.connect_timeout, self.connect())?;
        let schema = self.run(
            &runtime,
            "reading the schema version",
            self.statement_timeout,
            PgStore::schema_of(&client),
        )?;
        self.check_schema(schema)?;
        self.check_seal_key(&runtime, &client)?;
        let sql = self.run(
            &runtime,
            "preparing statements",
            self.statement_timeout,
            Statements::prepare(&client),
        )?;
        Ok(Conn {
            client,
            sql,
            runtime,
        })
    }

    /// Returns a connection to the pool (`None`: it was closed).
    fn give_back(&self, conn: Option<Conn>) {
        let mut pool = self.lock();
        match conn {
            Some(c) => pool.idle.push(c),
            None => pool.open = pool.open.saturating_sub(1),
        }
        drop(pool);
        self.returned.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens one connection; its I/O is a task on the runtime this runs on.
    async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let client = match &self.transport {
            Transport::Tls(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                tokio::spawn(connection);
                client
            }
            Transport::Socket(dir, owner) => {
                let port = self.config.get_ports().first().copied().unwrap_or(5432);
                // A directory or a peer not trusted fails the stream's first
                // write, so it reaches the caller as this connection's error.
                let stream = socket::connect(dir, port, *owner).await;
                let (client, connection) = self
                    .config
                    .connect_raw(socket::Checked::from(stream), NoTls)
                    .await?;
                tokio::spawn(connection);
                client
            }
        };
        Ok(client)
    }

    /// Runs `work` on `runtime`, on this thread, within `limit`, naming
    /// `doing` when it runs out.
    fn run<T>(
        &self,
        runtime: &ClientRuntime,
        doing: &str,
        limit: Duration,
        work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        match runtime.block_on(async { tokio::time::timeout(limit, work).await }) {
            Some(Ok(Ok(value))) => Ok(value),
            Some(Ok(Err(e))) => Err(pg_error(&self.target, &e)),
            None => Err(setup(&self.target, "the connection's runtime has stopped")),
            Some(Err(_)) => Err(StoreError::io(
                IoKind::Unreachable,
                format!(
                    "{}: {}: no answer within {} s while {doing} (server stopped, frozen or unreachable)",
                    self.target,
                    if doing == "connecting" { "connection" } else { "statement" },
                    limit.as_secs()
                ),
            )),
        }
    }

    /// The schema version, refusing a database this build cannot use.
    fn check_schema(&self, version: Option<i32>) -> Result<(), StoreError> {
        match version {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(v) if v > SCHEMA_VERSION => Err(newer_schema(&self.target, v)),
            Some(v) => Err(StoreError::io(
                IoKind::Other,
                format!(
                    "{}: schema: the schema is version {v}, older than this planasonix's {SCHEMA_VERSION}: run `planasonix store migrate`",
                    self.target
                ),
            )),
            None => Err(no_schema(&self.target)),
        }
    }

    /// Reads the schema version over `client` (`None`: no schema).
    async fn schema_of(client: &Client) -> Result<Option<i32>, tokio_postgres::Error> {
        let exists: bool = client.query_one(sql::SCHEMA_PRESENT, &[]).await?.get(0);
        if !exists {
            return Ok(None);
        }
        Ok(client.query_one(sql::SCHEMA_READ, &[]).await?.get(0))
    }
}

/// Where the password is read from: the systemd credential `db-password`
/// when the service runs with `LoadCredential=db-password:…` (systemd hands
/// the root-only file to the service's own user), else `password_file`.
fn password_source(settings: &PgSettings) -> Option<std::path::PathBuf> {
    let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|dir| std::path::Path::new(&dir).join("db-password"))
        .filter(|path| path.is_file());
    credential.or_else(|| settings.password_file.clone())
}

fn newer_schema(target: &str, version: i32) -> StoreError {
    StoreError::io(
        IoKind::Other,
        format!(
            "{target}: schema: the schema is version {version}, newer than this planasonix knows ({SCHEMA_VERSION}): upgrade planasonix on this host"
        ),
    )
}

fn no_schema(target: &str) -> StoreError {
    StoreError::io(
        IoKind::Other,
        format!(
            "{target}: schema: the database has no planasonix schema: run `planasonix store migrate`"
        ),
    )
}

fn corrupt(key: &str, detail: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        detail: detail.to_owned(),
    }
}

fn file_error(e: &TrustedFileError) -> StoreError {
    StoreError::io(IoKind::PermissionDenied, e.to_string())
}

/// Largest CA file read.
const MAX_CA_BYTES: u64 = 1 << 20;

/// A TLS connector that trusts exactly the CA certificates in `ca_file` and
/// checks the server's name (rustls on ring).
fn tls_connector(
    ca_file: &std::path::Path,
) -> Result<postgres_rustls::MakeTlsConnector, StoreError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let what = format!("CA file {}", ca_file.display());
    let mut roots = rustls::RootCertStore::empty();
    // Whoever can write the CA file can put their own server in the
    // database's place: a trusted setting, like the store file.
    let pem = read_trusted(ca_file, Kind::Setting, "CA file", MAX_CA_BYTES)
        .map_err(|e| file_error(&e))?;
    let certs = CertificateDer::pem_slice_iter(&pem);
    for cert in certs {
        let cert = cert.map_err(|e| setup(&what, e))?;
        roots.add(cert).map_err(|e| setup(&what, e))?;
    }
    if roots.is_empty() {
        return Err(setup(&what, "holds no certificate (PEM)"));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| setup("TLS", e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(postgres_rustls::MakeTlsConnector::new(
        tokio_rustls::TlsConnector::from(Arc::new(config)),
    ))
}

/// A client error as a [`StoreError`] that names the step that failed (see
/// [`stage`]): a refused connection, TLS or login is `Unreachable` or
/// `PermissionDenied`; a refused statement is `Other`.
fn pg_error(target: &str, e: &tokio_postgres::Error) -> StoreError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    if text.contains("server did not use channel binding") {
        // A server that asked for the password in clear or as MD5, or let
        // the role in without SCRAM: nothing was sent.
        text.push_str(
            ": the server did not authenticate the role by SCRAM with channel binding, so the password was not sent; \
             use scram-sha-256 in pg_hba.conf (hostssl) and password_encryption = 'scram-sha-256', and set the role's password again",
        );
    }
    let stage = stage(e, &text);
    let kind = match (e.as_db_error(), stage) {
        (_, Stage::Authentication) => IoKind::PermissionDenied,
        (Some(_), _) => IoKind::Other,
        (None, _) => IoKind::Unreachable,
    };
    StoreError::io(kind, format!("{target}: {}: {text}", stage.name()))
}

/// The step of reaching the database that failed, as an admin looks for
/// it: the name did not resolve, nothing answered on the port, the TLS
/// handshake or the login was refused, or the database itself said no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Dns,
    Tcp,
    Tls,
    Authentication,
    Database,
    Statement,
    Connection,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Dns => "DNS",
            Stage::Tcp => "TCP",
            Stage::Tls => "TLS",
            Stage::Authentication => "authentication",
            Stage::Database => "database",
            Stage::Statement => "statement",
            Stage::Connection => "connection",
        }
    }
}

fn stage(e: &tokio_postgres::Error, text: &str) -> Stage {
    if let Some(db) = e.as_db_error() {
        return match db.code().code() {
            // invalid_authorization_specification, invalid_password
            c if c.starts_with("28") => Stage::Authentication,
            // invalid_catalog_name: no such database
            "3D000" => Stage::Database,
            _ => Stage::Statement,
        };
    }
    if text.contains("TLS handshake") {
        return Stage::Tls;
    }
    if text.contains("password missing")
        || text.contains("channel binding")
        || text.contains("asked for the password")
    {
        return Stage::Authentication;
    }
    if text.contains("failed to lookup address") {
        return Stage::Dns;
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::TimedOut
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::AddrNotAvailable
                    | K::NotFound
            ) {
                return Stage::Tcp;
            }
        }
        source = cause.source();
    }
    Stage::Connection
}

/// `prefix` as a LIKE pattern matching every key that starts with it.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store for PgStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let row = self.read(async |c, sql| c.query_opt(&sql.get, &[&key]).await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.get(0);
        Ok(Some(Versioned {
            version: u64::try_from(version)
                .map_err(|_| corrupt(key, "its version is not positive"))?,
            value: row.get(1),
        }))
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        let expected = match expected.map(i64::try_from) {
            Some(Ok(v)) => Some(v),
            // No stored version is that large.
            Some(Err(_)) => return Ok(Cas::Conflict),
            None => None,
        };
        let event = key.starts_with(EVENT_KEY_PREFIX);
        let changed = self.with_client(async |c, sql| match (expected, value) {
            (None, Some(v)) if event => c.execute(&sql.insert_event, &[&key, &v]).await,
            (Some(e), None) if event => c.execute(&sql.delete_event, &[&key, &e]).await,
            (None, Some(v)) => c.execute(&sql.insert, &[&key, &v]).await,
            (Some(e), Some(v)) => c.execute(&sql.update, &[&key, &e, &v]).await,
            (Some(e), None) => c.execute(&sql.delete, &[&key, &e]).await,
            // Deleting what must be absent: swapped if it is.
            (None, None) => {
                let present: bool = c.query_one(&sql.exists, &[&key]).await?.get(0);
                Ok(u64::from(!present))
            }
        })?;
        if changed != 1 {
            return Ok(Cas::Conflict);
        }
        let next = expected.map_or(1, |e| e.unsigned_abs() + 1);
        Ok(Cas::Swapped(next))
    }

    /// One statement ([`Statements`]'s `update_and_add`) when the record
    /// exists; its first write (an enrollment) goes as separate ones.
    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        let Some(expected) = expected else {
            return swap_then_add(self, key, None, value, add);
        };
        let Ok(expected) = i64::try_from(expected) else {
            // No stored version is that large.
            return Ok(Swap::Conflict);
        };
        let (keys, values): (Vec<&str>, Vec<&[u8]>) =
            add.iter().map(|(k, v)| (k.as_str(), v.as_slice())).unzip();
        let row = self.with_client(async |c, sql| {
            c.query_one(
                &sql.update_and_add,
                &[&key, &expected, &value, &keys, &values],
            )
            .await
        })?;
        let Some(version) = row.get::<_, Option<i64>>(0) else {
            return Ok(Swap::Conflict);
        };
        let added: Vec<String> = row.get(1);
        let present = keys
            .iter()
            .filter(|k| !added.iter().any(|a| a == *k))
            .map(|k| (*k).to_owned())
            .collect();
        Ok(Swap::Swapped {
            version: u64::try_from(version)
                .map_err(|_| corrupt(key, "its version is not positive"))?,
            present: Ok(present),
        })
    }

    /// A database administrator is not trusted with the records.
    fn authenticated_only(&self) -> bool {
        true
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pattern = like_prefix(prefix);
        let rows = self.read(async |c, sql| c.query(&sql.keys, &[&pattern]).await)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn a_prefix_with_like_wildcards_matches_only_itself() {
        assert_eq!(like_prefix("user/a_b%\\"), "user/a\\_b\\%\\\\%");
        assert_eq!(like_prefix(""), "%");
    }
}
