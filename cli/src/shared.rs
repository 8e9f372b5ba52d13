//! What several commands share: whose account a command is about, the
//! policy file as text, base32 secrets, JSON values and the recovery codes
//! as printed.

use crate::error::{io_error, CliError, CliResult, Exit};
use crate::out::Out;
use planasonix_core::otpauth::parse_base32;
use planasonix_core::text::Field;
use planasonix_core::{Factor, Policy, SecretBytes, SecretString};
use planasonix_native::accounts::{self, Account, AccountError};
use std::fmt;
use std::io::{self, Write};
use std::path::Path;

/// Advice for a person who may not touch the key or database.
pub const NOT_ADMIN_HINT: &str = "only an administrator can change MFA settings here: enroll at your next login if your organisation allows it, or ask an administrator";

/// Longest TOTP secret taken anywhere (SHA-512 block-sized).
pub const MAX_SECRET_BYTES: usize = 128;

/// The user a command is about: `--user`, else the person who ran it,
/// resolved through NSS like the PAM module does ([`account`]).
pub fn user_or_invoker(user: Option<String>) -> CliResult<String> {
    Ok(account_of_user_or_invoker(user)?.name)
}

/// [`user_or_invoker`], with the account's uid.
pub fn account_of_user_or_invoker(user: Option<String>) -> CliResult<Account> {
    if let Some(u) = user {
        return resolve(&u);
    }
    for var in ["SUDO_USER", "USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return resolve(&v);
            }
        }
    }
    Err(CliError::usage("cannot tell who you are: pass --user NAME"))
}

/// The canonical name of the account `typed` names, as NSS resolves it: the
/// record the PAM module uses for that login. When it differs from what was
/// typed, stderr says so. A name NSS does not know is refused.
pub fn account(typed: &str) -> CliResult<String> {
    Ok(resolve(typed)?.name)
}

/// [`account`], the whole record.
fn resolve(typed: &str) -> CliResult<Account> {
    match accounts::resolve(typed) {
        Ok(a) => {
            if a.name != typed {
                let _ = writeln!(
                    io::stderr(),
                    "note: {} is the account {} on this host (NSS); acting on {}",
                    Field(typed),
                    Field(&a.name),
                    Field(&a.name)
                );
            }
            Ok(a)
        }
        Err(AccountError::BadName(e)) => Err(e.into()),
        Err(e @ AccountError::Unknown(_)) => Err(CliError::failed(format!(
            "{e}; the PAM module refuses such logins, so there is nothing to enroll"
        ))),
        Err(e) => Err(CliError::new(Exit::Store, e.to_string())),
    }
}

/// Like [`account`], but a name NSS does not know (an account since removed
/// from the directory) is taken as typed, saying so: its stored state can
/// still be reset and its history read.
pub fn account_or_stored(typed: &str) -> CliResult<String> {
    match accounts::resolve(typed) {
        Err(AccountError::Unknown(_)) => {
            planasonix_core::input::validate_user_name(typed)?;
            let _ = writeln!(
                io::stderr(),
                "note: {} is not an account on this host (NSS); acting on the state stored under that name",
                Field(typed)
            );
            Ok(typed.to_owned())
        }
        _ => account(typed),
    }
}

/// Reads and validates the policy file at `path` (any file: `policy check`
/// reads drafts; the policy in force is [`crate::deployment::Deployment::policy`]).
pub fn read_policy(path: &Path) -> CliResult<Policy> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CliError::failed(format!(
                "policy {} does not exist; create it with `planasonix init`",
                path.display()
            )))
        }
        Err(e) => return Err(io_error("cannot read policy", path, &e)),
    };
    Policy::from_toml(&text).map_err(|e| CliError::failed(format!("{}: {e}", path.display())))
}

/// Why a base32 TOTP secret is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base32SecretError {
    /// Not base32 at all.
    NotBase32,
    /// Decodes to `len` bytes, outside `min..=MAX_SECRET_BYTES`.
    Length {
        /// Bytes decoded.
        len: usize,
        /// Fewest bytes taken.
        min: usize,
    },
}

impl fmt::Display for Base32SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base32SecretError::NotBase32 => f.write_str(
                "the secret is not base32 (letters A-Z and digits 2-7, as authenticator apps show it)",
            ),
            Base32SecretError::Length { len, min } => write!(
                f,
                "the secret is {len} bytes; it must be {min} to {MAX_SECRET_BYTES} bytes ({} to {} base32 characters)",
                (min * 8).div_ceil(5),
                (MAX_SECRET_BYTES * 8).div_ceil(5)
            ),
        }
    }
}

/// Decodes a base32 TOTP secret of `min` to [`MAX_SECRET_BYTES`] bytes.
pub fn secret_from_base32(text: &str, min: usize) -> Result<SecretBytes, Base32SecretError> {
    let secret = SecretBytes::new(parse_base32(text).ok_or(Base32SecretError::NotBase32)?);
    if secret.len() < min || secret.len() > MAX_SECRET_BYTES {
        return Err(Base32SecretError::Length {
            len: secret.len(),
            min,
        });
    }
    Ok(secret)
}

/// `value` as JSON, for `--json` output.
pub fn json_value(value: &impl serde::Serialize) -> CliResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))
}

/// `authenticator app, recovery code`, or `none`.
pub fn factor_list(factors: &[Factor]) -> String {
    if factors.is_empty() {
        return "none".into();
    }
    factors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fresh recovery codes for `--json`: `{"user": …, "recovery_codes": […]}`.
pub fn recovery_codes_json(user: &str, codes: &[SecretString]) -> serde_json::Value {
    let list: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
    serde_json::json!({ "user": user, "recovery_codes": list })
}

/// Prints fresh recovery codes with the advice that goes with them.
pub fn print_recovery_codes(
    out: &mut Out<'_>,
    user: &str,
    codes: &[SecretString],
) -> CliResult<()> {
    if codes.is_empty() {
        return out.line(format!(
            "{user} still has unused recovery codes; they stay valid (make a new set with `planasonix recovery-codes --regenerate`)."
        ));
    }
    out.line("")?;
    out.line(format!(
        "Recovery codes for {user}. Each works once, for when the phone is lost.\nStore them somewhere safe now: they are not shown again."
    ))?;
    out.line("")?;
    for code in codes {
        out.line(format!("    {}", code.expose()))?;
    }
    out.line("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_secrets_are_bounded_and_errors_say_why() {
        let secret = secret_from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 16).unwrap();
        assert_eq!(secret.expose(), b"12345678901234567890");
        assert_eq!(
            secret_from_base32("not base32!", 10).err(),
            Some(Base32SecretError::NotBase32)
        );
        let short = secret_from_base32("GEZDGNBV", 16).unwrap_err();
        assert_eq!(short, Base32SecretError::Length { len: 5, min: 16 });
        assert_eq!(
            short.to_string(),
            "the secret is 5 bytes; it must be 16 to 128 bytes (26 to 205 base32 characters)"
        );
        let long = "A".repeat(208);
        assert!(matches!(
            secret_from_base32(&long, 16),
            Err(Base32SecretError::Length { len: 130, .. })
        ));
    }

    #[test]
    fn factor_lists() {
        assert_eq!(factor_list(&[]), "none");
        assert_eq!(
            factor_list(&[Factor::Totp, Factor::Recovery]),
            "authenticator app, recovery code"
        );
    }
}
