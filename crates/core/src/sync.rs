//! The sync engine (docs/sync.md): three-way merges of one object ([`merge`]), the
//! plan of what to do with the service's copy of it ([`plan`]), and the engine that pushes,
//! pulls and carries plans out over a [`LocalStore`] and a [`Remote`] ([`engine`]), with an
//! in-memory store for tests ([`memory`]), and the side-by-side view of a conflict that a
//! person settles ([`compare`]), what a sync says to a person ([`words`]), the rules every
//! store follows when it carries out a change or a settlement ([`apply`]), and the loop that
//! moves attachments' bytes ([`files`]); which library a store holds ([`libraries`]).
//!
//! Invariant: merge and plan do no I/O and keep no state; every decision is theirs, so the web
//! app and the CLI decide the same way, and the engine only moves data.

pub mod apply;
pub mod compare;
pub mod engine;
pub mod files;
pub mod libraries;
pub mod memory;
pub mod merge;
pub mod plan;
pub mod words;

pub use engine::{
    reset, sync, sync_with_progress, ErrorKind, LinkState, LocalStore, Remote, StoreChange,
    SyncError, SyncOutcome,
};
pub use libraries::LibraryId;
pub use memory::{MemoryRemote, MemoryService, MemoryStore};
pub use merge::{
    merge_attachment, merge_group, merge_group_set, merge_reference, rebase, ReferenceMerge,
};
pub use plan::{plan, Action, ConflictReason, ConflictRecord, LocalObject, Resolution};

/// Run a future of the in-memory store and service to its end: they never wait, so one poll
/// finishes it (a future that would wait is a test's bug, and panics).
#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("waited"),
    }
}
