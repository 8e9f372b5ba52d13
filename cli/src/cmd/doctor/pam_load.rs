//! A service's stack for one stage, includes followed, flattened the way
//! libpam runs it: `include` and `@include` lines join the stack, a
//! `substack` is one level deeper.

use super::pam_parse::{parse, Actions, Control, Entry, Joining, Line, LineError, Stage};

/// How deep includes may nest before the stack is called broken.
const MAX_DEPTH: usize = 16;
/// How many modules a stack may hold before the rest is ignored.
const MAX_MODULES: usize = 1000;

/// What reading a file (relative to the PAM directory) gave.
#[derive(Debug)]
pub enum Read {
    Text(String),
    Missing,
    /// Refused: larger than the bound.
    TooLarge,
    /// Another error, as a short text.
    Failed(String),
}

/// Where a line is: file and line number, and its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub text: String,
}

impl Origin {
    fn of(file: &str, line: &Line) -> Origin {
        Origin {
            file: file.to_owned(),
            line: line.number,
            text: line.text.clone(),
        }
    }
}

/// A module line in the flattened stack.
#[derive(Clone, Debug)]
pub struct Op {
    /// Substack depth (0 for the service's own stack).
    pub level: usize,
    pub origin: Origin,
    /// The include lines that brought it in, outermost first, and whether
    /// each was a `substack`.
    pub via: Vec<(Origin, bool)>,
    pub module: String,
    pub quiet: bool,
    pub args: Vec<String>,
    pub actions: Actions,
    /// An `include` or `substack` libpam could not load: it always fails.
    pub must_fail: bool,
}

/// Something wrong in the files, besides what the stack does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `fails`: an `include`/`substack`, whose place libpam fills with a
    /// line that always fails.
    Missing {
        from: Origin,
        file: String,
        fails: bool,
    },
    Loop {
        from: Origin,
        file: String,
    },
    TooLarge {
        file: String,
    },
    Unreadable {
        file: String,
        why: String,
    },
    TooDeep {
        from: Origin,
    },
    Invalid {
        at: Origin,
        why: LineError,
    },
}

/// A flattened stack and the problems met while building it.
#[derive(Debug, Default)]
pub struct Stack {
    pub ops: Vec<Op>,
    pub problems: Vec<Problem>,
}

/// The `stage` stack of the service file `service`, its files joined as
/// `joining` says.
pub fn flatten(
    service: &str,
    stage: Stage,
    joining: Joining,
    read: &mut dyn FnMut(&str) -> Read,
) -> Stack {
    let mut stack = Stack::default();
    let mut walk = Walk {
        stage,
        joining,
        read,
        open: Vec::new(),
        via: Vec::new(),
        out: &mut stack,
    };
    if let Some(lines) = walk.load(service) {
        walk.expand(service, &lines, 0);
    }
    stack.problems.dedup();
    stack
}

struct Walk<'a> {
    stage: Stage,
    joining: Joining,
    read: &'a mut dyn FnMut(&str) -> Read,
    /// Files being expanded (to catch loops).
    open: Vec<String>,
    via: Vec<(Origin, bool)>,
    out: &'a mut Stack,
}

impl Walk<'_> {
    fn load(&mut self, file: &str) -> Option<Vec<Line>> {
        match (self.read)(file) {
            Read::Text(text) => Some(parse(&text, self.joining)),
            Read::Missing => None,
            Read::TooLarge => {
                self.out
                    .problems
                    .push(Problem::TooLarge { file: file.into() });
                None
            }
            Read::Failed(why) => {
                let file = file.into();
                self.out.problems.push(Problem::Unreadable { file, why });
                None
            }
        }
    }

    fn expand(&mut self, file: &str, lines: &[Line], level: usize) {
        self.open.push(file.to_owned());
        for line in lines {
            if self.out.ops.len() >= MAX_MODULES {
                break;
            }
            match &line.entry {
                Entry::Invalid(why) => {
                    let at = Origin::of(file, line);
                    let why = why.clone();
                    self.out.problems.push(Problem::Invalid { at, why });
                }
                Entry::AtInclude(target) => self.include(file, line, target, level, None),
                Entry::Rule { stage, .. } if *stage != self.stage => {}
                Entry::Rule {
                    control: Control::Include,
                    target,
                    ..
                } => self.include(file, line, target, level, Some(false)),
                Entry::Rule {
                    control: Control::Substack,
                    target,
                    ..
                } => self.include(file, line, target, level, Some(true)),
                Entry::Rule {
                    control: Control::Module(actions),
                    quiet,
                    target,
                    args,
                    ..
                } => self.out.ops.push(Op {
                    level,
                    origin: Origin::of(file, line),
                    via: self.via.clone(),
                    module: target.clone(),
                    quiet: *quiet,
                    args: args.clone(),
                    actions: actions.clone(),
                    must_fail: false,
                }),
            }
        }
        self.open.pop();
    }

    /// `substack`: `None` for Debian's `@include`, else whether it is a substack.
    fn include(
        &mut self,
        file: &str,
        line: &Line,
        target: &str,
        level: usize,
        substack: Option<bool>,
    ) {
        let from = Origin::of(file, line);
        let lines = if self.open.iter().any(|f| f == target) {
            let file = target.into();
            self.out.problems.push(Problem::Loop {
                from: from.clone(),
                file,
            });
            None
        } else if self.open.len() >= MAX_DEPTH {
            self.out
                .problems
                .push(Problem::TooDeep { from: from.clone() });
            None
        } else {
            let lines = self.load(target);
            if lines.is_none() && !self.out.problems.iter().any(|p| mentions(p, target)) {
                let (file, fails) = (target.into(), substack.is_some());
                self.out.problems.push(Problem::Missing {
                    from: from.clone(),
                    file,
                    fails,
                });
            }
            lines
        };
        let Some(lines) = lines else {
            if substack.is_some() {
                self.out.ops.push(Op {
                    level,
                    origin: from,
                    via: self.via.clone(),
                    module: target.into(),
                    quiet: false,
                    args: Vec::new(),
                    actions: Actions::always_bad(),
                    must_fail: true,
                });
            }
            return;
        };
        let sub = substack == Some(true);
        self.via.push((from, sub));
        self.expand(target, &lines, level + usize::from(sub));
        self.via.pop();
    }
}

fn mentions(problem: &Problem, target: &str) -> bool {
    matches!(problem, Problem::TooLarge { file } | Problem::Unreadable { file, .. } if file == target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(list: &[(&str, &str)]) -> impl FnMut(&str) -> Read {
        let map: HashMap<String, String> = list
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| match map.get(name) {
            Some(text) => Read::Text(text.clone()),
            None => Read::Missing,
        }
    }

    #[test]
    fn includes_join_and_substacks_nest() {
        let mut read = files(&[
            ("sshd", "@include common-auth\nauth substack extra\naccount required a.so\nauth required last.so\n"),
            ("common-auth", "auth required pam_unix.so\naccount required acct.so\n"),
            ("extra", "auth include more\n"),
            ("more", "auth sufficient deep.so\n"),
        ]);
        let stack = flatten("sshd", Stage::Auth, Joining::Ends, &mut read);
        let names: Vec<(&str, usize)> = stack
            .ops
            .iter()
            .map(|o| (o.module.as_str(), o.level))
            .collect();
        assert_eq!(
            names,
            vec![("pam_unix.so", 0), ("deep.so", 1), ("last.so", 0)]
        );
        assert_eq!(stack.ops[0].origin.file, "common-auth");
        assert_eq!(stack.ops[1].via.len(), 2);
        assert!(stack.ops[1].via[0].1, "substack is recorded");
        assert!(stack.problems.is_empty());
    }

    #[test]
    fn missing_files_and_loops_are_problems() {
        let mut read = files(&[
            (
                "sshd",
                "auth include gone\n@include loop\nauth required x.so\n",
            ),
            ("loop", "@include sshd\n"),
        ]);
        let stack = flatten("sshd", Stage::Auth, Joining::Ends, &mut read);
        // The `include` libpam cannot load becomes a line that always fails.
        assert_eq!(stack.ops.len(), 2);
        assert!(stack.ops[0].must_fail && !stack.ops[1].must_fail);
        assert!(
            matches!(&stack.problems[0], Problem::Missing { file, from, fails: true } if file == "gone" && from.line == 1)
        );
        assert!(matches!(&stack.problems[1], Problem::Loop { file, .. } if file == "sshd"));
    }
}
