//! What the login flow needs from "the PAM handle", as a trait.
//!
//! The real implementation (`ffi::handle::PamHandle`) talks to libpam; unit
//! tests use a scripted fake. Nothing here is unsafe.

use crate::code::PamCode;
use zeroize::Zeroizing;

/// A libpam call or the conversation failed; the code says how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PamError(pub(crate) PamCode);

/// The handle of one PAM transaction, as the flow sees it.
pub(crate) trait Pam {
    /// The user being authenticated (libpam may prompt for it).
    fn user(&self) -> Result<String, PamError>;
    /// The PAM service name (`sshd`, `sudo`, ...).
    fn service(&self) -> Result<String, PamError>;
    /// The remote host, when the application set one.
    fn rhost(&self) -> Result<Option<String>, PamError>;
    /// Asks a question whose answer is not echoed; the answer is wiped on drop.
    fn prompt_secret(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError>;
    /// Asks a question whose answer is echoed (yes/no questions).
    fn prompt_visible(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError>;
    /// Tells the user something.
    fn info(&self, text: &str) -> Result<(), PamError>;
    /// Tells the user something went wrong.
    fn error(&self, text: &str) -> Result<(), PamError>;
    /// Remembers, for this transaction, that our auth step passed.
    fn set_passed(&self) -> Result<(), PamError>;
    /// Whether our auth step passed earlier in this same transaction.
    fn passed(&self) -> bool;
}
