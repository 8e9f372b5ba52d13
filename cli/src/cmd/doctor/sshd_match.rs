//! sshd_config's `Match` blocks, which `sshd -T` without `-C` does not
//! apply: read from the configuration and its `Include`s as sshd reads them
//! (servconf.c), so each block's settings can be judged over the global
//! ones. A block ends at the next `Match` or at the end of its file (sshd
//! restores the including file's Match state after an `Include`); an
//! `Include` inside a block brings its lines into the block.

use std::path::{Path, PathBuf};

/// Where a relative `Include` is looked for (OpenSSH's SSHDIR).
const SSHDIR: &str = "/etc/ssh";
/// Files larger than this are not read.
const FILE_LIMIT: u64 = 1024 * 1024;
/// How deep includes nest (sshd's own limit is 16).
const MAX_DEPTH: usize = 16;

/// One `Match` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// `file:line` of its `Match` line.
    pub place: String,
    /// What follows `Match`.
    pub criteria: String,
    /// Its settings in order, keys in lower case (aliases resolved).
    pub settings: Vec<(String, String)>,
}

/// The blocks of `config` and of what it includes, and what could not be
/// read on the way.
pub fn blocks(config: &Path) -> (Vec<Block>, Vec<String>) {
    let mut reader = Reader::default();
    reader.file(config, None, 0);
    (reader.blocks, reader.problems)
}

#[derive(Default)]
struct Reader {
    blocks: Vec<Block>,
    problems: Vec<String>,
}

impl Reader {
    /// Reads `path`; `within` is the block an `Include` line sits in.
    fn file(&mut self, path: &Path, within: Option<usize>, depth: usize) {
        if depth > MAX_DEPTH {
            self.problems
                .push(format!("{}: includes nest too deep", path.display()));
            return;
        }
        let text = match read_bounded(path) {
            Ok(text) => text,
            Err(why) => {
                self.problems.push(format!("{}: {why}", path.display()));
                return;
            }
        };
        let mut current = within;
        for (i, raw) in text.lines().enumerate() {
            let Some((keyword, value)) = split(raw) else {
                continue;
            };
            match keyword.as_str() {
                "match" => {
                    self.blocks.push(Block {
                        place: format!("{}:{}", path.display(), i + 1),
                        criteria: value.to_owned(),
                        settings: Vec::new(),
                    });
                    current = Some(self.blocks.len() - 1);
                }
                "include" => {
                    for pattern in value.split_whitespace() {
                        for file in expand(pattern, &mut self.problems) {
                            self.file(&file, current, depth + 1);
                        }
                    }
                }
                _ => {
                    if let Some(b) = current {
                        let key = canonical(&keyword).to_owned();
                        let value = value.replace('"', "");
                        self.blocks[b].settings.push((key, value));
                    }
                }
            }
        }
    }
}

/// `Keyword value`, `Keyword=value` or `Keyword = value`, the keyword in
/// lower case; `None` for blank and comment lines.
fn split(raw: &str) -> Option<(String, &str)> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    Some((keyword.to_ascii_lowercase(), rest))
}

/// The name `sshd -T` prints for `keyword`.
fn canonical(keyword: &str) -> &str {
    match keyword {
        "challengeresponseauthentication" => "kbdinteractiveauthentication",
        "dsaauthentication" => "pubkeyauthentication",
        other => other,
    }
}

/// The files an `Include` pattern names, sorted as glob(3) sorts them;
/// wildcards are understood in the last component.
fn expand(pattern: &str, problems: &mut Vec<String>) -> Vec<PathBuf> {
    let path = if pattern.starts_with('/') {
        PathBuf::from(pattern)
    } else {
        Path::new(SSHDIR).join(pattern)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("/"));
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        problems.push(format!(
            "Include {pattern}: a wildcard in a directory is not followed"
        ));
        return Vec::new();
    }
    if !name.contains(['*', '?', '[']) {
        return if path.exists() {
            vec![path]
        } else {
            Vec::new()
        };
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with('.') && wildcard(&name, &n)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// glob(3)'s `*`, `?` and `[...]` against one file name.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn at(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| at(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && at(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|c| *c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && at(&p[1..], &n[1..]);
                };
                let Some(c) = n.first() else { return false };
                let (negate, set) = match p[1] {
                    '!' | '^' => (true, &p[2..close]),
                    _ => (false, &p[1..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != negate && at(&p[close + 1..], &n[1..])
            }
            Some(c) => n.first() == Some(c) && at(&p[1..], &n[1..]),
        }
    }
    at(&p, &n)
}

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| crate::error::plain_io(&e))?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::error::plain_io(&e))?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err("too large to read".into());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keywords_and_wildcards() {
        assert_eq!(
            split("  AuthenticationMethods=publickey"),
            Some(("authenticationmethods".into(), "publickey"))
        );
        assert_eq!(
            split("PasswordAuthentication = yes"),
            Some(("passwordauthentication".into(), "yes"))
        );
        assert_eq!(split("# Match User x"), None);
        assert!(wildcard("*.conf", "50-cloud-init.conf"));
        assert!(!wildcard("*.conf", "50-cloud-init.conf.dpkg-old"));
        assert!(wildcard("[0-9]?-x", "50-x"));
        assert!(!wildcard("[!0-9]*", "50-x"));
    }

    #[test]
    fn blocks_end_at_the_next_match_and_at_the_end_of_an_included_file() {
        let dir = planasonix_testkit::TempDir::new("sshd-match");
        let d = dir.path();
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(
            d.join("conf.d/10-deploy.conf"),
            "Match User deploy\n  AuthenticationMethods publickey\n",
        )
        .unwrap();
        std::fs::write(d.join("inside.conf"), "PasswordAuthentication yes\n").unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Include {}/conf.d/*.conf\nKbdInteractiveAuthentication yes\n\
                 Match Address 192.0.2.0/24\n  ChallengeResponseAuthentication no\n  Include {}/inside.conf\n\
                 Match all\n",
                d.display(),
                d.display()
            ),
        )
        .unwrap();
        let (blocks, problems) = blocks(&d.join("sshd_config"));
        assert!(problems.is_empty(), "{problems:?}");
        let summary: Vec<_> = blocks
            .iter()
            .map(|b| (b.criteria.as_str(), b.settings.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "User deploy",
                    vec![("authenticationmethods".to_owned(), "publickey".to_owned())]
                ),
                (
                    "Address 192.0.2.0/24",
                    vec![
                        ("kbdinteractiveauthentication".to_owned(), "no".to_owned()),
                        ("passwordauthentication".to_owned(), "yes".to_owned())
                    ]
                ),
                ("all", vec![]),
            ]
        );
        assert!(
            blocks[0].place.ends_with("10-deploy.conf:1"),
            "{}",
            blocks[0].place
        );
    }
}
