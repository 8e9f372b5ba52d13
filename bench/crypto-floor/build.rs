//! The bindings are generated from wit/: rebuild when it changes.

fn main() {
    println!("cargo:rerun-if-changed=wit");
}
