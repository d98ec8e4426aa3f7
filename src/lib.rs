//! refsync web app: an offline-first reference library in the browser (Leptos, CSR).
//!
//! Layout by feature under `features/`; all IndexedDB access is in `storage/`. On native
//! targets only the pure `worker_protocol` is built, so that the workspace's native tests
//! (which include the end-to-end tests under `tests/`) never compile browser dependencies.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod features;
#[cfg(target_arch = "wasm32")]
mod later;
#[cfg(target_arch = "wasm32")]
pub mod storage;
#[cfg(target_arch = "wasm32")]
pub mod sync;

pub mod worker_protocol;

#[cfg(target_arch = "wasm32")]
pub use app::run;
