//! Everything that touches C: the PAM entry points and the handle with its
//! conversation. Every `unsafe` block says why it is sound; nothing outside
//! this folder uses `unsafe`, and nothing outside it imports it: the entry
//! points hand a safe [`PamHandle`] to [`crate::module::run`].
#![allow(unsafe_code)]

mod handle;

use crate::code::PamCode;
use crate::module::{run, Stage};
use core::ffi::{c_char, c_int, CStr};
use handle::PamHandle;
use pam_sys::pam_handle_t;
use std::panic::{catch_unwind, AssertUnwindSafe};
#[cfg(not(test))]
use std::sync::Once;

#[cfg(not(test))]
static QUIET_PANICS: Once = Once::new();

/// Runs `f`; a panic becomes PAM_AUTHINFO_UNAVAIL (fail closed), logged to
/// syslog (through the module's one writer) instead of the host's stderr.
fn guard(f: impl FnOnce() -> PamCode) -> c_int {
    // Unit tests keep the default hook so their own failures stay readable.
    #[cfg(not(test))]
    QUIET_PANICS.call_once(|| {
        // This copy of std is private to the module, so the hook covers only
        // panics in the module's own code and threads.
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            crate::module::report_panic(&place);
        }));
    });
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or(PamCode::AuthInfoUnavail)
        .to_raw()
}

/// The module arguments as byte strings.
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated strings (libpam's promise)
/// that outlive the returned slices.
unsafe fn args<'a>(argc: c_int, argv: *const *const c_char) -> Vec<&'a [u8]> {
    let count = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: libpam passes `argc` entries in `argv`; `i < argc`.
        let arg = unsafe { *argv.add(i) };
        if !arg.is_null() {
            // SAFETY: each entry is a NUL-terminated string owned by libpam for
            // the duration of this call.
            out.push(unsafe { CStr::from_ptr(arg) }.to_bytes());
        }
    }
    out
}

/// One entry point: wraps the handle, reads the arguments, runs the stage.
///
/// # Safety
/// `pamh`, `argc` and `argv` as libpam passes them to a module.
unsafe fn entry(
    stage: Stage,
    pamh: *mut pam_handle_t,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: libpam hands us a live handle for the duration of this call.
        let Some(handle) = (unsafe { PamHandle::new(pamh, flags) }) else {
            return PamCode::ServiceErr;
        };
        // SAFETY: argc/argv come straight from libpam and outlive this call.
        let args = unsafe { args(argc, argv) };
        run(stage, &handle, args)
    })
}

/// PAM auth stage: asks for a second factor when the policy requires one.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut pam_handle_t,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from libpam.
    unsafe { entry(Stage::Auth, pamh, flags, argc, argv) }
}

/// PAM account stage: refuses logins that needed a second factor but skipped it.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut pam_handle_t,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from libpam.
    unsafe { entry(Stage::Account, pamh, flags, argc, argv) }
}

/// PAM credentials: this module holds none, so there is nothing to set.
///
/// # Safety
/// Called by libpam; the arguments are not used.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_setcred(
    _pamh: *mut pam_handle_t,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| PamCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_fails_closed() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, pam_sys::PAM_AUTHINFO_UNAVAIL);
        assert_eq!(guard(|| PamCode::Ignore), pam_sys::PAM_IGNORE);
    }

    #[test]
    fn a_null_handle_is_a_service_error() {
        // SAFETY: a null handle and no arguments; the module must refuse them.
        let code = unsafe { pam_sm_authenticate(std::ptr::null_mut(), 0, 0, std::ptr::null()) };
        assert_eq!(code, pam_sys::PAM_SERVICE_ERR);
    }
}
