//! The native side of refsync: the `refsync` command, a desktop library in one SQLite file
//! (`refsync_client::store`) that imports, edits, exports, backs up and syncs with the service.
//!
//! Invariant: the decisions of a sync are core's (`refsync_core::sync`), and so are the
//! formats, queries and backup format; this crate only carries data between them and the
//! network, the disk and the terminal.

pub mod args;
pub mod commands;
pub mod context;
pub mod error;
pub mod output;
// The native client's parts, where the commands have always found them.
pub use refsync_client::{remote, store};
