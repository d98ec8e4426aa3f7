//! What an open [`super::Store`] keeps in memory besides the database: one value, whose parts
//! each live for a stated span and are only changed through the transitions below.
//!
//! Life cycle:
//! - **opened**: everything empty; the pack index is read from the database on first use.
//! - **a person writes** ([`SyncState::next_mark`]): a fresh token for the dirty marks.
//! - **a sync round begins** ([`SyncState::begin_round`], at the engine's `link`): the listing
//!   of keys and the reads of the last round are forgotten.
//! - **the engine reads** ([`SyncState::record_reads`]): what each object's read found (its
//!   mark, whether it has a base) is kept per object, whatever else the engine reads or writes
//!   in between; a large page also lists the keys of each store once per round.
//! - **a page is written** ([`SyncState::take_reads`]): the reads of exactly the objects it
//!   writes are taken (so the order of the engine's calls does not matter), and, once
//!   committed, what it wrote is offered to the window ([`SyncState::written`]).
//! - **a page fails** ([`SyncState::rolled_back`]): the pack index and the key listing, which
//!   already hold what the failed write did, are dropped and read again.
//! - **the window catches up** ([`SyncState::take_synced`]).

use super::packs::{OwnKeys, PackIndex};
use super::sync_store::Seen;
use super::Write;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A sync that changes more objects than this has the window read everything again instead of
/// replaying the changes. Replaying is cheaper at any size (the window rebuilds its index once
/// for a long list); the bound only keeps a sync's copies from growing without end.
pub const REPLAY_AT_MOST: usize = 250_000;

#[derive(Debug)]
pub struct SyncState {
    /// The last token put in a dirty mark by a person's write.
    marks: Cell<u64>,
    /// What the engine's reads found of each object since it was last written by a page.
    reads: RefCell<HashMap<String, Seen>>,
    /// What syncs wrote since the window last asked; `None` after a conflict or past
    /// [`REPLAY_AT_MOST`] (the window then reads everything again).
    synced: RefCell<Option<Vec<Write>>>,
    /// Keys of each object store, listed once per round of large pages.
    pub(crate) object_keys: RefCell<Option<OwnKeys>>,
    /// Which pack holds each packed object (`packs.rs`), brought up to date per transaction.
    pub(crate) packs: RefCell<PackIndex>,
}

impl Default for SyncState {
    fn default() -> SyncState {
        SyncState {
            marks: Cell::new(0),
            reads: RefCell::new(HashMap::new()),
            synced: RefCell::new(Some(Vec::new())),
            object_keys: RefCell::new(None),
            packs: RefCell::new(PackIndex::default()),
        }
    }
}

impl SyncState {
    /// A fresh token for the dirty marks of a person's write.
    pub fn next_mark(&self) -> u64 {
        let n = self.marks.get() + 1;
        self.marks.set(n);
        n
    }

    pub fn begin_round(&self) {
        self.object_keys.replace(None);
        self.reads.borrow_mut().clear();
    }

    pub fn record_reads(&self, reads: impl IntoIterator<Item = (String, Seen)>) {
        self.reads.borrow_mut().extend(reads);
    }

    /// The reads of `ids` (those never read are absent), forgotten here.
    pub fn take_reads<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> HashMap<String, Seen> {
        let mut reads = self.reads.borrow_mut();
        ids.into_iter()
            .filter_map(|id| reads.remove_entry(id))
            .collect()
    }

    /// A page was committed: `shown` is what the window should replay; after a conflict it
    /// reads everything instead.
    pub fn written(&self, shown: Vec<Write>, conflicts: bool) {
        let mut synced = self.synced.borrow_mut();
        if conflicts {
            *synced = None;
        }
        if let Some(list) = synced.as_mut() {
            list.extend(shown);
            if list.len() > REPLAY_AT_MOST {
                *synced = None;
            }
        }
    }

    pub fn rolled_back(&self) {
        *self.packs.borrow_mut() = PackIndex::default();
        self.object_keys.replace(None);
    }

    /// What syncs wrote since the last call (`None`: too much, read everything).
    pub fn take_synced(&self) -> Option<Vec<Write>> {
        self.synced.replace(Some(Vec::new()))
    }
}
