//! Which library a client holds. A client may hold several: the account's own library (the
//! *personal* one, which every client has) and libraries other accounts share with it. Each
//! is kept apart, in a store of its own (its own IndexedDB database in the browser, its own
//! file for the CLI), with its own link, outbox and conflicts, and is synced on its own with
//! a remote for that one online library.
//!
//! Invariants: a store records the [`LibraryId`] it holds when it is made (a store from before
//! libraries had ids is the personal one), and is opened only as that library; the engine
//! syncs a store only with a remote for the online library it is linked to
//! (`engine::sync` refuses any other), so two libraries can never be mixed.

use serde::{Deserialize, Serialize};

/// A library as a client names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LibraryId {
    /// The account's own library (EndNote's "library linked to the account"); its online id
    /// is learned when it first links.
    Personal,
    /// A library shared with this account, by its online id.
    Shared { id: String },
}

impl LibraryId {
    /// The name of the store that holds this library, among the stores named after `base`:
    /// the personal library keeps `base` (so a store from before libraries had ids is it), a
    /// shared one adds its id.
    pub fn store_name(&self, base: &str) -> String {
        match self {
            LibraryId::Personal => base.to_string(),
            LibraryId::Shared { id } => format!("{base}-shared-{id}"),
        }
    }

    /// Whether this library may link to the online library `online_id`: the personal library
    /// to whichever library the account has; a shared library only to its own.
    pub fn may_link_to(&self, online_id: &str) -> bool {
        match self {
            LibraryId::Personal => true,
            LibraryId::Shared { id } => id == online_id,
        }
    }

    /// As stored in a store's settings (JSON).
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read back what [`LibraryId::to_text`] wrote.
    pub fn from_text(text: &str) -> Option<LibraryId> {
        serde_json::from_str(text).ok()
    }
}

impl std::fmt::Display for LibraryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LibraryId::Personal => f.write_str("your library"),
            LibraryId::Shared { id } => write!(f, "the shared library {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_library_has_its_own_store_and_link() {
        let shared = LibraryId::Shared { id: "ab12".into() };
        assert_eq!(LibraryId::Personal.store_name("refsync"), "refsync");
        assert_eq!(shared.store_name("refsync"), "refsync-shared-ab12");
        assert!(LibraryId::Personal.may_link_to("anything"));
        assert!(shared.may_link_to("ab12"));
        assert!(!shared.may_link_to("cd34"));
        for id in [LibraryId::Personal, shared] {
            assert_eq!(LibraryId::from_text(&id.to_text()), Some(id));
        }
        assert_eq!(LibraryId::from_text("nonsense"), None);
    }
}

#[cfg(test)]
mod engine_tests {
    #![allow(clippy::unwrap_used)]
    use crate::protocol::Object;
    use crate::sync::block_on;
    use crate::sync::{sync, ErrorKind, LinkState, LocalStore, MemoryRemote, MemoryStore};
    use crate::{Key, RefType, Reference};

    /// A store linked to one online library is never synced with another's remote: nothing
    /// is sent, nothing received, the link stays.
    #[test]
    fn a_store_syncs_only_with_the_library_it_is_linked_to() {
        let store = MemoryStore::default();
        let remote = MemoryRemote::new(Default::default());
        let elsewhere = LinkState {
            library_id: "another".into(),
            epoch: 1,
            synced_version: 0,
        };
        block_on(store.set_link(Some(elsewhere.clone()))).unwrap();
        store.edit(Object::Reference(Reference::new(
            Key::new(1, [1; 10]),
            RefType::Book,
            1,
        )));
        let mut n = 0;
        let mut key = || {
            n += 1;
            n.to_string()
        };
        let err = block_on(sync(&store, &remote, &mut key)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.contains("another"), "{}", err.message);
        assert_eq!(remote.service.borrow().version, 0, "nothing sent");
        assert_eq!(block_on(store.link()).unwrap(), Some(elsewhere));
        // Linked to its own library, it syncs.
        block_on(store.set_link(None)).unwrap();
        assert_eq!(block_on(sync(&store, &remote, &mut key)).unwrap().sent, 1);
    }
}
