//! Containers for secret material: wiped on drop, redacted in `Debug`.
//!
//! Nothing in these types implements `Display` or `Serialize`; reaching the bytes
//! takes an explicit `expose_*` call that is easy to find in review.

use core::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Secret bytes (a TOTP key, a seal key, a plaintext code).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when this value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.0.len())
    }
}

/// A secret string shown to a person once (recovery code, otpauth URI, QR).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `text`; it is wiped when this value drops.
    pub fn new(text: String) -> Self {
        SecretString(Zeroizing::new(text))
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Consumes the value, returning the text; the caller now owns its wiping.
    pub fn into_zeroizing(self) -> Zeroizing<String> {
        self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let b = SecretBytes::new(b"hunter2-secret".to_vec());
        let s = SecretString::new("JBSWY3DPEHPK3PXP".into());
        let shown = format!("{b:?} {s:?} {b:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("JBSWY3DP"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}
