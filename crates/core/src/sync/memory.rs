//! A [`LocalStore`] in memory: for tests and the simulation, and the model the real stores
//! (IndexedDB, SQLite) follow; and the service's rules in memory ([`MemoryService`],
//! [`MemoryRemote`]), so that a store can be tested against the engine without a server.
//!
//! Invariant: `apply` changes everything it is given or nothing (it cannot fail half way);
//! the user's edits go through [`MemoryStore::edit`] and [`MemoryStore::delete`], which mark the
//! object dirty, as the app's and the CLI's stores do in the same transaction as the edit.

use super::engine::{ErrorKind, LinkState, LocalStore, Remote, StoreChange, SyncError};
use super::plan::{resolve, ConflictRecord, LocalObject, Resolution};
use crate::protocol::{
    Batch, BatchResult, ChangesPage, Data, Link, Object, RemoteObject, ResetResult, WriteResult,
};
use crate::query::DuplicateSet;
use crate::{Key, ObjectKind, Reference};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

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

/// The service's rules, in memory (the real one is `crates/server`): versions, conflicts,
/// idempotent batches, epochs, paged changes. For tests of stores and of the engine.
#[derive(Debug)]
pub struct MemoryService {
    pub version: u64,
    pub epoch: u64,
    /// Every object's version and data (`None`: a tombstone).
    pub objects: BTreeMap<(ObjectKind, Key), (u64, Option<Data>)>,
    pub batches: HashMap<String, BatchResult>,
}

impl Default for MemoryService {
    fn default() -> MemoryService {
        MemoryService::new()
    }
}

impl MemoryService {
    pub fn new() -> MemoryService {
        MemoryService {
            version: 0,
            epoch: 1,
            objects: BTreeMap::new(),
            batches: HashMap::new(),
        }
    }

    /// Apply a batch as the service does: each write against its base version.
    pub fn apply(&mut self, batch: &Batch) -> BatchResult {
        if let Some(answer) = self.batches.get(&batch.idempotency_key) {
            return answer.clone();
        }
        let new_version = self.version + 1;
        let mut changed = false;
        let mut results = Vec::new();
        for w in &batch.writes {
            let (cur_version, cur_data) = self
                .objects
                .get(&(w.kind, w.key))
                .cloned()
                .unwrap_or((0, None));
            if w.data == cur_data {
                results.push(WriteResult::Unchanged {
                    key: w.key,
                    version: cur_version,
                });
            } else if w.base_version != cur_version {
                results.push(WriteResult::Conflict {
                    key: w.key,
                    current: RemoteObject {
                        kind: w.kind,
                        key: w.key,
                        version: cur_version,
                        data: cur_data,
                    },
                });
            } else {
                self.objects
                    .insert((w.kind, w.key), (new_version, w.data.clone()));
                changed = true;
                results.push(WriteResult::Ok {
                    key: w.key,
                    version: new_version,
                });
            }
        }
        if changed {
            self.version = new_version;
        }
        let answer = BatchResult {
            library_version: self.version,
            results,
        };
        self.batches
            .insert(batch.idempotency_key.clone(), answer.clone());
        answer
    }

    /// The changes after version `since` (and after `cursor`), at most `limit`.
    pub fn page(&self, since: u64, cursor: Option<&str>, limit: usize) -> ChangesPage {
        let after: Option<(u64, ObjectKind, Key)> = cursor.and_then(|c| {
            let mut p = c.splitn(3, '.');
            Some((
                p.next()?.parse().ok()?,
                ObjectKind::parse(p.next()?)?,
                Key::parse(p.next()?).ok()?,
            ))
        });
        // Order and cut by id first: only the page's objects are copied.
        let mut ids: Vec<(u64, ObjectKind, Key)> = self
            .objects
            .iter()
            .filter(|(_, (v, _))| *v > since)
            .map(|((k, key), (v, _))| (*v, *k, *key))
            .filter(|id| after.is_none_or(|a| *id > a))
            .collect();
        ids.sort_unstable();
        let more = ids.len() > limit;
        ids.truncate(limit);
        let next = if more {
            ids.last()
                .map(|(v, k, key)| format!("{v}.{}.{key}", k.as_str()))
        } else {
            None
        };
        ChangesPage {
            library_version: self.version,
            objects: ids
                .into_iter()
                .map(|(version, kind, key)| RemoteObject {
                    kind,
                    key,
                    version,
                    data: self.objects.get(&(kind, key)).and_then(|(_, d)| d.clone()),
                })
                .collect(),
            next,
        }
    }

    /// Unlink every device; with `wipe`, delete every object.
    pub fn reset(&mut self, wipe: bool) -> ResetResult {
        self.epoch += 1;
        let mut deleted = 0;
        if wipe {
            self.version += 1;
            deleted = self.objects.values().filter(|(_, d)| d.is_some()).count() as u64;
            self.objects.clear();
        }
        self.batches.clear();
        ResetResult {
            epoch: self.epoch,
            library_version: self.version,
            deleted,
        }
    }
}

/// A [`Remote`] straight onto a [`MemoryService`]: no network, no faults.
#[derive(Clone, Debug)]
pub struct MemoryRemote {
    pub service: Rc<RefCell<MemoryService>>,
    /// Objects per changes page.
    pub page_size: usize,
}

impl MemoryRemote {
    pub fn new(service: Rc<RefCell<MemoryService>>) -> MemoryRemote {
        MemoryRemote {
            service,
            page_size: 100,
        }
    }
}

impl Remote for MemoryRemote {
    async fn link(&self) -> Result<Link, SyncError> {
        let s = self.service.borrow();
        Ok(Link {
            library_id: "memory".into(),
            epoch: s.epoch,
            library_version: s.version,
        })
    }

    async fn changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError> {
        let s = self.service.borrow();
        if epoch != s.epoch {
            return Err(SyncError::new(
                ErrorKind::RelinkRequired,
                "the library was reset",
            ));
        }
        Ok(s.page(since, cursor, self.page_size))
    }

    async fn batch(&self, epoch: u64, batch: &Batch) -> Result<BatchResult, SyncError> {
        let mut s = self.service.borrow_mut();
        if epoch != s.epoch {
            return Err(SyncError::new(
                ErrorKind::RelinkRequired,
                "the library was reset",
            ));
        }
        Ok(s.apply(batch))
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        Ok(self.service.borrow_mut().reset(wipe))
    }

    async fn pause(&self, _millis: u64) {}
}
