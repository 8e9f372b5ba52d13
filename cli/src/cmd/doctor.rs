//! `planasonix doctor`: whether sshd, login, sudo and su really ask for a
//! second factor, read from the PAM stacks and `sshd -T`.

mod pam_eval;
mod pam_load;
mod pam_parse;
mod report;
mod sshd;
mod sshd_match;
mod stack;

use crate::error::{plain_io, CliError, CliResult};
use crate::out::Out;
use pam_load::{flatten, Read};
use pam_parse::{Joining, Stage};
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
            let global = sshd::analyse(&settings, stacks);
            let matched = match_findings(&opts.sshd_config, &settings, stacks, &global);
            findings.extend(global);
            findings.extend(matched);
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

/// What the `Match` blocks change: each block's settings over the global
/// ones, judged like them; a finding the global settings do not have is
/// the block's, named by its criteria and place.
fn match_findings(
    config: &Path,
    settings: &sshd::Settings,
    stacks: sshd::Stacks,
    global: &[Finding],
) -> Vec<Finding> {
    let (blocks, problems) = sshd_match::blocks(config);
    let mut out: Vec<Finding> = problems
        .iter()
        .map(|p| {
            Finding::new(
                Severity::Warning,
                format!("cannot read all of sshd's Match blocks: {}", shown(p)),
                None,
            )
        })
        .collect();
    for block in &blocks {
        for f in sshd::analyse(&settings.with(&block.settings), stacks) {
            if f.severity == Severity::Info || global.iter().any(|g| g.message == f.message) {
                continue;
            }
            out.push(Finding::new(
                f.severity,
                format!(
                    "logins matching `Match {}` ({}): {}",
                    shown(&block.criteria),
                    shown(&block.place),
                    f.message
                ),
                f.fix.map(|fix| format!("in that Match block: {fix}")),
            ));
        }
    }
    out
}

/// The findings about `name`'s auth and account stacks, or the whole report
/// when there is no stack to judge. Where Linux-PAM 1.5 and 1.6 join the
/// files' lines differently, the worse reading is reported, and where.
fn pam_findings(
    files: &mut Files,
    dir: &str,
    name: &'static str,
) -> Result<(Vec<Finding>, sshd::Stacks), ServiceReport> {
    let newer = pam_findings_as(files, dir, name, Joining::Ends)?;
    let older = pam_findings_as(files, dir, name, Joining::Skips)?;
    if newer == older {
        return Ok(newer);
    }
    let weight = |f: &[Finding]| {
        let count = |s| f.iter().filter(|x| x.severity == s).count();
        (count(Severity::Critical), count(Severity::Warning))
    };
    let (mut worse, which) = if weight(&older.0) > weight(&newer.0) {
        (older, "1.5 and older")
    } else {
        (newer, "1.6 and newer")
    };
    let places = files.readings_differ().join(", ");
    worse.0.push(Finding::new(
        Severity::Warning,
        format!(
            "Linux-PAM 1.5 and older and Linux-PAM 1.6 and newer read {places} differently: a comment or blank line inside a `\\` continuation is skipped by the first (the rule goes on with the next line) and ends the rule in the second; the findings above are Linux-PAM {which}'s, the worse"
        ),
        Some("end the rule before the comment or blank line, or remove the `\\`".into()),
    ));
    Ok(worse)
}

fn pam_findings_as(
    files: &mut Files,
    dir: &str,
    name: &'static str,
    joining: Joining,
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
    let auth_stack = flatten(name, Stage::Auth, joining, &mut read);
    let account_stack = flatten(name, Stage::Account, joining, &mut read);
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

    /// `file:line` of each file read whose lines Linux-PAM 1.5 and 1.6
    /// join differently.
    fn readings_differ(&self) -> Vec<String> {
        let mut places: Vec<String> = self
            .cache
            .iter()
            .filter_map(|(name, read)| match read {
                Read::Text(text) => pam_parse::readings_differ(text).map(|line| {
                    format!(
                        "{}:{line}",
                        shown(&stack::path(&self.dir.display().to_string(), name))
                    )
                }),
                _ => None,
            })
            .collect();
        places.sort();
        places
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
