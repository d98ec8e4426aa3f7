//! The browser's side of the sync service: core's [`refsync_core::sync::Remote`] over
//! gloo-net (`remote.rs`) and the account calls, and running core's engine over the
//! IndexedDB store (`run.rs`).

pub mod remote;
pub mod run;
