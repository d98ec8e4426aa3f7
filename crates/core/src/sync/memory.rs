//! A [`LocalStore`] in memory: for tests and the simulation, and the model the real stores
//! (IndexedDB, SQLite) follow; and the service's rules in memory ([`MemoryService`],
//! [`MemoryRemote`]), so that a store can be tested against the engine without a server.
//!
//! Invariants: `apply` changes everything it is given or nothing (it cannot fail half way);
//! the person's writes go through [`MemoryStore::write`], which carries each onto the copy held
//! now and marks it dirty, and bumps the object's revision, as the app's and the CLI's stores
//! do in the same transaction as the write; a page's write for an object whose revision moved
//! after the engine read it is skipped (the person's edit stays dirty and meets the service's
//! copy at the next push). Every rule a store shares with the others is `super::apply`'s.

use super::apply::{
    after_push, after_write, edit_conflict, held_in_conflict, is_gone, keep_conflict,
    refresh_conflict, settle, unlink_conflict,
};
use super::engine::{ErrorKind, LinkState, LocalStore, Remote, StoreChange, SyncError};
use super::plan::{ConflictRecord, LocalObject, Resolution};
use crate::edit::Write;
use crate::protocol::{
    verdict, Action, Batch, BatchResult, ChangesPage, Data, Link, Object, RemoteObject,
    ResetResult, Role, Verdict, WriteResult,
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
    pub outbox: Option<Batch>,
    /// Bumped by each of the person's writes to an object.
    pub revs: BTreeMap<(ObjectKind, Key), u64>,
    /// Pages the engine wrote ([`LocalStore::apply`] calls): each is a write transaction in a
    /// real store.
    pub pages_written: u64,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    pub state: RefCell<MemoryState>,
    /// Each object's revision when the engine last read it.
    read_revs: RefCell<HashMap<(ObjectKind, Key), u64>>,
}

impl MemoryStore {
    /// The person's writes, each carried onto the copy held now.
    pub fn write(&self, writes: Vec<Write>) {
        let mut s = self.state.borrow_mut();
        for w in writes {
            let id = w.target();
            *s.revs.entry(id).or_default() += 1;
            let o = after_write(s.objects.get(&id), s.conflicts.get(&id), &w);
            if let Some(record) = s.conflicts.get_mut(&id) {
                edit_conflict(record, &w);
            }
            if is_gone(&o) {
                s.objects.remove(&id);
            } else {
                s.objects.insert(id, o);
            }
        }
    }

    /// The person made or replaced an object whole.
    pub fn edit(&self, object: Object) {
        self.write(vec![Write::Put(object)]);
    }

    /// The person changed `from` (as they saw it) into `to`.
    pub fn change(&self, from: Object, to: Object) {
        self.write(vec![Write::Change { from, to }]);
    }

    /// The person deleted an object for good.
    pub fn delete(&self, kind: ObjectKind, key: Key) {
        self.write(vec![Write::Delete(kind, key)]);
    }

    /// The person settled a conflict, as `shown` (their copy of it) showed it.
    pub fn settle(&self, shown: &ConflictRecord, resolution: Resolution) {
        let mut s = self.state.borrow_mut();
        let id = (shown.kind, shown.key);
        let Some(stored) = s.conflicts.remove(&id) else {
            return;
        };
        *s.revs.entry(id).or_default() += 1;
        let o = settle(&stored, shown, s.objects.get(&id), resolution);
        if is_gone(&o) {
            s.objects.remove(&id);
        } else {
            s.objects.insert(id, o);
        }
    }

    /// Settle the conflict on an object as it is stored.
    pub fn resolve(&self, kind: ObjectKind, key: Key, resolution: Resolution) {
        let shown = self.state.borrow().conflicts.get(&(kind, key)).cloned();
        if let Some(shown) = shown {
            self.settle(&shown, resolution);
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

    fn remember(&self, id: (ObjectKind, Key)) {
        let rev = self.state.borrow().revs.get(&id).copied().unwrap_or(0);
        self.read_revs.borrow_mut().insert(id, rev);
    }

    /// Whether the person wrote the object after the engine read it.
    fn edited_since_read(&self, s: &MemoryState, id: (ObjectKind, Key)) -> bool {
        self.read_revs
            .borrow()
            .get(&id)
            .is_some_and(|read| s.revs.get(&id).copied().unwrap_or(0) != *read)
    }

    /// Put `o`, keeping a waiting conflict's online side current.
    fn put(s: &mut MemoryState, o: LocalObject) {
        let id = (o.kind, o.key);
        if let Some(record) = s.conflicts.get_mut(&id) {
            refresh_conflict(record, o.base_version, o.base.as_ref());
        }
        if is_gone(&o) {
            s.objects.remove(&id);
        } else {
            s.objects.insert(id, o);
        }
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
            for record in s.conflicts.values_mut() {
                unlink_conflict(record);
            }
            s.outbox = None;
        }
        s.link = link;
        Ok(())
    }

    async fn outbox(&self) -> Result<Option<Batch>, SyncError> {
        Ok(self.state.borrow().outbox.clone())
    }

    async fn set_outbox(&self, batch: &Batch) -> Result<(), SyncError> {
        self.state.borrow_mut().outbox = Some(batch.clone());
        Ok(())
    }

    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        let out: Vec<LocalObject> = self
            .state
            .borrow()
            .objects
            .values()
            .filter(|o| o.dirty)
            .take(limit)
            .cloned()
            .collect();
        for o in &out {
            self.remember((o.kind, o.key));
        }
        Ok(out)
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        self.remember((kind, key));
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
        s.pages_written += 1;
        for change in changes {
            match change {
                StoreChange::Put(o) => {
                    if !self.edited_since_read(&s, (o.kind, o.key)) {
                        MemoryStore::put(&mut s, o);
                    }
                }
                StoreChange::Pushed {
                    kind,
                    key,
                    pushed,
                    version,
                } => {
                    let current = s.objects.get(&(kind, key)).and_then(|o| o.current.clone());
                    MemoryStore::put(&mut s, after_push(kind, key, current, pushed, version));
                }
                StoreChange::Conflict(record) => {
                    let id = (record.kind, record.key);
                    if self.edited_since_read(&s, id) {
                        continue;
                    }
                    s.objects.insert(id, held_in_conflict(&record));
                    let existing = s.conflicts.remove(&id);
                    s.conflicts.insert(id, keep_conflict(existing, *record));
                    if let Some(o) = s.objects.get(&id).filter(|o| is_gone(o)) {
                        let id = (o.kind, o.key);
                        s.objects.remove(&id);
                    }
                }
                StoreChange::Answered => s.outbox = None,
                // Only "last changed by" beside an editor, which no test of this store reads.
                StoreChange::Authored { .. } => {}
            }
        }
        if let (Some(v), Some(link)) = (synced_version, s.link.as_mut()) {
            link.synced_version = v;
        }
        drop(s);
        self.read_revs.borrow_mut().clear();
        Ok(())
    }
}

/// The service's rules, in memory (the real one is `crates/server`): versions, conflicts,
/// idempotent batches, epochs, paged changes, and for a shared library who may read and write
/// (`Role::allows`, the rule the server runs). For tests of stores and of the engine.
#[derive(Debug)]
pub struct MemoryService {
    pub version: u64,
    pub epoch: u64,
    /// Every object's version and data (`None`: a tombstone).
    pub objects: BTreeMap<(ObjectKind, Key), (u64, Option<Data>)>,
    pub batches: HashMap<String, BatchResult>,
    /// A shared library's members and roles; `None`: a personal library, its one account's.
    pub members: Option<BTreeMap<String, Role>>,
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
            members: None,
        }
    }

    /// Whether `account` may do `action` here, as the server answers it: a non-member is not
    /// found, a role that does not allow it is forbidden.
    pub fn check(&self, account: Option<&str>, action: Action) -> Result<(), SyncError> {
        let Some(members) = &self.members else {
            return Ok(());
        };
        match account.and_then(|a| members.get(a)) {
            None => Err(SyncError::new(ErrorKind::NotFound, "Not found.")),
            Some(role) if role.allows(action) => Ok(()),
            Some(role) => Err(SyncError::new(
                ErrorKind::Forbidden,
                format!("a {} may not {action:?}", role.as_str()),
            )),
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
            let text = |d: &Option<Data>| d.as_ref().map(|d| d.get().to_string());
            match verdict(
                w.base_version,
                text(&w.data).as_deref(),
                cur_version,
                text(&cur_data).as_deref(),
            ) {
                Verdict::Unchanged => results.push(WriteResult::Unchanged {
                    key: w.key,
                    version: cur_version,
                }),
                Verdict::Conflict => results.push(WriteResult::Conflict {
                    key: w.key,
                    current: RemoteObject {
                        kind: w.kind,
                        key: w.key,
                        version: cur_version,
                        data: cur_data,
                        changed_by: None,
                        changed_at: None,
                    },
                }),
                Verdict::Accept => {
                    self.objects
                        .insert((w.kind, w.key), (new_version, w.data.clone()));
                    changed = true;
                    results.push(WriteResult::Ok {
                        key: w.key,
                        version: new_version,
                    });
                }
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
                    changed_by: None,
                    changed_at: None,
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
    /// The account asking (checked against a shared library's members).
    pub account: Option<String>,
}

impl MemoryRemote {
    pub fn new(service: Rc<RefCell<MemoryService>>) -> MemoryRemote {
        MemoryRemote {
            service,
            page_size: 100,
            account: None,
        }
    }

    /// A remote of a shared library for `account`.
    pub fn as_account(service: Rc<RefCell<MemoryService>>, account: &str) -> MemoryRemote {
        MemoryRemote {
            account: Some(account.to_string()),
            ..MemoryRemote::new(service)
        }
    }
}

impl Remote for MemoryRemote {
    fn library_id(&self) -> &str {
        "memory"
    }

    async fn link(&self) -> Result<Link, SyncError> {
        let s = self.service.borrow();
        s.check(self.account.as_deref(), Action::Read)?;
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
        s.check(self.account.as_deref(), Action::Read)?;
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
        // Before the replay of an answered batch too, as the server checks the role first.
        s.check(self.account.as_deref(), Action::Write)?;
        if epoch != s.epoch {
            return Err(SyncError::new(
                ErrorKind::RelinkRequired,
                "the library was reset",
            ));
        }
        Ok(s.apply(batch))
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        self.service
            .borrow()
            .check(self.account.as_deref(), Action::Own)?;
        Ok(self.service.borrow_mut().reset(wipe))
    }

    async fn pause(&self, _millis: u64) -> bool {
        true
    }
}
