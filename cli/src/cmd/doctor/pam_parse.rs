//! One PAM configuration file as libpam reads it: `type control module args`,
//! `#` comments anywhere, `\` continuations (joined as Linux-PAM 1.5 or as
//! 1.6 and newer join them, see [`Joining`]), `[value=action …]` controls,
//! `-type` lines, `include`/`substack`, and Debian's `@include FILE`.

/// The four management groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Auth,
    Account,
    Password,
    Session,
}

impl Stage {
    fn parse(word: &str) -> Option<Stage> {
        match word.to_ascii_lowercase().as_str() {
            "auth" => Some(Stage::Auth),
            "account" => Some(Stage::Account),
            "password" => Some(Stage::Password),
            "session" => Some(Stage::Session),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Auth => "auth",
            Stage::Account => "account",
            Stage::Password => "password",
            Stage::Session => "session",
        }
    }
}

/// What libpam does after a module returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Ignore,
    Ok,
    Done,
    Bad,
    Die,
    Reset,
    /// Skip this many following modules.
    Jump(u32),
}

/// A control reduced to the three kinds of return that matter here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actions {
    pub success: Action,
    pub ignore: Action,
    /// Every action some failure code can take (the listed ones and `default`).
    pub failure: Vec<Action>,
}

impl Actions {
    fn from_pairs(pairs: &[(&str, Action)], default: Action) -> Actions {
        let find = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, a)| *a);
        let mut failure = vec![default];
        for (k, a) in pairs {
            if *k != "success" && *k != "ignore" && *k != "default" && !failure.contains(a) {
                failure.push(*a);
            }
        }
        Actions {
            success: find("success").unwrap_or(default),
            ignore: find("ignore").unwrap_or(default),
            failure,
        }
    }

    /// What libpam puts in place of an include it cannot load.
    pub fn always_bad() -> Actions {
        Actions {
            success: Action::Bad,
            ignore: Action::Bad,
            failure: vec![Action::Bad],
        }
    }

    /// True when every failure fails the stack (as `required`/`requisite` do;
    /// `ok` and `done` on a failure make the stack's status that failure).
    pub fn failure_counts(&self) -> bool {
        self.failure
            .iter()
            .all(|a| matches!(a, Action::Bad | Action::Die | Action::Ok | Action::Done))
    }
}

/// The second field of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    Module(Actions),
    /// `include FILE`: its lines join this stack.
    Include,
    /// `substack FILE`: `done` and `die` in it end only the substack.
    Substack,
}

/// What a logical line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Rule {
        stage: Stage,
        /// `-type`: a module that cannot be loaded is skipped silently.
        quiet: bool,
        control: Control,
        /// The module (path or bare name), or the file of include/substack.
        target: String,
        args: Vec<String>,
    },
    /// Debian's `@include FILE`: every line of FILE, all types.
    AtInclude(String),
    /// A line libpam would reject; the reason.
    Invalid(LineError),
}

/// Why libpam rejects a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineError {
    /// The file ends inside a `\` continuation.
    EndsInContinuation,
    /// `@include` without a file name.
    IncludeWithoutFile,
    /// A type other than auth, account, password and session.
    UnknownType(String),
    /// Fewer than a type, a control and a module.
    TooFewFields,
    /// A control that is neither a keyword nor `[value=action …]`.
    UnknownControl(String),
    /// An entry of `[…]` that is not `value=action`.
    NotValueAction(String),
    /// An action that is none of libpam's, nor a jump of one or more.
    UnknownAction(String),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::EndsInContinuation => f.write_str("the file ends inside a `\\` continuation: libpam stops reading it with an error, and every login through it fails"),
            LineError::IncludeWithoutFile => f.write_str("@include without a file name"),
            LineError::UnknownType(t) => write!(f, "unknown type `{t}`"),
            LineError::TooFewFields => f.write_str("a rule needs a type, a control and a module"),
            LineError::UnknownControl(c) => write!(f, "unknown control `{c}`"),
            LineError::NotValueAction(pair) => write!(f, "`{pair}` in the control is not value=action"),
            LineError::UnknownAction(a) => write!(f, "unknown action `{a}` in the control"),
        }
    }
}

/// A logical line with where it starts and its text (whitespace collapsed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub text: String,
    pub entry: Entry,
}

/// How libpam joins a `\` continuation across a comment line or a blank
/// line: the one place its versions read a file differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joining {
    /// Linux-PAM 1.5 and older (`fgets`): such a line is skipped and the
    /// rule goes on with the next line that holds something.
    Skips,
    /// Linux-PAM 1.6 and newer (`getline`): the rule ends at such a line.
    Ends,
}

/// libpam's whitespace: what it skips and splits fields on.
fn pam_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n')
}

/// Splits `text` into logical lines as libpam `joining` assembles them and
/// parses each. In every version a `#` ends the line it is on, even after a
/// `\` (which then stays, a field of its own), and a file that ends inside
/// a continuation is an error that fails every login through it.
pub fn parse(text: &str, joining: Joining) -> Vec<Line> {
    let mut out = Vec::new();
    // The logical line being joined: where it starts, and its text.
    let mut pending: Option<(usize, String)> = None;
    // The last physical line ended in `\` (even if it added nothing).
    let mut continuing = false;
    let mut physical: Vec<&str> = text.split('\n').collect();
    if text.is_empty() || text.ends_with('\n') {
        physical.pop();
    }
    for (i, raw) in physical.iter().enumerate() {
        let number = i + 1;
        let body = raw.trim_start_matches([' ', '\t']);
        let hash = body.find('#');
        let code = &body[..hash.unwrap_or(body.len())];
        let nothing = body.is_empty() || hash == Some(0);
        if nothing && joining == Joining::Skips {
            continue;
        }
        let joined = match code.trim_end_matches(pam_space).strip_suffix('\\') {
            Some(head) if hash.is_none() => Some(head),
            _ => None,
        };
        if let Some(head) = joined {
            continuing = true;
            if !head.is_empty() {
                let (_, text) = pending.get_or_insert_with(|| (number, String::new()));
                text.push_str(head);
                text.push(' ');
            }
            continue;
        }
        continuing = false;
        let logical = match pending.take() {
            Some((start, mut text)) => {
                text.push_str(code);
                (start, text)
            }
            None if !code.is_empty() => (number, code.to_owned()),
            None => continue,
        };
        if let Some(line) = parse_line(logical.0, &logical.1) {
            out.push(line);
        }
    }
    if continuing {
        let number = pending.map_or(physical.len(), |(start, _)| start);
        out.push(Line {
            number,
            text: String::new(),
            entry: Entry::Invalid(LineError::EndsInContinuation),
        });
    }
    out
}

/// The first line (numbered from 1) that libpam 1.5 and 1.6 read
/// differently in `text`: a comment or blank line inside a continuation.
pub fn readings_differ(text: &str) -> Option<usize> {
    let (old, new) = (parse(text, Joining::Skips), parse(text, Joining::Ends));
    if old == new {
        return None;
    }
    let mut continuing = false;
    for (i, raw) in text.split('\n').enumerate() {
        let body = raw.trim_start_matches([' ', '\t']);
        let hash = body.find('#');
        if continuing && (body.is_empty() || hash == Some(0)) {
            return Some(i + 1);
        }
        let code = &body[..hash.unwrap_or(body.len())];
        continuing = hash.is_none() && code.trim_end_matches(pam_space).ends_with('\\');
    }
    Some(
        old.iter()
            .zip(&new)
            .find(|(a, b)| a != b)
            .map_or(1, |(a, _)| a.number),
    )
}

fn parse_line(number: usize, logical: &str) -> Option<Line> {
    let fields = fields(logical);
    let first = fields.first()?;
    let text = fields.join(" ");
    let entry = if first.eq_ignore_ascii_case("@include") {
        match fields.get(1) {
            Some(file) => Entry::AtInclude(file.clone()),
            None => Entry::Invalid(LineError::IncludeWithoutFile),
        }
    } else {
        rule(&fields)
    };
    Some(Line {
        number,
        text,
        entry,
    })
}

fn rule(fields: &[String]) -> Entry {
    let (quiet, type_word) = match fields[0].strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, fields[0].as_str()),
    };
    let Some(stage) = Stage::parse(type_word) else {
        return Entry::Invalid(LineError::UnknownType(fields[0].clone()));
    };
    let (Some(control), Some(target)) = (fields.get(1), fields.get(2)) else {
        return Entry::Invalid(LineError::TooFewFields);
    };
    let control = match control.to_ascii_lowercase().as_str() {
        "include" => Control::Include,
        "substack" => Control::Substack,
        word => match keyword(word) {
            Some(actions) => Control::Module(actions),
            None => match brackets(control) {
                Ok(actions) => Control::Module(actions),
                Err(why) => return Entry::Invalid(why),
            },
        },
    };
    Entry::Rule {
        stage,
        quiet,
        control,
        target: target.clone(),
        args: fields[3..].to_vec(),
    }
}

fn keyword(word: &str) -> Option<Actions> {
    use Action::*;
    let (pairs, default): (&[(&str, Action)], Action) = match word {
        "required" => (
            &[
                ("success", Ok),
                ("new_authtok_reqd", Ok),
                ("ignore", Ignore),
            ],
            Bad,
        ),
        "requisite" => (
            &[
                ("success", Ok),
                ("new_authtok_reqd", Ok),
                ("ignore", Ignore),
            ],
            Die,
        ),
        "sufficient" => (&[("success", Done), ("new_authtok_reqd", Done)], Ignore),
        "optional" => (&[("success", Ok), ("new_authtok_reqd", Ok)], Ignore),
        _ => return None,
    };
    Some(Actions::from_pairs(pairs, default))
}

/// `[value=action …]`; values not listed and no `default` mean `bad`, as in libpam.
fn brackets(control: &str) -> Result<Actions, LineError> {
    let inner = control
        .strip_prefix('[')
        .and_then(|c| c.strip_suffix(']'))
        .ok_or_else(|| LineError::UnknownControl(control.to_owned()))?;
    let mut pairs = Vec::new();
    let mut default = Action::Bad;
    for pair in inner.split_whitespace() {
        let (value, action) = pair
            .split_once('=')
            .ok_or_else(|| LineError::NotValueAction(pair.to_owned()))?;
        let action = match action.to_ascii_lowercase().as_str() {
            "ignore" => Action::Ignore,
            "ok" => Action::Ok,
            "done" => Action::Done,
            "bad" => Action::Bad,
            "die" => Action::Die,
            "reset" => Action::Reset,
            n => Action::Jump(
                n.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| LineError::UnknownAction(action.to_owned()))?,
            ),
        };
        let value = value.to_ascii_lowercase();
        if value == "default" {
            default = action;
        }
        pairs.push((value, action));
    }
    let pairs: Vec<(&str, Action)> = pairs.iter().map(|(k, a)| (k.as_str(), *a)).collect();
    Ok(Actions::from_pairs(&pairs, default))
}

/// Fields split on libpam's whitespace; `[ … ]` (with `\]` inside) is one
/// field.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if pam_space(c) {
            chars.next();
            continue;
        }
        let mut field = String::new();
        if c == '[' {
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&']') {
                    field.push(']');
                    chars.next();
                    continue;
                }
                field.push(if pam_space(c) { ' ' } else { c });
                if c == ']' {
                    break;
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if pam_space(c) {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        out.push(field);
    }
    out
}

/// The file name of a module path: `/lib/…/pam_unix.so` → `pam_unix.so`.
pub fn module_name(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

#[cfg(test)]
mod tests;
