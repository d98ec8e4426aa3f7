//! The browser's side of the sync service: core's [`refsync_core::sync::Remote`] over
//! gloo-net (`remote.rs`) and the account calls, attachments' bytes (`files.rs`), and one
//! whole sync over the IndexedDB store (`run.rs`).

pub mod files;
pub mod remote;
pub mod run;
