//! The delivery file (`/etc/planasonix/delivery.toml`, planasonix-delivery(5)):
//! how SMS and notices leave this host. Checked like the key file: whoever
//! can change it can send every login code to a gateway of theirs, so it
//! must be a regular file owned by root (or the user reading it) that group
//! and others cannot access, in a directory only root may change. Secrets
//! (tokens, signing keys) are in their own files, named here.

mod error;
pub use error::{DeliveryFileError, Problem, UrlProblem};

use super::mail::{AddressSource, Sendmail};
use super::template::{Template, Var};
use super::webhook::{Auth, BodyFormat, Method, Signature, Webhook};
use super::Channel;
use planasonix_native::trusted_file::{self, read_trusted_text, TrustedFileError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the delivery file is unless told otherwise.
pub const DEFAULT_DELIVERY_FILE: &str = "/etc/planasonix/delivery.toml";

/// Largest delivery file read.
const MAX_BYTES: u64 = 64 << 10;

/// What the delivery file sets up.
#[derive(Debug)]
pub struct DeliveryFile {
    /// How SMS codes are sent (`[sms]`).
    pub sms: Option<Channel>,
    /// How notices reach users (`[notice]`).
    pub notice: Option<Channel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    sms: Option<RawChannel>,
    notice: Option<RawChannel>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum RawChannel {
    Webhook(Box<RawWebhook>),
    Twilio(RawTwilio),
    Command(RawCommand),
    Sendmail(RawSendmail),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    method: Option<String>,
    format: Option<String>,
    body: Option<toml::Table>,
    headers: Option<toml::Table>,
    auth: Option<String>,
    user: Option<String>,
    secret_file: Option<PathBuf>,
    header: Option<String>,
    signature_header: Option<String>,
    signature_key_file: Option<PathBuf>,
    success: Option<String>,
    message_id: Option<String>,
    timeout: Option<String>,
    retries: Option<u32>,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTwilio {
    account_sid: String,
    auth_token_file: PathBuf,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    base_url: Option<String>,
    timeout: Option<String>,
    retries: Option<u32>,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    command: PathBuf,
    input: Option<String>,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSendmail {
    sendmail: Option<PathBuf>,
    from: String,
    subject: Option<String>,
    addresses: Option<PathBuf>,
    address_command: Option<PathBuf>,
    timeout: Option<String>,
}

/// Reads and checks the delivery file at `path`.
pub fn read_delivery_file(path: &Path) -> Result<DeliveryFile, TrustedFileError> {
    let text = read_trusted_text(
        path,
        trusted_file::Kind::PrivateSetting,
        "delivery file",
        MAX_BYTES,
    )?;
    parse_delivery(&text).map_err(|why| TrustedFileError::Invalid {
        path: path.to_owned(),
        what: "delivery file",
        why: why.to_string(),
    })
}

/// Parses the text of a delivery file.
pub fn parse_delivery(text: &str) -> Result<DeliveryFile, DeliveryFileError> {
    let raw: Raw =
        toml::from_str(text).map_err(|e| DeliveryFileError::Syntax(e.message().to_owned()))?;
    Ok(DeliveryFile {
        sms: raw.sms.map(|c| channel(c, Kind::Sms)).transpose()?,
        notice: raw.notice.map(|c| channel(c, Kind::Notice)).transpose()?,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sms,
    Notice,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Sms => "[sms]",
            Kind::Notice => "[notice]",
        }
    }
}

/// `problem` in table `t`.
fn bad(t: &'static str, problem: Problem) -> DeliveryFileError {
    DeliveryFileError::In { table: t, problem }
}

fn channel(raw: RawChannel, kind: Kind) -> Result<Channel, DeliveryFileError> {
    let t = kind.table();
    match raw {
        RawChannel::Webhook(w) => webhook(*w, kind).map(|w| Channel::Webhook(Box::new(w))),
        RawChannel::Twilio(_) if kind == Kind::Notice => Err(bad(t, Problem::TwilioForNotices)),
        RawChannel::Twilio(tw) => twilio(tw).map(|w| Channel::Webhook(Box::new(w))),
        RawChannel::Sendmail(_) if kind == Kind::Sms => Err(bad(t, Problem::SendmailForSms)),
        RawChannel::Sendmail(m) => sendmail(m).map(Channel::Sendmail),
        RawChannel::Command(c) => {
            absolute(t, "command", &c.command)?;
            let stdin = match c.input.as_deref() {
                None | Some("argument") => false,
                Some("stdin") => true,
                Some(other) => return Err(bad(t, Problem::Input(other.to_owned()))),
            };
            Ok(Channel::Command {
                program: c.command,
                stdin,
                timeout: duration(t, "timeout", c.timeout.as_deref(), 10)?,
            })
        }
    }
}

fn absolute(t: &'static str, key: &str, path: &Path) -> Result<(), DeliveryFileError> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(bad(
            t,
            Problem::RelativePath {
                key: key.to_owned(),
                path: path.to_owned(),
            },
        ))
    }
}

/// `"10s"`, `"500ms"`: 100 ms to 60 s; `default` seconds when absent.
fn duration(
    t: &'static str,
    key: &str,
    text: Option<&str>,
    default: u64,
) -> Result<Duration, DeliveryFileError> {
    let Some(text) = text else {
        return Ok(Duration::from_secs(default));
    };
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else {
        text.strip_suffix('s')
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
    };
    match parsed {
        Some(d) if d >= Duration::from_millis(100) && d <= Duration::from_secs(60) => Ok(d),
        _ => Err(bad(
            t,
            Problem::Duration {
                key: key.to_owned(),
                text: text.to_owned(),
            },
        )),
    }
}

fn template(t: &'static str, key: &str, text: &str) -> Result<Template, DeliveryFileError> {
    Template::parse(text).map_err(|e| {
        bad(
            t,
            Problem::Template {
                key: key.to_owned(),
                why: e.to_string(),
            },
        )
    })
}

/// A URL of the file: its scheme and host fixed in the file (no
/// placeholder), `https://` (`http://` only to a loopback address), no
/// credentials (they live in secret files, read at each send). The URL is
/// not echoed: a mistaken one may hold a secret.
fn check_url(t: &'static str, key: &str, url: &str) -> Result<(), DeliveryFileError> {
    let refuse = |why: UrlProblem| {
        Err(bad(
            t,
            Problem::Url {
                key: key.to_owned(),
                why,
            },
        ))
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse(UrlProblem::NotAUrl);
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains(['{', '}']) || scheme.contains(['{', '}']) {
        return refuse(UrlProblem::PlaceholderInHost);
    }
    if authority.contains('@') {
        return refuse(UrlProblem::Credentials);
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return refuse(UrlProblem::NoHost);
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => refuse(UrlProblem::Cleartext),
        _ => refuse(UrlProblem::NotHttps),
    }
}

/// A header name: an HTTP token (RFC 9110), so it can be nothing else.
fn header_name(t: &'static str, what: &str, name: &str) -> Result<String, DeliveryFileError> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(bad(
            t,
            Problem::HeaderName {
                what: what.to_owned(),
                name: name.to_owned(),
            },
        ));
    }
    Ok(name.to_owned())
}

/// A header name or value: no line breaks or controls, so nothing can start
/// another header.
fn header_text(t: &'static str, what: &str, text: &str) -> Result<String, DeliveryFileError> {
    if text.is_empty() || text.chars().any(|c| c.is_control()) {
        return Err(bad(
            t,
            Problem::HeaderText {
                what: what.to_owned(),
                text: text.to_owned(),
            },
        ));
    }
    Ok(text.to_owned())
}

fn webhook(w: RawWebhook, kind: Kind) -> Result<Webhook, DeliveryFileError> {
    let t = kind.table();
    check_url(t, "url", &w.url)?;
    let url = template(t, "url", &w.url)?;
    let method = match w.method.as_deref().unwrap_or("POST") {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "GET" => Method::Get,
        other => return Err(bad(t, Problem::Method(other.to_owned()))),
    };
    let format = match (method, w.format.as_deref().unwrap_or("json")) {
        (Method::Get, _) if w.body.is_some() => return Err(bad(t, Problem::GetWithBody)),
        (Method::Get, _) => BodyFormat::None,
        (_, "json") => BodyFormat::Json,
        (_, "form") => BodyFormat::Form,
        (_, other) => return Err(bad(t, Problem::Format(other.to_owned()))),
    };
    let mut body = Vec::new();
    for (name, value) in w.body.unwrap_or_default() {
        let text = value.as_str().ok_or_else(|| {
            bad(
                t,
                Problem::NotAString {
                    key: format!("body.{name}"),
                },
            )
        })?;
        body.push((name.clone(), template(t, &format!("body.{name}"), text)?));
    }
    if format != BodyFormat::None && body.is_empty() {
        return Err(bad(t, Problem::NoBody));
    }
    let sends_text = url.uses(Var::Text)
        || url.uses(Var::Code)
        || body
            .iter()
            .any(|(_, v)| v.uses(Var::Text) || v.uses(Var::Code));
    if !sends_text {
        return Err(bad(t, Problem::SendsNoText));
    }
    let mut headers = Vec::new();
    for (name, value) in w.headers.unwrap_or_default() {
        let value = value.as_str().ok_or_else(|| {
            bad(
                t,
                Problem::NotAString {
                    key: format!("headers.{name}"),
                },
            )
        })?;
        headers.push((
            header_name(t, "header name", &name)?,
            header_text(t, &format!("headers.{name}"), value)?,
        ));
    }
    let secret = |key: &str| -> Result<PathBuf, DeliveryFileError> {
        let path = w.secret_file.clone().ok_or_else(|| {
            bad(
                t,
                Problem::NoSecretFile {
                    auth: key.to_owned(),
                },
            )
        })?;
        absolute(t, "secret_file", &path)?;
        Ok(path)
    };
    let auth = match w.auth.as_deref().unwrap_or("none") {
        "none" => Auth::None,
        "basic" => Auth::Basic {
            user: header_text(t, "user", w.user.as_deref().unwrap_or(""))?,
            password_file: secret("basic")?,
        },
        "bearer" => Auth::Bearer {
            token_file: secret("bearer")?,
        },
        "header" => Auth::Header {
            name: header_name(t, "header", w.header.as_deref().unwrap_or(""))?,
            value_file: secret("header")?,
        },
        other => return Err(bad(t, Problem::Auth(other.to_owned()))),
    };
    let signature = match (w.signature_header, w.signature_key_file) {
        (None, None) => None,
        (Some(header), Some(key_file)) => {
            absolute(t, "signature_key_file", &key_file)?;
            Some(Signature {
                header: header_name(t, "signature_header", &header)?,
                key_file,
            })
        }
        _ => return Err(bad(t, Problem::SignatureHalf)),
    };
    if let Some(ca) = &w.ca_file {
        absolute(t, "ca_file", ca)?;
    }
    Ok(Webhook {
        name: "webhook",
        method,
        url,
        format,
        body,
        headers,
        auth,
        signature,
        success: w.success,
        message_id: w.message_id,
        timeout: duration(t, "timeout", w.timeout.as_deref(), 10)?,
        retries: retries(t, w.retries)?,
        ca_file: w.ca_file,
    })
}

fn retries(t: &'static str, n: Option<u32>) -> Result<u32, DeliveryFileError> {
    match n.unwrap_or(2) {
        n @ 0..=5 => Ok(n),
        n => Err(bad(t, Problem::Retries(n))),
    }
}

/// Twilio's Messages API as a webhook: a form POST to the account's
/// Messages resource, basic auth with the account SID and the auth token,
/// `To`, `From` (or `MessagingServiceSid`) and `Body`; the message's `sid`
/// in a 201 answer.
fn twilio(tw: RawTwilio) -> Result<Webhook, DeliveryFileError> {
    let t = "[sms]";
    if !(tw.account_sid.starts_with("AC")
        && tw.account_sid.len() == 34
        && tw.account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(bad(t, Problem::AccountSid(tw.account_sid)));
    }
    absolute(t, "auth_token_file", &tw.auth_token_file)?;
    let sender = match (tw.from, tw.messaging_service_sid) {
        (Some(from), None) => ("From".to_owned(), from),
        (None, Some(mg)) if mg.starts_with("MG") => ("MessagingServiceSid".to_owned(), mg),
        (None, Some(mg)) => return Err(bad(t, Problem::MessagingServiceSid(mg))),
        _ => return Err(bad(t, Problem::NoSender)),
    };
    let base = tw
        .base_url
        .unwrap_or_else(|| "https://api.twilio.com".into());
    check_url(t, "base_url", &base)?;
    let literal = |s: &str| s.replace('{', "{{").replace('}', "}}");
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        literal(base.trim_end_matches('/')),
        tw.account_sid
    );
    if let Some(ca) = &tw.ca_file {
        absolute(t, "ca_file", ca)?;
    }
    Ok(Webhook {
        name: "Twilio",
        method: Method::Post,
        url: template(t, "base_url", &url)?,
        format: BodyFormat::Form,
        body: vec![
            ("To".into(), template(t, "To", "{to}")?),
            (sender.0, template(t, "from", &literal(&sender.1))?),
            ("Body".into(), template(t, "Body", "{text}")?),
        ],
        headers: Vec::new(),
        auth: Auth::Basic {
            user: tw.account_sid,
            password_file: tw.auth_token_file,
        },
        signature: None,
        success: None,
        message_id: Some("/sid".into()),
        timeout: duration(t, "timeout", tw.timeout.as_deref(), 10)?,
        retries: retries(t, tw.retries)?,
        ca_file: tw.ca_file,
    })
}

fn sendmail(m: RawSendmail) -> Result<Sendmail, DeliveryFileError> {
    let t = "[notice]";
    let program = m.sendmail.unwrap_or_else(|| "/usr/sbin/sendmail".into());
    absolute(t, "sendmail", &program)?;
    let from =
        super::mail::check_address(&m.from).map_err(|_| bad(t, Problem::From(m.from.clone())))?;
    let addresses = match (m.addresses, m.address_command) {
        (Some(file), None) => {
            absolute(t, "addresses", &file)?;
            AddressSource::File(file)
        }
        (None, Some(cmd)) => {
            absolute(t, "address_command", &cmd)?;
            AddressSource::Command(cmd)
        }
        _ => return Err(bad(t, Problem::NoAddresses)),
    };
    Ok(Sendmail {
        program,
        from,
        subject: header_text(
            t,
            "subject",
            m.subject
                .as_deref()
                .unwrap_or("Security notice about your account"),
        )?,
        addresses,
        timeout: duration(t, "timeout", m.timeout.as_deref(), 10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK: &str = "[sms]\nkind = \"webhook\"\nurl = \"https://sms.example/send\"\nbody = { to = \"{to}\", text = \"{text}\" }\n";

    #[test]
    fn a_webhook_a_twilio_account_and_sendmail_parse() {
        let f = parse_delivery(WEBHOOK).unwrap();
        assert!(matches!(f.sms, Some(Channel::Webhook(_))));
        let f = parse_delivery("[sms]\nkind = \"twilio\"\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token_file = \"/etc/planasonix/twilio\"\nfrom = \"+15005550006\"\n\n[notice]\nkind = \"sendmail\"\nfrom = \"mfa@example.com\"\naddresses = \"/etc/planasonix/addresses\"\n").unwrap();
        assert!(matches!(f.sms, Some(Channel::Webhook(_))));
        assert!(matches!(f.notice, Some(Channel::Sendmail(_))));
    }

    #[test]
    fn mistakes_are_named() {
        use Problem as P;
        let sms = |problem| DeliveryFileError::In {
            table: "[sms]",
            problem,
        };
        let url = |key: &str, why| {
            sms(P::Url {
                key: key.into(),
                why,
            })
        };
        let twilio = "[sms]\nkind = \"twilio\"\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token_file = \"/x\"\n";
        let cases = [
            (&format!("{WEBHOOK}timeout = \"1h\"\n"), sms(P::Duration { key: "timeout".into(), text: "1h".into() })),
            (&WEBHOOK.replace("{text}", "hello"), sms(P::SendsNoText)),
            (&format!("{WEBHOOK}auth = \"bearer\"\n"), sms(P::NoSecretFile { auth: "bearer".into() })),
            (&format!("{WEBHOOK}auth = \"digest\"\n"), sms(P::Auth("digest".into()))),
            (&format!("{WEBHOOK}headers = {{ \"X-A\" = \"x\\r\\nEvil: 1\" }}\n"), sms(P::HeaderText { what: "headers.X-A".into(), text: "x\r\nEvil: 1".into() })),
            (&format!("{WEBHOOK}headers = {{ \"X-A: b\" = \"x\" }}\n"), sms(P::HeaderName { what: "header name".into(), name: "X-A: b".into() })),
            (&format!("{WEBHOOK}headers = {{ \"X A\" = \"x\" }}\n"), sms(P::HeaderName { what: "header name".into(), name: "X A".into() })),
            (&format!("{WEBHOOK}headers = {{ \"X-A\" = 1 }}\n"), sms(P::NotAString { key: "headers.X-A".into() })),
            (&format!("{WEBHOOK}signature_header = \"X-Sig\"\n"), sms(P::SignatureHalf)),
            (&format!("{WEBHOOK}retries = 9\n"), sms(P::Retries(9))),
            (&format!("{WEBHOOK}method = \"DELETE\"\n"), sms(P::Method("DELETE".into()))),
            (&format!("{WEBHOOK}method = \"GET\"\n"), sms(P::GetWithBody)),
            (&format!("{WEBHOOK}format = \"xml\"\n"), sms(P::Format("xml".into()))),
            (&"[sms]\nkind = \"webhook\"\nurl = \"https://sms.example/{text}\"\n".to_owned(), sms(P::NoBody)),
            (&"[notice]\nkind = \"twilio\"\naccount_sid = \"x\"\nauth_token_file = \"/x\"\n".to_owned(), DeliveryFileError::In { table: "[notice]", problem: P::TwilioForNotices }),
            (&"[sms]\nkind = \"sendmail\"\nfrom = \"a@b\"\naddresses = \"/x\"\n".to_owned(), sms(P::SendmailForSms)),
            (&"[sms]\nkind = \"twilio\"\naccount_sid = \"AC12\"\nauth_token_file = \"/x\"\nfrom = \"+1\"\n".to_owned(), sms(P::AccountSid("AC12".into()))),
            (&twilio.to_owned(), sms(P::NoSender)),
            (&format!("{twilio}messaging_service_sid = \"XX1\"\n"), sms(P::MessagingServiceSid("XX1".into()))),
            (&"[sms]\nkind = \"command\"\ncommand = \"send-sms\"\n".to_owned(), sms(P::RelativePath { key: "command".into(), path: "send-sms".into() })),
            (&"[sms]\nkind = \"command\"\ncommand = \"/x\"\ninput = \"argv\"\n".to_owned(), sms(P::Input("argv".into()))),
            (&"[notice]\nkind = \"sendmail\"\nfrom = \"mfa@example.com\\nBcc: x@evil\"\naddresses = \"/x\"\n".to_owned(), DeliveryFileError::In { table: "[notice]", problem: P::From("mfa@example.com\nBcc: x@evil".into()) }),
            (&"[notice]\nkind = \"sendmail\"\nfrom = \"mfa@example.com\"\n".to_owned(), DeliveryFileError::In { table: "[notice]", problem: P::NoAddresses }),
            // The gateway's address is fixed, https, and holds no secret.
            (&WEBHOOK.replace("https://sms.example", "http://sms.example"), url("url", UrlProblem::Cleartext)),
            (&WEBHOOK.replace("https://sms.example", "ftp://sms.example"), url("url", UrlProblem::NotHttps)),
            (&WEBHOOK.replace("https://sms.example", "https://{to}.example"), url("url", UrlProblem::PlaceholderInHost)),
            (&WEBHOOK.replace("https://sms.example", "https://user:hunter2@sms.example"), url("url", UrlProblem::Credentials)),
            (&WEBHOOK.replace("https://sms.example", "sms.example"), url("url", UrlProblem::NotAUrl)),
            (&WEBHOOK.replace("https://sms.example/send", "https:///send"), url("url", UrlProblem::NoHost)),
            (&format!("{twilio}from = \"+1\"\nbase_url = \"http://twilio.example\"\n"), url("base_url", UrlProblem::Cleartext)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_delivery(text).err(), Some(want), "{text}");
        }
        // What the TOML parser refuses, and a template with an unknown
        // placeholder, keep the parser's words.
        for (text, words) in [
            (
                "[sms]\nkind = \"carrier-pigeon\"\n".to_owned(),
                "unknown variant",
            ),
            (format!("{WEBHOOK}tokenfile = \"/x\"\n"), "tokenfile"),
        ] {
            match parse_delivery(&text) {
                Err(DeliveryFileError::Syntax(why)) => assert!(why.contains(words), "{why}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        match parse_delivery(&WEBHOOK.replace("{text}", "{message}")) {
            Err(DeliveryFileError::In {
                problem: P::Template { key, why },
                ..
            }) => assert!(
                key == "body.text" && why.contains("{message} is not a placeholder"),
                "{key}: {why}"
            ),
            other => panic!("{other:?}"),
        }
        // A URL with credentials is refused without being echoed.
        let err = parse_delivery(
            &WEBHOOK.replace("https://sms.example", "https://user:hunter2@sms.example"),
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        // Loopback may be plain http (a gateway on this host).
        assert!(
            parse_delivery(&WEBHOOK.replace("https://sms.example", "http://127.0.0.1:8080"))
                .is_ok()
        );
        assert!(
            parse_delivery(&WEBHOOK.replace("https://sms.example", "http://[::1]:8080")).is_ok()
        );
    }
}
