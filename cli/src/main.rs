//! `planasonix`: the command line of Planasonix MFA.
//!
//! Admins set a host up with it (`init`, `policy check`), enroll and recover
//! users (`enroll`, `recovery-codes`, `admin`), and read what happened
//! (`status`, `audit`). All MFA logic lives in `planasonix-core`; this crate
//! parses arguments, reads the host's files, opens the database for short
//! transactions only, and prints.

mod args;
mod cmd;
mod deployment;
mod error;
mod files;
mod import;
mod out;
mod private_input;
mod prompt;
mod qr_png;
mod shared;

use clap::error::ErrorKind;
use clap::Parser;
use error::{CliError, Exit};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything holds a secret: no core dump, and no process of the same
    // user may read this one's memory or environment (/proc/PID/mem, environ,
    // ptrace). Children get it back when they exec.
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        return report(&CliError::failed(format!(
            "cannot mark the process non-dumpable: {e}"
        )));
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_failure(&e),
    };
    let mut out = std::io::stdout().lock();
    let result = cmd::run(cli, &mut out).and_then(|()| {
        out.flush()
            .map_err(|e| CliError::failed(format!("cannot write output: {}", error::plain_io(&e))))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            report(&e)
        }
    }
}

/// Prints the one stderr line for `e` and returns its exit status.
fn report(e: &CliError) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "{}", e.line());
    ExitCode::from(e.exit as u8)
}

/// `--help` and `--version` print normally; every usage error becomes one line.
fn clap_failure(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            report(&CliError::usage(
                "a command is missing; run `planasonix --help` for the list",
            ))
        }
        _ => {
            // clap's first paragraph says what is wrong (possibly over a few
            // lines); usage and tips follow after a blank line.
            let rendered = e.render().to_string();
            let first = rendered
                .split("\n\n")
                .next()
                .unwrap_or("invalid command line");
            let joined = first.split_whitespace().collect::<Vec<_>>().join(" ");
            let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
            report(&CliError::new(
                Exit::Usage,
                format!("{joined} (see `planasonix --help`)"),
            ))
        }
    }
}
