//! The sync engine's pure parts (DESIGN.md section 4): three-way merges of one object
//! ([`merge`]) and the plan of what to do with the service's copy of it ([`plan`]). The engine
//! that carries plans out over a `LocalStore` and a `Remote` builds on these.
//!
//! Invariant: nothing here does I/O or keeps state; every function answers from its
//! arguments alone, so the web app and the CLI decide the same way.

pub mod merge;
pub mod plan;

pub use merge::{merge_attachment, merge_group, merge_group_set, merge_reference, ReferenceMerge};
pub use plan::{plan, resolve, Action, ConflictReason, ConflictRecord, LocalObject, Resolution};
