//! The native side of refsync: what the `refsync` command is built from.
//!
//! Invariant: the decisions of a sync are core's (`refsync_core::sync`); this crate only
//! carries data between them and the network or the disk.

pub mod remote;
