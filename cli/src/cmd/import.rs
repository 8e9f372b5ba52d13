//! `planasonix import …`: taking over other TOTP tools' secrets.
//!
//! Both report, line by line, what was taken and what was not. Secrets become
//! sealed authenticator-app factors; options Planasonix handles through its own
//! policy (windows, rate limits) are reported as not taken.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult, Exit};
use crate::out::Out;
use crate::private_input::open_regular;
use crate::shared::{account_of_user_or_invoker, print_recovery_codes};
use planasonix_core::hotp::Algorithm;
use planasonix_core::{Factor, SecretBytes, TotpParams};
use planasonix_native::{accounts, now, OsRandom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Longest file taken over (a pam_oath users file of many thousand users).
const MAX_IMPORT_FILE: usize = 16 << 20;

/// Who may own a file whose secrets are taken over: whoever owns it chose
/// them.
enum Owners {
    /// The target user only (no `--user` given: the file must be theirs).
    Only(u32),
    /// Root or the target user.
    RootOr(u32),
    /// Root, or whoever runs this command.
    RootOrMe,
}

/// Reads `path` through one descriptor, opened without following a symbolic
/// link; owner and mode are checked on that descriptor, so what is checked
/// is what is read.
fn read_secret_file(path: &Path, owners: Owners, user: &str) -> CliResult<Zeroizing<String>> {
    let opened = open_regular(path)?;
    let owner = opened.meta.uid();
    let refused = |why: String| CliError::new(Exit::Permission, why);
    match owners {
        Owners::Only(uid) if owner != uid => {
            return Err(CliError::usage(format!(
                "{} is owned by uid {owner}, not by {user}: pass --user to say whose secret it is",
                path.display()
            )))
        }
        Owners::RootOr(uid) if owner != 0 && owner != uid => {
            return Err(refused(format!(
                "{} is owned by uid {owner}, neither root nor {user}: whoever owns it chose the secret",
                path.display()
            )))
        }
        Owners::RootOrMe if owner != 0 && owner != nix::unistd::geteuid().as_raw() => {
            return Err(refused(format!(
                "{} is owned by uid {owner}, neither root nor you: whoever owns it chose the secrets",
                path.display()
            )))
        }
        _ => {}
    }
    let mode = opened.meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refused(format!(
            "{} is mode {mode:04o}: others may have written its secrets; `chmod go-w` it after checking it",
            path.display()
        )));
    }
    let bytes = opened.read_bounded(path, MAX_IMPORT_FILE)?;
    let text = utf8_text(&bytes).map_err(|line| {
        CliError::failed(format!(
            "{} is not a text file: line {line} is not UTF-8",
            path.display()
        ))
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// `bytes` as text, or the (1-based) line where it stops being UTF-8.
fn utf8_text(bytes: &[u8]) -> Result<&str, usize> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        1 + valid.iter().filter(|b| **b == b'\n').count()
    })
}

/// `planasonix import google-authenticator [--user NAME] FILE`.
pub fn google_authenticator(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: Option<String>,
    file: &Path,
) -> CliResult<()> {
    // Through sudo, the invoker is the admin: never enroll them by default.
    let explicit = user.is_some();
    if !explicit && std::env::var_os("SUDO_USER").is_some_and(|v| !v.is_empty()) {
        return Err(CliError::usage(
            "run through sudo: pass --user NAME to say whose file this is (the import never assumes the user who ran sudo)",
        ));
    }
    let account = account_of_user_or_invoker(user)?;
    let (user, uid) = (account.name, account.uid);
    let owners = if explicit {
        Owners::RootOr(uid)
    } else {
        Owners::Only(uid)
    };
    let text = read_secret_file(file, owners, &user)?;
    let ga = crate::import::google_authenticator::parse(&text)
        .map_err(|e| CliError::failed(format!("{} {e}", file.display())))?;
    drop(text);
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let params = TotpParams {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: ga.period,
    };
    let (enrolled, scratch) = deployment.with_engine(&policy, &key, None, |engine| {
        if engine.status(&user, now())?.factors.contains(&Factor::Totp) {
            return Err(CliError::failed(format!(
                "{user} already has an authenticator app; `planasonix admin reset {user}` first to replace it"
            )));
        }
        let mut rng = OsRandom::new();
        let enrolled = engine.import_totp(&user, &ga.secret, params, now(), &mut rng)?;
        // The scratch codes become the recovery codes (replacing the fresh set
        // just issued). Should that fail, the fresh set stays and is printed.
        let scratch = if ga.scratch_codes.is_empty() {
            Ok(0)
        } else {
            engine.import_recovery_codes(&user, &ga.scratch_codes, now(), &mut rng)
        };
        Ok((enrolled, scratch))
    })?;
    out.line(format!("Took over {} for {user}:", file.display()))?;
    out.line(format!(
        "  taken: TOTP secret (SHA1, 6 digits, every {} seconds)",
        ga.period
    ))?;
    for note in &ga.notes {
        out.line(format!("  {note}"))?;
    }
    let imported = match scratch {
        Ok(0) => false,
        Ok(n) => {
            out.line(format!(
                "  taken: {n} scratch codes imported as recovery codes (each works once at the code prompt; earlier recovery codes stop working)"
            ))?;
            true
        }
        Err(e) => {
            out.line(format!(
                "  not taken: {} scratch codes ({}); recovery codes follow",
                ga.scratch_codes.len(),
                CliError::from(e).message
            ))?;
            false
        }
    };
    out.line(format!(
        "The app keeps working unchanged. Remove {} and pam_google_authenticator once logins use Planasonix.",
        file.display()
    ))?;
    if imported {
        out.line(format!(
            "{user} keeps the scratch codes as recovery codes; no new ones are issued."
        ))
    } else {
        print_recovery_codes(out, &user, &enrolled.recovery_codes)
    }
}

/// One pam_oath users-file entry to take over, for a canonical account.
struct OathEntry {
    line: usize,
    user: String,
    secret: SecretBytes,
    params: TotpParams,
    pin: bool,
}

/// `planasonix import oath-usersfile FILE`.
pub fn oath_usersfile(deployment: &Deployment, out: &mut Out<'_>, file: &Path) -> CliResult<()> {
    // Every line names its user; the file itself is root's, as pam_oath's is.
    let text = read_secret_file(file, Owners::RootOrMe, "")?;
    let parsed = crate::import::pam_oath::parse(&text);
    drop(text);
    let mut entries: Vec<OathEntry> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for line in parsed {
        let entry = match line {
            Ok(entry) => entry,
            Err(r) => {
                refused.push(format!("line {}: {}", r.line, r.problem));
                continue;
            }
        };
        let n = entry.line;
        // The record is the canonical account's, as the PAM module keys it.
        let user = match accounts::resolve(&entry.user) {
            Ok(a) => a.name,
            Err(e) => {
                refused.push(format!("line {n}: {e}"));
                continue;
            }
        };
        let token = match entry.token {
            Ok(token) => token,
            Err(why) => {
                refused.push(format!("{user} (line {n}): {why}"));
                continue;
            }
        };
        if entries.iter().any(|e| e.user == user) {
            refused.push(format!(
                "{user} (line {n}): listed twice; the first entry was taken"
            ));
            continue;
        }
        entries.push(OathEntry {
            line: n,
            user,
            secret: token.secret,
            params: token.params,
            pin: token.pin,
        });
    }
    if entries.is_empty() {
        for r in &refused {
            out.line(format!("not taken: {r}"))?;
        }
        return Err(CliError::failed(format!(
            "nothing in {} could be taken over",
            file.display()
        )));
    }
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    // One short transaction per entry: a failure part of the way through
    // (the database went away, say) leaves the entries before it taken, and
    // their recovery codes are still printed below before the error.
    let mut taken = 0;
    let mut codes = Vec::new();
    let mut stopped = None;
    for e in &entries {
        let result = deployment.with_engine(&policy, &key, None, |engine| {
            if engine
                .status(&e.user, now())?
                .factors
                .contains(&Factor::Totp)
            {
                return Ok(None);
            }
            let enrolled =
                engine.import_totp(&e.user, &e.secret, e.params, now(), &mut OsRandom::new())?;
            Ok(Some(enrolled.recovery_codes))
        });
        match result {
            Ok(Some(c)) => {
                taken += 1;
                let pin = if e.pin {
                    "; its PIN is not kept (the login password still applies)"
                } else {
                    ""
                };
                out.line(format!(
                    "taken: {} (line {}: time-based, {} digits, every {} seconds){pin}",
                    e.user, e.line, e.params.digits, e.params.period
                ))?;
                codes.push((e.user.clone(), c));
            }
            Ok(None) => refused.push(format!(
                "{} (line {}): already has an authenticator app; reset first to replace it",
                e.user, e.line
            )),
            Err(err) => {
                stopped = Some((e, err));
                break;
            }
        }
    }
    for r in &refused {
        out.line(format!("not taken: {r}"))?;
    }
    for (user, c) in &codes {
        print_recovery_codes(out, user, c)?;
    }
    if let Some((e, mut err)) = stopped {
        err.message = format!(
            "{} (line {}): {}; {taken} entries before it were taken (their recovery codes are above), the rest were not tried",
            e.user, e.line, err.message
        );
        return Err(err);
    }
    if taken == 0 {
        return Err(CliError::failed(format!(
            "nothing in {} could be taken over",
            file.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_files_are_refused_with_the_line() {
        assert_eq!(utf8_text(b"a\nb\n"), Ok("a\nb\n"));
        assert_eq!(utf8_text(b"\xff"), Err(1));
        assert_eq!(utf8_text(b"SECRET\n\" TOTP_AUTH\n1234\xc3(5678\n"), Err(3));
        // A multi-byte character cut off at the end of the file.
        assert_eq!(utf8_text(b"a\nb\n\xe2\x82"), Err(3));
    }
}
