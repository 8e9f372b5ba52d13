//! Reading what a person types: from the terminal with a prompt, or one line
//! from standard input when it is not a terminal (scripts, tests).

use crate::error::{plain_io, CliError, CliResult};
use std::io::{BufRead, IsTerminal, Read, Write};
use zeroize::Zeroizing;

/// Whether standard input is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Reads one line without its line ending; wiped when dropped, since codes and
/// secrets pass through here. The prompt goes to stderr, and only when a person
/// is there to see it.
pub fn read_line(prompt: &str) -> CliResult<Zeroizing<String>> {
    if interactive() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{prompt}");
        let _ = err.flush();
    }
    let mut line = Zeroizing::new(String::with_capacity(128));
    let n = std::io::stdin()
        .lock()
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| CliError::failed(format!("cannot read standard input: {}", plain_io(&e))))?;
    if n == 0 {
        return Err(CliError::failed(
            "no input: standard input ended before a line was read",
        ));
    }
    let keep = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(keep);
    Ok(line)
}
