//! `planasonix import …`: taking over other TOTP tools' secrets.
//!
//! Both report, line by line, what was taken and what was not. Secrets become
//! sealed authenticator-app factors; options Planasonix handles through its own
//! policy (windows, rate limits) are reported as not taken.

use super::{print_recovery_codes, Out};
use crate::error::{CliError, CliResult, Exit};
use crate::host::{user_or_invoker, Host};
use crate::private_input::open_regular;
use planasonix_core::hotp::Algorithm;
use planasonix_core::input::validate_user_name;
use planasonix_core::{Factor, SecretBytes, SecretString, TotpParams};
use planasonix_native::accounts;
use planasonix_native::{now, OsRandom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Shortest secret taken over: 80 bits, what google-authenticator writes.
const MIN_IMPORTED_SECRET: usize = 10;

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
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::failed(format!("{} is not a text file", path.display())))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// What a `~/.google_authenticator` file holds.
struct GoogleAuthenticator {
    secret: SecretBytes,
    period: u64,
    scratch_codes: Vec<SecretString>,
    notes: Vec<String>,
}

fn parse_google_authenticator(path: &Path, text: &str) -> CliResult<GoogleAuthenticator> {
    let bad = |line: usize, what: &str| {
        CliError::failed(format!("{} line {line}: {what}", path.display()))
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let (_, first) = lines
        .next()
        .ok_or_else(|| bad(1, "empty file; expected the base32 secret"))?;
    let secret = super::admin::secret_from_base32(first, MIN_IMPORTED_SECRET)
        .map_err(|e| bad(1, &e.message))?;
    let mut period = 30;
    let mut totp = false;
    let mut scratch_codes = Vec::new();
    let mut notes = Vec::new();
    for (n, line) in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(option) = line.strip_prefix('"') {
            let mut words = option.split_whitespace();
            match words.next() {
                Some("TOTP_AUTH") => totp = true,
                Some("HOTP_COUNTER") => {
                    return Err(bad(
                        n,
                        "counter-based (HOTP) secrets cannot be taken over: Planasonix uses time-based codes; enroll again",
                    ))
                }
                Some("STEP_SIZE") => {
                    period = match words.next().and_then(|w| w.parse::<u64>().ok()) {
                        Some(p @ (30 | 60)) => p,
                        _ => return Err(bad(n, "STEP_SIZE must be 30 or 60 seconds to be taken over")),
                    }
                }
                Some("DISALLOW_REUSE") => notes.push("taken: DISALLOW_REUSE (Planasonix never accepts a code twice)".into()),
                Some("WINDOW_SIZE") => notes.push(
                    "not taken: WINDOW_SIZE (the policy's totp.skew sets the accepted window)".into(),
                ),
                Some("RATE_LIMIT") => notes.push("not taken: RATE_LIMIT (the policy's [lockout] applies)".into()),
                Some(other) => notes.push(format!("not taken: unknown option {other}")),
                None => {}
            }
        } else if line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit()) {
            scratch_codes.push(SecretString::new(line.to_owned()));
        } else {
            return Err(bad(n, "neither an option nor an 8-digit scratch code"));
        }
    }
    if !totp {
        return Err(bad(
            1,
            "no \" TOTP_AUTH line: only time-based secrets can be taken over",
        ));
    }
    Ok(GoogleAuthenticator {
        secret,
        period,
        scratch_codes,
        notes,
    })
}

pub fn google_authenticator(
    host: &Host,
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
    let user = user_or_invoker(user)?;
    let uid = accounts::resolve(&user)
        .map_err(|e| CliError::failed(e.to_string()))?
        .uid;
    let owners = if explicit {
        Owners::RootOr(uid)
    } else {
        Owners::Only(uid)
    };
    let text = read_secret_file(file, owners, &user)?;
    let ga = parse_google_authenticator(file, &text)?;
    drop(text);
    let policy = host.policy()?;
    let key = host.seal_key()?;
    let params = TotpParams {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: ga.period,
    };
    let (enrolled, scratch) = host.with_engine(&policy, &key, None, |engine| {
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

/// One pam_oath users-file line that can be taken over.
struct OathEntry {
    line: usize,
    user: String,
    secret: SecretBytes,
    params: TotpParams,
    pin: bool,
}

/// Parses the token type field: `HOTP/T30`, `HOTP/T60/8`; event-based ones are refused.
fn oath_type(field: &str) -> Result<TotpParams, String> {
    let mut parts = field.split('/');
    if parts.next() != Some("HOTP") {
        return Err(format!("token type {field} is not supported"));
    }
    let period = match parts.next() {
        Some("T30") => 30,
        Some("T60") => 60,
        Some(t) if t.starts_with('T') => {
            return Err(format!("time step {} is not 30 or 60 seconds", &t[1..]))
        }
        _ => {
            return Err("counter-based (HOTP) tokens cannot be taken over; time-based only".into())
        }
    };
    let digits = match parts.next() {
        None | Some("6") => 6,
        Some("8") => 8,
        Some(d) => return Err(format!("{d} digits is not supported (6 or 8)")),
    };
    if parts.next().is_some() {
        return Err(format!("token type {field} is not understood"));
    }
    Ok(TotpParams {
        algorithm: Algorithm::Sha1,
        digits,
        period,
    })
}

fn hex(text: &str) -> Option<SecretBytes> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    for pair in text.as_bytes().chunks(2) {
        let digits = std::str::from_utf8(pair).ok()?;
        out.push(u8::from_str_radix(digits, 16).ok()?);
    }
    Some(SecretBytes::new(out))
}

pub fn oath_usersfile(host: &Host, out: &mut Out<'_>, file: &Path) -> CliResult<()> {
    // Every line names its user; the file itself is root's, as pam_oath's is.
    let text = read_secret_file(file, Owners::RootOrMe, "")?;
    let mut entries = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let n = i + 1;
        let (Some(kind), Some(user), Some(pin), Some(secret)) =
            (fields.first(), fields.get(1), fields.get(2), fields.get(3))
        else {
            refused.push(format!(
                "line {n}: fewer than four fields (type, user, PIN, secret)"
            ));
            continue;
        };
        if let Err(e) = validate_user_name(user) {
            refused.push(format!("line {n}: {e}"));
            continue;
        }
        // The record is the canonical account's, as the PAM module keys it.
        let user = &match planasonix_native::accounts::resolve(user) {
            Ok(a) => a.name,
            Err(e) => {
                refused.push(format!("line {n}: {e}"));
                continue;
            }
        };
        let params = match oath_type(kind) {
            Ok(p) => p,
            Err(why) => {
                refused.push(format!("{user} (line {n}): {why}"));
                continue;
            }
        };
        let Some(secret) = hex(secret).filter(|s| s.len() >= MIN_IMPORTED_SECRET && s.len() <= 128)
        else {
            refused.push(format!(
                "{user} (line {n}): the secret is not 10 to 128 bytes of hex"
            ));
            continue;
        };
        if entries.iter().any(|e: &OathEntry| e.user == *user) {
            refused.push(format!(
                "{user} (line {n}): listed twice; the first entry was taken"
            ));
            continue;
        }
        entries.push(OathEntry {
            line: n,
            user: (*user).to_owned(),
            secret,
            params,
            pin: *pin != "-",
        });
    }
    drop(text);
    if entries.is_empty() {
        for r in &refused {
            out.line(format!("not taken: {r}"))?;
        }
        return Err(CliError::failed(format!(
            "nothing in {} could be taken over",
            file.display()
        )));
    }
    let policy = host.policy()?;
    let key = host.seal_key()?;
    let results = host.with_engine(&policy, &key, None, |engine| {
        let mut results = Vec::new();
        for e in &entries {
            if engine
                .status(&e.user, now())?
                .factors
                .contains(&Factor::Totp)
            {
                results.push(Err(format!(
                    "{} (line {}): already has an authenticator app; reset first to replace it",
                    e.user, e.line
                )));
                continue;
            }
            let enrolled =
                engine.import_totp(&e.user, &e.secret, e.params, now(), &mut OsRandom::new())?;
            results.push(Ok(enrolled.recovery_codes));
        }
        Ok(results)
    })?;
    let mut taken = 0;
    let mut codes = Vec::new();
    for (e, result) in entries.iter().zip(results) {
        match result {
            Ok(c) => {
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
            Err(why) => refused.push(why),
        }
    }
    for r in &refused {
        out.line(format!("not taken: {r}"))?;
    }
    for (user, c) in &codes {
        print_recovery_codes(out, user, c)?;
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
    fn oath_token_types() {
        assert_eq!(
            oath_type("HOTP/T30").map(|p| (p.period, p.digits)),
            Ok((30, 6))
        );
        assert_eq!(
            oath_type("HOTP/T60/8").map(|p| (p.period, p.digits)),
            Ok((60, 8))
        );
        assert!(oath_type("HOTP").is_err());
        assert!(oath_type("HOTP/E/6").is_err());
        assert!(oath_type("HOTP/T45").is_err());
        assert!(oath_type("HOTP/T30/7").is_err());
        assert!(oath_type("TOTP/T30").is_err());
    }

    #[test]
    fn hex_secrets() {
        assert_eq!(
            hex("00ff10").map(|s| s.expose().to_vec()),
            Some(vec![0, 255, 16])
        );
        assert!(hex("0").is_none());
        assert!(hex("zz").is_none());
        assert!(hex("").is_none());
    }

    #[test]
    fn google_authenticator_files() {
        let p = Path::new("ga");
        let ga = parse_google_authenticator(
            p,
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n83142923\n26078706\n",
        )
        .unwrap();
        assert_eq!(ga.period, 30);
        assert_eq!(ga.scratch_codes.len(), 2);
        assert_eq!(ga.scratch_codes[1].expose(), "26078706");
        assert_eq!(ga.secret.len(), 16);
        assert_eq!(ga.notes.len(), 3);
        let ga = parse_google_authenticator(
            p,
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" STEP_SIZE 60\n\" TOTP_AUTH\n",
        )
        .unwrap();
        assert_eq!(ga.period, 60);
        for bad in [
            "",
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n",
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" HOTP_COUNTER 1\n",
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" STEP_SIZE 45\n\" TOTP_AUTH\n",
            "not base32!\n\" TOTP_AUTH\n",
            "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" TOTP_AUTH\nhello\n",
        ] {
            assert!(parse_google_authenticator(p, bad).is_err(), "{bad:?}");
        }
    }
}
