//! `planasonix enroll totp|sms`: begin in one short transaction, send the SMS
//! and wait for the person with the database closed, confirm in another.

use crate::deployment::{Deployment, SmsRoute};
use crate::error::{CliError, CliResult};
use crate::files::{check_parent, write_file, Existing};
use crate::out::Out;
use crate::private_input::read_private_line;
use crate::prompt::{interactive, read_line};
use crate::qr_png::png_bytes;
use crate::shared::{print_recovery_codes, user_or_invoker, NOT_ADMIN_HINT};
use planasonix_core::phone::PhoneNumber;
use planasonix_core::{Error, SecretString, SmsPurpose};
use planasonix_native::{now, OsRandom};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// Tries a person at a terminal gets for a confirmation code.
const TERMINAL_TRIES: u32 = 3;

pub fn totp(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: Option<String>,
    qr_png: Option<PathBuf>,
    qr_svg: Option<PathBuf>,
    qr_invert: bool,
) -> CliResult<()> {
    let user = user_or_invoker(user)?;
    for path in [&qr_png, &qr_svg].into_iter().flatten() {
        check_parent(path)?;
    }
    let policy = deployment.policy()?;
    let key = deployment
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    let mut rng = OsRandom::new();
    let enrollment = deployment
        .with_engine(&policy, &key, None, |engine| {
            Ok(engine.begin_totp(&user, now(), &mut rng)?)
        })
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    let qr = enrollment
        .qr()
        .map_err(|e| CliError::failed(format!("cannot draw the QR code: {e}")))?;
    if let Some(path) = &qr_png {
        let bytes =
            png_bytes(&qr).map_err(|e| CliError::failed(format!("cannot encode PNG: {e}")))?;
        write_file(path, &bytes, 0o600, Existing::Replace)?;
    }
    if let Some(path) = &qr_svg {
        write_file(path, qr.svg().expose().as_bytes(), 0o600, Existing::Replace)?;
    }

    let p = enrollment.params;
    out.line(format!("Enrolling an authenticator app for {user}."))?;
    out.line("Scan this QR code with the app (it holds the secret: show it to no one else):")?;
    out.line("")?;
    out.line(qr.terminal(qr_invert).expose().trim_end_matches('\n'))?;
    out.line("")?;
    out.line("Or enter the key by hand:")?;
    out.line(format!("    account:  {user}"))?;
    out.line(format!(
        "    key:      {}",
        grouped(&enrollment.secret_base32).as_str()
    ))?;
    out.line(format!(
        "    type:     time-based, {}, {} digits, every {} seconds",
        p.algorithm, p.digits, p.period
    ))?;
    for (path, what) in [(&qr_png, "PNG"), (&qr_svg, "SVG")] {
        if let Some(path) = path {
            out.line(format!(
                "QR code written as {what} to {} (mode 0600; delete it after use)",
                path.display()
            ))?;
        }
    }
    out.line(format!("URI: {}", enrollment.uri.expose()))?;
    out.flush()?;
    drop(enrollment);

    let prompt = format!("Enter the {}-digit code the app shows: ", p.digits);
    let tries = if interactive() { TERMINAL_TRIES } else { 1 };
    let enrolled = confirm_loop(tries, &prompt, |code| {
        deployment.with_engine(&policy, &key, None, |engine| {
            Ok(engine.confirm_totp(&user, code.as_bytes(), now(), &mut OsRandom::new())?)
        })
    })?;
    out.line("")?;
    out.line(format!("Authenticator app enrolled for {user}."))?;
    print_recovery_codes(out, &user, &enrolled.recovery_codes)
}

pub fn sms(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: Option<String>,
    phone: Option<&str>,
    sms_command: Option<PathBuf>,
    sms_stdin: bool,
    sms_timeout: Duration,
) -> CliResult<()> {
    check_phone_source(phone)?;
    let user = user_or_invoker(user)?;
    let policy = deployment.policy()?;
    if !policy.sms.enabled {
        return Err(Error::SmsDisabled.into());
    }
    let key = deployment
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    let Some(program) = sms_command else {
        return Err(CliError::failed(
            "no SMS command is configured: pass --sms-command PATH or set PLANASONIX_SMS_COMMAND",
        ));
    };
    let phone = read_phone()?;
    // The code is sent after the transaction that issued it has returned, so
    // logins are not kept waiting while the SMS command runs.
    let route = SmsRoute {
        program: &program,
        stdin: sms_stdin,
        timeout: sms_timeout,
        user: &user,
        purpose: SmsPurpose::Enrollment,
    };
    out.line(
        "Note: SMS codes are weaker than an authenticator app: a stolen or swapped SIM card receives them too.",
    )?;
    let masked = deployment
        .with_engine(&policy, &key, Some(&route), |engine| {
            Ok(engine.begin_sms(&user, &phone, now(), &mut OsRandom::new())?)
        })
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    out.line(format!("A code was sent to {masked}."))?;
    out.flush()?;
    let prompt = format!(
        "Enter the {}-digit code from the text message: ",
        policy.sms.code_length
    );
    let tries = if interactive() {
        policy.sms.max_attempts
    } else {
        1
    };
    let codes = confirm_loop(tries, &prompt, |code| {
        deployment.with_engine(&policy, &key, Some(&route), |engine| {
            Ok(engine.confirm_sms(&user, code.as_bytes(), now(), &mut OsRandom::new())?)
        })
    })?;
    out.line(format!("SMS codes enrolled for {user} at {masked}."))?;
    print_recovery_codes(out, &user, &codes)
}

/// Longest line read as a phone number.
const MAX_PHONE_LINE: usize = 64;

/// The mobile number, from standard input (`--phone -`) or asked at the
/// terminal: a number is personal data, and the command line is readable by
/// every user of the host and kept in shell history and sudo's log.
fn check_phone_source(given: Option<&str>) -> CliResult<()> {
    match given {
        Some("-") => {}
        None if interactive() => {}
        Some(_) => return Err(CliError::usage(
            "a phone number on the command line is readable by every user of this host (ps, /proc) and kept in shell history and sudo's log; give `--phone -` to read it from standard input, or leave --phone out to be asked at the terminal",
        )),
        None => return Err(CliError::usage(
            "no mobile number: give `--phone -` to read it from standard input (one line, before the code), or run at a terminal to be asked",
        )),
    }
    Ok(())
}

/// Reads the number [`check_phone_source`] allowed; only its form is checked
/// here, whether the policy allows its country is the engine's.
fn read_phone() -> CliResult<Zeroizing<String>> {
    let line = read_private_line(
        "Mobile number in international form (e.g. +447700900123): ",
        MAX_PHONE_LINE,
    )?;
    PhoneNumber::parse(&line).map_err(|e| CliError::usage(e.to_string()))?;
    Ok(line)
}

/// Reads a code and confirms it, up to `tries` times while the answer is a
/// wrong or mistyped code. The database is closed while waiting.
fn confirm_loop<T>(
    tries: u32,
    prompt: &str,
    mut confirm: impl FnMut(&str) -> CliResult<T>,
) -> CliResult<T> {
    let mut left = tries.max(1);
    loop {
        let line = read_line(prompt)?;
        left -= 1;
        match confirm(line.trim()) {
            Err(e) if left > 0 && e.retryable => {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("{}\n", e.line()).as_bytes(),
                );
            }
            other => return other,
        }
    }
}

/// `ABCD EFGH …` for reading aloud and typing.
fn grouped(secret: &SecretString) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(secret.expose().len() * 5 / 4 + 1));
    for (i, c) in secret.expose().chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
