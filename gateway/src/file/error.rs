//! What is wrong with a delivery file: one variant per mistake, so callers
//! and tests tell them apart; [`fmt::Display`] says each for people, naming
//! the table and the key. No variant holds a URL of the file (a mistaken one
//! may hold a secret).

use std::fmt;
use std::path::PathBuf;

/// A delivery file the parser refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryFileError {
    /// Not TOML, or a key or value of the wrong shape (the parser's words).
    Syntax(String),
    /// A mistake in the `[sms]` or `[notice]` table.
    In {
        /// `[sms]` or `[notice]`.
        table: &'static str,
        /// What is wrong there.
        problem: Problem,
    },
}

/// A mistake inside a channel's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `kind = "twilio"` for notices.
    TwilioForNotices,
    /// `kind = "sendmail"` for SMS.
    SendmailForSms,
    /// A command's `input` that is neither `stdin` nor `argument`.
    Input(String),
    /// A path that must be absolute.
    RelativePath {
        /// The key.
        key: String,
        /// What it says.
        path: PathBuf,
    },
    /// A duration outside 100 ms to 60 s, or not one.
    Duration {
        /// The key.
        key: String,
        /// What it says.
        text: String,
    },
    /// A template (`{to}`, `{text}`…) that does not parse.
    Template {
        /// The key.
        key: String,
        /// Why.
        why: String,
    },
    /// A URL of the file refused (never echoed).
    Url {
        /// The key.
        key: String,
        /// Why.
        why: UrlProblem,
    },
    /// Not an HTTP header name.
    HeaderName {
        /// Which setting.
        what: String,
        /// What it says.
        name: String,
    },
    /// Empty, or holding control characters.
    HeaderText {
        /// Which setting.
        what: String,
        /// What it says.
        text: String,
    },
    /// A method other than POST, PUT, GET.
    Method(String),
    /// `method = "GET"` with a body.
    GetWithBody,
    /// A body format other than json, form.
    Format(String),
    /// A body field or header value that is not a string.
    NotAString {
        /// The key (`body.NAME`, `headers.NAME`).
        key: String,
    },
    /// A POST or PUT without body fields.
    NoBody,
    /// Neither the URL nor the body sends `{text}` or `{code}`.
    SendsNoText,
    /// An `auth` that needs `secret_file` without one.
    NoSecretFile {
        /// The `auth` asked for.
        auth: String,
    },
    /// An `auth` other than none, basic, bearer, header.
    Auth(String),
    /// One of `signature_header` and `signature_key_file` without the other.
    SignatureHalf,
    /// `retries` over 5.
    Retries(u32),
    /// Not a Twilio account SID.
    AccountSid(String),
    /// A messaging service SID that does not start with MG.
    MessagingServiceSid(String),
    /// Twilio with neither `from` nor `messaging_service_sid`, or both.
    NoSender,
    /// A sender address that is not one.
    From(String),
    /// Sendmail with neither `addresses` nor `address_command`, or both.
    NoAddresses,
}

/// Why a URL of the file is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// No `scheme://`.
    NotAUrl,
    /// A placeholder in the scheme or host.
    PlaceholderInHost,
    /// `user:password@` in the URL.
    Credentials,
    /// No host.
    NoHost,
    /// `http://` to a host that is not loopback.
    Cleartext,
    /// Not http or https.
    NotHttps,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlProblem::NotAUrl => "not a URL: write https://HOST/PATH",
            UrlProblem::PlaceholderInHost => "a placeholder in the scheme or host: the gateway's address must be fixed in the file",
            UrlProblem::Credentials => "the URL holds credentials: put them in secret_file (auth = \"basic\", \"bearer\" or \"header\"), never in a URL",
            UrlProblem::NoHost => "the URL names no host",
            UrlProblem::Cleartext => "must be https:// (http:// only to a loopback address): the code and the gateway's token would cross the network in clear",
            UrlProblem::NotHttps => "must be an https:// URL",
        })
    }
}

impl fmt::Display for DeliveryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem as P;
        let (t, problem) = match self {
            DeliveryFileError::Syntax(why) => return f.write_str(why),
            DeliveryFileError::In { table, problem } => (table, problem),
        };
        match problem {
            P::TwilioForNotices => write!(f, "{t}: kind = \"twilio\" sends SMS; notices go by \"webhook\", \"sendmail\" or \"command\""),
            P::SendmailForSms => write!(f, "{t}: kind = \"sendmail\" sends notices; SMS go by \"webhook\", \"twilio\" or \"command\""),
            P::Input(other) => write!(f, "{t} input = {other:?}: use \"stdin\" (the recipient on the first line of standard input, off the command line) or \"argument\""),
            P::RelativePath { key, path } => write!(f, "{t} {key} {} must be an absolute path", path.display()),
            P::Duration { key, text } => write!(f, "{t} {key} = {text:?}: give 100ms to 60s, like \"10s\" or \"500ms\""),
            P::Template { key, why } => write!(f, "{t} {key}: {why}"),
            P::Url { key, why } => write!(f, "{t} {key}: {why}"),
            P::HeaderName { what, name } => write!(f, "{t} {what} {name:?} is not a header name (letters, digits and !#$%&'*+-.^_`|~, no colon or space)"),
            P::HeaderText { what, text } => write!(f, "{t} {what} {text:?} must be non-empty and hold no control characters"),
            P::Method(other) => write!(f, "{t} method = {other:?}: use \"POST\", \"PUT\" or \"GET\""),
            P::GetWithBody => write!(f, "{t} method = \"GET\" sends no body: put the values in the url"),
            P::Format(other) => write!(f, "{t} format = {other:?}: use \"json\" or \"form\""),
            P::NotAString { key } if key.starts_with("body.") => write!(f, "{t} {key} must be a string (a template)"),
            P::NotAString { key } => write!(f, "{t} {key} must be a string"),
            P::NoBody => write!(f, "{t} has no body: name the fields, like body = {{ to = \"{{to}}\", text = \"{{text}}\" }}"),
            P::SendsNoText => write!(f, "{t}: neither the url nor the body sends {{text}} or {{code}}"),
            P::NoSecretFile { auth } => write!(f, "{t} auth = {auth:?} needs secret_file: the root-only file holding it"),
            P::Auth(other) => write!(f, "{t} auth = {other:?}: use \"none\", \"basic\", \"bearer\" or \"header\""),
            P::SignatureHalf => write!(f, "{t}: signature_header and signature_key_file go together"),
            P::Retries(n) => write!(f, "{t} retries = {n}: give 0 to 5"),
            P::AccountSid(sid) => write!(f, "{t} account_sid {sid:?} is not a Twilio account SID (AC and 32 hex digits)"),
            P::MessagingServiceSid(mg) => write!(f, "{t} messaging_service_sid {mg:?} must start with MG"),
            P::NoSender => write!(f, "{t} kind = \"twilio\" needs one of from (a number or sender id) and messaging_service_sid"),
            P::From(address) => write!(f, "{t} from: {address:?} is not a mail address this sender uses (local@domain, no spaces or controls)"),
            P::NoAddresses => write!(f, "{t} kind = \"sendmail\" needs one of addresses (a file of `user address` lines) and address_command"),
        }
    }
}

impl std::error::Error for DeliveryFileError {}
