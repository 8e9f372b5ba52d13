//! sshd's effective settings (`sshd -T`) and which of its logins run the
//! PAM auth stack at all.

use super::report::{quoted, Finding, Severity};
use std::collections::BTreeMap;

/// The lines `sshd -T` prints: a lower-case key, a space, the value.
#[derive(Clone, Debug, Default)]
pub struct Settings(BTreeMap<String, String>);

impl Settings {
    pub fn parse(text: &str) -> Settings {
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let mut parts = line.trim().splitn(2, ' ');
            if let (Some(key), value) = (parts.next(), parts.next()) {
                if !key.is_empty() {
                    let value = value.unwrap_or("").trim().to_owned();
                    map.insert(key.to_ascii_lowercase(), value);
                }
            }
        }
        Settings(map)
    }

    /// These settings with a Match block's over them (within a block, the
    /// first value of a keyword is the one sshd uses).
    pub fn with(&self, block: &[(String, String)]) -> Settings {
        let mut out = self.clone();
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in block {
            if seen.insert(key.as_str()) {
                out.0.insert(key.clone(), value.clone());
            }
        }
        out
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn yes(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    }

    fn enabled(&self, method: &str) -> bool {
        match method {
            "publickey" => self.yes("pubkeyauthentication"),
            "password" => self.yes("passwordauthentication"),
            "keyboard-interactive" => {
                self.yes("kbdinteractiveauthentication")
                    || self.yes("challengeresponseauthentication")
            }
            "hostbased" => self.yes("hostbasedauthentication"),
            "gssapi-with-mic" => self.yes("gssapiauthentication"),
            _ => false,
        }
    }
}

/// What the PAM stacks of sshd do, as the settings analysis needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stacks {
    /// The account stack refuses logins that skipped the second factor.
    pub account_net: bool,
    /// The auth stack checks a password itself.
    pub asks_password: bool,
}

const ADVICE: &str = "set `AuthenticationMethods publickey,keyboard-interactive` and `KbdInteractiveAuthentication yes` in sshd_config";

fn advice(stacks: Stacks) -> String {
    if stacks.asks_password {
        format!("{ADVICE} (or `AuthenticationMethods keyboard-interactive` to ask the password and the code through PAM)")
    } else {
        ADVICE.to_owned()
    }
}

fn method_words(method: &str) -> &str {
    match method {
        "publickey" => "public-key",
        "hostbased" => "host-based",
        "gssapi-with-mic" => "GSSAPI (Kerberos)",
        other => other,
    }
}

/// Findings about sshd's settings.
pub fn analyse(settings: &Settings, stacks: Stacks) -> Vec<Finding> {
    if !settings.yes("usepam") {
        return vec![Finding::new(
            Severity::Critical,
            "UsePAM is not yes: sshd never runs its PAM stacks, so no second factor is asked",
            Some("set `UsePAM yes` in sshd_config".into()),
        )];
    }
    let configured = settings.get("authenticationmethods").unwrap_or("any");
    let lists: Vec<Vec<String>> = if configured.eq_ignore_ascii_case("any") {
        [
            "publickey",
            "password",
            "keyboard-interactive",
            "hostbased",
            "gssapi-with-mic",
        ]
        .iter()
        .filter(|m| settings.enabled(m))
        .map(|m| vec![(*m).to_owned()])
        .collect()
    } else {
        configured
            .split_whitespace()
            .map(|list| {
                list.split(',')
                    .map(|m| m.split(':').next().unwrap_or(m).to_ascii_lowercase())
                    .collect::<Vec<_>>()
            })
            .filter(|list| list.iter().all(|m| settings.enabled(m)))
            .collect()
    };
    let shown_list = |list: &[String]| {
        if configured.eq_ignore_ascii_case("any") {
            format!(
                "`AuthenticationMethods any` with {} enabled",
                method_words(&list[0])
            )
        } else {
            format!("the method list {}", quoted(&list.join(",")))
        }
    };
    let mut findings = Vec::new();
    let mut asks = false;
    for list in &lists {
        if list.iter().any(|m| m == "keyboard-interactive") {
            asks = true;
        } else if list.iter().any(|m| m == "password") {
            findings.push(Finding::new(
                Severity::Critical,
                format!(
                    "password logins ({}) with UsePAM: sshd answers every PAM prompt with the password, so the code prompt receives the password — the login fails and counts as a wrong code toward lockout",
                    shown_list(list)
                ),
                Some(format!("set `PasswordAuthentication no` and use keyboard-interactive: {}", advice(stacks))),
            ));
        } else {
            let who = method_words(&list[0]);
            let finding = if stacks.account_net {
                Finding::new(
                    Severity::Warning,
                    format!(
                        "{who} logins ({}) never run the PAM auth stack, so no code is asked; the account line refuses them for users who must give a second factor, with a message naming AuthenticationMethods",
                        shown_list(list)
                    ),
                    Some(advice(stacks)),
                )
            } else {
                Finding::new(
                    Severity::Critical,
                    format!(
                        "{who} logins ({}) never run the PAM auth stack and no `account required pam_planasonix.so` line refuses them: they log in without a second factor",
                        shown_list(list)
                    ),
                    Some(format!("{}; and add `account required pam_planasonix.so` to the sshd PAM file as a safety net", advice(stacks))),
                )
            };
            findings.push(finding);
        }
    }
    if asks && findings.is_empty() {
        findings.push(Finding::new(
            Severity::Info,
            format!(
                "every sshd login method runs the PAM auth stack through keyboard-interactive (AuthenticationMethods {})",
                quoted(configured)
            ),
            None,
        ));
        if !stacks.account_net {
            findings.push(Finding::new(
                Severity::Info,
                "no `account required pam_planasonix.so` line: nothing refuses a login that skipped the code should AuthenticationMethods change",
                Some("add `account required pam_planasonix.so` to the sshd PAM file".into()),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Settings {
        Settings::parse(&format!(
            "usepam yes\npubkeyauthentication yes\npasswordauthentication no\n\
             kbdinteractiveauthentication no\nhostbasedauthentication no\ngssapiauthentication no\n{extra}"
        ))
    }

    fn worst(findings: &[Finding]) -> Option<Severity> {
        findings.iter().map(|f| f.severity).max()
    }

    #[test]
    fn public_keys_only_bypass_the_auth_stack() {
        let none = Stacks::default();
        let f = analyse(&settings("authenticationmethods any\n"), none);
        assert_eq!(worst(&f), Some(Severity::Critical));
        assert!(f[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("AuthenticationMethods publickey,keyboard-interactive"));
        let net = Stacks {
            account_net: true,
            asks_password: false,
        };
        assert_eq!(worst(&analyse(&settings(""), net)), Some(Severity::Warning));
    }

    #[test]
    fn keyboard_interactive_after_the_key_is_protected() {
        let s = Settings::parse(
            "usepam yes\npubkeyauthentication yes\nkbdinteractiveauthentication yes\n\
             passwordauthentication no\nauthenticationmethods publickey,keyboard-interactive:pam\n",
        );
        let f = analyse(
            &s,
            Stacks {
                account_net: true,
                asks_password: true,
            },
        );
        assert_eq!(worst(&f), Some(Severity::Info));
    }

    #[test]
    fn passwords_are_fed_to_the_code_prompt() {
        let f = analyse(
            &settings("passwordauthentication yes\nauthenticationmethods publickey,password\n"),
            Stacks::default(),
        );
        assert!(f
            .iter()
            .any(|f| f.message.contains("code prompt receives the password")));
        let f = analyse(&settings("usepam no\n"), Stacks::default());
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("UsePAM"));
    }
}
