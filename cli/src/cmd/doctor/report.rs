//! What `planasonix doctor` says about a service, and how it is written.

use serde_json::{json, Value};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    /// Some logins get no second factor, or are refused instead of asked.
    Warning,
    /// Logins get in without a second factor, or the prompt cannot work.
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One thing found, in words an admin can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    /// The line or setting to add or change.
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(severity: Severity, message: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity,
            message: message.into(),
            fix,
        }
    }
}

/// The answer for one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Protected,
    Partial,
    NotProtected,
    NotConfigured,
    /// sshd's effective settings could not be read.
    Unknown,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Protected => "protected",
            Verdict::Partial => "partial",
            Verdict::NotProtected => "not-protected",
            Verdict::NotConfigured => "not-configured",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One service's report.
#[derive(Clone, Debug)]
pub struct ServiceReport {
    pub name: &'static str,
    pub verdict: Verdict,
    /// The files it was judged from.
    pub sources: Vec<String>,
    pub findings: Vec<Finding>,
}

impl ServiceReport {
    /// A report whose verdict follows from its findings: any critical one is
    /// not protected, else unknown settings are unknown, else any warning is
    /// partial.
    pub fn judged(
        name: &'static str,
        sources: Vec<String>,
        mut findings: Vec<Finding>,
        unknown: bool,
    ) -> ServiceReport {
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let worst = findings.first().map(|f| f.severity);
        let verdict = match worst {
            Some(Severity::Critical) => Verdict::NotProtected,
            _ if unknown => Verdict::Unknown,
            Some(Severity::Warning) => Verdict::Partial,
            _ => Verdict::Protected,
        };
        ServiceReport {
            name,
            verdict,
            sources: sources.iter().map(|s| shown(s)).collect(),
            findings,
        }
    }

    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| json!({"severity": f.severity.name(), "message": f.message, "fix": f.fix}))
            .collect();
        json!({
            "name": self.name,
            "verdict": self.verdict.name(),
            "sources": self.sources,
            "findings": findings,
        })
    }

    /// The block printed for this service.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}: {}  ({})\n",
            self.name,
            self.verdict.name(),
            self.sources.join(", ")
        );
        for f in &self.findings {
            out.push_str(&format!("  [{}] {}\n", f.severity.name(), f.message));
            if let Some(fix) = &f.fix {
                out.push_str(&format!("      fix: {fix}\n"));
            }
        }
        out
    }

    /// One line: the verdict and, unless protected, the most severe finding.
    pub fn summary(&self) -> String {
        match (self.verdict, self.findings.first()) {
            (Verdict::Protected, _) | (_, None) => {
                format!("{}: {}", self.name, self.verdict.name())
            }
            (verdict, Some(f)) => format!("{}: {}: {}", self.name, verdict.name(), f.message),
        }
    }
}

/// `text` from a file or a program, safe to print: control, bidi and
/// zero-width characters become `\u{…}` escapes.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hostile = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}');
        if hostile {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// `shown` in backquotes, for a line or setting inside a sentence.
pub fn quoted(text: &str) -> String {
    format!("`{}`", shown(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_characters_are_escaped() {
        assert_eq!(shown("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(shown("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
        assert_eq!(shown("tab\there\n"), "tab\\u{9}here\\u{a}");
        assert_eq!(shown("pam_unix.so nullok"), "pam_unix.so nullok");
    }

    #[test]
    fn verdicts_follow_the_worst_finding() {
        let f = |s| Finding::new(s, "m", None);
        let v = |fs: Vec<Finding>, unknown| ServiceReport::judged("x", vec![], fs, unknown).verdict;
        assert_eq!(v(vec![f(Severity::Info)], false), Verdict::Protected);
        assert_eq!(
            v(vec![f(Severity::Info), f(Severity::Warning)], false),
            Verdict::Partial
        );
        assert_eq!(
            v(vec![f(Severity::Warning), f(Severity::Critical)], true),
            Verdict::NotProtected
        );
        assert_eq!(v(vec![f(Severity::Warning)], true), Verdict::Unknown);
    }
}
