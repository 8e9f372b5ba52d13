//! Unix groups from the system's databases (NSS): getpwnam_r, getgrouplist,
//! getgrgid_r.

use crate::flow::Groups;
use core::ffi::{c_char, c_int, CStr};
use std::ffi::CString;

/// Largest buffer tried for one passwd or group entry.
const MAX_BUF: usize = 1 << 20;
/// Most groups read for one user.
const MAX_GROUPS: usize = 65_536;

/// Groups as NSS reports them.
#[derive(Debug)]
pub(crate) struct SystemGroups;

fn os_error(call: &str, rc: c_int) -> String {
    format!("{call}: {}", std::io::Error::from_raw_os_error(rc))
}

fn primary_gid(user: &CStr) -> Result<libc::gid_t, String> {
    let mut buf: Vec<c_char> = vec![0; 16 * 1024];
    loop {
        // SAFETY: an all-zero `passwd` is a valid value of this plain C struct.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is the
        // real size of `buf`; getpwnam_r writes only into `pwd` and `buf`.
        let rc = unsafe {
            libc::getpwnam_r(
                user.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < MAX_BUF {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(os_error("getpwnam_r", rc));
        }
        if result.is_null() {
            return Err("no such user in the passwd database".into());
        }
        return Ok(pwd.pw_gid);
    }
}

fn group_name(gid: libc::gid_t) -> Result<String, String> {
    let mut buf: Vec<c_char> = vec![0; 16 * 1024];
    loop {
        // SAFETY: an all-zero `group` is a valid value of this plain C struct.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as for getpwnam_r: valid pointers, true buffer length.
        let rc =
            unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < MAX_BUF {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(os_error("getgrgid_r", rc));
        }
        if result.is_null() || grp.gr_name.is_null() {
            // A gid without a name cannot match a configured group name.
            return Ok(gid.to_string());
        }
        // SAFETY: getgrgid_r succeeded, so gr_name points to a NUL-terminated
        // string inside `buf`, which is still alive.
        let name = unsafe { CStr::from_ptr(grp.gr_name) };
        return Ok(name.to_string_lossy().into_owned());
    }
}

impl Groups for SystemGroups {
    fn groups_of(&self, user: &str) -> Result<Vec<String>, String> {
        let cuser = CString::new(user).map_err(|_| "user name contains NUL".to_string())?;
        let gid = primary_gid(&cuser)?;
        let mut gids: Vec<libc::gid_t> = vec![0; 64];
        loop {
            let mut count =
                c_int::try_from(gids.len()).map_err(|_| "too many groups".to_string())?;
            // SAFETY: `gids` has room for `count` entries; getgrouplist writes
            // at most that many and updates `count`.
            let rc =
                unsafe { libc::getgrouplist(cuser.as_ptr(), gid, gids.as_mut_ptr(), &mut count) };
            let needed = usize::try_from(count).unwrap_or(0);
            if rc == -1 {
                if needed > gids.len() && needed <= MAX_GROUPS {
                    gids.resize(needed, 0);
                    continue;
                }
                return Err("getgrouplist failed".into());
            }
            gids.truncate(needed);
            break;
        }
        gids.into_iter().map(group_name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_in_group_root_and_strangers_are_refused() {
        let groups = SystemGroups.groups_of("root").unwrap();
        assert!(groups.iter().any(|g| g == "root"), "{groups:?}");
        assert!(SystemGroups.groups_of("no-such-user-planasonix").is_err());
    }
}
