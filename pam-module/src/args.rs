//! Module arguments from the PAM stack line, e.g.
//! `auth required pam_planasonix.so config=/etc/planasonix/policy.toml action=sudo`.
//!
//! An unknown or malformed argument is an error: the module then fails closed
//! rather than run with a setting the admin did not mean.

use core::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default policy file.
pub(crate) const DEFAULT_CONFIG: &str = "/etc/planasonix/policy.toml";
/// Default sled database.
pub(crate) const DEFAULT_DB: &str = "/var/lib/planasonix/db";
/// Default store file (absent: the embedded database at `db=`).
pub(crate) const DEFAULT_STORE: &str = planasonix_native::DEFAULT_STORE_FILE;
/// Default seal key file.
pub(crate) const DEFAULT_KEY: &str = "/etc/planasonix/seal.key";
/// Default time a delivery command may run.
pub(crate) const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest delivery timeout accepted.
const MAX_DELIVERY_TIMEOUT_SECS: u64 = 120;
/// Default time one engine operation may wait for the store.
pub(crate) const DEFAULT_STORE_WAIT: Duration = Duration::from_secs(10);
/// Longest store wait accepted.
const MAX_STORE_WAIT_SECS: u64 = 60;

/// Parsed module arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModuleArgs {
    /// `config=`: the policy file.
    pub(crate) config: PathBuf,
    /// `db=`: the sled database directory.
    pub(crate) db: PathBuf,
    /// `key=`: the seal key file.
    pub(crate) key: PathBuf,
    /// `store=`: the store file, which may name a shared store.
    pub(crate) store: PathBuf,
    /// `action=`: the step-up action this stack protects.
    pub(crate) action: Option<String>,
    /// `sms_command=`: program that sends SMS codes.
    pub(crate) sms_command: Option<PathBuf>,
    /// `sms_input=stdin`: the SMS command reads the number from the first
    /// line of its standard input (not its command line, which every local
    /// user can read); `sms_input=argument` (the default) keeps the first
    /// contract, the number as its one argument.
    pub(crate) sms_stdin: bool,
    /// `notice_command=`: program that delivers security notices to users.
    pub(crate) notice_command: Option<PathBuf>,
    /// `delivery_timeout=`: seconds either command may run.
    pub(crate) delivery_timeout: Duration,
    /// `store_wait=`: seconds one engine operation may wait for the store
    /// (the state service, or another process holding the database).
    pub(crate) store_wait: Duration,
    /// `debug`: extra syslog lines at LOG_DEBUG.
    pub(crate) debug: bool,
}

impl Default for ModuleArgs {
    fn default() -> Self {
        ModuleArgs {
            config: DEFAULT_CONFIG.into(),
            db: DEFAULT_DB.into(),
            key: DEFAULT_KEY.into(),
            store: DEFAULT_STORE.into(),
            action: None,
            sms_command: None,
            sms_stdin: false,
            notice_command: None,
            delivery_timeout: DEFAULT_DELIVERY_TIMEOUT,
            store_wait: DEFAULT_STORE_WAIT,
            debug: false,
        }
    }
}

/// Why the arguments were refused; names the argument, never echoes a value
/// that is not a path or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ArgError {
    /// Not one of ours.
    Unknown(String),
    /// `name=` with nothing after it, or an argument that takes no value given one.
    Malformed(String),
    /// Given twice.
    Repeated(String),
    /// A path that is not absolute.
    RelativePath(String),
    /// An action name outside `[a-z0-9_-]{1,64}`.
    BadAction,
    /// `delivery_timeout=` not 1 to 120 seconds.
    BadTimeout,
    /// `store_wait=` not 1 to 60 seconds.
    BadStoreWait,
    /// `sms_input=` not `stdin` or `argument`.
    BadSmsInput,
    /// Not valid UTF-8.
    NotUtf8,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Unknown(a) => write!(f, "unknown module argument {a:?}"),
            ArgError::Malformed(a) => write!(f, "malformed module argument {a:?}"),
            ArgError::Repeated(a) => write!(f, "module argument {a:?} given twice"),
            ArgError::RelativePath(a) => write!(f, "module argument {a}= needs an absolute path"),
            ArgError::BadAction => {
                f.write_str("module argument action= must be 1 to 64 of a-z, 0-9, '-', '_'")
            }
            ArgError::BadTimeout => write!(
                f,
                "module argument delivery_timeout= must be 1 to {MAX_DELIVERY_TIMEOUT_SECS} seconds"
            ),
            ArgError::BadStoreWait => write!(
                f,
                "module argument store_wait= must be 1 to {MAX_STORE_WAIT_SECS} seconds"
            ),
            ArgError::BadSmsInput => {
                f.write_str("module argument sms_input= must be stdin or argument")
            }
            ArgError::NotUtf8 => f.write_str("a module argument is not valid UTF-8"),
        }
    }
}

fn valid_action(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn absolute(name: &str, value: &str) -> Result<PathBuf, ArgError> {
    let path = PathBuf::from(value);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(ArgError::RelativePath(name.to_owned()))
    }
}

impl ModuleArgs {
    /// Parses the stack line's arguments.
    pub(crate) fn parse<'a>(
        args: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<ModuleArgs, ArgError> {
        let mut out = ModuleArgs::default();
        let mut seen: Vec<String> = Vec::new();
        for raw in args {
            let arg = core::str::from_utf8(raw).map_err(|_| ArgError::NotUtf8)?;
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            if seen.iter().any(|s| s == name) {
                return Err(ArgError::Repeated(name.to_owned()));
            }
            seen.push(name.to_owned());
            let malformed = || ArgError::Malformed(name.to_owned());
            match (name, value) {
                ("debug", None) => out.debug = true,
                ("debug", Some(_)) => return Err(malformed()),
                (_, Some("")) | (_, None) if is_known(name) => return Err(malformed()),
                ("config", Some(v)) => out.config = absolute(name, v)?,
                ("db", Some(v)) => out.db = absolute(name, v)?,
                ("key", Some(v)) => out.key = absolute(name, v)?,
                ("store", Some(v)) => out.store = absolute(name, v)?,
                ("sms_command", Some(v)) => out.sms_command = Some(absolute(name, v)?),
                ("sms_input", Some("stdin")) => out.sms_stdin = true,
                ("sms_input", Some("argument")) => out.sms_stdin = false,
                ("sms_input", Some(_)) => return Err(ArgError::BadSmsInput),
                ("notice_command", Some(v)) => out.notice_command = Some(absolute(name, v)?),
                ("action", Some(v)) => {
                    if !valid_action(v) {
                        return Err(ArgError::BadAction);
                    }
                    out.action = Some(v.to_owned());
                }
                ("delivery_timeout", Some(v)) => {
                    let secs: u64 = v.parse().map_err(|_| ArgError::BadTimeout)?;
                    if !(1..=MAX_DELIVERY_TIMEOUT_SECS).contains(&secs) {
                        return Err(ArgError::BadTimeout);
                    }
                    out.delivery_timeout = Duration::from_secs(secs);
                }
                ("store_wait", Some(v)) => {
                    let secs: u64 = v.parse().map_err(|_| ArgError::BadStoreWait)?;
                    if !(1..=MAX_STORE_WAIT_SECS).contains(&secs) {
                        return Err(ArgError::BadStoreWait);
                    }
                    out.store_wait = Duration::from_secs(secs);
                }
                _ => return Err(ArgError::Unknown(printable(name))),
            }
        }
        Ok(out)
    }
}

fn is_known(name: &str) -> bool {
    matches!(
        name,
        "config"
            | "db"
            | "key"
            | "store"
            | "action"
            | "sms_command"
            | "sms_input"
            | "notice_command"
            | "delivery_timeout"
            | "store_wait"
    )
}

/// An unknown argument's name, made safe for one log line.
fn printable(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ModuleArgs, ArgError> {
        ModuleArgs::parse(args.iter().map(|a| a.as_bytes()))
    }

    #[test]
    fn defaults_and_every_argument() {
        assert_eq!(parse(&[]), Ok(ModuleArgs::default()));
        let a = parse(&[
            "config=/p.toml",
            "db=/d",
            "key=/k",
            "action=sudo",
            "sms_command=/bin/sms",
            "notice_command=/bin/notice",
            "delivery_timeout=3",
            "store_wait=2",
            "debug",
        ])
        .unwrap();
        assert_eq!(a.config, PathBuf::from("/p.toml"));
        assert_eq!(a.db, PathBuf::from("/d"));
        assert_eq!(a.key, PathBuf::from("/k"));
        assert_eq!(a.action.as_deref(), Some("sudo"));
        assert_eq!(a.sms_command, Some(PathBuf::from("/bin/sms")));
        assert_eq!(a.notice_command, Some(PathBuf::from("/bin/notice")));
        assert_eq!(a.delivery_timeout, Duration::from_secs(3));
        assert_eq!(a.store_wait, Duration::from_secs(2));
        assert!(a.debug);
    }

    #[test]
    fn refuses_what_the_admin_cannot_have_meant() {
        assert_eq!(parse(&["nullok"]), Err(ArgError::Unknown("nullok".into())));
        assert_eq!(
            parse(&["conifg=/x"]),
            Err(ArgError::Unknown("conifg".into()))
        );
        assert_eq!(
            parse(&["config="]),
            Err(ArgError::Malformed("config".into()))
        );
        assert_eq!(
            parse(&["config"]),
            Err(ArgError::Malformed("config".into()))
        );
        assert_eq!(
            parse(&["debug=1"]),
            Err(ArgError::Malformed("debug".into()))
        );
        assert_eq!(
            parse(&["db=relative/db"]),
            Err(ArgError::RelativePath("db".into()))
        );
        assert_eq!(parse(&["action=Sudo"]), Err(ArgError::BadAction));
        assert_eq!(parse(&["action=a b"]), Err(ArgError::BadAction));
        assert_eq!(parse(&["delivery_timeout=0"]), Err(ArgError::BadTimeout));
        assert!(parse(&["sms_input=stdin"]).unwrap().sms_stdin);
        assert!(!parse(&["sms_input=argument"]).unwrap().sms_stdin);
        assert_eq!(parse(&["sms_input=argv"]), Err(ArgError::BadSmsInput));
        assert_eq!(parse(&["delivery_timeout=ten"]), Err(ArgError::BadTimeout));
        assert_eq!(parse(&["store_wait=0"]), Err(ArgError::BadStoreWait));
        assert_eq!(parse(&["store_wait=61"]), Err(ArgError::BadStoreWait));
        assert_eq!(
            parse(&["db=/a", "db=/b"]),
            Err(ArgError::Repeated("db".into()))
        );
        assert_eq!(
            ModuleArgs::parse([&b"db=/\xff"[..]]),
            Err(ArgError::NotUtf8)
        );
    }
}
