//! The core's integration tests share the test kit's engine fixtures, by
//! path: `planasonix-testkit` depends on this crate, so depending on it here
//! would make a loop.
#[path = "../../../tests/kit/src/engine.rs"]
mod engine;
pub use engine::*;
