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

use crate::store_file::parse_store;

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
pub fn store_file_from_uri(uri: &str) -> Result<String, String> {
    let rest = uri
        .strip_prefix("postgresql://")
        .or_else(|| uri.strip_prefix("postgres://"))
        .ok_or("the URI must start with postgresql://")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = rest
        .split_once('/')
        .ok_or("the URI names no database: end it with /DATABASE")?;
    let (user, hosts) = match authority.rsplit_once('@') {
        Some((user, hosts)) => (user, hosts),
        None => return Err("the URI names no user: write postgresql://USER@HOST/DATABASE".into()),
    };
    if user.contains(':') {
        return Err(
            "the URI holds a password: a command line is visible to every local user; put the password in a root-only file (mode 0600) and add ?password_file=PATH"
                .into(),
        );
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
            .ok_or_else(|| format!("URI parameter {pair:?} has no value: write NAME=VALUE"))?;
        let Some(&(_, key)) = PARAMS.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "URI parameter {name:?} is not supported: use {}",
                PARAMS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if pg.contains_key(key) {
            return Err(format!("URI parameter {name:?} is given twice"));
        }
        let value = decode(value, name)?;
        let value = if NUMBERS.contains(&key) {
            toml::Value::Integer(
                value
                    .parse()
                    .map_err(|_| format!("URI parameter {name}={value:?} is not a number"))?,
            )
        } else {
            toml::Value::String(value)
        };
        pg.insert(key.into(), value);
    }
    table.insert("postgresql".into(), toml::Value::Table(pg));
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    parse_store(&text).map_err(|e| e.to_string())?;
    Ok(format!(
        "# The shared store of this fleet (see planasonix-store(5)).\n{text}"
    ))
}

/// `HOST[:PORT][,HOST[:PORT]…]` into the hosts and the one port they share.
fn split_hosts(hosts: &str) -> Result<(Vec<String>, Option<i64>), String> {
    if hosts.is_empty() {
        return Err("the URI names no host: write postgresql://USER@HOST/DATABASE".into());
    }
    let mut names = Vec::new();
    let mut port = None;
    for part in hosts.split(',') {
        let (host, this_port) = match part.strip_prefix('[') {
            // [IPv6]:port
            Some(v6) => {
                let (addr, after) = v6
                    .split_once(']')
                    .ok_or_else(|| format!("host {part:?}: an IPv6 address needs its closing ]"))?;
                (addr.to_owned(), after.strip_prefix(':'))
            }
            None => match part.split_once(':') {
                Some((h, p)) => (decode(h, "host")?, Some(p)),
                None => (decode(part, "host")?, None),
            },
        };
        if let Some(p) = this_port {
            let p: i64 = p
                .parse()
                .map_err(|_| format!("host {part:?}: {p:?} is not a port"))?;
            if port.is_some_and(|q| q != p) {
                return Err(
                    "the hosts name different ports: every host of one store must listen on the same port"
                        .into(),
                );
            }
            port = Some(p);
        }
        names.push(host);
    }
    Ok((names, port))
}

/// Percent-decoding (`%2F` for a socket directory's slashes), to UTF-8.
fn decode(text: &str, what: &str) -> Result<String, String> {
    let bad = || format!("{what} {text:?}: a % must be followed by two hex digits");
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
    String::from_utf8(bytes).map_err(|_| format!("{what} {text:?} is not UTF-8 once decoded"))
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
        assert!(err.contains("password_file"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn what_the_store_file_refuses_the_uri_refuses_with_the_same_words() {
        let err = store_file_from_uri("postgresql://mfa@db.example/planasonix").unwrap_err();
        assert!(err.contains("needs ca_file"), "{err}");
        let err = store_file_from_uri("postgresql://mfa@db.example/planasonix?sslmode=require")
            .unwrap_err();
        assert!(err.contains("is not supported"), "{err}");
        let err = store_file_from_uri("postgresql://mfa@db.example/planasonix?sslmode=disable")
            .unwrap_err();
        assert!(err.contains("loopback included"), "{err}");
        let err = store_file_from_uri("postgresql://mfa@127.0.0.1/planasonix?sslmode=disable")
            .unwrap_err();
        assert!(err.contains("is refused"), "{err}");
        // Injection through the host list or a parameter value stays a value.
        let err = store_file_from_uri("postgresql://mfa@db%20host=evil/planasonix?sslmode=disable")
            .unwrap_err();
        assert!(err.contains("is not a host name"), "{err}");
        let err =
            store_file_from_uri("postgresql://mfa@localhost/p?sslmode=disable&options=-c%20x")
                .unwrap_err();
        assert!(err.contains("\"options\" is not supported"), "{err}");
        for (uri, words) in [
            ("mysql://x@y/z", "postgresql://"),
            ("postgresql://db.example/planasonix", "no user"),
            ("postgresql://mfa@db.example", "no database"),
            ("postgresql://mfa@a:1,b:2/p", "different ports"),
            ("postgresql://mfa@a/p?pool_size=lots", "not a number"),
            ("postgresql://mfa@a/p%ZZ", "two hex digits"),
            ("postgresql://mfa@a/p%FF", "not UTF-8"),
        ] {
            let err = store_file_from_uri(uri).unwrap_err();
            assert!(err.contains(words), "{uri}: {err}");
        }
    }
}
