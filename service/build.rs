//! Compiles `store.sql`, the fleet store's one SQL file, into constants
//! (`$OUT_DIR/store_sql.rs`, included by `src/postgres/sql.rs`): one per
//! statement, named after its `-- name:` line in upper case, and
//! `SCHEMA_VERSION`. The identity provider reads the same file with the same
//! rules (`idp/src/mfa/sql.mjs`). A file that breaks them fails the build.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), String> {
    let source = "store.sql";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))?;
    let (version, statements) = parse(&text).map_err(|e| format!("{source}: {e}"))?;
    let mut out = format!(
        "/// The schema this build reads and writes (`{source}`'s `schema-version`).\n\
         pub const SCHEMA_VERSION: i32 = {version};\n"
    );
    for (name, body) in statements {
        let _ = writeln!(
            out,
            "/// `{source}`: `{name}`.\npub(crate) const {}: &str = {body:?};",
            name.to_uppercase()
        );
    }
    let dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let target = Path::new(&dir).join("store_sql.rs");
    std::fs::write(&target, out).map_err(|e| format!("{}: {e}", target.display()))
}

/// The schema version and each statement's name and text, in file order.
fn parse(text: &str) -> Result<(i32, Vec<(String, String)>), String> {
    let mut version = None;
    let mut statements: Vec<(String, Vec<&str>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = n + 1;
        let trimmed = line.trim();
        if let Some(v) = trimmed.strip_prefix("-- schema-version:") {
            if version.is_some() || !statements.is_empty() {
                return Err(format!(
                    "line {at}: schema-version must come once, before the statements"
                ));
            }
            version = Some(
                v.trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| {
                        format!(
                            "line {at}: schema-version {:?} is not a positive integer",
                            v.trim()
                        )
                    })?,
            );
        } else if let Some(name) = trimmed.strip_prefix("-- name:") {
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(format!(
                    "line {at}: statement name {name:?} is not lower_snake_case"
                ));
            }
            if statements.iter().any(|(seen, _)| seen == name) {
                return Err(format!("line {at}: statement {name} is named twice"));
            }
            statements.push((name.to_owned(), Vec::new()));
        } else if !trimmed.starts_with("--") {
            match statements.last_mut() {
                Some((_, body)) => body.push(line.trim_end()),
                None if trimmed.is_empty() => {}
                None => return Err(format!("line {at}: SQL before the first `-- name:` line")),
            }
        }
    }
    let version = version.ok_or("no `-- schema-version:` line")?;
    statements
        .into_iter()
        .map(|(name, lines)| {
            let body = lines.join("\n");
            let body = body.trim();
            let body = body.strip_suffix(';').unwrap_or(body).trim_end();
            if body.is_empty() {
                return Err(format!("statement {name} is empty"));
            }
            Ok((name, body.to_owned()))
        })
        .collect::<Result<_, String>>()
        .map(|statements| (version, statements))
}
