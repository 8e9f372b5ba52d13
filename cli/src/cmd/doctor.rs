//! `planasonix doctor`: whether sshd, login, sudo and su really ask for a
//! second factor, read from the PAM stacks and `sshd -T`.

mod pam_eval;
mod pam_load;
mod pam_parse;
mod report;
mod sshd;
mod stack;

use crate::error::{plain_io, CliError, CliResult};
use crate::out::Out;
use pam_load::{flatten, Read};
use pam_parse::Stage;
use report::{quoted, shown, Finding, ServiceReport, Severity, Verdict};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// PAM files larger than this are not read (real ones are a few KiB).
const PAM_FILE_LIMIT: u64 = 256 * 1024;
/// How much of `sshd -T`'s output is read.
const SSHD_OUTPUT_LIMIT: u64 = 1024 * 1024;
/// How long `sshd -T` may take.
const SSHD_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to look.
#[derive(Debug)]
pub struct Options {
    pub pam_dir: PathBuf,
    pub sshd_config: PathBuf,
    pub sshd: PathBuf,
    pub summary: bool,
}

/// Writes the report. Fails (exit 1) after writing it when a service is not
/// protected, unless `--summary` was asked for (the Debian postinst runs it).
pub fn run(out: &mut Out<'_>, opts: &Options) -> CliResult<()> {
    let dir = opts.pam_dir.display().to_string();
    if !opts.pam_dir.is_dir() {
        return Err(CliError::failed(format!(
            "cannot read the PAM directory {}: not a directory",
            shown(&dir)
        )));
    }
    let mut files = Files::new(&opts.pam_dir);
    let reports = vec![
        sshd_report(&mut files, &dir, opts),
        service_report(&mut files, &dir, "login"),
        service_report(&mut files, &dir, "sudo"),
        service_report(&mut files, &dir, "su"),
    ];
    if out.json {
        let services: Vec<_> = reports.iter().map(ServiceReport::to_json).collect();
        out.json(&serde_json::json!({ "services": services }))?;
    } else if opts.summary {
        for r in &reports {
            out.line(r.summary())?;
        }
    } else {
        for (i, r) in reports.iter().enumerate() {
            if i > 0 {
                out.line("")?;
            }
            out.line(r.text().trim_end())?;
        }
    }
    let failing: Vec<&str> = reports
        .iter()
        .filter(|r| r.verdict == Verdict::NotProtected)
        .map(|r| r.name)
        .collect();
    if opts.summary || failing.is_empty() {
        return Ok(());
    }
    Err(CliError::failed(format!(
        "not protected: {} (see the report above)",
        failing.join(", ")
    )))
}

/// login, sudo, su: the PAM stacks alone.
fn service_report(files: &mut Files, dir: &str, name: &'static str) -> ServiceReport {
    match pam_findings(files, dir, name) {
        Ok((findings, _)) => {
            ServiceReport::judged(name, vec![stack::path(dir, name)], findings, false)
        }
        Err(report) => report,
    }
}

/// sshd: its PAM stacks and its effective settings.
fn sshd_report(files: &mut Files, dir: &str, opts: &Options) -> ServiceReport {
    let (mut findings, stacks) = match pam_findings(files, dir, "sshd") {
        Ok(found) => found,
        Err(report) => return report,
    };
    let sources = vec![
        stack::path(dir, "sshd"),
        opts.sshd_config.display().to_string(),
    ];
    match sshd_settings(&opts.sshd, &opts.sshd_config) {
        Ok(settings) => {
            findings.extend(sshd::analyse(&settings, stacks));
            ServiceReport::judged("sshd", sources, findings, false)
        }
        Err(why) => {
            findings.push(Finding::new(
                Severity::Warning,
                format!("cannot read sshd's effective settings: {}", shown(&why)),
                Some(format!(
                    "run `{} -T -f {}` as root to see why (it needs the host keys and /run/sshd)",
                    shown(&opts.sshd.display().to_string()),
                    shown(&opts.sshd_config.display().to_string())
                )),
            ));
            ServiceReport::judged("sshd", sources, findings, true)
        }
    }
}

/// The findings about `name`'s auth and account stacks, or the whole report
/// when there is no stack to judge.
fn pam_findings(
    files: &mut Files,
    dir: &str,
    name: &'static str,
) -> Result<(Vec<Finding>, sshd::Stacks), ServiceReport> {
    let file = stack::path(dir, name);
    match files.read(name) {
        Read::Text(_) => {}
        Read::Missing => {
            let message = format!(
                "{} does not exist: libpam uses the `other` stack for {name}",
                quoted(&file)
            );
            let f = Finding::new(Severity::Info, message, None);
            let mut r = ServiceReport::judged(name, vec![file], vec![f], false);
            r.verdict = Verdict::NotConfigured;
            return Err(r);
        }
        Read::TooLarge | Read::Failed(_) => {
            let message = format!("cannot read {}", quoted(&file));
            let f = Finding::new(
                Severity::Warning,
                message,
                Some("run planasonix doctor as root".into()),
            );
            return Err(ServiceReport::judged(name, vec![file], vec![f], true));
        }
    }
    let mut read = |f: &str| files.read(f);
    let auth_stack = flatten(name, Stage::Auth, &mut read);
    let account_stack = flatten(name, Stage::Account, &mut read);
    let mut problems = auth_stack.problems.clone();
    problems.extend(
        account_stack
            .problems
            .iter()
            .filter(|p| !auth_stack.problems.contains(p))
            .cloned(),
    );
    let mut findings = stack::problems(&problems, dir);
    let auth = stack::check(&auth_stack, Stage::Auth, name, dir, true);
    if !auth.present {
        let via_common = auth_stack
            .ops
            .iter()
            .any(|o| o.origin.file == "common-auth");
        let add = format!(
            "add `auth required pam_planasonix.so` to {} after its other auth lines",
            shown(&file)
        );
        let fix = if via_common {
            format!("run `pam-auth-update --enable planasonix` (it adds the module to common-auth), or {add}")
        } else {
            add
        };
        findings.push(Finding::new(
            Severity::Critical,
            format!(
                "pam_planasonix.so is not in the auth stack of {name}: no second factor is asked"
            ),
            Some(fix),
        ));
    }
    findings.extend(auth.findings);
    let account = stack::check(&account_stack, Stage::Account, name, dir, false);
    findings.extend(account.findings);
    if name == "sudo" {
        findings.push(step_up(auth.step_up.as_deref(), account.present));
    }
    let stacks = sshd::Stacks {
        account_net: account.present && account.sound,
        asks_password: auth.asks_password,
    };
    Ok((findings, stacks))
}

fn step_up(action: Option<&str>, account: bool) -> Finding {
    let message = match action {
        Some(a) => format!("step-up: the module runs with action={}, so the policy's [step_up] table decides how recent an MFA lets sudo through", shown(a)),
        None => "no action= argument: every sudo that runs the auth stack asks for a code (no step-up window)".into(),
    };
    let fix = (!account).then(|| "add `account required pam_planasonix.so action=sudo` too: sudo rules with NOPASSWD never run the auth stack".into());
    Finding::new(Severity::Info, message, fix)
}

/// PAM files by name, read once, bounded.
struct Files {
    dir: PathBuf,
    cache: HashMap<String, Read>,
}

impl Files {
    fn new(dir: &Path) -> Files {
        Files {
            dir: dir.to_owned(),
            cache: HashMap::new(),
        }
    }

    fn read(&mut self, name: &str) -> Read {
        let dir = &self.dir;
        let got = self
            .cache
            .entry(name.to_owned())
            .or_insert_with(|| read_bounded(&dir.join(name)));
        match got {
            Read::Text(t) => Read::Text(t.clone()),
            Read::Missing => Read::Missing,
            Read::TooLarge => Read::TooLarge,
            Read::Failed(why) => Read::Failed(why.clone()),
        }
    }
}

fn read_bounded(path: &Path) -> Read {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::Missing,
        Err(e) => return Read::Failed(plain_io(&e)),
    };
    let mut bytes = Vec::new();
    match file.take(PAM_FILE_LIMIT + 1).read_to_end(&mut bytes) {
        Ok(n) if n as u64 > PAM_FILE_LIMIT => Read::TooLarge,
        Ok(_) => Read::Text(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Read::Failed(plain_io(&e)),
    }
}

/// `sshd -T -f CONFIG`, parsed; on failure, the first line sshd wrote.
fn sshd_settings(sshd: &Path, config: &Path) -> Result<sshd::Settings, String> {
    let mut child = Command::new(sshd)
        .arg("-T")
        .arg("-f")
        .arg(config)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {}", sshd.display(), plain_io(&e)))?;
    let pipes = (child.stdout.take(), child.stderr.take());
    let stdout = std::thread::spawn(move || drain(pipes.0));
    let stderr = std::thread::spawn(move || drain(pipes.1));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < SSHD_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{} -T` did not finish within {}s",
                    sshd.display(),
                    SSHD_TIMEOUT.as_secs()
                ));
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let first = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    if !status.success() {
        return Err(match first {
            Some(line) => format!("`sshd -T` said: {line}"),
            None => format!("`sshd -T` failed ({status})"),
        });
    }
    let settings = sshd::Settings::parse(&stdout);
    if !stdout.lines().any(|l| l.starts_with("usepam ")) {
        return Err("`sshd -T` printed no UsePAM setting".into());
    }
    Ok(settings)
}

fn drain(pipe: Option<impl std::io::Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(SSHD_OUTPUT_LIMIT).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
