//! The libpam handle behind the [`Pam`] trait: items, user, module data and
//! the application's conversation function.

use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use core::ffi::{c_char, c_int, c_void, CStr};
use pam_sys::{pam_conv, pam_handle_t, pam_message, pam_response};
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

    /// One message to the application through its conversation function.
    fn converse(&self, style: c_int, text: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PamError> {
        let mut item: *const c_void = std::ptr::null();
        // SAFETY: `self.pamh` is live; `item` is a valid out-pointer.
        Self::check(unsafe { pam_sys::pam_get_item(self.pamh, pam_sys::PAM_CONV, &mut item) })?;
        if item.is_null() {
            return Err(PamError(PamCode::ConvErr));
        }
        // SAFETY: the PAM_CONV item is a `struct pam_conv` owned by libpam for
        // the life of the transaction.
        let conv: &pam_conv = unsafe { &*item.cast::<pam_conv>() };
        // SAFETY: it is the application's conversation, which keeps the PAM
        // contract (see `converse_with`).
        unsafe { converse_with(conv, style, text) }
    }

    fn prompt(&self, style: c_int, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.converse(style, prompt)?
            .ok_or(PamError(PamCode::ConvErr))
    }
}

/// Sends one message through `conv`; the answer, if any, is copied into
/// wiping memory and the application's copy is wiped and freed
/// ([`take_reply`]).
///
/// # Safety
/// `conv.conv`, if set, must keep the PAM conversation contract: called with
/// one message, it leaves `*resp` null or points it to a malloc'd array of one
/// `pam_response` whose `resp` is null or a malloc'd NUL-terminated string,
/// all of it then the caller's.
unsafe fn converse_with(
    conv: &pam_conv,
    style: c_int,
    text: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, PamError> {
    let conv_err = PamError(PamCode::ConvErr);
    let Some(function) = conv.conv else {
        return Err(conv_err);
    };
    // What the user is shown may be a TOTP key or recovery codes: the
    // NUL-terminated copy libpam reads lives in wiping memory, sized once so
    // it never moves (a reallocation would leave an unwiped copy behind).
    let mut text_z = Zeroizing::new(Vec::with_capacity(text.len() + 1));
    text_z.extend(text.bytes().map(|b| if b == 0 { b' ' } else { b }));
    text_z.push(0);
    let message = pam_message {
        msg_style: style,
        msg: text_z.as_ptr().cast::<c_char>(),
    };
    let mut messages: *const pam_message = &message;
    let mut responses: *mut pam_response = std::ptr::null_mut();
    // SAFETY: one message that lives across the call; by this function's
    // contract the application's function fills `responses` as PAM says.
    let rc = unsafe { function(1, &mut messages, &mut responses, conv.appdata_ptr) };
    // SAFETY: `responses` is null or what the contract says, and ours now;
    // it is not used after this.
    let answer = unsafe { take_reply(responses) };
    if rc != pam_sys::PAM_SUCCESS {
        return Err(conv_err);
    }
    Ok(answer)
}

/// Takes the answer out of the reply to one message: copies it into wiping
/// memory, wipes the application's copy, and frees it and the array.
///
/// # Safety
/// `responses` must be null or a malloc'd array of (at least) one
/// `pam_response` whose `resp` is null or a malloc'd NUL-terminated string;
/// the caller owns both and uses neither after this.
unsafe fn take_reply(responses: *mut pam_response) -> Option<Zeroizing<Vec<u8>>> {
    if responses.is_null() {
        return None;
    }
    // SAFETY: non-null `responses` points to one `pam_response` we own.
    let response = unsafe { &mut *responses };
    let answer = if response.resp.is_null() {
        None
    } else {
        // SAFETY: `resp` is a malloc'd NUL-terminated string we own.
        let len = unsafe { CStr::from_ptr(response.resp) }.to_bytes().len();
        // SAFETY: `len` bytes before the NUL belong to `resp`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(response.resp.cast::<u8>(), len) };
        let copy = Zeroizing::new(bytes.to_vec());
        bytes.zeroize();
        // SAFETY: `resp` was allocated with malloc and is not used after this.
        unsafe { libc::free(response.resp.cast::<c_void>()) };
        response.resp = std::ptr::null_mut();
        Some(copy)
    };
    // SAFETY: the array was allocated with malloc and is not used after this.
    unsafe { libc::free(responses.cast::<c_void>()) };
    answer
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

/// The conversation's memory handling without libpam: replies built the way
/// an application's conversation function builds them (`misc_conv`,
/// pam_wrapper: a calloc'd array, a malloc'd string), handed to the module's
/// own freeing code. Runs under Miri too
/// (`cargo +nightly miri test -p pam_planasonix ffi::handle`), whose leak and
/// use-after-free checks then cover it: nothing here calls into libpam.
#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    /// A malloc'd NUL-terminated copy of `text`.
    fn malloc_string(text: &[u8]) -> *mut c_char {
        // SAFETY: a plain allocation of `len + 1` bytes.
        let s = unsafe { libc::malloc(text.len() + 1) }.cast::<u8>();
        assert!(!s.is_null());
        // SAFETY: `s` holds `len + 1` bytes; the source does not overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), s, text.len());
            s.add(text.len()).write(0);
        }
        s.cast::<c_char>()
    }

    /// A calloc'd reply array of one entry holding `answer`.
    fn reply(answer: Option<&[u8]>) -> *mut pam_response {
        // SAFETY: a zeroed allocation for one `pam_response` (all-zero is a
        // valid value: null `resp`, code 0).
        let array = unsafe { libc::calloc(1, size_of::<pam_response>()) }.cast::<pam_response>();
        assert!(!array.is_null());
        if let Some(answer) = answer {
            // SAFETY: `array` points to one initialised `pam_response`.
            unsafe { (*array).resp = malloc_string(answer) };
        }
        array
    }

    #[test]
    fn an_answer_is_copied_and_the_reply_freed() {
        // SAFETY: built as the contract says, and not used after.
        let answer = unsafe { take_reply(reply(Some(b"123456"))) };
        assert_eq!(answer.as_deref().map(Vec::as_slice), Some(&b"123456"[..]));
        // SAFETY: likewise: an empty answer is an answer.
        let empty = unsafe { take_reply(reply(Some(b""))) };
        assert_eq!(empty.as_deref().map(Vec::as_slice), Some(&b""[..]));
    }

    #[test]
    fn a_reply_without_text_or_no_reply_is_no_answer() {
        // SAFETY: an array whose entry has a null `resp`, not used after.
        assert!(unsafe { take_reply(reply(None)) }.is_none());
        // SAFETY: a null array.
        assert!(unsafe { take_reply(std::ptr::null_mut()) }.is_none());
    }

    /// What the fake application saw, and what it answers.
    struct App {
        answer: Option<&'static [u8]>,
        rc: c_int,
        seen: Vec<(c_int, c_int, Vec<u8>)>,
    }

    /// A conversation function as an application writes one: it allocates
    /// the reply (even when it then fails, as some do) and hands it over.
    unsafe extern "C" fn app_conv(
        num_msg: c_int,
        msg: *mut *const pam_message,
        resp: *mut *mut pam_response,
        appdata_ptr: *mut c_void,
    ) -> c_int {
        // SAFETY: `appdata_ptr` is the test's `App`, alive across the call
        // and not otherwise borrowed during it.
        let app = unsafe { &mut *appdata_ptr.cast::<App>() };
        // SAFETY: the module passes one message that lives across the call.
        let message = unsafe { &**msg };
        // SAFETY: its text is a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(message.msg) }.to_bytes().to_vec();
        app.seen.push((num_msg, message.msg_style, text));
        // SAFETY: `resp` is the module's valid out-pointer.
        unsafe { *resp = reply(app.answer) };
        app.rc
    }

    fn converse_with_app(
        app: &mut App,
        style: c_int,
        text: &str,
    ) -> Result<Option<Vec<u8>>, PamError> {
        let conv = pam_conv {
            conv: Some(app_conv),
            appdata_ptr: std::ptr::from_mut(app).cast::<c_void>(),
        };
        // SAFETY: `app_conv` keeps the contract.
        let answer = unsafe { converse_with(&conv, style, text) }?;
        Ok(answer.map(|a| a.to_vec()))
    }

    #[test]
    fn a_conversation_answer_reaches_the_module_and_its_memory_is_freed() {
        let mut app = App {
            answer: Some(b"7KQ2M-XW9PD"),
            rc: pam_sys::PAM_SUCCESS,
            seen: Vec::new(),
        };
        let answer = converse_with_app(&mut app, pam_sys::PAM_PROMPT_ECHO_OFF, "Code:\0 ");
        assert_eq!(answer, Ok(Some(b"7KQ2M-XW9PD".to_vec())));
        assert_eq!(
            app.seen,
            [(1, pam_sys::PAM_PROMPT_ECHO_OFF, b"Code:  ".to_vec())],
            "one message, its NUL replaced"
        );
    }

    #[test]
    fn a_failed_conversation_is_conv_err_and_its_reply_is_still_freed() {
        let mut app = App {
            answer: Some(b"leftover"),
            rc: pam_sys::PAM_CONV_ERR,
            seen: Vec::new(),
        };
        let answer = converse_with_app(&mut app, pam_sys::PAM_TEXT_INFO, "hello");
        assert_eq!(answer, Err(PamError(PamCode::ConvErr)));
        let none = pam_conv {
            conv: None,
            appdata_ptr: std::ptr::null_mut(),
        };
        // SAFETY: no function at all: refused before any call.
        let answer = unsafe { converse_with(&none, pam_sys::PAM_TEXT_INFO, "hello") };
        assert_eq!(answer, Err(PamError(PamCode::ConvErr)));
    }
}
