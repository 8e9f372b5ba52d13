//! PAM return codes: the one place where they map to and from libpam's integers.

use core::ffi::c_int;

/// The return codes this module gives libpam (and reads back from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PamCode {
    /// The second factor passed (or is not needed: exemption, grace, recent MFA).
    Success,
    /// The user is outside the policy's scope; let the rest of the stack decide.
    Ignore,
    /// A wrong or replayed code, or a login the policy refuses.
    AuthErr,
    /// Locked out after too many wrong codes.
    MaxTries,
    /// Policy, seal key, store or module arguments unusable: fail closed.
    AuthInfoUnavail,
    /// Account stage: MFA required but this login did not pass it.
    PermDenied,
    /// The user name cannot be one of ours.
    UserUnknown,
    /// The conversation with the application failed.
    ConvErr,
    /// libpam could not allocate.
    BufErr,
    /// Something in libpam or the system failed.
    SystemErr,
    /// The module was called wrongly (e.g. a null handle).
    ServiceErr,
    /// The requested data or item does not exist.
    NoModuleData,
    /// An item type libpam does not know.
    BadItem,
}

impl PamCode {
    /// Every variant, for the round-trip test.
    #[cfg(test)]
    pub(crate) const ALL: [PamCode; 13] = [
        PamCode::Success,
        PamCode::Ignore,
        PamCode::AuthErr,
        PamCode::MaxTries,
        PamCode::AuthInfoUnavail,
        PamCode::PermDenied,
        PamCode::UserUnknown,
        PamCode::ConvErr,
        PamCode::BufErr,
        PamCode::SystemErr,
        PamCode::ServiceErr,
        PamCode::NoModuleData,
        PamCode::BadItem,
    ];

    /// The integer libpam expects.
    pub(crate) fn to_raw(self) -> c_int {
        match self {
            PamCode::Success => pam_sys::PAM_SUCCESS,
            PamCode::Ignore => pam_sys::PAM_IGNORE,
            PamCode::AuthErr => pam_sys::PAM_AUTH_ERR,
            PamCode::MaxTries => pam_sys::PAM_MAXTRIES,
            PamCode::AuthInfoUnavail => pam_sys::PAM_AUTHINFO_UNAVAIL,
            PamCode::PermDenied => pam_sys::PAM_PERM_DENIED,
            PamCode::UserUnknown => pam_sys::PAM_USER_UNKNOWN,
            PamCode::ConvErr => pam_sys::PAM_CONV_ERR,
            PamCode::BufErr => pam_sys::PAM_BUF_ERR,
            PamCode::SystemErr => pam_sys::PAM_SYSTEM_ERR,
            PamCode::ServiceErr => pam_sys::PAM_SERVICE_ERR,
            PamCode::NoModuleData => pam_sys::PAM_NO_MODULE_DATA,
            PamCode::BadItem => pam_sys::PAM_BAD_ITEM,
        }
    }

    /// Reads a code libpam returned; codes this module never handles become
    /// `SystemErr` (the caller fails closed either way).
    pub(crate) fn from_raw(raw: c_int) -> PamCode {
        match raw {
            pam_sys::PAM_SUCCESS => PamCode::Success,
            pam_sys::PAM_IGNORE => PamCode::Ignore,
            pam_sys::PAM_AUTH_ERR => PamCode::AuthErr,
            pam_sys::PAM_MAXTRIES => PamCode::MaxTries,
            pam_sys::PAM_AUTHINFO_UNAVAIL => PamCode::AuthInfoUnavail,
            pam_sys::PAM_PERM_DENIED => PamCode::PermDenied,
            pam_sys::PAM_USER_UNKNOWN => PamCode::UserUnknown,
            pam_sys::PAM_CONV_ERR => PamCode::ConvErr,
            pam_sys::PAM_BUF_ERR => PamCode::BufErr,
            pam_sys::PAM_SYSTEM_ERR => PamCode::SystemErr,
            pam_sys::PAM_SERVICE_ERR => PamCode::ServiceErr,
            pam_sys::PAM_NO_MODULE_DATA => PamCode::NoModuleData,
            pam_sys::PAM_BAD_ITEM => PamCode::BadItem,
            _ => PamCode::SystemErr,
        }
    }
}

impl core::fmt::Display for PamCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PamCode::Success => "PAM_SUCCESS",
            PamCode::Ignore => "PAM_IGNORE",
            PamCode::AuthErr => "PAM_AUTH_ERR",
            PamCode::MaxTries => "PAM_MAXTRIES",
            PamCode::AuthInfoUnavail => "PAM_AUTHINFO_UNAVAIL",
            PamCode::PermDenied => "PAM_PERM_DENIED",
            PamCode::UserUnknown => "PAM_USER_UNKNOWN",
            PamCode::ConvErr => "PAM_CONV_ERR",
            PamCode::BufErr => "PAM_BUF_ERR",
            PamCode::SystemErr => "PAM_SYSTEM_ERR",
            PamCode::ServiceErr => "PAM_SERVICE_ERR",
            PamCode::NoModuleData => "PAM_NO_MODULE_DATA",
            PamCode::BadItem => "PAM_BAD_ITEM",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PamCode;

    #[test]
    fn every_code_round_trips_through_libpam_integers() {
        let mut seen = std::collections::BTreeSet::new();
        for code in PamCode::ALL {
            assert_eq!(PamCode::from_raw(code.to_raw()), code, "{code}");
            assert!(seen.insert(code.to_raw()), "{code} shares its integer");
        }
    }

    #[test]
    fn documented_values_and_unknown_codes_fail_closed() {
        assert_eq!(PamCode::Success.to_raw(), 0);
        assert_eq!(PamCode::AuthErr.to_raw(), 7);
        assert_eq!(PamCode::AuthInfoUnavail.to_raw(), 9);
        assert_eq!(PamCode::MaxTries.to_raw(), 11);
        assert_eq!(PamCode::Ignore.to_raw(), 25);
        assert_eq!(PamCode::from_raw(9999), PamCode::SystemErr);
        assert_ne!(PamCode::from_raw(pam_sys::PAM_TRY_AGAIN), PamCode::Success);
    }
}
