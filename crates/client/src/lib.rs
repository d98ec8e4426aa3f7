//! What a native refsync client needs, whatever its interface: the sync service over HTTP
//! ([`remote`], core's `Remote` and the account calls) and a library in one SQLite file
//! ([`store`], core's `LocalStore` and `files` traits). Used by the `refsync` CLI, the
//! service's tests and the benchmarks; the decisions stay in `refsync_core`.
//!
//! Invariant: no rule lives here; this crate only carries data between core and the network
//! or the disk.

pub mod remote;
pub mod store;
