//! Policy errors that point at the offending line and key.

use core::fmt;
use core::ops::Range;

/// A policy file that cannot be used. Display names the line and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line of the offending key or value, when known.
    pub line: Option<usize>,
    /// Dotted key, e.g. `sms.code_length`, when known.
    pub key: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("policy")?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl PolicyError {
    /// An error located by a byte span of the source text.
    pub(crate) fn at_span(text: &str, span: Option<Range<usize>>, message: &str) -> PolicyError {
        let Some(span) = span else {
            return PolicyError {
                line: None,
                key: None,
                message: message.trim().to_owned(),
            };
        };
        let start = span.start.min(text.len());
        let line_index = text[..start].matches('\n').count();
        PolicyError {
            line: Some(line_index + 1),
            key: key_on_line(text, line_index),
            message: message.trim().to_owned(),
        }
    }

    /// An error about `section.key`, located by searching the text for it.
    pub(crate) fn at_key(text: &str, section: &str, key: &str, message: String) -> PolicyError {
        let mut current = String::new();
        let mut found = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = header.trim().to_owned();
            } else if current == section && line_key(line).as_deref() == Some(key) {
                found = Some(i + 1);
            }
        }
        PolicyError {
            line: found,
            key: Some(format!("{section}.{key}")),
            message,
        }
    }
}

/// `section.key` for the `key = value` line at `line_index`, if it is one.
fn key_on_line(text: &str, line_index: usize) -> Option<String> {
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().to_owned();
            if i == line_index {
                return Some(section);
            }
        }
        if i == line_index {
            let key = line_key(line)?;
            return Some(if section.is_empty() {
                key
            } else {
                format!("{section}.{key}")
            });
        }
    }
    None
}

fn line_key(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.to_owned())
}
