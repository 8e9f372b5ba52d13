//! Why a store file is not a valid setting: one variant per mistake, so
//! callers and tests decide on the kind, and people read the fix.

use std::fmt;
use std::path::PathBuf;

/// What is wrong with a store file's text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFileError {
    /// Not TOML, or a key this file does not have (the parser's words).
    Syntax(String),
    /// `kind` names no store.
    UnknownKind(String),
    /// `kind = "sled"` with a `[postgresql]` table.
    SledWithTable,
    /// `kind = "postgresql"` without its table.
    MissingTable,
    /// `hosts = []`.
    NoHosts,
    /// A host that is not a name, an address or a socket directory.
    BadHost(String),
    /// `database`, `user` or `socket_owner` out of bounds.
    BadName {
        /// Which setting.
        what: &'static str,
        /// What it says.
        name: String,
    },
    /// `password_file` or `ca_file` is relative.
    RelativePath {
        /// Which setting.
        what: &'static str,
        /// What it says.
        path: PathBuf,
    },
    /// `verify-full` without `ca_file`.
    NoCaFile,
    /// `sslmode = "disable"` for a TCP host: plain TCP, loopback included.
    PlainTcp {
        /// The TCP host named.
        host: String,
    },
    /// `sslmode = "disable"` with more than one socket directory.
    ManySockets,
    /// An sslmode that does not check the server (`require`, `verify-ca`…).
    UncheckedSslmode(String),
    /// Not an sslmode at all.
    UnknownSslmode(String),
    /// `socket_owner` over TLS.
    SocketOwnerOverTls,
    /// A number outside its range.
    OutOfRange {
        /// Which setting.
        name: &'static str,
        /// What it says.
        value: u64,
        /// The range it must be in, for people.
        range: &'static str,
    },
    /// `port = 0`.
    PortZero,
}

impl StoreFileError {
    /// The variant's name: what the shared cases (`tests/store-files.json`)
    /// and the identity provider's parser call this mistake.
    pub fn kind(&self) -> &'static str {
        use StoreFileError as E;
        match self {
            E::Syntax(_) => "Syntax",
            E::UnknownKind(_) => "UnknownKind",
            E::SledWithTable => "SledWithTable",
            E::MissingTable => "MissingTable",
            E::NoHosts => "NoHosts",
            E::BadHost(_) => "BadHost",
            E::BadName { .. } => "BadName",
            E::RelativePath { .. } => "RelativePath",
            E::NoCaFile => "NoCaFile",
            E::PlainTcp { .. } => "PlainTcp",
            E::ManySockets => "ManySockets",
            E::UncheckedSslmode(_) => "UncheckedSslmode",
            E::UnknownSslmode(_) => "UnknownSslmode",
            E::SocketOwnerOverTls => "SocketOwnerOverTls",
            E::OutOfRange { .. } => "OutOfRange",
            E::PortZero => "PortZero",
        }
    }
}

impl fmt::Display for StoreFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StoreFileError as E;
        match self {
            E::Syntax(why) => f.write_str(why),
            E::UnknownKind(kind) => write!(
                f,
                "kind = {kind:?} is not a store: use \"sled\" or \"postgresql\""
            ),
            E::SledWithTable => f.write_str(
                "kind = \"sled\" takes no [postgresql] table; remove it or set kind = \"postgresql\"",
            ),
            E::MissingTable => f.write_str("kind = \"postgresql\" needs a [postgresql] table"),
            E::NoHosts => f.write_str("[postgresql] hosts is empty: name at least one host"),
            E::BadHost(host) => write!(
                f,
                "[postgresql] host {host:?} is not a host name, an IP address or a socket directory"
            ),
            E::BadName { what, name } => write!(
                f,
                "[postgresql] {what} {name:?} must be 1 to 63 bytes, without NUL or line breaks"
            ),
            E::RelativePath { what, path } => write!(
                f,
                "[postgresql] {what} {} must be an absolute path",
                path.display()
            ),
            E::NoCaFile => f.write_str(
                "sslmode = \"verify-full\" needs ca_file: the CA certificate (PEM) that signed the server's certificate",
            ),
            E::PlainTcp { host } => write!(
                f,
                "sslmode = \"disable\" is refused for {host:?}: plain TCP, loopback included, hands the role's password and every login to whoever listens on that port (a local user can bind it while PostgreSQL restarts, and answer \"never enrolled\" for everyone); use sslmode = \"verify-full\" with ca_file (a server certificate for the address 127.0.0.1 works), or a unix socket directory as the host"
            ),
            E::ManySockets => f.write_str(
                "[postgresql] hosts names more than one socket directory: a unix socket store names one (list TCP hosts with verify-full for a failover)",
            ),
            E::UncheckedSslmode(mode) => write!(
                f,
                "sslmode = {mode:?} is not supported: it accepts a server whose name or certificate is not checked; use \"verify-full\" with ca_file (or \"disable\" on a unix socket)"
            ),
            E::UnknownSslmode(mode) => write!(
                f,
                "sslmode = {mode:?} is not an sslmode: use \"verify-full\" or \"disable\""
            ),
            E::SocketOwnerOverTls => f.write_str(
                "[postgresql] socket_owner is for a unix socket (sslmode = \"disable\"); over TLS the certificate says who the server is",
            ),
            E::OutOfRange { name, value, range } => write!(
                f,
                "[postgresql] {name} = {value} is out of range: give {range}"
            ),
            E::PortZero => f.write_str("[postgresql] port = 0 is not a port"),
        }
    }
}

impl std::error::Error for StoreFileError {}
