//! A PostgreSQL connection URI, as libpq writes it, turned into the text of
//! a store file (`planasonix init --postgresql URI`).
//!
//! ```text
//! postgresql://USER@HOST[,HOST…][:PORT]/DATABASE?sslrootcert=/etc/planasonix/db-ca.pem&password_file=/etc/planasonix/db-password
//! ```
//!
//! Everything is checked by the store file's own parser ([`parse_store`]):
//! the URI only builds its text, so the two cannot disagree. A password in
//! the URI is refused: a command line is readable by every local user.

use crate::store_file::{parse_store, StoreFileError};
use std::fmt;

/// What is wrong with a URI; [`fmt::Display`] says it for people. No variant
/// holds the password of a URI that had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUriError {
    /// Not `postgresql://` or `postgres://`.
    NotPostgresql,
    /// No `/DATABASE`.
    NoDatabase,
    /// No `USER@`.
    NoUser,
    /// `USER:PASSWORD@`: a command line is readable by every local user.
    PasswordInUri,
    /// No host before the `/`.
    NoHost,
    /// `[IPv6` without its `]`.
    UnclosedIpv6(String),
    /// A port that is not a number.
    NotAPort {
        /// The host part.
        part: String,
        /// What it says.
        port: String,
    },
    /// Two hosts with different ports.
    DifferentPorts,
    /// `NAME` without `=VALUE`.
    NoValue(String),
    /// A parameter this store file has no key for.
    UnknownParameter(String),
    /// A parameter given twice.
    Twice(String),
    /// A number parameter that is not one.
    NotANumber {
        /// The parameter.
        name: String,
        /// What it says.
        value: String,
    },
    /// A `%` not followed by two hex digits.
    BadEscape {
        /// Which part of the URI.
        what: String,
        /// What it says.
        text: String,
    },
    /// Not UTF-8 once decoded.
    NotUtf8 {
        /// Which part of the URI.
        what: String,
        /// What it says.
        text: String,
    },
    /// The store file the URI makes is refused by the store file's parser.
    Store(StoreFileError),
}

impl fmt::Display for StoreUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StoreUriError as E;
        match self {
            E::NotPostgresql => f.write_str("the URI must start with postgresql://"),
            E::NoDatabase => f.write_str("the URI names no database: end it with /DATABASE"),
            E::NoUser => f.write_str("the URI names no user: write postgresql://USER@HOST/DATABASE"),
            E::PasswordInUri => f.write_str(
                "the URI holds a password: a command line is visible to every local user; put the password in a root-only file (mode 0600) and add ?password_file=PATH",
            ),
            E::NoHost => f.write_str("the URI names no host: write postgresql://USER@HOST/DATABASE"),
            E::UnclosedIpv6(part) => write!(f, "host {part:?}: an IPv6 address needs its closing ]"),
            E::NotAPort { part, port } => write!(f, "host {part:?}: {port:?} is not a port"),
            E::DifferentPorts => f.write_str(
                "the hosts name different ports: every host of one store must listen on the same port",
            ),
            E::NoValue(pair) => write!(f, "URI parameter {pair:?} has no value: write NAME=VALUE"),
            E::UnknownParameter(name) => write!(
                f,
                "URI parameter {name:?} is not supported: use {}",
                PARAMS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
            E::Twice(name) => write!(f, "URI parameter {name:?} is given twice"),
            E::NotANumber { name, value } => {
                write!(f, "URI parameter {name}={value:?} is not a number")
            }
            E::BadEscape { what, text } => {
                write!(f, "{what} {text:?}: a % must be followed by two hex digits")
            }
            E::NotUtf8 { what, text } => write!(f, "{what} {text:?} is not UTF-8 once decoded"),
            E::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StoreUriError {}

/// The query parameters understood, with the store file key each sets.
/// `sslrootcert` is libpq's name for the CA file.
const PARAMS: &[(&str, &str)] = &[
    ("sslmode", "sslmode"),
    ("socket_owner", "socket_owner"),
    ("sslrootcert", "ca_file"),
    ("ca_file", "ca_file"),
    ("password_file", "password_file"),
    ("connect_timeout", "connect_timeout"),
    ("statement_timeout", "statement_timeout"),
    ("pool_size", "pool_size"),
];

/// Keys whose values are numbers in the store file.
const NUMBERS: &[&str] = &["connect_timeout", "statement_timeout", "pool_size"];

/// The store file text for `uri`, or what is wrong with it.
pub fn store_file_from_uri(uri: &str) -> Result<String, StoreUriError> {
    let rest = uri
        .strip_prefix("postgresql://")
        .or_else(|| uri.strip_prefix("postgres://"))
        .ok_or(StoreUriError::NotPostgresql)?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = rest.split_once('/').ok_or(StoreUriError::NoDatabase)?;
    let (user, hosts) = authority.rsplit_once('@').ok_or(StoreUriError::NoUser)?;
    if user.contains(':') {
        return Err(StoreUriError::PasswordInUri);
    }
    let (hosts, port) = split_hosts(hosts)?;

    let mut table = toml::Table::new();
    table.insert("kind".into(), "postgresql".into());
    let mut pg = toml::Table::new();
    pg.insert(
        "hosts".into(),
        toml::Value::Array(hosts.into_iter().map(toml::Value::String).collect()),
    );
    if let Some(port) = port {
        pg.insert("port".into(), toml::Value::Integer(port));
    }
    pg.insert("database".into(), decode(database, "database")?.into());
    pg.insert("user".into(), decode(user, "user")?.into());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| StoreUriError::NoValue(pair.to_owned()))?;
        let Some(&(_, key)) = PARAMS.iter().find(|(n, _)| *n == name) else {
            return Err(StoreUriError::UnknownParameter(name.to_owned()));
        };
        if pg.contains_key(key) {
            return Err(StoreUriError::Twice(name.to_owned()));
        }
        let value = decode(value, name)?;
        let value = if NUMBERS.contains(&key) {
            toml::Value::Integer(value.parse().map_err(|_| StoreUriError::NotANumber {
                name: name.to_owned(),
                value: value.clone(),
            })?)
        } else {
            toml::Value::String(value)
        };
        pg.insert(key.into(), value);
    }
    table.insert("postgresql".into(), toml::Value::Table(pg));
    // A table of strings and integers always serialises; were it ever not
    // to, the store file's parser names the text it could not read.
    let text = toml::to_string(&table).unwrap_or_default();
    parse_store(&text).map_err(StoreUriError::Store)?;
    Ok(format!(
        "# The shared store of this fleet (see planasonix-store(5)).\n{text}"
    ))
}

/// `HOST[:PORT][,HOST[:PORT]…]` into the hosts and the one port they share.
fn split_hosts(hosts: &str) -> Result<(Vec<String>, Option<i64>), StoreUriError> {
    if hosts.is_empty() {
        return Err(StoreUriError::NoHost);
    }
    let mut names = Vec::new();
    let mut port = None;
    for part in hosts.split(',') {
        let (host, this_port) = match part.strip_prefix('[') {
            // [IPv6]:port
            Some(v6) => {
                let (addr, after) = v6
                    .split_once(']')
                    .ok_or_else(|| StoreUriError::UnclosedIpv6(part.to_owned()))?;
                (addr.to_owned(), after.strip_prefix(':'))
            }
            None => match part.split_once(':') {
                Some((h, p)) => (decode(h, "host")?, Some(p)),
                None => (decode(part, "host")?, None),
            },
        };
        if let Some(p) = this_port {
            let p: i64 = p.parse().map_err(|_| StoreUriError::NotAPort {
                part: part.to_owned(),
                port: p.to_owned(),
            })?;
            if port.is_some_and(|q| q != p) {
                return Err(StoreUriError::DifferentPorts);
            }
            port = Some(p);
        }
        names.push(host);
    }
    Ok((names, port))
}

/// Percent-decoding (`%2F` for a socket directory's slashes), to UTF-8.
fn decode(text: &str, what: &str) -> Result<String, StoreUriError> {
    let bad = || StoreUriError::BadEscape {
        what: what.to_owned(),
        text: text.to_owned(),
    };
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| StoreUriError::NotUtf8 {
        what: what.to_owned(),
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store_file::{PgTls, StoreSetting};
    use std::time::Duration;

    fn setting(uri: &str) -> crate::store_file::PgSettings {
        match parse_store(&store_file_from_uri(uri).unwrap()).unwrap() {
            StoreSetting::Postgresql(pg) => pg,
            StoreSetting::Sled => panic!("sled"),
        }
    }

    #[test]
    fn a_libpq_uri_becomes_the_same_setting() {
        let pg = setting(
            "postgresql://mfa@db1.example,db2.example:6432/planasonix?sslrootcert=/etc/planasonix/db-ca.pem&password_file=/etc/planasonix/db-password&connect_timeout=5",
        );
        assert_eq!(pg.hosts, ["db1.example", "db2.example"]);
        assert_eq!(pg.port, 6432);
        assert_eq!(
            (pg.database.as_str(), pg.user.as_str()),
            ("planasonix", "mfa")
        );
        assert_eq!(
            pg.tls,
            PgTls::VerifyFull {
                ca_file: "/etc/planasonix/db-ca.pem".into()
            }
        );
        assert_eq!(
            pg.password_file.as_deref(),
            Some(std::path::Path::new("/etc/planasonix/db-password"))
        );
        assert_eq!(pg.connect_timeout, Duration::from_secs(5));

        let pg = setting("postgres://mfa@%2Frun%2Fpostgresql/planasonix?sslmode=disable");
        assert_eq!(pg.hosts, ["/run/postgresql"]);
        assert_eq!(
            pg.tls,
            PgTls::Socket {
                owner: "postgres".into()
            }
        );
        let pg =
            setting("postgresql://mfa@[::1]:5433/planasonix?sslrootcert=/etc/planasonix/db-ca.pem");
        assert_eq!((pg.hosts[0].as_str(), pg.port), ("::1", 5433));
    }

    #[test]
    fn a_password_on_the_command_line_is_refused() {
        let err =
            store_file_from_uri("postgresql://mfa:hunter2@db.example/planasonix").unwrap_err();
        assert_eq!(err, StoreUriError::PasswordInUri);
        assert!(err.to_string().contains("password_file"), "{err}");
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    }

    #[test]
    fn what_the_store_file_refuses_the_uri_refuses_with_the_same_words() {
        use StoreFileError as F;
        let store = |uri: &str| match store_file_from_uri(uri) {
            Err(StoreUriError::Store(e)) => e,
            other => panic!("{uri}: {other:?}"),
        };
        assert_eq!(store("postgresql://mfa@db.example/planasonix"), F::NoCaFile);
        assert_eq!(
            store("postgresql://mfa@db.example/planasonix?sslmode=require"),
            F::UncheckedSslmode("require".into())
        );
        assert_eq!(
            store("postgresql://mfa@127.0.0.1/planasonix?sslmode=disable"),
            F::PlainTcp {
                host: "127.0.0.1".into()
            }
        );
        let err = store_file_from_uri("postgresql://mfa@db.example/planasonix?sslmode=disable")
            .unwrap_err();
        assert!(err.to_string().contains("loopback included"), "{err}");
        // Injection through the host list or a parameter value stays a value.
        assert_eq!(
            store("postgresql://mfa@db%20host=evil/planasonix?sslmode=disable"),
            F::BadHost("db host=evil".into())
        );
        assert_eq!(
            store_file_from_uri("postgresql://mfa@localhost/p?sslmode=disable&options=-c%20x"),
            Err(StoreUriError::UnknownParameter("options".into()))
        );
        for (uri, want) in [
            ("mysql://x@y/z", StoreUriError::NotPostgresql),
            ("postgresql://db.example/planasonix", StoreUriError::NoUser),
            ("postgresql://mfa@db.example", StoreUriError::NoDatabase),
            ("postgresql://mfa@/p", StoreUriError::NoHost),
            ("postgresql://mfa@a:1,b:2/p", StoreUriError::DifferentPorts),
            (
                "postgresql://mfa@a:x/p",
                StoreUriError::NotAPort {
                    part: "a:x".into(),
                    port: "x".into(),
                },
            ),
            (
                "postgresql://mfa@[::1/p",
                StoreUriError::UnclosedIpv6("[::1".into()),
            ),
            (
                "postgresql://mfa@a/p?pool_size",
                StoreUriError::NoValue("pool_size".into()),
            ),
            (
                "postgresql://mfa@a/p?sslmode=disable&sslmode=disable",
                StoreUriError::Twice("sslmode".into()),
            ),
            (
                "postgresql://mfa@a/p?pool_size=lots",
                StoreUriError::NotANumber {
                    name: "pool_size".into(),
                    value: "lots".into(),
                },
            ),
            (
                "postgresql://mfa@a/p%ZZ",
                StoreUriError::BadEscape {
                    what: "database".into(),
                    text: "p%ZZ".into(),
                },
            ),
            (
                "postgresql://mfa@a/p%FF",
                StoreUriError::NotUtf8 {
                    what: "database".into(),
                    text: "p%FF".into(),
                },
            ),
        ] {
            assert_eq!(store_file_from_uri(uri), Err(want), "{uri}");
        }
    }
}
