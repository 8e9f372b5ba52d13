//! Where a command's results go: text lines or JSON on standard output,
//! escaped so that names and reasons from outside never reach the terminal
//! raw.

use crate::error::{plain_io, CliError, CliResult};
use planasonix_core::text::{escape_json, escape_line};
use std::io::Write;

/// What a command writes to and how.
pub struct Out<'a> {
    w: &'a mut dyn Write,
    /// `--json`.
    pub json: bool,
}

impl<'a> Out<'a> {
    /// Output to `w`, as JSON when `json`.
    pub fn new(w: &'a mut dyn Write, json: bool) -> Out<'a> {
        Out { w, json }
    }

    /// Writes `text` and a newline. Names and reasons in it come from
    /// outside: every control or format character except the newlines that
    /// end its lines is written as an escape, so nothing reaches the terminal
    /// raw (QR block characters and recovery codes are printable and stay).
    pub fn line(&mut self, text: impl AsRef<str>) -> CliResult<()> {
        let mut lines = text.as_ref().split('\n').map(escape_line);
        let mut safe = lines.next().unwrap_or_default();
        for line in lines {
            safe.push('\n');
            safe.push_str(&line);
        }
        writeln!(self.w, "{safe}").map_err(write_error)
    }

    /// Writes `value` as pretty JSON and a newline, with the characters
    /// `serde_json` passes through raw (DEL, C1 controls, bidi overrides)
    /// written as `\u` escapes.
    pub fn json(&mut self, value: &serde_json::Value) -> CliResult<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
        writeln!(self.w, "{}", escape_json(&text)).map_err(write_error)
    }

    /// The raw writer, for output that is generated, not built from outside
    /// text (shell completions).
    pub fn raw(&mut self) -> &mut dyn Write {
        self.w
    }

    /// Makes everything written so far visible (before waiting for input).
    pub fn flush(&mut self) -> CliResult<()> {
        self.w.flush().map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::failed(format!("cannot write output: {}", plain_io(&e)))
}
