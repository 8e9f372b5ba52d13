//! The host's store setting (`/etc/planasonix/store.toml`): the embedded
//! sled database (the default, also when the file does not exist) or a
//! PostgreSQL database shared by a fleet of hosts and the identity provider.
//!
//! Whoever can write this file can point every login at another database,
//! one that serves stale records (an old recovery code, a lifted lockout).
//! Records are authenticated under the seal key, so it cannot forge them,
//! but it can roll them back. So it is a trusted setting
//! ([`crate::trusted_file`]): it and its directory root's and writable by no
//! one else. The file holds no secret: the database password is in its own
//! root-only file ([`read_password_file`]), never here, in the policy or on a
//! command line.

mod error;

pub use error::StoreFileError;

use crate::trusted_file::{read_trusted_text, Kind, TrustedFileError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// Where the store setting lives unless told otherwise.
pub const DEFAULT_STORE_FILE: &str = "/etc/planasonix/store.toml";

/// Largest store file read.
const MAX_STORE_BYTES: u64 = 64 << 10;

/// Which store this host's state lives in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSetting {
    /// The embedded sled database beside this host (`db=`), opened directly
    /// when the state service does not run.
    Sled,
    /// A shared PostgreSQL database, reached only through the state service.
    Postgresql(PgSettings),
}

impl StoreSetting {
    /// Whether the store is shared: then the PAM module and the CLI reach it
    /// only through `planasonix serve`, never by opening anything themselves.
    pub fn is_shared(&self) -> bool {
        matches!(self, StoreSetting::Postgresql(_))
    }
}

/// How to reach the shared PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgSettings {
    /// Host names or addresses, tried in order; or one unix socket
    /// directory (an absolute path).
    pub hosts: Vec<String>,
    /// TCP port (also the socket's name in a socket directory).
    pub port: u16,
    /// Database name.
    pub database: String,
    /// Role name.
    pub user: String,
    /// The root-only file holding the role's password, if it needs one.
    pub password_file: Option<PathBuf>,
    /// Transport security.
    pub tls: PgTls,
    /// Longest wait for one connection to be made (TCP, TLS, login).
    pub connect_timeout: Duration,
    /// Longest wait for one statement's answer.
    pub statement_timeout: Duration,
    /// Connections the state service keeps open at most.
    pub pool_size: usize,
}

/// Transport security to PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgTls {
    /// A unix socket (`sslmode = "disable"`), trusted as far as the socket
    /// is: a directory owned by root or `owner` that others cannot write,
    /// and a server running as `owner` (its peer credentials). Never TCP,
    /// not even to loopback: while PostgreSQL restarts any local user can
    /// bind its port.
    Socket {
        /// The OS user the server runs as (`socket_owner`, default
        /// `postgres`).
        owner: String,
    },
    /// TLS, the server's certificate verified against `ca_file` and its name
    /// against the host name (libpq's `verify-full`).
    VerifyFull {
        /// The CA certificates (PEM) the server's certificate must chain to.
        ca_file: PathBuf,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    kind: String,
    postgresql: Option<RawPg>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPg {
    hosts: Vec<String>,
    port: Option<u16>,
    database: String,
    user: String,
    password_file: Option<PathBuf>,
    sslmode: Option<String>,
    ca_file: Option<PathBuf>,
    socket_owner: Option<String>,
    connect_timeout: Option<u64>,
    statement_timeout: Option<u64>,
    pool_size: Option<usize>,
}

/// Reads the store setting at `path`: [`StoreSetting::Sled`] when the file
/// does not exist; refused when someone other than root could change it or
/// its directory, or when it is not a valid setting.
pub fn read_store_file(path: &Path) -> Result<StoreSetting, TrustedFileError> {
    let text = match read_trusted_text(path, Kind::Setting, "store file", MAX_STORE_BYTES) {
        Err(TrustedFileError::Missing { .. }) => return Ok(StoreSetting::Sled),
        other => other?,
    };
    parse_store(&text).map_err(|why| TrustedFileError::Invalid {
        path: path.to_owned(),
        what: "store file",
        why: why.to_string(),
    })
}

/// Parses the text of a store file.
pub fn parse_store(text: &str) -> Result<StoreSetting, StoreFileError> {
    let raw: Raw =
        toml::from_str(text).map_err(|e| StoreFileError::Syntax(e.message().to_owned()))?;
    match (raw.kind.as_str(), raw.postgresql) {
        ("sled", None) => Ok(StoreSetting::Sled),
        ("sled", Some(_)) => Err(StoreFileError::SledWithTable),
        ("postgresql", Some(pg)) => pg_settings(pg).map(StoreSetting::Postgresql),
        ("postgresql", None) => Err(StoreFileError::MissingTable),
        (other, _) => Err(StoreFileError::UnknownKind(other.to_owned())),
    }
}

fn pg_settings(raw: RawPg) -> Result<PgSettings, StoreFileError> {
    if raw.hosts.is_empty() {
        return Err(StoreFileError::NoHosts);
    }
    for host in &raw.hosts {
        check_host(host)?;
    }
    check_name("database", &raw.database)?;
    check_name("user", &raw.user)?;
    let absolute = |what: &'static str, path: &Path| {
        if path.is_absolute() {
            Ok(())
        } else {
            Err(StoreFileError::RelativePath {
                what,
                path: path.to_owned(),
            })
        }
    };
    if let Some(p) = &raw.password_file {
        absolute("password_file", p)?;
    }
    let tls = match raw.sslmode.as_deref().unwrap_or("verify-full") {
        "verify-full" => match raw.ca_file {
            Some(ca_file) => {
                absolute("ca_file", &ca_file)?;
                PgTls::VerifyFull { ca_file }
            }
            None => return Err(StoreFileError::NoCaFile),
        },
        "disable" => {
            if let Some(tcp) = raw.hosts.iter().find(|h| !h.starts_with('/')) {
                return Err(StoreFileError::PlainTcp { host: tcp.clone() });
            }
            if raw.hosts.len() != 1 {
                return Err(StoreFileError::ManySockets);
            }
            let owner = raw
                .socket_owner
                .clone()
                .unwrap_or_else(|| "postgres".into());
            check_name("socket_owner", &owner)?;
            PgTls::Socket { owner }
        }
        mode @ ("allow" | "prefer" | "require" | "verify-ca") => {
            return Err(StoreFileError::UncheckedSslmode(mode.to_owned()))
        }
        other => return Err(StoreFileError::UnknownSslmode(other.to_owned())),
    };
    if matches!(tls, PgTls::VerifyFull { .. }) && raw.socket_owner.is_some() {
        return Err(StoreFileError::SocketOwnerOverTls);
    }
    let seconds =
        |name: &'static str, value: Option<u64>, default: u64| match value.unwrap_or(default) {
            s @ 1..=300 => Ok(Duration::from_secs(s)),
            s => Err(StoreFileError::OutOfRange {
                name,
                value: s,
                range: "1 to 300 seconds",
            }),
        };
    // 8: enough for a burst of parallel logins to commit together.
    let pool_size = match raw.pool_size.unwrap_or(8) {
        n @ 1..=64 => n,
        n => {
            return Err(StoreFileError::OutOfRange {
                name: "pool_size",
                value: n as u64,
                range: "1 to 64",
            })
        }
    };
    Ok(PgSettings {
        hosts: raw.hosts,
        port: match raw.port.unwrap_or(5432) {
            0 => return Err(StoreFileError::PortZero),
            p => p,
        },
        database: raw.database,
        user: raw.user,
        password_file: raw.password_file,
        tls,
        // 3 s each: a login opening a new connection (connect, schema
        // check, statement) is answered within the module's 10 s wait.
        connect_timeout: seconds("connect_timeout", raw.connect_timeout, 3)?,
        statement_timeout: seconds("statement_timeout", raw.statement_timeout, 3)?,
        pool_size,
    })
}

/// A host name, an IP address, or a socket directory; nothing that could be
/// read as more than one host or as a connection option.
fn check_host(host: &str) -> Result<(), StoreFileError> {
    let ok = if host.starts_with('/') {
        !host.contains(['\0', '\n']) && host.len() <= 100
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    };
    if ok {
        Ok(())
    } else {
        Err(StoreFileError::BadHost(host.to_owned()))
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), StoreFileError> {
    if name.is_empty() || name.len() > 63 || name.contains(['\0', '\n', '\r']) {
        return Err(StoreFileError::BadName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Reads the database password from `path`: a regular file owned by root (or
/// the user reading it) that group and others cannot access; one line, the
/// trailing line break dropped.
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>, TrustedFileError> {
    crate::secret_file::read_secret_line(path, "the database password")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases the identity provider's parser is checked against too
    /// (idp/test/unit.test.mjs): the same file, the same answers.
    #[test]
    fn the_shared_store_file_cases_get_the_answers_they_name() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/store-files.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 30, "the table lost its cases");
        for case in cases {
            let why = case["why"].as_str().unwrap();
            let parsed = parse_store(case["toml"].as_str().unwrap());
            let got = match &parsed {
                Ok(_) => "ok",
                Err(e) => e.kind(),
            };
            assert_eq!(got, case["expect"].as_str().unwrap(), "{why}: {parsed:?}");
            let (Some(want), Ok(StoreSetting::Postgresql(pg))) = (case.get("settings"), &parsed)
            else {
                continue;
            };
            let tls = match &pg.tls {
                PgTls::VerifyFull { .. } => "verify-full",
                PgTls::Socket { .. } => "socket",
            };
            let have = serde_json::json!({
                "hosts": pg.hosts,
                "port": pg.port,
                "database": pg.database,
                "user": pg.user,
                "tls": tls,
                "socket_owner": match &pg.tls { PgTls::Socket { owner } => Some(owner), _ => None },
                "connect_timeout": pg.connect_timeout.as_secs(),
                "statement_timeout": pg.statement_timeout.as_secs(),
                "pool_size": pg.pool_size,
            });
            for (key, value) in want.as_object().unwrap() {
                assert_eq!(&have[key], value, "{why}: {key}");
            }
        }
    }

    const PG: &str = "kind = \"postgresql\"\n[postgresql]\nhosts = [\"db.example\"]\ndatabase = \"planasonix\"\nuser = \"planasonix\"\n";

    #[test]
    fn sled_and_a_verified_postgresql_parse() {
        assert_eq!(parse_store("kind = \"sled\"\n"), Ok(StoreSetting::Sled));
        let text = format!("{PG}ca_file = \"/etc/planasonix/db-ca.pem\"\n");
        let StoreSetting::Postgresql(pg) = parse_store(&text).unwrap() else {
            panic!("not postgresql");
        };
        assert_eq!(pg.port, 5432);
        assert_eq!(
            pg.tls,
            PgTls::VerifyFull {
                ca_file: "/etc/planasonix/db-ca.pem".into()
            }
        );
        assert_eq!(pg.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn an_unverified_or_remote_plain_connection_is_refused_by_name() {
        assert_eq!(parse_store(PG), Err(StoreFileError::NoCaFile));
        assert!(StoreFileError::NoCaFile
            .to_string()
            .contains("needs ca_file"));
        for mode in ["require", "verify-ca", "prefer", "allow"] {
            assert_eq!(
                parse_store(&format!("{PG}sslmode = \"{mode}\"\n")),
                Err(StoreFileError::UncheckedSslmode(mode.into()))
            );
        }
        assert_eq!(
            parse_store(&format!("{PG}sslmode = \"disable\"\n")),
            Err(StoreFileError::PlainTcp {
                host: "db.example".into()
            })
        );
        let local = PG.replace("db.example", "/run/postgresql");
        let StoreSetting::Postgresql(pg) =
            parse_store(&format!("{local}sslmode = \"disable\"\n")).unwrap()
        else {
            panic!("not postgresql");
        };
        assert_eq!(
            pg.tls,
            PgTls::Socket {
                owner: "postgres".into()
            }
        );
    }

    #[test]
    fn plain_tcp_is_refused_on_loopback_too_with_the_fix_in_the_message() {
        for host in ["127.0.0.1", "::1", "localhost"] {
            let text = PG.replace("db.example", host);
            let err = parse_store(&format!("{text}sslmode = \"disable\"\n")).unwrap_err();
            assert_eq!(err, StoreFileError::PlainTcp { host: host.into() });
            let err = err.to_string();
            assert!(
                err.contains("sslmode = \"disable\" is refused")
                    && err.contains("use sslmode = \"verify-full\" with ca_file")
                    && err.contains("unix socket directory"),
                "{host}: {err}"
            );
        }
        let two = PG.replace("\"db.example\"", "\"/run/postgresql\", \"/tmp\"");
        assert_eq!(
            parse_store(&format!("{two}sslmode = \"disable\"\n")),
            Err(StoreFileError::ManySockets)
        );
        let socket = PG.replace("db.example", "/run/postgresql");
        let StoreSetting::Postgresql(pg) = parse_store(&format!(
            "{socket}sslmode = \"disable\"\nsocket_owner = \"pgsql\"\n"
        ))
        .unwrap() else {
            panic!("not postgresql");
        };
        assert_eq!(
            pg.tls,
            PgTls::Socket {
                owner: "pgsql".into()
            }
        );
        assert_eq!(
            parse_store(&format!(
                "{PG}ca_file = \"/ca.pem\"\nsocket_owner = \"postgres\"\n"
            )),
            Err(StoreFileError::SocketOwnerOverTls)
        );
    }

    #[test]
    fn typos_and_hostile_values_name_the_problem() {
        let err = parse_store("kind = \"postgres\"\n").unwrap_err();
        assert_eq!(err, StoreFileError::UnknownKind("postgres".into()));
        assert!(
            err.to_string().contains("\"postgres\" is not a store"),
            "{err}"
        );
        let err = parse_store(&format!("{PG}passwd = \"x\"\n")).unwrap_err();
        assert!(
            matches!(&err, StoreFileError::Syntax(why) if why.contains("passwd")),
            "{err:?}"
        );
        let bad = PG.replace("db.example", "db host=evil");
        assert_eq!(
            parse_store(&bad),
            Err(StoreFileError::BadHost("db host=evil".into()))
        );
        let err =
            parse_store(&format!("{PG}ca_file = \"/ca.pem\"\nconnect_timeout = 0\n")).unwrap_err();
        assert_eq!(
            err,
            StoreFileError::OutOfRange {
                name: "connect_timeout",
                value: 0,
                range: "1 to 300 seconds"
            }
        );
        assert!(err.to_string().contains("connect_timeout = 0"), "{err}");
        assert_eq!(
            parse_store(&format!("{PG}ca_file = \"ca.pem\"\n")),
            Err(StoreFileError::RelativePath {
                what: "ca_file",
                path: "ca.pem".into()
            })
        );
    }
}
