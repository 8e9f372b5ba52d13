//! Other TOTP tools' files, parsed: pure functions from the text to what it
//! holds, no I/O (the `import` command reads the files and calls the engine).

pub mod google_authenticator;
pub mod pam_oath;

/// Shortest secret taken over: 80 bits, what google-authenticator writes.
pub const MIN_IMPORTED_SECRET: usize = 10;
