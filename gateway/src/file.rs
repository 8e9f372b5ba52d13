//! The delivery file (`/etc/planasonix/delivery.toml`, planasonix-delivery(5)):
//! how SMS and notices leave this host. Checked like the key file: whoever
//! can change it can send every login code to a gateway of theirs, so it
//! must be a regular file owned by root (or the user reading it) that group
//! and others cannot access, in a directory only root may change. Secrets
//! (tokens, signing keys) are in their own files, named here.

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
        why,
    })
}

/// Parses the text of a delivery file.
pub fn parse_delivery(text: &str) -> Result<DeliveryFile, String> {
    let raw: Raw = toml::from_str(text).map_err(|e| e.message().to_owned())?;
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

fn channel(raw: RawChannel, kind: Kind) -> Result<Channel, String> {
    let t = kind.table();
    match raw {
        RawChannel::Webhook(w) => webhook(*w, kind).map(|w| Channel::Webhook(Box::new(w))),
        RawChannel::Twilio(_) if kind == Kind::Notice => Err(format!(
            "{t}: kind = \"twilio\" sends SMS; notices go by \"webhook\", \"sendmail\" or \"command\""
        )),
        RawChannel::Twilio(tw) => twilio(tw).map(|w| Channel::Webhook(Box::new(w))),
        RawChannel::Sendmail(_) if kind == Kind::Sms => Err(format!(
            "{t}: kind = \"sendmail\" sends notices; SMS go by \"webhook\", \"twilio\" or \"command\""
        )),
        RawChannel::Sendmail(m) => sendmail(m).map(Channel::Sendmail),
        RawChannel::Command(c) => {
            absolute(t, "command", &c.command)?;
            let stdin = match c.input.as_deref() {
                None | Some("argument") => false,
                Some("stdin") => true,
                Some(other) => {
                    return Err(format!(
                        "{t} input = {other:?}: use \"stdin\" (the recipient on the first line of standard input, off the command line) or \"argument\""
                    ))
                }
            };
            Ok(Channel::Command {
                program: c.command,
                stdin,
                timeout: duration(t, "timeout", c.timeout.as_deref(), 10)?,
            })
        }
    }
}

fn absolute(t: &str, key: &str, path: &Path) -> Result<(), String> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(format!(
            "{t} {key} {} must be an absolute path",
            path.display()
        ))
    }
}

/// `"10s"`, `"500ms"`: 100 ms to 60 s; `default` seconds when absent.
fn duration(t: &str, key: &str, text: Option<&str>, default: u64) -> Result<Duration, String> {
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
        _ => Err(format!(
            "{t} {key} = {text:?}: give 100ms to 60s, like \"10s\" or \"500ms\""
        )),
    }
}

fn template(t: &str, key: &str, text: &str) -> Result<Template, String> {
    Template::parse(text).map_err(|e| format!("{t} {key}: {e}"))
}

/// A URL of the file: its scheme and host fixed in the file (no
/// placeholder), `https://` (`http://` only to a loopback address), no
/// credentials (they live in secret files, read at each send). The URL is
/// not echoed: a mistaken one may hold a secret.
fn check_url(t: &str, key: &str, url: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{t} {key}: {why}"));
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("not a URL: write https://HOST/PATH");
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains(['{', '}']) || scheme.contains(['{', '}']) {
        return bad(
            "a placeholder in the scheme or host: the gateway's address must be fixed in the file",
        );
    }
    if authority.contains('@') {
        return bad("the URL holds credentials: put them in secret_file (auth = \"basic\", \"bearer\" or \"header\"), never in a URL");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return bad("the URL names no host");
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => bad("must be https:// (http:// only to a loopback address): the code and the gateway's token would cross the network in clear"),
        _ => bad("must be an https:// URL"),
    }
}

/// A header name: an HTTP token (RFC 9110), so it can be nothing else.
fn header_name(t: &str, what: &str, name: &str) -> Result<String, String> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(format!(
            "{t} {what} {name:?} is not a header name (letters, digits and !#$%&'*+-.^_`|~, no colon or space)"
        ));
    }
    Ok(name.to_owned())
}

/// A header name or value: no line breaks or controls, so nothing can start
/// another header.
fn header_text(t: &str, what: &str, text: &str) -> Result<String, String> {
    if text.is_empty() || text.chars().any(|c| c.is_control()) {
        return Err(format!(
            "{t} {what} {text:?} must be non-empty and hold no control characters"
        ));
    }
    Ok(text.to_owned())
}

fn webhook(w: RawWebhook, kind: Kind) -> Result<Webhook, String> {
    let t = kind.table();
    check_url(t, "url", &w.url)?;
    let url = template(t, "url", &w.url)?;
    let method = match w.method.as_deref().unwrap_or("POST") {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "GET" => Method::Get,
        other => {
            return Err(format!(
                "{t} method = {other:?}: use \"POST\", \"PUT\" or \"GET\""
            ))
        }
    };
    let format = match (method, w.format.as_deref().unwrap_or("json")) {
        (Method::Get, _) if w.body.is_some() => {
            return Err(format!(
                "{t} method = \"GET\" sends no body: put the values in the url"
            ))
        }
        (Method::Get, _) => BodyFormat::None,
        (_, "json") => BodyFormat::Json,
        (_, "form") => BodyFormat::Form,
        (_, other) => return Err(format!("{t} format = {other:?}: use \"json\" or \"form\"")),
    };
    let mut body = Vec::new();
    for (name, value) in w.body.unwrap_or_default() {
        let text = value
            .as_str()
            .ok_or_else(|| format!("{t} body.{name} must be a string (a template)"))?;
        body.push((name.clone(), template(t, &format!("body.{name}"), text)?));
    }
    if format != BodyFormat::None && body.is_empty() {
        return Err(format!("{t} has no body: name the fields, like body = {{ to = \"{{to}}\", text = \"{{text}}\" }}"));
    }
    let sends_text = url.uses(Var::Text)
        || url.uses(Var::Code)
        || body
            .iter()
            .any(|(_, v)| v.uses(Var::Text) || v.uses(Var::Code));
    if !sends_text {
        return Err(format!(
            "{t}: neither the url nor the body sends {{text}} or {{code}}"
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in w.headers.unwrap_or_default() {
        let value = value
            .as_str()
            .ok_or_else(|| format!("{t} headers.{name} must be a string"))?;
        headers.push((
            header_name(t, "header name", &name)?,
            header_text(t, &format!("headers.{name}"), value)?,
        ));
    }
    let secret = |key: &str| -> Result<PathBuf, String> {
        let path = w.secret_file.clone().ok_or_else(|| {
            format!("{t} auth = {key:?} needs secret_file: the root-only file holding it")
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
        other => {
            return Err(format!(
                "{t} auth = {other:?}: use \"none\", \"basic\", \"bearer\" or \"header\""
            ))
        }
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
        _ => {
            return Err(format!(
                "{t}: signature_header and signature_key_file go together"
            ))
        }
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

fn retries(t: &str, n: Option<u32>) -> Result<u32, String> {
    match n.unwrap_or(2) {
        n @ 0..=5 => Ok(n),
        n => Err(format!("{t} retries = {n}: give 0 to 5")),
    }
}

/// Twilio's Messages API as a webhook: a form POST to the account's
/// Messages resource, basic auth with the account SID and the auth token,
/// `To`, `From` (or `MessagingServiceSid`) and `Body`; the message's `sid`
/// in a 201 answer.
fn twilio(tw: RawTwilio) -> Result<Webhook, String> {
    let t = "[sms]";
    if !(tw.account_sid.starts_with("AC")
        && tw.account_sid.len() == 34
        && tw.account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "{t} account_sid {:?} is not a Twilio account SID (AC and 32 hex digits)",
            tw.account_sid
        ));
    }
    absolute(t, "auth_token_file", &tw.auth_token_file)?;
    let sender = match (tw.from, tw.messaging_service_sid) {
        (Some(from), None) => ("From".to_owned(), from),
        (None, Some(mg)) if mg.starts_with("MG") => ("MessagingServiceSid".to_owned(), mg),
        (None, Some(mg)) => return Err(format!("{t} messaging_service_sid {mg:?} must start with MG")),
        _ => {
            return Err(format!(
                "{t} kind = \"twilio\" needs one of from (a number or sender id) and messaging_service_sid"
            ))
        }
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

fn sendmail(m: RawSendmail) -> Result<Sendmail, String> {
    let t = "[notice]";
    let program = m.sendmail.unwrap_or_else(|| "/usr/sbin/sendmail".into());
    absolute(t, "sendmail", &program)?;
    let from = super::mail::check_address(&m.from).map_err(|why| format!("{t} from: {why}"))?;
    let addresses = match (m.addresses, m.address_command) {
        (Some(file), None) => {
            absolute(t, "addresses", &file)?;
            AddressSource::File(file)
        }
        (None, Some(cmd)) => {
            absolute(t, "address_command", &cmd)?;
            AddressSource::Command(cmd)
        }
        _ => {
            return Err(format!(
                "{t} kind = \"sendmail\" needs one of addresses (a file of `user address` lines) and address_command"
            ))
        }
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
        let cases = [
            ("[sms]\nkind = \"carrier-pigeon\"\n", "unknown variant"),
            (&format!("{WEBHOOK}tokenfile = \"/x\"\n"), "tokenfile"),
            (&WEBHOOK.replace("{text}", "{message}"), "{message} is not a placeholder"),
            (&WEBHOOK.replace("{text}", "hello"), "neither the url nor the body sends"),
            (&format!("{WEBHOOK}auth = \"bearer\"\n"), "needs secret_file"),
            (&format!("{WEBHOOK}headers = {{ \"X-A\" = \"x\\r\\nEvil: 1\" }}\n"), "no control characters"),
            (&format!("{WEBHOOK}timeout = \"1h\"\n"), "give 100ms to 60s"),
            (&format!("{WEBHOOK}signature_header = \"X-Sig\"\n"), "go together"),
            ("[notice]\nkind = \"twilio\"\naccount_sid = \"x\"\nauth_token_file = \"/x\"\n", "sends SMS"),
            ("[sms]\nkind = \"twilio\"\naccount_sid = \"AC12\"\nauth_token_file = \"/x\"\nfrom = \"+1\"\n", "not a Twilio account SID"),
            ("[sms]\nkind = \"command\"\ncommand = \"send-sms\"\n", "absolute path"),
            ("[notice]\nkind = \"sendmail\"\nfrom = \"mfa@example.com\\nBcc: x@evil\"\naddresses = \"/x\"\n", "from"),
            // The gateway's address is fixed, https, and holds no secret.
            (&WEBHOOK.replace("https://sms.example", "http://sms.example"), "must be https://"),
            (&WEBHOOK.replace("https://sms.example", "ftp://sms.example"), "must be an https:// URL"),
            (&WEBHOOK.replace("https://sms.example", "https://{to}.example"), "a placeholder in the scheme or host"),
            (&WEBHOOK.replace("https://sms.example", "https://user:hunter2@sms.example"), "holds credentials"),
            (&WEBHOOK.replace("https://sms.example", "sms.example"), "not a URL"),
            (&format!("{WEBHOOK}headers = {{ \"X-A: b\" = \"x\" }}\n"), "is not a header name"),
            (&format!("{WEBHOOK}headers = {{ \"X A\" = \"x\" }}\n"), "is not a header name"),
            ("[sms]\nkind = \"twilio\"\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token_file = \"/x\"\nfrom = \"+1\"\nbase_url = \"http://twilio.example\"\n", "base_url: must be https://"),
            ("[sms]\nkind = \"command\"\ncommand = \"/x\"\ninput = \"argv\"\n", "use \"stdin\""),
        ];
        // A URL with credentials is refused without being echoed.
        let err = parse_delivery(
            &WEBHOOK.replace("https://sms.example", "https://user:hunter2@sms.example"),
        )
        .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        // Loopback may be plain http (a gateway on this host).
        assert!(
            parse_delivery(&WEBHOOK.replace("https://sms.example", "http://127.0.0.1:8080"))
                .is_ok()
        );
        assert!(
            parse_delivery(&WEBHOOK.replace("https://sms.example", "http://[::1]:8080")).is_ok()
        );
        for (text, words) in cases {
            let err = parse_delivery(text).unwrap_err();
            assert!(err.contains(words), "{text}\n=> {err}");
        }
    }
}
