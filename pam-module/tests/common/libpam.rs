//! A minimal libpam *application* for the tests: pam_start_confdir with a
//! private service directory, a scripted conversation, and the module's own
//! entry point looked up with dlsym when a test needs its exact return code.
//!
//! This is the only unsafe code outside `src/ffi/`, and it is test-only.
#![allow(unsafe_code)]

use core::ffi::{c_char, c_int, c_void, CStr};
use pam_sys::{pam_conv, pam_handle_t, pam_message, pam_response};
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

/// Message styles, as a test sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// An echo-off prompt.
    Secret(String),
    /// An echo-on prompt.
    Visible(String),
    /// An info message.
    Info(String),
    /// An error message.
    Error(String),
}

impl Shown {
    pub fn text(&self) -> &str {
        match self {
            Shown::Secret(t) | Shown::Visible(t) | Shown::Info(t) | Shown::Error(t) => t,
        }
    }
}

/// Answers prompts, seeing everything shown so far; `None` fails the conversation.
pub type Responder = Box<dyn FnMut(&[Shown]) -> Option<String> + Send>;

struct Conversation {
    shown: Vec<Shown>,
    responder: Responder,
}

/// One PAM transaction.
pub struct Transaction {
    pamh: *mut pam_handle_t,
    conversation: Box<Mutex<Conversation>>,
    last: c_int,
}

unsafe extern "C" fn converse(
    num_msg: c_int,
    msg: *mut *const pam_message,
    resp: *mut *mut pam_response,
    appdata: *mut c_void,
) -> c_int {
    let run = || -> c_int {
        let n = usize::try_from(num_msg).unwrap_or(0);
        if n == 0 || msg.is_null() || resp.is_null() || appdata.is_null() {
            return pam_sys::PAM_CONV_ERR;
        }
        // SAFETY: appdata is the `Mutex<Conversation>` boxed in `Transaction`,
        // alive for the whole transaction.
        let conv = unsafe { &*appdata.cast::<Mutex<Conversation>>() };
        let Ok(mut conv) = conv.lock() else {
            return pam_sys::PAM_CONV_ERR;
        };
        // SAFETY: calloc of `n` zeroed responses; freed by the module.
        let responses =
            unsafe { libc::calloc(n, std::mem::size_of::<pam_response>()) }.cast::<pam_response>();
        if responses.is_null() {
            return pam_sys::PAM_BUF_ERR;
        }
        for i in 0..n {
            // SAFETY: Linux-PAM passes an array of `n` message pointers.
            let m = unsafe { &**msg.add(i) };
            // SAFETY: each message is a NUL-terminated string.
            let text = unsafe { CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned();
            let shown = match m.msg_style {
                pam_sys::PAM_PROMPT_ECHO_OFF => Shown::Secret(text),
                pam_sys::PAM_PROMPT_ECHO_ON => Shown::Visible(text),
                pam_sys::PAM_ERROR_MSG => Shown::Error(text),
                _ => Shown::Info(text),
            };
            let prompt = matches!(shown, Shown::Secret(_) | Shown::Visible(_));
            conv.shown.push(shown);
            if prompt {
                let shown = conv.shown.clone();
                let answer = (conv.responder)(&shown);
                let Some(answer) = answer.and_then(|a| CString::new(a).ok()) else {
                    for j in 0..i {
                        // SAFETY: entries before `i` hold strdup'd strings or null.
                        unsafe { libc::free((*responses.add(j)).resp.cast::<c_void>()) };
                    }
                    // SAFETY: allocated above with calloc.
                    unsafe { libc::free(responses.cast::<c_void>()) };
                    return pam_sys::PAM_CONV_ERR;
                };
                // SAFETY: `i < n`; strdup copies the answer into malloc'd memory.
                unsafe { (*responses.add(i)).resp = libc::strdup(answer.as_ptr()) };
            }
        }
        // SAFETY: `resp` is the module's out-pointer.
        unsafe { *resp = responses };
        pam_sys::PAM_SUCCESS
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or(pam_sys::PAM_CONV_ERR)
}

impl Transaction {
    /// pam_start_confdir(service, user) with service files from `confdir`.
    pub fn start(confdir: &Path, service: &str, user: &str, responder: Responder) -> Transaction {
        let conversation = Box::new(Mutex::new(Conversation {
            shown: Vec::new(),
            responder,
        }));
        let conv = pam_conv {
            conv: Some(converse),
            appdata_ptr: std::ptr::addr_of!(*conversation)
                .cast_mut()
                .cast::<c_void>(),
        };
        let service = CString::new(service).unwrap();
        let user = CString::new(user).unwrap();
        let dir = CString::new(confdir.to_str().unwrap()).unwrap();
        let mut pamh: *mut pam_handle_t = std::ptr::null_mut();
        // SAFETY: all strings are NUL-terminated and outlive the call; libpam
        // copies the conversation struct; `pamh` is a valid out-pointer.
        let rc = unsafe {
            pam_sys::pam_start_confdir(
                service.as_ptr(),
                user.as_ptr(),
                &conv,
                dir.as_ptr(),
                &mut pamh,
            )
        };
        assert_eq!(rc, pam_sys::PAM_SUCCESS, "pam_start_confdir failed");
        Transaction {
            pamh,
            conversation,
            last: rc,
        }
    }

    /// Sets PAM_RHOST.
    pub fn set_rhost(&mut self, host: &str) {
        let host = CString::new(host).unwrap();
        // SAFETY: live handle; libpam copies the string.
        let rc = unsafe {
            pam_sys::pam_set_item(
                self.pamh,
                pam_sys::PAM_RHOST,
                host.as_ptr().cast::<c_void>(),
            )
        };
        assert_eq!(rc, pam_sys::PAM_SUCCESS);
    }

    /// pam_authenticate.
    pub fn authenticate(&mut self) -> c_int {
        // SAFETY: live handle.
        self.last = unsafe { pam_sys::pam_authenticate(self.pamh, 0) };
        self.last
    }

    /// pam_acct_mgmt.
    pub fn acct_mgmt(&mut self) -> c_int {
        // SAFETY: live handle.
        self.last = unsafe { pam_sys::pam_acct_mgmt(self.pamh, 0) };
        self.last
    }

    /// pam_setcred.
    pub fn setcred(&mut self) -> c_int {
        // SAFETY: live handle.
        self.last = unsafe { pam_sys::pam_setcred(self.pamh, pam_sys::PAM_ESTABLISH_CRED) };
        self.last
    }

    /// Calls the module's `pam_sm_authenticate` (from `so`, loaded by libpam
    /// rules: dlopen) directly on this handle, for its exact return code
    /// (libpam folds PAM_IGNORE into the stack's verdict).
    pub fn module_authenticate(&mut self, so: &Path, args: &[String]) -> c_int {
        type Entry =
            unsafe extern "C" fn(*mut pam_handle_t, c_int, c_int, *const *const c_char) -> c_int;
        let path = CString::new(so.to_str().unwrap()).unwrap();
        // SAFETY: dlopen of our own module; it is linked -z nodelete and its
        // initialisers have no preconditions.
        let lib = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
        assert!(!lib.is_null(), "dlopen {} failed", so.display());
        // SAFETY: symbol lookup in a live library handle.
        let sym = unsafe { libc::dlsym(lib, c"pam_sm_authenticate".as_ptr()) };
        assert!(!sym.is_null(), "pam_sm_authenticate not exported");
        // SAFETY: the symbol is the module's entry point with exactly this signature.
        let entry: Entry = unsafe { std::mem::transmute::<*mut c_void, Entry>(sym) };
        let args: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()).unwrap())
            .collect();
        let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: live handle, argv of `argc` valid strings that outlive the call.
        let rc = unsafe {
            entry(
                self.pamh,
                0,
                c_int::try_from(argv.len()).unwrap(),
                argv.as_ptr(),
            )
        };
        // SAFETY: balances the dlopen above (the library stays: nodelete).
        unsafe { libc::dlclose(lib) };
        self.last = rc;
        rc
    }

    /// Everything the module showed, in order.
    pub fn shown(&self) -> Vec<Shown> {
        self.conversation.lock().unwrap().shown.clone()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // SAFETY: the handle is live and not used after pam_end.
        unsafe { pam_sys::pam_end(self.pamh, self.last) };
    }
}

/// libpam's name for a return code, for assertion messages.
pub fn name(code: c_int) -> String {
    // SAFETY: pam_strerror accepts a null handle on Linux-PAM and returns a static string.
    let text = unsafe { CStr::from_ptr(pam_sys::pam_strerror(std::ptr::null_mut(), code)) };
    format!("{code} ({})", text.to_string_lossy())
}
