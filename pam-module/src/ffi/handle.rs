//! The libpam handle behind the [`Pam`] trait: items, user, module data and
//! the application's conversation function.

use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use core::ffi::{c_char, c_int, c_void, CStr};
use pam_sys::{pam_conv, pam_handle_t, pam_message, pam_response};
use std::ffi::CString;
use zeroize::{Zeroize, Zeroizing};

/// Module data name marking "our auth step passed in this transaction".
const PASSED: &CStr = c"pam_planasonix.passed";

/// The value stored under [`PASSED`]: any non-null pointer; libpam never frees
/// data set without a cleanup function.
static PASSED_MARK: u8 = 1;

/// A libpam handle for the duration of one module call.
pub(crate) struct PamHandle {
    pamh: *mut pam_handle_t,
    silent: bool,
}

impl PamHandle {
    /// Wraps `pamh`; `None` if it is null.
    ///
    /// # Safety
    /// `pamh` must be null or a handle libpam passed to this module call, and
    /// the wrapper must not outlive that call.
    pub(crate) unsafe fn new(pamh: *mut pam_handle_t, flags: c_int) -> Option<PamHandle> {
        (!pamh.is_null()).then_some(PamHandle {
            pamh,
            silent: flags & pam_sys::PAM_SILENT != 0,
        })
    }

    fn check(rc: c_int) -> Result<(), PamError> {
        match PamCode::from_raw(rc) {
            PamCode::Success => Ok(()),
            code => Err(PamError(code)),
        }
    }

    /// A string item (PAM_SERVICE, PAM_RHOST), `None` if unset.
    fn string_item(&self, item_type: c_int) -> Result<Option<String>, PamError> {
        let mut item: *const c_void = std::ptr::null();
        // SAFETY: `self.pamh` is live (see `new`); `item` is a valid out-pointer.
        Self::check(unsafe { pam_sys::pam_get_item(self.pamh, item_type, &mut item) })?;
        if item.is_null() {
            return Ok(None);
        }
        // SAFETY: string items are NUL-terminated strings owned by libpam and
        // unchanged until the next pam_set_item, which we do not call.
        let text = unsafe { CStr::from_ptr(item.cast::<c_char>()) };
        let text = text.to_str().map_err(|_| PamError(PamCode::BadItem))?;
        Ok(Some(text.to_owned()))
    }

    /// One message to the application; the answer, if any, is copied into
    /// wiping memory and libpam's copy is wiped and freed.
    fn converse(&self, style: c_int, text: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PamError> {
        let conv_err = PamError(PamCode::ConvErr);
        let mut item: *const c_void = std::ptr::null();
        // SAFETY: `self.pamh` is live; `item` is a valid out-pointer.
        Self::check(unsafe { pam_sys::pam_get_item(self.pamh, pam_sys::PAM_CONV, &mut item) })?;
        if item.is_null() {
            return Err(conv_err);
        }
        // SAFETY: the PAM_CONV item is a `struct pam_conv` owned by libpam for
        // the life of the transaction.
        let conv: &pam_conv = unsafe { &*item.cast::<pam_conv>() };
        let Some(function) = conv.conv else {
            return Err(conv_err);
        };
        let text = CString::new(text.replace('\0', " ")).map_err(|_| conv_err)?;
        let message = pam_message {
            msg_style: style,
            msg: text.as_ptr(),
        };
        let mut messages: *const pam_message = &message;
        let mut responses: *mut pam_response = std::ptr::null_mut();
        // SAFETY: one message that lives across the call; the application's
        // function fills `responses` with a malloc'd array of one entry or
        // leaves it null, as the PAM conversation contract says.
        let rc = unsafe { function(1, &mut messages, &mut responses, conv.appdata_ptr) };
        let answer = if responses.is_null() {
            None
        } else {
            // SAFETY: non-null `responses` points to one `pam_response` we now own.
            let response = unsafe { &mut *responses };
            let answer = if response.resp.is_null() {
                None
            } else {
                // SAFETY: `resp` is a malloc'd NUL-terminated string we own.
                let len = unsafe { CStr::from_ptr(response.resp) }.to_bytes().len();
                // SAFETY: `len` bytes before the NUL belong to `resp`.
                let bytes =
                    unsafe { std::slice::from_raw_parts_mut(response.resp.cast::<u8>(), len) };
                let copy = Zeroizing::new(bytes.to_vec());
                bytes.zeroize();
                // SAFETY: `resp` was allocated with malloc by the application
                // and is not used after this.
                unsafe { libc::free(response.resp.cast::<c_void>()) };
                response.resp = std::ptr::null_mut();
                Some(copy)
            };
            // SAFETY: the array was allocated with malloc and is not used after this.
            unsafe { libc::free(responses.cast::<c_void>()) };
            answer
        };
        if rc != pam_sys::PAM_SUCCESS {
            return Err(PamError(PamCode::ConvErr));
        }
        Ok(answer)
    }

    fn prompt(&self, style: c_int, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.converse(style, prompt)?
            .ok_or(PamError(PamCode::ConvErr))
    }
}

impl Pam for PamHandle {
    fn user(&self) -> Result<String, PamError> {
        let mut user: *const c_char = std::ptr::null();
        // SAFETY: `self.pamh` is live; `user` is a valid out-pointer; a null
        // prompt lets libpam use its default.
        Self::check(unsafe { pam_sys::pam_get_user(self.pamh, &mut user, std::ptr::null()) })?;
        if user.is_null() {
            return Err(PamError(PamCode::UserUnknown));
        }
        // SAFETY: on success libpam returns its NUL-terminated PAM_USER string.
        let name = unsafe { CStr::from_ptr(user) };
        name.to_str()
            .map(str::to_owned)
            .map_err(|_| PamError(PamCode::UserUnknown))
    }

    fn service(&self) -> Result<String, PamError> {
        self.string_item(pam_sys::PAM_SERVICE)?
            .ok_or(PamError(PamCode::ServiceErr))
    }

    fn rhost(&self) -> Result<Option<String>, PamError> {
        Ok(self
            .string_item(pam_sys::PAM_RHOST)?
            .filter(|h| !h.is_empty()))
    }

    fn prompt_secret(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.prompt(pam_sys::PAM_PROMPT_ECHO_OFF, prompt)
    }

    fn prompt_visible(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.prompt(pam_sys::PAM_PROMPT_ECHO_ON, prompt)
    }

    fn info(&self, text: &str) -> Result<(), PamError> {
        if self.silent {
            return Ok(());
        }
        self.converse(pam_sys::PAM_TEXT_INFO, text).map(drop)
    }

    fn error(&self, text: &str) -> Result<(), PamError> {
        self.converse(pam_sys::PAM_ERROR_MSG, text).map(drop)
    }

    fn set_passed(&self) -> Result<(), PamError> {
        let mark = std::ptr::addr_of!(PASSED_MARK).cast_mut().cast::<c_void>();
        // SAFETY: `self.pamh` is live; the name is a static C string; the data
        // is a static that libpam only stores (no cleanup function).
        Self::check(unsafe { pam_sys::pam_set_data(self.pamh, PASSED.as_ptr(), mark, None) })
    }

    fn passed(&self) -> bool {
        let mut data: *const c_void = std::ptr::null();
        // SAFETY: `self.pamh` is live; `data` is a valid out-pointer.
        let rc = unsafe { pam_sys::pam_get_data(self.pamh, PASSED.as_ptr(), &mut data) };
        rc == pam_sys::PAM_SUCCESS && !data.is_null()
    }
}
