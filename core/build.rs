//! Compiles `messages.txt`, the sentences every door shows alike, into
//! `$OUT_DIR/messages.rs` (included by `src/messages.rs`): a constant for a
//! message without placeholders, a function taking one `Display` argument
//! per placeholder for the others, so a door that forgets one does not
//! build. The identity provider reads the same file by the same rules
//! (`idp/src/messages.mjs`). A file that breaks them fails the build.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), String> {
    let source = "messages.txt";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))?;
    let mut out = String::new();
    let mut seen = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{source}:{}", n + 1);
        let (name, message) = line
            .split_once(" = ")
            .ok_or_else(|| format!("{at}: not `name = text`"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return Err(format!("{at}: message name {name:?} is not kebab-case"));
        }
        if seen.contains(&name) {
            return Err(format!("{at}: message {name} is named twice"));
        }
        seen.push(name);
        let placeholders = placeholders(message).map_err(|e| format!("{at}: {e}"))?;
        let ident = name.replace('-', "_");
        let _ = writeln!(out, "/// {message}");
        if placeholders.is_empty() {
            let _ = writeln!(
                out,
                "pub const {}: &str = {message:?};",
                ident.to_uppercase()
            );
        } else {
            let params: Vec<String> = placeholders
                .iter()
                .map(|p| format!("{p}: impl core::fmt::Display"))
                .collect();
            let _ = writeln!(
                out,
                "pub fn {ident}({}) -> String {{\n    format!({message:?})\n}}",
                params.join(", ")
            );
        }
    }
    let dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let target = Path::new(&dir).join("messages.rs");
    std::fs::write(&target, out).map_err(|e| format!("{}: {e}", target.display()))
}

/// The placeholders of `message`, in order of first appearance.
fn placeholders(message: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a `}` without its `{`".into());
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a `{` without its `}`")?;
        let name = &after[..close];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("placeholder {{{name}}} is not lower_snake_case"));
        }
        if !found.contains(&name) {
            found.push(name);
        }
        rest = &after[close + 1..];
    }
    Ok(found)
}
