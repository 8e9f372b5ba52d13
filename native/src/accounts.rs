//! Who a login name really is: the system's account databases (NSS).
//!
//! sshd hands PAM the name the client typed. Under SSSD or winbind (case
//! insensitive by default) or with fully qualified names, NSS resolves
//! `ALICE`, `alice@example.com` or `EXAMPLE\alice` to alice's account, so
//! keying anything by the typed name would give one account many records: an
//! empty one for every alias, with a fresh grace period and no factor. The PAM
//! door and the CLI therefore resolve every name here first and key the
//! record, the policy (exemptions, admin groups), the audit trail and every
//! log line by the name NSS returns (`pw_name`). A name NSS does not know is
//! refused and writes nothing.

use core::fmt;
use nix::unistd::{Gid, Group, User};
use planasonix_core::input::{validate_user_name, UserNameError};
use planasonix_core::text::Field;
use std::ffi::CString;

/// Most groups read for one user.
const MAX_GROUPS: usize = 65_536;

/// An account as NSS knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The canonical name (`pw_name`).
    pub name: String,
    /// Numeric user id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Why a name could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountError {
    /// NSS does not know this name (as typed, shown escaped).
    Unknown(String),
    /// The name as typed cannot be a user name.
    BadName(UserNameError),
    /// NSS answered with a name this engine cannot use as a record key.
    BadCanonicalName {
        /// The name as typed, escaped.
        typed: String,
        /// Why the canonical one is refused.
        why: UserNameError,
    },
    /// The lookup itself failed (a directory service down, out of memory).
    Lookup {
        /// Which call.
        call: &'static str,
        /// The system's reason.
        reason: String,
    },
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::Unknown(name) => {
                write!(f, "no account {name} in the system's user database (NSS)")
            }
            AccountError::BadName(e) => e.fmt(f),
            AccountError::BadCanonicalName { typed, why } => write!(
                f,
                "NSS resolved {typed} to a name that cannot be used ({why})"
            ),
            AccountError::Lookup { call, reason } => write!(f, "{call} failed: {reason}"),
        }
    }
}

impl std::error::Error for AccountError {}

/// Resolves `typed` to its account. Refuses names NSS does not know.
pub fn resolve(typed: &str) -> Result<Account, AccountError> {
    validate_user_name(typed).map_err(AccountError::BadName)?;
    let shown = || Field(typed).to_string();
    let user = User::from_name(typed)
        .map_err(|e| AccountError::Lookup {
            call: "getpwnam_r",
            reason: e.desc().to_owned(),
        })?
        .ok_or_else(|| AccountError::Unknown(shown()))?;
    // nix decodes pw_name lossily; a replaced byte would be another name.
    let canonical_ok = validate_user_name(&user.name).and_then(|()| {
        if user.name.contains(char::REPLACEMENT_CHARACTER) {
            Err(UserNameError::BadCharacter)
        } else {
            Ok(())
        }
    });
    if let Err(why) = canonical_ok {
        return Err(AccountError::BadCanonicalName {
            typed: shown(),
            why,
        });
    }
    Ok(Account {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    })
}

/// Names of every group `account` belongs to, its primary group included.
pub fn groups_of(account: &Account) -> Result<Vec<String>, AccountError> {
    let name = CString::new(account.name.as_str()).map_err(|_| AccountError::Lookup {
        call: "getgrouplist",
        reason: "user name contains NUL".into(),
    })?;
    let gids = nix::unistd::getgrouplist(&name, Gid::from_raw(account.gid)).map_err(|e| {
        AccountError::Lookup {
            call: "getgrouplist",
            reason: e.desc().to_owned(),
        }
    })?;
    gids.into_iter()
        .take(MAX_GROUPS)
        .map(|gid| {
            let group = Group::from_gid(gid).map_err(|e| AccountError::Lookup {
                call: "getgrgid_r",
                reason: e.desc().to_owned(),
            })?;
            // A gid without a name cannot match a configured group name.
            Ok(group.map_or_else(|| gid.to_string(), |g| g.name))
        })
        .collect()
}

/// The name of the account with `uid`, if there is one.
pub fn name_of_uid(uid: u32) -> Option<String> {
    User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_with_its_groups_and_strangers_are_unknown() {
        let root = resolve("root").unwrap();
        assert_eq!((root.name.as_str(), root.uid), ("root", 0));
        assert!(groups_of(&root).unwrap().iter().any(|g| g == "root"));
        assert!(matches!(
            resolve("no-such-user-planasonix"),
            Err(AccountError::Unknown(_))
        ));
        assert!(matches!(resolve("a b"), Err(AccountError::BadName(_))));
    }
}
