//! The bindings are generated from the WIT package: rebuild when it changes
//! (the `generate!` macro does not tell cargo it read those files).

fn main() {
    println!("cargo:rerun-if-changed=../wit");
}
