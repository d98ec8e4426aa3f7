//! A deterministic simulation of the sync engine as people use it: 2 to 5 devices of one
//! account, each an in-memory store, making random edits and syncing in random order against
//! an in-memory model of the service that follows the protocol's rules (versions, conflicts,
//! idempotent batches, epochs), while requests and answers are dropped at random (a batch
//! applied but its answer lost, then retried), the service restarts, devices reset sync, and:
//!
//! - conflicts are settled (keep local, keep online, or merged with picks and typed text) at
//!   random later times, after further pulls, pushes and other devices' edits;
//! - devices edit references that wait in Sync Conflicts, and sync again before settling;
//! - a person's edit, built from what the window showed before the sync started, lands
//!   between the steps of a running sync on the same device (between the engine's read and
//!   its write of a page, between a push and its answer, after a page was written);
//! - permanent deletes and emptying the Trash cross conflicts.
//!
//! The oracle, besides convergence (every replica equals the service's copy, nothing left
//! unsynced): every value a person wrote into a tracked field survives, unless a later write
//! (by the happens-before order of what each device had seen when it wrote) replaced it, or a
//! conflict the person settled chose otherwise, or it still waits in Sync Conflicts; a
//! permanent delete stays done unless a settled conflict restored it (or a reset forgot it,
//! as documented); and no conflict leaves Sync Conflicts except by being settled.
//!
//! `REFSYNC_SIM_SEEDS` sets how many seeds run (10,000 by default), `REFSYNC_SIM_FROM` the
//! first; `REFSYNC_SIM_SEED=N` runs one. A failing seed is printed so it can be replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "sim/common.rs"]
mod common;

use common::{block_on, Rng};
use refsync_core::protocol::{Batch, BatchResult, ChangesPage, Link, Object, ResetResult};
use refsync_core::sync::compare::{compose, rows, Pick};
use refsync_core::sync::{
    reset, sync, ConflictRecord, ErrorKind, LinkState, LocalObject, LocalStore, MemoryRemote,
    MemoryService, MemoryStore, Remote, Resolution, StoreChange, SyncError,
};
use refsync_core::{Field, Group, GroupKind, Key, ObjectKind, RefType, Reference};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

thread_local! {
    static TRACE: bool = std::env::var("REFSYNC_SIM_TRACE").is_ok();
}

/// With `REFSYNC_SIM_TRACE` set, what each step did (to read a failing seed).
macro_rules! trace {
    ($($arg:tt)*) => {
        if TRACE.with(|t| *t) {
            eprintln!($($arg)*);
        }
    };
}

/// The fields whose every value the oracle follows. Each value a person types is unique, so a
/// value found anywhere names the write that made it.
const TRACKED: [Field; 3] = [Field::Title, Field::Year, Field::Abstract];

/// How a person's actions reach a device's store: the one place the simulation uses the
/// store's write API, as the web app and the CLI do.
mod person {
    use super::*;
    use refsync_core::edit::Write;

    /// A new object.
    pub fn create(store: &MemoryStore, object: Object) {
        store.write(vec![Write::Put(object)]);
    }

    /// A change to `from`, as the window showed it, giving `to`.
    pub fn change(store: &MemoryStore, from: &Object, to: Object) {
        store.write(vec![Write::change(from.clone(), to)]);
    }

    pub fn delete(store: &MemoryStore, kind: ObjectKind, key: Key) {
        store.write(vec![Write::Delete(kind, key)]);
    }

    /// Settle `shown` (the conflict as Sync Conflicts showed it) as chosen.
    pub fn settle(store: &MemoryStore, shown: &ConflictRecord, resolution: Resolution) {
        store.settle(shown, resolution);
    }

    /// The copy a merged resolution starts from before the person's picks: both sides' clean
    /// edits, as the CLI's `--keep merged` and the web dialog build it.
    pub fn merged_start(shown: &ConflictRecord) -> Option<Reference> {
        refsync_core::sync::apply::merged_start(shown)
    }
}

/// A set of event ids.
#[derive(Clone, Default, Debug)]
struct Bits(Vec<u64>);

impl Bits {
    fn insert(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn union(&mut self, other: &Bits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum What {
    /// A value typed into a tracked field.
    Field(Field, String),
    /// A permanent delete.
    Delete,
    /// Any other change a person made to it (Trash, groups): a later act than what it knew.
    Touch,
}

#[derive(Clone, Debug)]
struct Event {
    client: usize,
    key: Key,
    what: What,
    /// Every event the device had seen when this one was made.
    past: Bits,
}

/// What people did, and what each device had seen.
#[derive(Default)]
struct Ledger {
    events: Vec<Event>,
    by_value: HashMap<String, usize>,
    known: Vec<Bits>,
    /// Events a settled conflict replaced or discarded.
    settled: Bits,
    /// Values a settlement chose over the other side's (chosen again, later than both).
    kept: BTreeSet<String>,
    /// Deletes a reset forgot (documented: unlinking forgets what was not synced).
    forgotten: Bits,
    made: BTreeSet<Key>,
    deleted: BTreeSet<Key>,
    wiped: bool,
    values: u64,
}

impl Ledger {
    fn fresh(&mut self, client: usize) -> String {
        self.values += 1;
        format!("c{client}n{}", self.values)
    }

    fn writer(&self, value: &str) -> Option<usize> {
        self.by_value.get(value).copied()
    }

    /// Whether the value `a` was written knowing `b` (an empty value is the start, which
    /// every write knows and which knows nothing).
    fn descends(&self, a: &str, b: &str) -> bool {
        match (self.writer(a), self.writer(b)) {
            (Some(a), Some(b)) => self.events[a].past.contains(b),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Everything `client`'s store holds tells it about the writes that made it.
    fn observe(&mut self, client: usize, store: &MemoryStore) {
        let s = store.state.borrow();
        let mut seen = Vec::new();
        let mut look = |o: &Option<Object>| {
            if let Some(Object::Reference(r)) = o {
                for f in TRACKED {
                    if let Some(&id) = self.by_value.get(r.get(f)) {
                        seen.push(id);
                    }
                }
            }
        };
        for o in s.objects.values() {
            look(&o.current);
            look(&o.base);
        }
        for c in s.conflicts.values() {
            look(&c.local);
            look(&c.remote);
        }
        drop(s);
        for id in seen {
            let past = self.events[id].past.clone();
            let k = &mut self.known[client];
            k.insert(id);
            k.union(&past);
        }
    }

    fn record(&mut self, client: usize, key: Key, what: What) -> usize {
        let id = self.events.len();
        trace!("  event {id}: device {client} {what:?} on {key}");
        if let What::Field(_, v) = &what {
            self.by_value.insert(v.clone(), id);
        }
        self.events.push(Event {
            client,
            key,
            what,
            past: self.known[client].clone(),
        });
        self.known[client].insert(id);
        id
    }

    /// Every event of `key` matching `keep`, for marking.
    fn events_of(&self, key: Key, keep: impl Fn(&Event) -> bool) -> Vec<usize> {
        self.events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key == key && keep(e))
            .map(|(i, _)| i)
            .collect()
    }
}

/// One device's connection to the service: core's [`MemoryRemote`] (small pages, so paging is
/// exercised), dropping requests and answers at random.
struct SimRemote {
    inner: MemoryRemote,
    rng: Rc<RefCell<Rng>>,
    faults: bool,
    /// Requests still to fail because the service is restarting (shared by all devices).
    down: Rc<RefCell<u32>>,
    lost_answers: Rc<Cell<u64>>,
    client: usize,
    ledger: Rc<RefCell<Ledger>>,
}

impl SimRemote {
    fn cut(&self) -> bool {
        if !self.faults {
            return false;
        }
        let mut down = self.down.borrow_mut();
        if *down > 0 {
            *down -= 1;
            return true;
        }
        self.rng.borrow_mut().chance(10)
    }
    fn lost() -> SyncError {
        SyncError::new(ErrorKind::Connection, "connection lost")
    }
}

impl Remote for SimRemote {
    fn library_id(&self) -> &str {
        self.inner.library_id()
    }

    async fn link(&self) -> Result<Link, SyncError> {
        self.inner.link().await
    }

    async fn changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError> {
        if self.cut() {
            return Err(Self::lost());
        }
        self.inner.changes(epoch, since, cursor).await
    }

    async fn batch(&self, epoch: u64, batch: &Batch) -> Result<BatchResult, SyncError> {
        if self.cut() {
            return Err(Self::lost()); // the request never arrived
        }
        let answer = self.inner.batch(epoch, batch).await?;
        trace!("  batch {} -> {:?}", batch.idempotency_key, answer.results);
        // A delete of what is already deleted online only agrees with that delete: whatever
        // later undoes the online delete (a restore based on it) undoes this one too.
        for (w, a) in batch.writes.iter().zip(&answer.results) {
            use refsync_core::protocol::WriteResult;
            // So does a delete here met by the answer that the online copy is deleted already.
            let deleted_online =
                matches!(a, WriteResult::Conflict { current, .. } if current.data.is_none());
            if (w.data.is_none() && matches!(a, WriteResult::Unchanged { .. })) || deleted_online {
                let mut ledger = self.ledger.borrow_mut();
                let client = self.client;
                for d in ledger.events_of(w.key, |e| e.client == client && e.what == What::Delete) {
                    ledger.forgotten.insert(d);
                }
            }
        }
        if self.cut() {
            self.lost_answers.set(self.lost_answers.get() + 1);
            return Err(Self::lost()); // applied, but the answer was lost
        }
        Ok(answer)
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        self.inner.reset(wipe).await
    }

    async fn pause(&self, _millis: u64) -> bool {
        true
    }
}

/// Where in a running sync a person's edit lands.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(clippy::enum_variant_names)] // each is "after" a step of the sync, by design
enum Moment {
    /// After the engine read the objects to push, before it wrote the answers.
    AfterDirtyRead,
    /// After the engine read a page's objects, before it wrote the page.
    AfterPageRead,
    /// After the engine wrote a page or a push's answers (what the window showed is stale).
    AfterWrite,
}

/// An edit the person started from what the window showed before the sync.
struct Typing {
    from: Reference,
    field: Field,
    at: Moment,
}

/// A device's store as the engine sees it: the in-memory store, with the person typing into
/// the window while the sync runs.
struct SimStore {
    inner: MemoryStore,
    client: usize,
    ledger: Rc<RefCell<Ledger>>,
    typing: RefCell<Option<Typing>>,
    interleaved: Rc<Cell<u64>>,
    /// The device unlinked at some point (its objects were all new again).
    unlinked: Cell<bool>,
    /// What the store saw go wrong, for the run to report.
    defect: RefCell<Option<String>>,
}

impl SimStore {
    /// The person's edit, if it was waiting for this moment (or any, with `None`).
    fn type_now(&self, moment: Option<Moment>) {
        let ready = matches!(&*self.typing.borrow(), Some(t) if moment.is_none_or(|m| m == t.at));
        if !ready {
            return;
        }
        let Some(t) = self.typing.take() else { return };
        let mut ledger = self.ledger.borrow_mut();
        ledger.observe(self.client, &self.inner);
        let value = ledger.fresh(self.client);
        ledger.record(self.client, t.from.key, What::Field(t.field, value.clone()));
        drop(ledger);
        let mut to = t.from.clone();
        to.set(t.field, value);
        person::change(
            &self.inner,
            &Object::Reference(t.from),
            Object::Reference(to),
        );
        trace!("  (typed at {moment:?})");
        if moment.is_some() {
            self.interleaved.set(self.interleaved.get() + 1);
        }
    }
}

impl LocalStore for SimStore {
    async fn link(&self) -> Result<Option<LinkState>, SyncError> {
        self.inner.link().await
    }
    async fn set_link(&self, link: Option<LinkState>) -> Result<(), SyncError> {
        self.inner.set_link(link).await
    }
    async fn outbox(&self) -> Result<Option<Batch>, SyncError> {
        self.inner.outbox().await
    }
    async fn set_outbox(&self, batch: &Batch) -> Result<(), SyncError> {
        self.inner.set_outbox(batch).await
    }
    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        let out = self.inner.dirty(limit).await;
        self.type_now(Some(Moment::AfterDirtyRead));
        out
    }
    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        self.inner.get(kind, key).await
    }
    async fn get_many(
        &self,
        ids: &[(ObjectKind, Key)],
    ) -> Result<Vec<Option<LocalObject>>, SyncError> {
        let out = self.inner.get_many(ids).await;
        self.type_now(Some(Moment::AfterPageRead));
        out
    }
    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError> {
        // A conflict for an object this device never saw acknowledged, though the service
        // holds it: its own earlier push (whose answer was lost) looks like the other side.
        for change in &changes {
            if let StoreChange::Conflict(r) = change {
                let s = self.inner.state.borrow();
                let never_acked = s
                    .objects
                    .get(&(r.kind, r.key))
                    .is_some_and(|o| o.base_version == 0 && o.current.is_some());
                if never_acked && r.remote.is_some() && !self.unlinked.get() {
                    *self.defect.borrow_mut() = Some(format!(
                        "device {}: {} conflicts with the service's copy of its own push, \
                         which this device never saw acknowledged",
                        self.client, r.key
                    ));
                }
            }
        }
        let out = self.inner.apply(changes, synced_version).await;
        self.type_now(Some(Moment::AfterWrite));
        out
    }
    async fn references(&self) -> Result<Vec<Reference>, SyncError> {
        self.inner.references().await
    }
    async fn record_duplicates(
        &self,
        sets: Vec<refsync_core::query::DuplicateSet>,
    ) -> Result<(), SyncError> {
        self.inner.record_duplicates(sets).await
    }
}

struct Client {
    store: SimStore,
    remote: SimRemote,
    made: u64,
    id: usize,
}

fn new_key(client: usize, n: u64) -> Key {
    Key::new(
        1_700_000_000_000 + client as u64 * 1_000_000 + n,
        [client as u8; 10],
    )
}

fn live_refs(store: &MemoryStore) -> Vec<Reference> {
    store
        .live()
        .into_values()
        .filter_map(|o| match o {
            Object::Reference(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn live_groups(store: &MemoryStore) -> Vec<Group> {
    store
        .live()
        .into_values()
        .filter_map(|o| match o {
            Object::Group(g) => Some(g),
            _ => None,
        })
        .collect()
}

fn reference_of(o: &Option<Object>) -> Option<&Reference> {
    match o {
        Some(Object::Reference(r)) => Some(r),
        _ => None,
    }
}

fn value_in(o: &Option<Object>, f: Field) -> String {
    reference_of(o)
        .map(|r| r.get(f).to_string())
        .unwrap_or_default()
}

/// What a run saw, to show the simulation reached the cases it is for.
#[derive(Default)]
struct Seen {
    conflicts: u64,
    settled: u64,
    settled_merged: u64,
    syncs_cut_off: u64,
    resets: u64,
    restarts: u64,
    interleaved: u64,
    lost_answers: u64,
    edits_in_conflict: u64,
}

struct World {
    rng: Rng,
    clients: Vec<Client>,
    ledger: Rc<RefCell<Ledger>>,
    clock: u64,
    seen: Seen,
}

impl World {
    fn store(&self, i: usize) -> &MemoryStore {
        &self.clients[i].store.inner
    }

    /// One random thing a person does on device `i`.
    fn act(&mut self, i: usize) -> Result<(), String> {
        self.clock += 1;
        let clock = self.clock;
        let refs = live_refs(self.store(i));
        let groups = live_groups(self.store(i));
        let conflicted: BTreeSet<Key> = self
            .store(i)
            .state
            .borrow()
            .conflicts
            .keys()
            .map(|(_, k)| *k)
            .collect();
        self.ledger.borrow_mut().observe(i, self.store(i));
        let choice = self.rng.below(13);
        trace!("device {i} acts ({choice})");
        match choice {
            0 | 1 => {
                let c = &mut self.clients[i];
                c.made += 1;
                let key = new_key(c.id, c.made);
                let mut ledger = self.ledger.borrow_mut();
                let title = ledger.fresh(i);
                ledger.record(i, key, What::Field(Field::Title, title.clone()));
                ledger.made.insert(key);
                drop(ledger);
                let mut r = Reference::new(key, RefType::JournalArticle, clock);
                r.set(Field::Title, title);
                person::create(self.store(i), Object::Reference(r));
            }
            2..=4 if !refs.is_empty() => {
                let from = self.rng.pick(&refs).clone();
                if conflicted.contains(&from.key) {
                    self.seen.edits_in_conflict += 1;
                }
                let field = *self.rng.pick(&TRACKED);
                let mut ledger = self.ledger.borrow_mut();
                let value = ledger.fresh(i);
                ledger.record(i, from.key, What::Field(field, value.clone()));
                drop(ledger);
                let mut to = from.clone();
                to.set(field, value);
                to.date_modified = clock;
                person::change(
                    self.store(i),
                    &Object::Reference(from),
                    Object::Reference(to),
                );
            }
            5 if !refs.is_empty() && !groups.is_empty() => {
                let from = self.rng.pick(&refs).clone();
                self.ledger.borrow_mut().record(i, from.key, What::Touch);
                let g = self.rng.pick(&groups).key;
                let mut to = from.clone();
                if !to.groups.remove(&g) {
                    to.groups.insert(g);
                }
                to.date_modified = clock;
                person::change(
                    self.store(i),
                    &Object::Reference(from),
                    Object::Reference(to),
                );
            }
            6 if !refs.is_empty() => {
                let from = self.rng.pick(&refs).clone();
                self.ledger.borrow_mut().record(i, from.key, What::Touch);
                let mut to = from.clone();
                to.trashed = !to.trashed;
                to.date_modified = clock;
                person::change(
                    self.store(i),
                    &Object::Reference(from),
                    Object::Reference(to),
                );
            }
            7 if !refs.is_empty() => {
                let key = self.rng.pick(&refs).key;
                self.delete_reference(i, key);
            }
            8 => {
                if groups.is_empty() || self.rng.chance(50) {
                    let c = &mut self.clients[i];
                    c.made += 1;
                    let g = Group {
                        key: new_key(c.id, c.made),
                        name: format!("group {}", c.made),
                        set: None,
                        kind: GroupKind::Custom,
                        shared: false,
                        date_modified: clock,
                    };
                    person::create(self.store(i), Object::Group(g));
                } else {
                    let from = self.rng.pick(&groups).clone();
                    let mut to = from.clone();
                    to.name = format!("renamed {}", self.rng.below(3));
                    to.date_modified = clock;
                    person::change(self.store(i), &Object::Group(from), Object::Group(to));
                }
            }
            9 if !groups.is_empty() && self.rng.chance(50) => {
                let g = self.rng.pick(&groups).key;
                person::delete(self.store(i), ObjectKind::Group, g);
            }
            9 => {
                // Empty the Trash: every trashed reference deleted for good.
                for r in refs.iter().filter(|r| r.trashed) {
                    self.delete_reference(i, r.key);
                }
            }
            10..=12 if !conflicted.is_empty() => {
                let keys: Vec<Key> = conflicted.into_iter().collect();
                let key = *self.rng.pick(&keys);
                self.settle(i, key)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn delete_reference(&mut self, i: usize, key: Key) {
        // Unlinked, the device joins the online library again as a union on its next link
        // (documented): what it deletes before then comes back from online.
        let unlinked = self.store(i).state.borrow().link.is_none();
        // Based on an online delete (restored here, not sent yet): deleting it again only
        // agrees with that delete, and sends nothing another device's restore could meet.
        let agrees = self
            .store(i)
            .state
            .borrow()
            .objects
            .get(&(ObjectKind::Reference, key))
            .is_some_and(|o| o.base.is_none() && o.base_version > 0);
        let mut ledger = self.ledger.borrow_mut();
        let id = ledger.record(i, key, What::Delete);
        if unlinked || agrees {
            ledger.forgotten.insert(id);
        }
        ledger.deleted.insert(key);
        drop(ledger);
        person::delete(self.store(i), ObjectKind::Reference, key);
    }

    /// The person settles the conflict on `key` as Sync Conflicts shows it now.
    fn settle(&mut self, i: usize, key: Key) -> Result<(), String> {
        let shown = self
            .store(i)
            .state
            .borrow()
            .conflicts
            .get(&(ObjectKind::Reference, key))
            .cloned()
            .ok_or("no such conflict")?;
        self.ledger.borrow_mut().observe(i, self.store(i));
        self.seen.settled += 1;
        trace!("device {i} settles {key}: {shown:?}");
        let (local, online) = (reference_of(&shown.local), reference_of(&shown.remote));
        let (resolution, intended) = match (local, online) {
            (Some(l), Some(o)) => match self.rng.below(3) {
                0 => (Resolution::KeepLocal, shown.local.clone()),
                1 => (Resolution::KeepOnline, shown.remote.clone()),
                _ => {
                    self.seen.settled_merged += 1;
                    let start = person::merged_start(&shown).ok_or("no merged start")?;
                    let mut picks = BTreeMap::new();
                    let mut typed = Vec::new();
                    for row in rows(l, o, |k| k.to_string()) {
                        if !row.differs() || self.rng.chance(50) {
                            continue;
                        }
                        let tracked = TRACKED.iter().find(|f| f.id() == row.id);
                        let pick = match (self.rng.below(3), tracked) {
                            (0, _) => Pick::Local,
                            (1, _) => Pick::Online,
                            (_, Some(f)) => {
                                let text = self.ledger.borrow_mut().fresh(i);
                                typed.push((*f, text.clone()));
                                Pick::Text(text)
                            }
                            (_, None) => Pick::Local,
                        };
                        picks.insert(row.id.clone(), pick);
                    }
                    let mut merged = compose(l, &start, &picks);
                    trace!("  merged start {:?}, picks {picks:?}", start.fields);
                    merged.date_modified = self.clock;
                    // Rows nobody picked follow the merge: a side whose value was written
                    // knowing the other's is the newer one, and must win.
                    let ledger = self.ledger.borrow();
                    for f in TRACKED {
                        // Rows the conflict names are the person's to pick (left alone, they
                        // keep the online value); the others follow the merge.
                        if picks.contains_key(f.id()) || shown.fields.iter().any(|n| n == f.id()) {
                            continue;
                        }
                        let (lv, ov, mv) = (l.get(f), o.get(f), merged.get(f));
                        // A value an earlier settlement kept or discarded was decided later
                        // than either write: knowing which was written first says nothing.
                        let decided = [lv, ov].iter().any(|v| {
                            ledger.writer(v).is_some_and(|w| ledger.settled.contains(w))
                                || ledger.kept.contains(*v)
                        });
                        if !decided
                            && lv != ov
                            && ((ledger.descends(lv, ov) && mv != lv)
                                || (ledger.descends(ov, lv) && mv != ov))
                        {
                            return Err(format!(
                                "{key}: a merged resolution gave {} “{mv}” where this device had \
                                 “{lv}” and online “{ov}”, and one was written knowing the other",
                                f.id()
                            ));
                        }
                    }
                    drop(ledger);
                    let object = Some(Object::Reference(merged.clone()));
                    self.mark_settled(i, key, &shown, &object);
                    for (f, text) in typed {
                        self.ledger
                            .borrow_mut()
                            .record(i, key, What::Field(f, text));
                    }
                    person::settle(
                        self.store(i),
                        &shown,
                        Resolution::Merged(Object::Reference(merged)),
                    );
                    return self.check_settled(i, key, &shown, &object);
                }
            },
            _ => {
                if self.rng.chance(50) {
                    (Resolution::KeepLocal, shown.local.clone())
                } else {
                    (Resolution::KeepOnline, shown.remote.clone())
                }
            }
        };
        self.mark_settled(i, key, &shown, &intended);
        trace!("  {resolution:?}");
        person::settle(self.store(i), &shown, resolution);
        self.check_settled(i, key, &shown, &intended)
    }

    /// What the person's choice replaced or discarded, for the oracle.
    fn mark_settled(
        &mut self,
        i: usize,
        key: Key,
        shown: &ConflictRecord,
        intended: &Option<Object>,
    ) {
        let mut ledger = self.ledger.borrow_mut();
        let known = ledger.known[i].clone();
        let mut marks = Vec::new();
        if intended.is_none() {
            // Kept deleted: every value the person saw is discarded; against a live online
            // copy it is a delete made knowing everything this device held of it (against
            // an online delete it only agrees with it, and writes nothing another device's
            // restore could meet).
            if shown.remote.is_some() {
                ledger.record(i, key, What::Delete);
                ledger.deleted.insert(key);
            }
            for o in [&shown.local, &shown.remote] {
                for f in TRACKED {
                    marks.extend(ledger.writer(&value_in(o, f)));
                }
            }
        } else {
            if shown.local.is_none() || shown.remote.is_none() {
                // Restored: the deletes are undone.
                marks.extend(ledger.events_of(key, |e| e.what == What::Delete));
            }
            // Keeping a copy is a later choice than any delete this device knew of.
            marks.extend(
                ledger
                    .events_of(key, |e| e.what == What::Delete)
                    .into_iter()
                    .filter(|d| known.contains(*d)),
            );
            for f in TRACKED {
                let (lv, ov, cv) = (
                    value_in(&shown.local, f),
                    value_in(&shown.remote, f),
                    value_in(intended, f),
                );
                if cv != ov {
                    ledger.kept.insert(cv.clone());
                    // The settlement writes this field: whatever the device knew is replaced.
                    let replaced = ledger.events_of(
                        key,
                        |e| matches!(&e.what, What::Field(g, v) if *g == f && *v != cv),
                    );
                    let ov_writer = ledger.writer(&ov);
                    marks.extend(
                        replaced
                            .into_iter()
                            .filter(|m| known.contains(*m) || ov_writer == Some(*m)),
                    );
                } else if lv != ov {
                    marks.extend(ledger.writer(&lv));
                }
            }
        }
        for m in marks {
            ledger.settled.insert(m);
        }
    }

    /// Right after settling: the conflict is gone, and each field the person chose differently
    /// from the online copy holds the chosen value.
    fn check_settled(
        &self,
        i: usize,
        key: Key,
        shown: &ConflictRecord,
        intended: &Option<Object>,
    ) -> Result<(), String> {
        let s = self.store(i).state.borrow();
        if s.conflicts.contains_key(&(ObjectKind::Reference, key)) {
            return Err(format!("{key}: still in Sync Conflicts after settling"));
        }
        let now = s
            .objects
            .get(&(ObjectKind::Reference, key))
            .and_then(|o| o.current.clone());
        for f in TRACKED {
            let cv = value_in(intended, f);
            if cv != value_in(&shown.remote, f) && value_in(&now, f) != cv {
                return Err(format!(
                    "{key}: settled with {} “{cv}” but the library holds “{}”",
                    f.id(),
                    value_in(&now, f)
                ));
            }
        }
        Ok(())
    }

    fn conflict_keys(&self) -> Vec<BTreeSet<Key>> {
        self.clients
            .iter()
            .map(|c| {
                c.store
                    .inner
                    .state
                    .borrow()
                    .conflicts
                    .keys()
                    .map(|(_, k)| *k)
                    .collect()
            })
            .collect()
    }

    /// Unlink device `i`, keeping its data: deletes it had not sent are forgotten (documented).
    fn unlink(&mut self, i: usize, wipe: bool) -> Result<(), SyncError> {
        // Deletes the service never took and that wait to be sent (a delete waiting in a
        // conflict stays there).
        let unsent: Vec<Key> = self
            .store(i)
            .state
            .borrow()
            .objects
            .values()
            .filter(|o| o.kind == ObjectKind::Reference && o.current.is_none() && o.dirty)
            .map(|o| o.key)
            .collect();
        trace!("device {i} unlinks (wipe: {wipe}), forgetting deletes of {unsent:?}");
        let c = &self.clients[i];
        block_on(reset(&c.store, &c.remote, wipe))?;
        c.store.unlinked.set(true);
        let mut ledger = self.ledger.borrow_mut();
        for key in unsent {
            for d in ledger.events_of(key, |e| e.client == i && e.what == What::Delete) {
                ledger.forgotten.insert(d);
            }
        }
        ledger.wiped |= wipe;
        Ok(())
    }

    fn sync(&mut self, i: usize, new_batch_key: &mut impl FnMut() -> String) -> Result<(), String> {
        // Now and then the person is typing into a reference shown before the sync started.
        let refs = live_refs(self.store(i));
        if !refs.is_empty() && self.rng.chance(35) {
            let at = *self.rng.pick(&[
                Moment::AfterDirtyRead,
                Moment::AfterPageRead,
                Moment::AfterWrite,
            ]);
            *self.clients[i].store.typing.borrow_mut() = Some(Typing {
                from: self.rng.pick(&refs).clone(),
                field: *self.rng.pick(&TRACKED),
                at,
            });
        }
        let c = &self.clients[i];
        trace!("device {i} syncs");
        let result = block_on(sync(&c.store, &c.remote, new_batch_key));
        trace!("  -> {result:?}");
        trace!(
            "  held in conflict: {:?}",
            c.store
                .inner
                .state
                .borrow()
                .conflicts
                .keys()
                .map(|id| {
                    let s = c.store.inner.state.borrow();
                    s.objects.get(id).map(|o| {
                        (
                            o.base_version,
                            o.base.is_some(),
                            o.current.is_some(),
                            o.dirty,
                        )
                    })
                })
                .collect::<Vec<_>>()
        );
        trace!(
            "  conflicts: {:?}",
            c.store
                .inner
                .state
                .borrow()
                .conflicts
                .values()
                .map(|r| (
                    r.key,
                    r.local.as_ref().map(|l| match l {
                        Object::Reference(r) => r.fields.clone(),
                        _ => Default::default(),
                    })
                ))
                .collect::<Vec<_>>()
        );
        // Typed but the moment never came: it lands now.
        c.store.type_now(None);
        match result {
            Ok(o) => self.seen.conflicts += o.conflicts,
            Err(e) if e.kind == ErrorKind::Connection => self.seen.syncs_cut_off += 1,
            // Reset elsewhere: this device unlinks (keeping its data) and links again on its
            // next sync, as the app and the CLI offer.
            Err(e) if e.kind == ErrorKind::RelinkRequired => {
                self.unlink(i, false).map_err(|e| format!("{e:?}"))?
            }
            Err(e) => return Err(format!("device {i}: {e:?}")),
        }
        Ok(())
    }
}

fn run(seed: u64, seen: &mut Seen) -> Result<(), String> {
    let mut rng = Rng(seed);
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let fault_rng = Rc::new(RefCell::new(Rng(seed ^ 0xFA17)));
    let down = Rc::new(RefCell::new(0u32));
    let lost_answers = Rc::new(Cell::new(0));
    let interleaved = Rc::new(Cell::new(0));
    let n = 2 + rng.below(4) as usize;
    let ledger = Rc::new(RefCell::new(Ledger {
        known: vec![Bits::default(); n],
        ..Ledger::default()
    }));
    let clients: Vec<Client> = (0..n)
        .map(|id| Client {
            store: SimStore {
                inner: MemoryStore::default(),
                client: id,
                ledger: Rc::clone(&ledger),
                typing: RefCell::new(None),
                interleaved: Rc::clone(&interleaved),
                unlinked: Cell::new(false),
                defect: RefCell::new(None),
            },
            remote: SimRemote {
                inner: MemoryRemote {
                    page_size: 7,
                    ..MemoryRemote::new(Rc::clone(&service))
                },
                rng: Rc::clone(&fault_rng),
                faults: true,
                down: Rc::clone(&down),
                lost_answers: Rc::clone(&lost_answers),
                client: id,
                ledger: Rc::clone(&ledger),
            },
            made: 0,
            id,
        })
        .collect();
    let mut world = World {
        rng,
        clients,
        ledger: Rc::clone(&ledger),
        clock: 0,
        seen: Seen::default(),
    };
    let mut batch_keys = 0u64;
    let mut new_batch_key = || {
        batch_keys += 1;
        format!("batch-{batch_keys}")
    };
    let steps = 60 + world.rng.below(60);
    for _ in 0..steps {
        let before = world.conflict_keys();
        let i = world.rng.below(n as u64) as usize;
        let mut settled = None;
        if world.rng.chance(60) {
            let count = world.store(i).state.borrow().conflicts.len();
            world.act(i)?;
            if world.store(i).state.borrow().conflicts.len() < count {
                settled = Some(i);
            }
        } else if world.rng.chance(3) {
            // The service restarts: the next requests of any device find it down. What it
            // committed stays (it is in its database).
            *down.borrow_mut() = 1 + world.rng.below(6) as u32;
            world.seen.restarts += 1;
        } else if world.rng.chance(3) {
            // Reset sync on this device, wiping the online library half the time.
            let wipe = world.rng.chance(50);
            match world.unlink(i, wipe) {
                Ok(()) => world.seen.resets += 1,
                Err(e) if e.kind == ErrorKind::Connection => world.seen.syncs_cut_off += 1,
                Err(e) => return Err(format!("device {i} reset: {e:?}")),
            }
        } else {
            world.sync(i, &mut new_batch_key)?;
        }
        for c in &world.clients {
            if let Some(defect) = c.store.defect.take() {
                return Err(defect);
            }
        }
        for (d, (was, now)) in before.iter().zip(world.conflict_keys()).enumerate() {
            let gone: Vec<&Key> = was.difference(&now).collect();
            let allowed = usize::from(settled == Some(d));
            if gone.len() > allowed {
                return Err(format!(
                    "device {d}: {gone:?} left Sync Conflicts without being settled"
                ));
            }
        }
    }
    // The network heals; everyone syncs until nothing moves.
    for c in &mut world.clients {
        c.remote.faults = false;
    }
    for _ in 0..6 {
        for i in 0..n {
            let c = &world.clients[i];
            match block_on(sync(&c.store, &c.remote, &mut new_batch_key)) {
                Ok(o) => world.seen.conflicts += o.conflicts,
                Err(e) if e.kind == ErrorKind::RelinkRequired => {
                    world.unlink(i, false).map_err(|e| format!("{e:?}"))?;
                    let c = &world.clients[i];
                    block_on(sync(&c.store, &c.remote, &mut new_batch_key))
                        .map_err(|e| format!("sync after relinking: {e:?}"))?;
                }
                Err(e) => return Err(format!("final sync: {e:?}")),
            }
        }
    }
    world.seen.interleaved += interleaved.get();
    world.seen.lost_answers += lost_answers.get();
    let online: BTreeMap<(ObjectKind, Key), Object> = service
        .borrow()
        .objects
        .iter()
        .filter_map(|((kind, key), (_, data))| {
            data.as_ref()
                .map(|d| ((*kind, *key), Object::from_data(*kind, *key, d).unwrap()))
        })
        .collect();
    let ledger = ledger.borrow();
    if !ledger.wiped {
        for k in ledger.made.difference(&ledger.deleted) {
            if !online.contains_key(&(ObjectKind::Reference, *k)) {
                return Err(format!(
                    "reference {k} was made, never deleted, and is gone"
                ));
            }
        }
    }
    for (i, c) in world.clients.iter().enumerate() {
        let dirty = block_on(c.store.inner.dirty(10)).unwrap();
        if !dirty.is_empty() {
            return Err(format!(
                "device {i} still has {} unsynced objects",
                dirty.len()
            ));
        }
        let live = c.store.inner.live();
        if live != online {
            let only_here: Vec<_> = live.keys().filter(|k| !online.contains_key(k)).collect();
            let only_online: Vec<_> = online.keys().filter(|k| !live.contains_key(k)).collect();
            let differ: Vec<_> = live
                .iter()
                .filter(|(k, v)| online.get(k).is_some_and(|o| o != *v))
                .map(|(k, _)| k)
                .collect();
            return Err(format!(
                "device {i} differs from the service: only here {only_here:?}, only online \
                 {only_online:?}, different {differ:?}"
            ));
        }
        for record in c.store.inner.state.borrow().conflicts.values() {
            if record.kind != ObjectKind::Reference {
                return Err(format!(
                    "a {:?} conflicted; only references may",
                    record.kind
                ));
            }
            // Each conflicting field really differs between the two copies kept.
            if let (Some(l), Some(r)) = (reference_of(&record.local), reference_of(&record.remote))
            {
                for f in &record.fields {
                    let same = match f.as_str() {
                        "type" => l.ref_type == r.ref_type,
                        "creators" => l.creators == r.creators,
                        "rating" => l.rating == r.rating,
                        "read" => l.read == r.read,
                        "trashed" => l.trashed == r.trashed,
                        name => l.fields.get(name) == r.fields.get(name),
                    };
                    if same {
                        return Err(format!("{}: {f} conflicts but is the same", record.key));
                    }
                }
            }
        }
    }
    check_writes(&ledger, &online, &world)?;
    seen.conflicts += world.seen.conflicts;
    seen.settled += world.seen.settled;
    seen.settled_merged += world.seen.settled_merged;
    seen.syncs_cut_off += world.seen.syncs_cut_off;
    seen.resets += world.seen.resets;
    seen.restarts += world.seen.restarts;
    seen.interleaved += world.seen.interleaved;
    seen.lost_answers += world.seen.lost_answers;
    seen.edits_in_conflict += world.seen.edits_in_conflict;
    Ok(())
}

/// Every value a person wrote survives, or a later write replaced it, or a settled conflict
/// chose otherwise, or it waits in Sync Conflicts; every delete stays done unless settled.
fn check_writes(
    ledger: &Ledger,
    online: &BTreeMap<(ObjectKind, Key), Object>,
    world: &World,
) -> Result<(), String> {
    let pending = |key: Key, test: &dyn Fn(&Option<Object>) -> bool| {
        world.clients.iter().any(|c| {
            c.store
                .inner
                .state
                .borrow()
                .conflicts
                .get(&(ObjectKind::Reference, key))
                .is_some_and(|r| test(&r.local))
        })
    };
    for (id, e) in ledger.events.iter().enumerate() {
        let now = online.get(&(ObjectKind::Reference, e.key));
        match &e.what {
            What::Field(f, v) => {
                let kept = now.is_some_and(|o| value_in(&Some(o.clone()), *f) == *v);
                let replaced = ledger.events.iter().any(|later| {
                    later.key == e.key
                        && later.past.contains(id)
                        && match &later.what {
                            What::Field(g, _) => g == f,
                            // Deleting replaces every value it knew, even when a settlement
                            // later brings the online copy back.
                            What::Delete => true,
                            What::Touch => false,
                        }
                });
                let waiting = pending(e.key, &|local| value_in(local, *f) == *v);
                if !(kept || replaced || waiting || ledger.settled.contains(id)) {
                    return Err(format!(
                        "device {} wrote {} “{v}” into {}; it is lost (online it is “{}”)",
                        e.client,
                        f.id(),
                        e.key,
                        now.map(|o| value_in(&Some(o.clone()), *f))
                            .unwrap_or_else(|| "deleted".into())
                    ));
                }
            }
            What::Touch => {}
            What::Delete => {
                let undone = ledger.settled.contains(id)
                    || ledger.forgotten.contains(id)
                    || ledger
                        .events
                        .iter()
                        .any(|later| later.key == e.key && later.past.contains(id));
                let waiting = pending(e.key, &|local| local.is_none());
                if now.is_some() && !(undone || waiting || ledger.wiped) {
                    return Err(format!(
                        "device {} deleted {} for good; it is back",
                        e.client, e.key
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_replica_converges_and_no_edit_is_lost() {
    let seeds: Vec<u64> = match std::env::var("REFSYNC_SIM_SEED") {
        Ok(one) => vec![one.parse().expect("REFSYNC_SIM_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("REFSYNC_SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000);
            let from: u64 = std::env::var("REFSYNC_SIM_FROM")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (from..from + n).collect()
        }
    };
    let start = std::time::Instant::now();
    let mut seen = Seen::default();
    let mut failed = Vec::new();
    let keep_going = std::env::var("REFSYNC_SIM_ALL").is_ok();
    for &seed in &seeds {
        if let Err(e) = run(seed, &mut seen) {
            if !keep_going {
                panic!("seed {seed} failed (replay with REFSYNC_SIM_SEED={seed}): {e}");
            }
            eprintln!("seed {seed}: {e}");
            failed.push(seed);
        }
    }
    eprintln!(
        "{} seeds in {:.1?}: {} conflicts recorded, {} settled ({} merged), {} edits of \
         conflicted references, {} edits typed during a sync, {} push answers lost, {} syncs \
         cut off, {} resets, {} service restarts",
        seeds.len(),
        start.elapsed(),
        seen.conflicts,
        seen.settled,
        seen.settled_merged,
        seen.edits_in_conflict,
        seen.interleaved,
        seen.lost_answers,
        seen.syncs_cut_off,
        seen.resets,
        seen.restarts
    );
    assert!(
        failed.is_empty(),
        "{} seeds failed: {failed:?}",
        failed.len()
    );
    if seeds.len() >= 100 {
        assert!(seen.conflicts > 0, "no seed reached a conflict");
        assert!(seen.settled_merged > 0, "no conflict was settled merged");
        assert!(
            seen.edits_in_conflict > 0,
            "nobody edited a conflicted reference"
        );
        assert!(seen.interleaved > 0, "no edit landed during a sync");
        assert!(seen.lost_answers > 0, "no push answer was lost");
        assert!(seen.syncs_cut_off > 0, "no sync was cut off");
        assert!(seen.resets > 0, "no seed reset sync");
    }
}
