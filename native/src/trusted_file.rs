//! Every file that decides trust, read by one reader under one rule table.
//!
//! Whoever can change such a file decides what a login does: the policy holds
//! the exemptions, the store file says where records live, a CA file says
//! which server is the database or the gateway, the delivery file and the
//! mail address book say where codes and notices go, and the secrets (the
//! seal key, the database password, a gateway's token) are the keys to
//! everything. So each is read the same way: opened without following a
//! symbolic link at its last component, checked on the open descriptor,
//! then read up to a bound.
//!
//! | kind | owner of file and directory | group and others may not |
//! |---|---|---|
//! | [`Kind::Setting`] | root, or the user reading it | write the file or the directory |
//! | [`Kind::PrivateSetting`] | root, or the user reading it | read or write the file; write the directory |
//! | [`Kind::Secret`] | root, or the user reading it | read or write the file; write the directory |
//!
//! The file must be a regular file. "The user reading it" is this process's
//! effective user: root for the PAM module and the packaged service units,
//! the identity provider's own account for its own files. The same table is
//! the identity provider's (`idp/src/files.mjs`); both are tested against
//! the shared cases of `tests/trusted-files.json`.

use core::fmt;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// What a trusted file holds, which decides its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A setting anyone may read: the policy, the store file, a CA file,
    /// the mail address book.
    Setting,
    /// A setting that names where codes and secrets go: the delivery file.
    PrivateSetting,
    /// A secret: the seal key, the database password, a gateway's token or
    /// signing key.
    Secret,
}

impl Kind {
    /// Mode bits of the file that group and others must not have.
    fn forbidden(self) -> u32 {
        match self {
            Kind::Setting => 0o022,
            Kind::PrivateSetting | Kind::Secret => 0o077,
        }
    }

    /// The `chmod` that fixes a file of this kind.
    fn chmod(self) -> &'static str {
        match self {
            Kind::Setting => "chmod go-w",
            Kind::PrivateSetting | Kind::Secret => "chmod 600",
        }
    }

    /// The kind's name in the shared cases (`tests/trusted-files.json`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Setting => "setting",
            Kind::PrivateSetting => "private-setting",
            Kind::Secret => "secret",
        }
    }
}

/// What the rule sees of a file or a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its owner.
    pub uid: u32,
    /// Its permission bits.
    pub mode: u32,
    /// A regular file (for the file) or a directory (for the directory).
    pub right_type: bool,
}

/// Why a file is not trusted, by the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broken {
    /// Not a regular file (a symbolic link, a directory, a device…).
    NotRegular,
    /// Owned by someone other than root or the reader.
    Owner(u32),
    /// Group or others may do what they must not.
    Mode(u32),
    /// Its directory is not a directory, or someone other than root or the
    /// reader owns it.
    DirectoryOwner(u32),
    /// Group or others may write its directory (and so replace the file).
    DirectoryMode(u32),
}

impl Broken {
    /// The case name in the shared table.
    pub fn name(self) -> &'static str {
        match self {
            Broken::NotRegular => "not-regular",
            Broken::Owner(_) => "owner",
            Broken::Mode(_) => "mode",
            Broken::DirectoryOwner(_) | Broken::DirectoryMode(_) => "directory",
        }
    }
}

/// The rule table: whether a file of `kind` (and its directory), as seen,
/// may be trusted by a process running as `reader`.
pub fn check(kind: Kind, file: Seen, dir: Option<Seen>, reader: u32) -> Result<(), Broken> {
    let owned = |uid: u32| uid == 0 || uid == reader;
    if !file.right_type {
        return Err(Broken::NotRegular);
    }
    if !owned(file.uid) {
        return Err(Broken::Owner(file.uid));
    }
    if file.mode & kind.forbidden() != 0 {
        return Err(Broken::Mode(file.mode));
    }
    if let Some(dir) = dir {
        if !dir.right_type || !owned(dir.uid) {
            return Err(Broken::DirectoryOwner(dir.uid));
        }
        if dir.mode & 0o022 != 0 {
            return Err(Broken::DirectoryMode(dir.mode));
        }
    }
    Ok(())
}

/// Why a trusted file cannot be used. Every message names the file, what it
/// is, and what to change.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrustedFileError {
    /// It does not exist.
    Missing {
        /// The file.
        path: PathBuf,
        /// What it is ("policy", "seal key", "store file"…).
        what: &'static str,
    },
    /// It cannot be read.
    Unreadable {
        /// The file (or its directory).
        path: PathBuf,
        /// What it is.
        what: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
    /// The rule table refuses it.
    Untrusted {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
        /// Its kind, for the fix.
        kind: Kind,
        /// What is wrong.
        broken: Broken,
    },
    /// It is larger than any such file.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
        /// The bound, in bytes.
        max: u64,
    },
    /// Its content is not what it should hold.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
        /// Why, in words an admin can act on.
        why: String,
    },
}

impl TrustedFileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            TrustedFileError::Missing { path, .. }
            | TrustedFileError::Unreadable { path, .. }
            | TrustedFileError::Untrusted { path, .. }
            | TrustedFileError::TooLarge { path, .. }
            | TrustedFileError::Invalid { path, .. } => path,
        }
    }

    /// Whether the rule table refused it (not trusted, rather than unusable).
    pub fn is_untrusted(&self) -> bool {
        matches!(self, TrustedFileError::Untrusted { .. })
    }
}

impl fmt::Display for TrustedFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedFileError::Missing { path, what } => {
                write!(f, "{what} {} does not exist", path.display())
            }
            TrustedFileError::Unreadable { path, what, error } => {
                write!(f, "cannot read {what} {}: {error}", path.display())
            }
            TrustedFileError::Untrusted {
                path,
                what,
                kind,
                broken,
            } => {
                write!(f, "{what} {} is not trusted: ", path.display())?;
                let dir = path
                    .parent()
                    .map_or_else(String::new, |d| d.display().to_string());
                match broken {
                    Broken::NotRegular => {
                        f.write_str("it is not a regular file (a symbolic link is not followed)")
                    }
                    Broken::Owner(uid) => write!(
                        f,
                        "it is owned by uid {uid}, not root or the user reading it (chown root)"
                    ),
                    Broken::Mode(mode) => write!(
                        f,
                        "mode {:04o} lets group or others {} it ({})",
                        mode & 0o7777,
                        if *kind == Kind::Setting {
                            "write"
                        } else {
                            "read or write"
                        },
                        kind.chmod()
                    ),
                    Broken::DirectoryOwner(uid) => write!(
                        f,
                        "its directory {dir} is owned by uid {uid}, not root or the user reading it, or is not a directory: its owner can replace the file (chown root)"
                    ),
                    Broken::DirectoryMode(mode) => write!(
                        f,
                        "its directory {dir} has mode {:04o}: group or others can replace the file (chmod go-w)",
                        mode & 0o7777
                    ),
                }
            }
            TrustedFileError::TooLarge { path, what, max } => write!(
                f,
                "{what} {} is larger than {} KiB",
                path.display(),
                max.div_ceil(1024)
            ),
            TrustedFileError::Invalid { path, what, why } => {
                write!(f, "{what} {}: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for TrustedFileError {}

/// Reads the trusted file `path`, a `kind` holding `what`, of at most `max`
/// bytes: opened without following a symbolic link, checked on the open
/// descriptor and its directory, then read. The bytes are wiped on drop.
pub fn read_trusted(
    path: &Path,
    kind: Kind,
    what: &'static str,
    max: u64,
) -> Result<Zeroizing<Vec<u8>>, TrustedFileError> {
    let unreadable = |p: &Path, error: std::io::Error| TrustedFileError::Unreadable {
        path: p.to_owned(),
        what,
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TrustedFileError::Missing {
                path: path.to_owned(),
                what,
            },
            // O_NOFOLLOW on a symbolic link: ELOOP.
            _ if e.raw_os_error() == Some(40) => TrustedFileError::Untrusted {
                path: path.to_owned(),
                what,
                kind,
                broken: Broken::NotRegular,
            },
            _ => unreadable(path, e),
        })?;
    let meta = file.metadata().map_err(|e| unreadable(path, e))?;
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => Some(std::fs::metadata(d).map_err(|e| unreadable(d, e))?),
        None => None,
    };
    let seen = |m: &std::fs::Metadata, dir: bool| Seen {
        uid: m.uid(),
        mode: m.mode() & 0o7777,
        right_type: if dir { m.is_dir() } else { m.is_file() },
    };
    check(
        kind,
        seen(&meta, false),
        dir.as_ref().map(|d| seen(d, true)),
        nix::unistd::geteuid().as_raw(),
    )
    .map_err(|broken| TrustedFileError::Untrusted {
        path: path.to_owned(),
        what,
        kind,
        broken,
    })?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len().min(max) as usize));
    file.by_ref()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(path, e))?;
    if bytes.len() as u64 > max {
        return Err(TrustedFileError::TooLarge {
            path: path.to_owned(),
            what,
            max,
        });
    }
    Ok(bytes)
}

/// [`read_trusted`] as UTF-8 text (for files that hold no secret).
pub fn read_trusted_text(
    path: &Path,
    kind: Kind,
    what: &'static str,
    max: u64,
) -> Result<String, TrustedFileError> {
    let bytes = read_trusted(path, kind, what, max)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| TrustedFileError::Invalid {
        path: path.to_owned(),
        what,
        why: "it is not UTF-8 text".into(),
    })
}

/// `O_NOFOLLOW` (Linux): opening a symbolic link fails with ELOOP.
fn libc_o_nofollow() -> i32 {
    0o400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Kind {
        match name {
            "setting" => Kind::Setting,
            "private-setting" => Kind::PrivateSetting,
            "secret" => Kind::Secret,
            other => panic!("unknown kind {other}"),
        }
    }

    fn seen(v: &serde_json::Value, dir: bool) -> Seen {
        Seen {
            uid: v["uid"].as_u64().unwrap() as u32,
            mode: u32::from_str_radix(v["mode"].as_str().unwrap(), 8).unwrap(),
            right_type: v["type"]
                .as_str()
                .unwrap_or(if dir { "directory" } else { "file" })
                == if dir { "directory" } else { "file" },
        }
    }

    /// The shared cases: the identity provider is tested against the same.
    #[test]
    fn the_rule_table_decides_every_shared_case() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/trusted-files.json")).unwrap();
        let reader = table["reader"].as_u64().unwrap() as u32;
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 20, "the table lost its cases");
        for case in cases {
            let got = check(
                kind(case["kind"].as_str().unwrap()),
                seen(&case["file"], false),
                Some(seen(&case["dir"], true)),
                reader,
            );
            let got = got.map_or_else(|b| b.name(), |()| "ok");
            assert_eq!(got, case["expect"].as_str().unwrap(), "{case}");
        }
    }

    #[test]
    fn a_symbolic_link_is_not_followed_and_a_real_file_is_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("planasonix-trusted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("policy.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.join("link.toml");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            read_trusted_text(&file, Kind::Setting, "policy", 64).unwrap(),
            "x = 1\n"
        );
        let e = read_trusted_text(&link, Kind::Setting, "policy", 64).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_trusted_text(&file, Kind::Secret, "seal key", 64).unwrap_err();
        assert!(
            e.to_string()
                .contains("mode 0644 lets group or others read or write it (chmod 600)"),
            "{e}"
        );
        let e = read_trusted_text(&file, Kind::Setting, "policy", 2).unwrap_err();
        assert!(matches!(e, TrustedFileError::TooLarge { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
