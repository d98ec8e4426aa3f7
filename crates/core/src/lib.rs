//! refsync core: the part of refsync that both the browser and the native side run.
//!
//! Invariants: this crate does no I/O and knows no runtime (no tokio, sqlx, web-sys or leptos),
//! so the same code builds for `wasm32-unknown-unknown` and for the host. Anything that needs
//! the clock or randomness takes it as an argument.

pub mod backup;
pub mod edit;
pub mod formats;
pub mod key;
pub mod model;
pub mod protocol;
pub mod query;
pub mod sample;
pub mod sort;
pub mod sync;
pub mod zip;

pub use key::Key;
pub use model::*;
