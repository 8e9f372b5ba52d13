//! libpam dlcloses modules at pam_end. sled leaves worker threads running code
//! from this library, so it must never be unloaded: link with `-z nodelete`.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    println!("cargo:rerun-if-changed=build.rs");
}
