//! A [`LocalStore`] in memory: for tests and the simulation, and the model the real stores
//! (IndexedDB, SQLite) follow.
//!
//! Invariant: `apply` changes everything it is given or nothing (it cannot fail half way);
//! the user's edits go through [`MemoryStore::edit`] and [`MemoryStore::delete`], which mark the
//! object dirty, as the app's and the CLI's stores do in the same transaction as the edit.

use super::engine::{LinkState, LocalStore, StoreChange, SyncError};
use super::plan::{resolve, ConflictRecord, LocalObject, Resolution};
use crate::protocol::Object;
use crate::query::DuplicateSet;
use crate::{Key, ObjectKind, Reference};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct MemoryState {
    pub link: Option<LinkState>,
    pub objects: BTreeMap<(ObjectKind, Key), LocalObject>,
    pub conflicts: BTreeMap<(ObjectKind, Key), ConflictRecord>,
    pub duplicates: Vec<DuplicateSet>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    pub state: RefCell<MemoryState>,
}

impl MemoryStore {
    /// The user made or changed an object.
    pub fn edit(&self, object: Object) {
        let mut s = self.state.borrow_mut();
        let id = (object.kind(), object.key());
        let entry = s.objects.entry(id).or_insert_with(|| LocalObject {
            kind: id.0,
            key: id.1,
            base_version: 0,
            base: None,
            current: None,
            dirty: false,
        });
        entry.current = Some(object);
        entry.dirty = entry.current != entry.base || entry.base_version == 0;
    }

    /// The user deleted an object for good.
    pub fn delete(&self, kind: ObjectKind, key: Key) {
        let mut s = self.state.borrow_mut();
        let remove = match s.objects.get_mut(&(kind, key)) {
            // Never synced: nothing to tell the service.
            Some(o) if o.base_version == 0 => true,
            Some(o) => {
                o.current = None;
                o.dirty = o.base.is_some();
                false
            }
            None => false,
        };
        if remove {
            s.objects.remove(&(kind, key));
        }
    }

    /// The user settled a conflict.
    pub fn resolve(&self, kind: ObjectKind, key: Key, resolution: Resolution) {
        let mut s = self.state.borrow_mut();
        if let Some(record) = s.conflicts.remove(&(kind, key)) {
            s.objects.insert((kind, key), resolve(&record, resolution));
        }
    }

    /// Every live object's current copy.
    pub fn live(&self) -> BTreeMap<(ObjectKind, Key), Object> {
        self.state
            .borrow()
            .objects
            .iter()
            .filter_map(|(id, o)| o.current.clone().map(|c| (*id, c)))
            .collect()
    }
}

impl LocalStore for MemoryStore {
    async fn link(&self) -> Result<Option<LinkState>, SyncError> {
        Ok(self.state.borrow().link.clone())
    }

    async fn set_link(&self, link: Option<LinkState>) -> Result<(), SyncError> {
        let mut s = self.state.borrow_mut();
        if link.is_none() {
            // Unlinked: keep the data, forget what was synced, so a new link sends it all.
            for o in s.objects.values_mut() {
                o.base_version = 0;
                o.base = None;
                o.dirty = o.current.is_some();
            }
            s.objects.retain(|_, o| o.current.is_some());
        }
        s.link = link;
        Ok(())
    }

    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        Ok(self
            .state
            .borrow()
            .objects
            .values()
            .filter(|o| o.dirty)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        Ok(self.state.borrow().objects.get(&(kind, key)).cloned())
    }

    async fn references(&self) -> Result<Vec<Reference>, SyncError> {
        Ok(self
            .live()
            .into_values()
            .filter_map(|o| match o {
                Object::Reference(r) => Some(r),
                _ => None,
            })
            .collect())
    }

    async fn record_duplicates(&self, sets: Vec<DuplicateSet>) -> Result<(), SyncError> {
        self.state.borrow_mut().duplicates = sets;
        Ok(())
    }

    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError> {
        let mut s = self.state.borrow_mut();
        for change in changes {
            match change {
                StoreChange::Put(o) => {
                    if o.current.is_none() && o.base.is_none() && !o.dirty {
                        s.objects.remove(&(o.kind, o.key));
                    } else {
                        s.objects.insert((o.kind, o.key), o);
                    }
                }
                StoreChange::Pushed {
                    kind,
                    key,
                    pushed,
                    version,
                } => {
                    if let Some(o) = s.objects.get_mut(&(kind, key)) {
                        o.dirty = o.current != pushed;
                        o.base = pushed;
                        o.base_version = version;
                        if o.current.is_none() && !o.dirty {
                            s.objects.remove(&(kind, key));
                        }
                    }
                }
                StoreChange::Conflict(record) => {
                    s.objects.insert(
                        (record.kind, record.key),
                        LocalObject {
                            kind: record.kind,
                            key: record.key,
                            base_version: record.remote_version,
                            base: record.remote.clone(),
                            current: record.remote.clone(),
                            dirty: false,
                        },
                    );
                    s.conflicts.insert((record.kind, record.key), record);
                }
            }
        }
        if let (Some(v), Some(link)) = (synced_version, s.link.as_mut()) {
            link.synced_version = v;
        }
        Ok(())
    }
}
