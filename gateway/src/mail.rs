//! Notices by mail through the local `sendmail`: the user's address from a
//! file of `user address` lines or from a command, checked before it goes
//! near a header; the message built here (plain text, UTF-8) and handed to
//! `sendmail -i -f FROM -- TO` on standard input.

use super::GatewayError;
use planasonix_native::delivery::run_program;
use planasonix_native::trusted_file::{read_trusted_text, Kind};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where a user's address comes from.
#[derive(Clone, Debug)]
pub(crate) enum AddressSource {
    /// Lines `user address` (blank lines and `#` comments skipped).
    File(PathBuf),
    /// A program given the user name as its argument, printing the address.
    Command(PathBuf),
}

/// Mail through the local MTA.
#[derive(Clone, Debug)]
pub struct Sendmail {
    pub(crate) program: PathBuf,
    pub(crate) from: String,
    pub(crate) subject: String,
    pub(crate) addresses: AddressSource,
    pub(crate) timeout: Duration,
}

/// `local@domain` with nothing that could end a header or add a recipient.
pub(crate) fn check_address(text: &str) -> Result<String, String> {
    let ok = text.len() <= 254
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && !local.starts_with('-')
        });
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a mail address this sender uses (local@domain, no spaces or controls)"
        ))
    }
}

impl Sendmail {
    /// The address of `user`, or why there is none.
    pub(crate) fn address_of(&self, user: &str) -> Result<String, GatewayError> {
        let found = match &self.addresses {
            AddressSource::File(path) => {
                // Whoever can write the address book reroutes every notice:
                // a trusted setting.
                let text = read_trusted_text(path, Kind::Setting, "mail addresses file", 4 << 20)
                    .map_err(|e| GatewayError::Config(e.to_string()))?;
                text.lines().find_map(|line| {
                    let line = line.trim();
                    let (name, address) = line.split_once(char::is_whitespace)?;
                    (!line.starts_with('#') && name == user).then(|| address.trim().to_owned())
                })
            }
            AddressSource::Command(program) => {
                let out = Command::new(program)
                    .arg(user)
                    .env_clear()
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .map_err(|e| {
                        GatewayError::Config(format!("cannot run {}: {e}", program.display()))
                    })?;
                let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                (out.status.success() && !text.is_empty()).then_some(text)
            }
        };
        let address = found
            .ok_or_else(|| GatewayError::Refused(format!("no mail address is known for {user}")))?;
        check_address(&address).map_err(GatewayError::Refused)
    }

    /// Mails `text` to `user`.
    pub(crate) fn send(&self, user: &str, text: &str, id: &str) -> Result<(), GatewayError> {
        let to = self.address_of(user)?;
        let domain = self.from.rsplit('@').next().unwrap_or("localhost");
        let message = format!(
            "From: {}\r\nTo: {to}\r\nSubject: {}\r\nMessage-ID: <{id}@{domain}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n{}\r\n",
            self.from,
            self.subject,
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        );
        run_program(
            &self.program,
            &["-i", "-f", &self.from, "--", &to],
            message.as_bytes(),
            self.timeout,
        )
        .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn only_plain_addresses_pass() {
        assert!(check_address("alice@example.com").is_ok());
        assert!(check_address("a.b+mfa@mail.example.co.uk").is_ok());
        for bad in [
            "alice@example.com\r\nBcc: x@evil",
            "alice @example.com",
            "-oQ/tmp/x@example.com",
            "alice",
            "<alice@example.com>",
            "alice@exa mple.com",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
