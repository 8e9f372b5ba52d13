//! `planasonix deliver sms|notice|test`: SMS and notices through the
//! gateways of the delivery file (planasonix-delivery(5)).
//!
//! `deliver sms NUMBER` and `deliver notice USER` keep the command contract
//! of `sms_command` and `notice_command` (the recipient as the argument, the
//! text on standard input, exit status 0 when the gateway took it, 69 when
//! the message provably did not go out), so the PAM module uses them as they
//! are and never links an HTTP client. `deliver sms` with no number reads it
//! from the first line of standard input instead (the contract's second
//! version: a number on a command line is visible to every local user). They
//! print nothing; a failure goes to syslog with the number masked and the
//! gateway's status, never its answer (which may echo the code).

use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::phone::PhoneNumber;
use planasonix_gateway::{read_delivery_file, Channel, DeliveryFile, GatewayError, Sent};
use planasonix_native::syslog::{Log, Severity, Syslog};
use std::io::Read;
use std::path::Path;

/// Longest text read from standard input (10 SMS segments, a long notice).
const MAX_TEXT: u64 = 4096;

fn file(path: &Path) -> CliResult<DeliveryFile> {
    read_delivery_file(path).map_err(|e| {
        let exit = if e.is_untrusted() {
            Exit::Permission
        } else {
            Exit::Usage
        };
        CliError::new(exit, e.to_string())
    })
}

fn channel<'a>(slot: &'a Option<Channel>, what: &str, path: &Path) -> CliResult<&'a Channel> {
    slot.as_ref().ok_or_else(|| {
        CliError::new(
            Exit::Usage,
            format!(
                "{} has no [{what}] table: say how {what} messages are sent",
                path.display()
            ),
        )
    })
}

fn number(text: &str) -> CliResult<PhoneNumber> {
    PhoneNumber::parse(text).map_err(|e| {
        CliError::usage(format!(
            "{e}: give the number in E.164 form, like +447700900123"
        ))
    })
}

fn stdin_text() -> CliResult<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_TEXT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::failed(format!("cannot read the text on standard input: {e}")))?;
    if bytes.len() as u64 > MAX_TEXT {
        return Err(CliError::usage(
            "the text on standard input is longer than 4 KiB",
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage("the text on standard input is not UTF-8"))?;
    let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
    if text.trim().is_empty() {
        return Err(CliError::usage("no text on standard input"));
    }
    Ok(text)
}

/// The exit status and one line for a gateway's failure.
fn failed(e: GatewayError) -> CliError {
    let exit = match e {
        GatewayError::Config(_) | GatewayError::NotSent(_) => Exit::NotSent,
        GatewayError::Refused(_) => Exit::Failed,
        GatewayError::Unavailable(_) => Exit::Store,
    };
    CliError::new(exit, e.to_string())
}

/// A failure before anything was sent: the command contract's "provably not
/// sent" (the caller gives an SMS's send back to the user's limits).
fn unsent(e: CliError) -> CliError {
    CliError::new(Exit::NotSent, e.message)
}

fn log_failure(what: &str, to: &str, e: &GatewayError) {
    Syslog::new("planasonix", Some("deliver"))
        .log(Severity::Warning, &format!("{what} to {to} not sent: {e}"));
}

/// `deliver sms NUMBER`: the text on standard input. Without NUMBER, the
/// number is the first line of standard input and the text the rest.
pub fn sms(path: &Path, to: Option<&str>) -> CliResult<()> {
    let (to, text) = match to {
        Some(to) => (number(to).map_err(unsent)?, stdin_text().map_err(unsent)?),
        None => {
            let input = stdin_text().map_err(unsent)?;
            let (first, text) = input.split_once('\n').unwrap_or((input.as_str(), ""));
            if text.trim().is_empty() {
                return Err(CliError::new(
                    Exit::NotSent,
                    "no text on standard input after the number's line",
                ));
            }
            (number(first.trim()).map_err(unsent)?, text.to_owned())
        }
    };
    let file = file(path).map_err(unsent)?;
    let sms = channel(&file.sms, "sms", path).map_err(unsent)?;
    sms.send_sms(&to, &text).map(drop).map_err(|e| {
        log_failure("SMS", &to.masked(), &e);
        failed(e)
    })
}

/// `deliver notice USER`: the message on standard input.
pub fn notice(path: &Path, user: &str) -> CliResult<()> {
    let text = stdin_text().map_err(unsent)?;
    let file = file(path).map_err(unsent)?;
    let notice = channel(&file.notice, "notice", path).map_err(unsent)?;
    notice.send_notice(user, &text).map(drop).map_err(|e| {
        log_failure("notice", user, &e);
        failed(e)
    })
}

/// `deliver test --to NUMBER | --user USER`: a test message, the request
/// (secrets masked), the gateway's status and message id (never its answer,
/// which may echo a token), and how long a send may take at worst.
pub fn test(path: &Path, out: &mut Out<'_>, to: Option<&str>, user: Option<&str>) -> CliResult<()> {
    let file = file(path)?;
    let mut shown = String::new();
    let (what, longest, result) = match (to, user) {
        (Some(to), None) => {
            let to = number(to)?;
            let sms = channel(&file.sms, "sms", path)?;
            let text = "Planasonix MFA: a test message from your administrator. Test code 000000.";
            (
                format!("SMS to {}", to.masked()),
                sms.longest(),
                sms.send_sms_showing(&to, text, Some(&mut shown)),
            )
        }
        (None, Some(user)) => {
            let notice = channel(&file.notice, "notice", path)?;
            let text = "Planasonix MFA: a test notice from your administrator. Nothing happened to your account.";
            (
                format!("notice to {user}"),
                notice.longest(),
                notice.send_notice_showing(user, text, Some(&mut shown)),
            )
        }
        _ => {
            return Err(CliError::usage(
                "give --to NUMBER (an SMS) or --user USER (a notice)",
            ))
        }
    };
    if !shown.is_empty() {
        out.line(shown.trim_end())?;
        out.line("")?;
    }
    // The PAM module stops its delivery command after delivery_timeout=;
    // stopped, a send may or may not have gone out.
    out.line(format!(
        "a send takes at most {:.1} s with every retry: the PAM module's delivery_timeout= (10 s unless set) must be longer, or it stops the send before the gateway answers",
        longest.as_secs_f32()
    ))?;
    match result {
        Ok(Sent {
            status,
            message_id,
            attempts,
        }) => out.line(format!(
            "sent: {what}{}{}{}",
            if status > 0 {
                format!(", HTTP {status}")
            } else {
                String::new()
            },
            message_id
                .map(|id| format!(", message id {id}"))
                .unwrap_or_default(),
            if attempts > 1 {
                format!(", after {attempts} tries")
            } else {
                String::new()
            },
        )),
        Err(e) => Err(failed(e)),
    }
}
