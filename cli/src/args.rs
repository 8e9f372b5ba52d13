//! The command line, declared with clap's derive API.

use clap::{Args, Parser, Subcommand};
use planasonix_core::input::{validate_user_name, UserNameError};
use planasonix_core::time::{parse_duration, DurationError};
use std::path::PathBuf;
use std::time::Duration;

/// Where the options every command takes are listed.
const GLOBAL: &str = "Global options";

const AFTER_HELP: &str = "\
Exit status:
  0  success
  1  the operation failed or was refused (wrong code, invalid policy, ...)
  2  usage error (unknown option, bad user name, phone number or secret)
  3  permission denied (key, policy or database not accessible; key file
     readable by group or others)
  4  database busy (another process kept it open) or unusable

Codes and secrets are read from the terminal, or from standard input when it
is not a terminal (one per line). See planasonix(1) and planasonix-policy(5).";

const TOTP_HELP: &str = "\
Shows the QR code, the otpauth:// URI and the key for manual entry, then asks
for one code from the app. The database is not held open while waiting. On
success the recovery codes are printed once.";

const SMS_HELP: &str = "\
SMS command: run as `PATH +447700900123` (the E.164 number is the only
argument) with the message text on standard input. Exit status 0 means the
text was handed to the carrier; any other status, or running longer than
--sms-timeout (it is then killed), is a failed send: it is audited and
reported, and nothing is left pending. Its output is ignored. The policy's
[sms] table must enable SMS and allow the number's country prefix.";

const SERVE_HELP: &str = "\
Listens on <db>.sock (mode 0600, beside the database) until stopped. While it
runs, the PAM module and every other planasonix command reach the database
through it instead of opening it themselves: a login then costs a few socket
round trips and one fsync, and parallel logins no longer queue for sled's
one-process lock. Every write is on disk before it is acknowledged, so
stopping it (or a crash) loses nothing; clients find nobody answering on the
socket and open the database directly again. It never reads the seal key:
records cross the socket sealed. Packaged as planasonix.service.";

const DOCTOR_HELP: &str = "\
Reads the PAM stacks of sshd, login, sudo and su (includes followed) and
sshd's effective settings (`sshd -T`), and says for each service whether a
second factor is really asked: protected, partial (some logins skip it or
are refused instead of asked), not-protected, not-configured (no PAM file)
or unknown (sshd -T failed). Every finding names the line or setting to add
or change. Exit status 1 when a service is not-protected (after the report),
else 0; with --summary always 0.";

/// Planasonix MFA: enrollment, recovery codes, administration and audit.
#[derive(Debug, Parser)]
#[command(name = "planasonix", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Policy file
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PATH",
        default_value = "/etc/planasonix/policy.toml"
    )]
    pub config: PathBuf,
    /// Database directory
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PATH",
        default_value = "/var/lib/planasonix/db"
    )]
    pub db: PathBuf,
    /// Seal key file (must be mode 0600 or stricter)
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PATH",
        default_value = "/etc/planasonix/seal.key"
    )]
    pub key: PathBuf,
    /// Store file: which store this host uses (absent: the embedded database at --db)
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PATH",
        default_value = "/etc/planasonix/store.toml"
    )]
    pub store: PathBuf,
    /// Print data as JSON (status, audit, admin list/provision-totp, policy, recovery-codes, doctor)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// How long to wait for another process to release the database (e.g. 3s, 500ms)
    #[arg(long, global = true,
        help_heading = GLOBAL, value_name = "DURATION", default_value = "3s", value_parser = wait)]
    pub wait: Duration,
    /// Program run to tell users about security events: user name as argument, message on stdin
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PATH",
        env = "PLANASONIX_NOTICE_COMMAND",
        hide_env_values = true
    )]
    pub notice_command: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the seal key, database directory and default policy if absent
    Init {
        /// Also write the store file (--store) for a shared PostgreSQL store:
        /// postgresql://USER@HOST[,HOST…][:PORT]/DATABASE?sslrootcert=CA&password_file=FILE
        #[arg(long, value_name = "URI")]
        postgresql: Option<String>,
    },
    /// Enroll a second factor for a user
    #[command(subcommand)]
    Enroll(Enroll),
    /// Show how many recovery codes remain, or replace them with a fresh set
    RecoveryCodes {
        #[command(flatten)]
        user: UserOpt,
        /// Make a fresh set; the old codes stop working at once
        #[arg(long)]
        regenerate: bool,
    },
    /// Show a user's factors, last use, lockout and enrollment deadline
    Status {
        #[command(flatten)]
        user: UserOpt,
    },
    /// Administration: provisioning, reset, passkey removal, unlock, listing
    #[command(subcommand)]
    Admin(Admin),
    /// Take over secrets from other TOTP tools
    #[command(subcommand)]
    Import(Import),
    /// Check the policy file, or explain what it requires of a user
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Show recent security events, oldest first
    Audit {
        /// Only this user's events
        #[arg(long, value_parser = user_name)]
        user: Option<String>,
        /// Only events from the last DURATION (e.g. 1h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        since: Option<Duration>,
        /// Only events from this host (a shared store keeps every host's)
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
    /// Keep the database open and serve it to logins and this CLI (the state service)
    #[command(after_help = SERVE_HELP)]
    Serve,
    /// Set up and check the shared PostgreSQL store (see planasonix-store(5))
    #[command(subcommand)]
    Store(StoreCmd),
    /// Send SMS and notices through the gateways of the delivery file (see planasonix-delivery(5))
    #[command(subcommand)]
    Deliver(DeliverCmd),
    /// Check whether sshd, login, sudo and su really ask for a second factor
    #[command(after_help = DOCTOR_HELP)]
    Doctor(Doctor),
    /// Print a shell completion script
    Completions {
        /// bash, elvish, fish, powershell or zsh
        shell: clap_complete::Shell,
    },
}

/// `planasonix store`
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Connect to the store named by --store and say exactly what is wrong, if anything
    Check,
    /// Create or upgrade the shared store's tables (safe to run again, and on several hosts)
    Migrate,
    /// Copy every record of a sled database into the shared store (safe to run again)
    Copy {
        /// The source: sled:PATH (a sled database directory, with its service stopped)
        #[arg(long, value_name = "sled:PATH")]
        from: String,
        /// The destination's store file (default: --store)
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
    },
}

/// The delivery file a `deliver` command reads.
#[derive(Debug, Args)]
pub struct DeliveryOpt {
    /// The delivery file: gateways for SMS and notices (root's, mode 0600)
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/etc/planasonix/delivery.toml"
    )]
    pub delivery: PathBuf,
}

/// `planasonix deliver`
#[derive(Debug, Subcommand)]
pub enum DeliverCmd {
    /// Send an SMS: the E.164 number as the argument (or the first line of standard input), the text on standard input (an sms_command)
    Sms {
        #[command(flatten)]
        file: DeliveryOpt,
        /// The E.164 number; without it, the first line of standard input (kept off the command line, which every local user can read)
        #[arg(value_name = "NUMBER", allow_hyphen_values = false)]
        to: Option<String>,
    },
    /// Send a notice: the user as the argument, the message on standard input (a notice_command)
    Notice {
        #[command(flatten)]
        file: DeliveryOpt,
        /// The user the notice is about
        #[arg(value_parser = user_name)]
        user: String,
    },
    /// Send a test message; show the request (secrets masked) and the gateway's answer
    Test {
        #[command(flatten)]
        file: DeliveryOpt,
        /// An SMS to this E.164 number
        #[arg(long, value_name = "NUMBER")]
        to: Option<String>,
        /// A notice to this user
        #[arg(long, value_parser = user_name)]
        user: Option<String>,
    },
}

/// `planasonix doctor`
#[derive(Debug, Args)]
pub struct Doctor {
    /// PAM configuration directory
    #[arg(long, value_name = "DIR", default_value = "/etc/pam.d")]
    pub pam_dir: PathBuf,
    /// sshd configuration, read through `sshd -T -f FILE`
    #[arg(long, value_name = "FILE", default_value = "/etc/ssh/sshd_config")]
    pub sshd_config: PathBuf,
    /// The sshd program
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/sshd")]
    pub sshd: PathBuf,
    /// One line per service, and exit status 0 whatever the verdicts
    #[arg(long)]
    pub summary: bool,
}

/// `--user`, defaulting to the invoking user.
#[derive(Debug, Args)]
pub struct UserOpt {
    /// User name (default: $SUDO_USER, else $USER)
    #[arg(long, value_parser = user_name)]
    pub user: Option<String>,
}

/// `planasonix enroll …`
#[derive(Debug, Subcommand)]
pub enum Enroll {
    /// Enroll an authenticator app: QR code, confirmation code, recovery codes
    #[command(after_help = TOTP_HELP)]
    Totp {
        #[command(flatten)]
        user: UserOpt,
        /// Also write the QR code as a PNG image (mode 0600: it holds the secret)
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
        /// Also write the QR code as an SVG image (mode 0600: it holds the secret)
        #[arg(long, value_name = "FILE")]
        qr_svg: Option<PathBuf>,
        /// Draw the terminal QR code dark-on-light, for light terminal themes
        #[arg(long)]
        qr_invert: bool,
    },
    /// Enroll a mobile number for SMS codes (weaker than an app)
    #[command(after_help = SMS_HELP)]
    Sms {
        #[command(flatten)]
        user: UserOpt,
        /// `-`: read the mobile number (+E164) from standard input, before the code; without it, asked at the terminal
        #[arg(long, value_name = "-", allow_hyphen_values = true)]
        phone: Option<String>,
        /// Program that sends a text: number as its one argument (or first line of stdin, see --sms-input), text on stdin, exit 0 when sent
        #[arg(
            long,
            value_name = "PATH",
            env = "PLANASONIX_SMS_COMMAND",
            hide_env_values = true
        )]
        sms_command: Option<PathBuf>,
        /// `stdin`: the SMS command reads the number from the first line of its standard input (off its command line, which every local user can read); `argument`: as its one argument
        #[arg(long, value_name = "HOW", default_value = "argument", value_parser = ["stdin", "argument"])]
        sms_input: String,
        /// How long the SMS command may run before it is killed
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
        sms_timeout: Duration,
    },
}

/// `planasonix admin …`
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Activate an authenticator app with a known secret, without a confirmation code
    ProvisionTotp {
        /// User name
        #[arg(value_parser = user_name)]
        user: String,
        /// `-`: read the base32 secret from standard input (never the secret itself: other users see the command line)
        #[arg(
            long,
            value_name = "-",
            allow_hyphen_values = true,
            required_unless_present = "secret_file",
            conflicts_with = "secret_file"
        )]
        secret: Option<String>,
        /// Read the base32 secret from a regular file owned by root (or you), mode 0600 or 0400
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
    },
    /// Wipe a user's factors after checking their identity out of band
    Reset {
        /// User name
        #[arg(value_parser = user_name)]
        user: String,
        /// Why (kept in the audit log)
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Remove one of a user's passkeys (a lost or possibly cloned one), audited and notified
    RemovePasskey {
        /// User name
        #[arg(value_parser = user_name)]
        user: String,
        /// The passkey's name, as `planasonix status USER` lists it
        name: String,
    },
    /// Lift a lockout and clear counted failures
    Unlock {
        /// User name
        #[arg(value_parser = user_name)]
        user: String,
    },
    /// List every user with stored state
    List,
}

/// `planasonix import …`
#[derive(Debug, Subcommand)]
pub enum Import {
    /// Take over a ~/.google_authenticator file (TOTP secret, options, scratch codes)
    GoogleAuthenticator {
        #[command(flatten)]
        user: UserOpt,
        /// The file to read
        file: PathBuf,
    },
    /// Take over TOTP entries of a pam_oath users file
    OathUsersfile {
        /// The file to read
        file: PathBuf,
    },
}

/// `planasonix policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate a policy file and print the effective policy
    Check {
        /// Policy file (default: --config)
        file: Option<PathBuf>,
    },
    /// Explain what a login would require of a user now, and why
    Explain {
        /// User name
        #[arg(value_parser = user_name)]
        user: String,
        /// The user's groups or roles, comma-separated
        #[arg(long, value_name = "G1,G2", value_delimiter = ',')]
        groups: Vec<String>,
        /// Explain a step-up action from the policy's [step_up] table
        #[arg(long, value_name = "NAME")]
        action: Option<String>,
        /// Upstream RFC 8176 amr values, comma-separated
        #[arg(long, value_name = "A1,A2", value_delimiter = ',')]
        amr: Vec<String>,
        /// PAM service or application name
        #[arg(long, value_name = "NAME", default_value = "login")]
        service: String,
    },
}

fn user_name(text: &str) -> Result<String, UserNameError> {
    validate_user_name(text)?;
    Ok(text.to_owned())
}

fn duration(text: &str) -> Result<Duration, DurationError> {
    parse_duration(text)
}

/// Why a `--wait` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WaitError {
    /// More milliseconds than a `u64` holds.
    TooManyMilliseconds,
    /// Not a duration.
    Duration(DurationError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::TooManyMilliseconds => f.write_str("too many milliseconds"),
            WaitError::Duration(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WaitError {}

/// A duration, or whole milliseconds like `250ms` (waits can be short).
fn wait(text: &str) -> Result<Duration, WaitError> {
    match text.strip_suffix("ms") {
        Some(ms) if !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()) => ms
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| WaitError::TooManyMilliseconds),
        _ => duration(text).map_err(WaitError::Duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn waits_take_milliseconds_too() {
        assert_eq!(wait("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(wait("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(
            wait("99999999999999999999ms"),
            Err(WaitError::TooManyMilliseconds)
        );
        assert_eq!(
            wait("-5ms"),
            Err(WaitError::Duration(DurationError::Negative))
        );
        assert!(matches!(wait("ms"), Err(WaitError::Duration(_))));
    }
}
