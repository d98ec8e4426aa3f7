//! A deterministic simulation of the sync engine: 2 to 5 clients, each an in-memory store,
//! making random edits and syncing in random order against an in-memory model of the service
//! that follows the protocol's rules (versions, conflicts, idempotent batches, epochs), while
//! requests and answers are dropped at random (a batch applied but its answer lost, then
//! retried). At the end every client syncs until quiet, and every replica must equal the
//! service's copy.
//!
//! `REFSYNC_SIM_SEEDS` sets how many seeds run (10,000 by default); `REFSYNC_SIM_SEED=N` runs
//! one. A failing seed is printed so it can be replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use refsync_core::protocol::{Batch, BatchResult, ChangesPage, Link, Object, ResetResult};
use refsync_core::sync::{
    reset, sync, ErrorKind, MemoryRemote, MemoryService, MemoryStore, Remote, SyncError,
};
use refsync_core::{Field, Group, GroupKind, Key, ObjectKind, RefType, Reference};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Every future here completes without waiting (nothing does real I/O).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a simulated future waited"),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: a good spread from consecutive seeds.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One client's connection to the service: core's [`MemoryRemote`] (small pages, so paging is
/// exercised), dropping requests and answers at random.
struct SimRemote {
    inner: MemoryRemote,
    rng: Rc<RefCell<Rng>>,
    faults: bool,
    /// Requests still to fail because the service is restarting (shared by all clients).
    down: Rc<RefCell<u32>>,
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
        if self.cut() {
            return Err(Self::lost()); // applied, but the answer was lost
        }
        Ok(answer)
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        self.inner.reset(wipe).await
    }

    async fn pause(&self, _millis: u64) {}
}

struct Client {
    store: MemoryStore,
    remote: SimRemote,
    made: u64,
    id: u64,
}

fn new_key(client: u64, n: u64) -> Key {
    Key::new(
        1_700_000_000_000 + client * 1_000_000 + n,
        [client as u8; 10],
    )
}

fn live_refs(c: &Client) -> Vec<Reference> {
    c.store
        .live()
        .into_values()
        .filter_map(|o| match o {
            Object::Reference(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn live_groups(c: &Client) -> Vec<Group> {
    c.store
        .live()
        .into_values()
        .filter_map(|o| match o {
            Object::Group(g) => Some(g),
            _ => None,
        })
        .collect()
}

/// One random thing a user does.
fn act(c: &mut Client, rng: &mut Rng, clock: &mut u64, ledger: &mut Ledger) {
    *clock += 1;
    let refs = live_refs(c);
    let groups = live_groups(c);
    match rng.below(10) {
        0 | 1 => {
            c.made += 1;
            let mut r = Reference {
                key: new_key(c.id, c.made),
                ref_type: RefType::JournalArticle,
                date_added: *clock,
                date_modified: *clock,
                ..Reference::default()
            };
            r.set(Field::Title, format!("made by {} #{}", c.id, c.made));
            ledger.made.insert(r.key);
            c.store.edit(Object::Reference(r));
        }
        2..=4 if !refs.is_empty() => {
            let mut r = refs[rng.below(refs.len() as u64) as usize].clone();
            let field = [Field::Title, Field::Year, Field::Abstract][rng.below(3) as usize];
            r.set(field, format!("v{}", rng.below(4)));
            r.date_modified = *clock;
            c.store.edit(Object::Reference(r));
        }
        5 if !refs.is_empty() && !groups.is_empty() => {
            let mut r = refs[rng.below(refs.len() as u64) as usize].clone();
            let g = groups[rng.below(groups.len() as u64) as usize].key;
            if !r.groups.remove(&g) {
                r.groups.insert(g);
            }
            c.store.edit(Object::Reference(r));
        }
        6 if !refs.is_empty() => {
            let mut r = refs[rng.below(refs.len() as u64) as usize].clone();
            r.trashed = !r.trashed;
            c.store.edit(Object::Reference(r));
        }
        7 if !refs.is_empty() => {
            let r = &refs[rng.below(refs.len() as u64) as usize];
            ledger.deleted.insert(r.key);
            c.store.delete(ObjectKind::Reference, r.key);
        }
        8 => {
            if groups.is_empty() || rng.chance(50) {
                c.made += 1;
                c.store.edit(Object::Group(Group {
                    key: new_key(c.id, c.made),
                    name: format!("group {}", c.made),
                    set: None,
                    kind: GroupKind::Custom,
                    shared: false,
                    date_modified: *clock,
                }));
            } else {
                let mut g = groups[rng.below(groups.len() as u64) as usize].clone();
                g.name = format!("renamed {}", rng.below(3));
                g.date_modified = *clock;
                c.store.edit(Object::Group(g));
            }
        }
        9 if !groups.is_empty() && rng.chance(50) => {
            let g = &groups[rng.below(groups.len() as u64) as usize];
            c.store.delete(ObjectKind::Group, g.key);
        }
        9 => {
            // Empty the trash: every trashed reference deleted for good.
            for r in refs.iter().filter(|r| r.trashed) {
                ledger.deleted.insert(r.key);
                c.store.delete(ObjectKind::Reference, r.key);
            }
        }
        _ => {}
    }
}

/// What a run saw, to show the simulation reached the cases it is for.
#[derive(Default)]
struct Seen {
    conflicts: u64,
    syncs_cut_off: u64,
    resets: u64,
    restarts: u64,
}

/// References made and deleted by the users, to check nothing made was lost.
#[derive(Default)]
struct Ledger {
    made: BTreeSet<Key>,
    deleted: BTreeSet<Key>,
    wiped: bool,
}

fn run(seed: u64, seen: &mut Seen) -> Result<(), String> {
    let mut rng = Rng(seed);
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let fault_rng = Rc::new(RefCell::new(Rng(seed ^ 0xFA17)));
    let down = Rc::new(RefCell::new(0u32));
    let n = 2 + rng.below(4);
    let mut clients: Vec<Client> = (0..n)
        .map(|id| Client {
            store: MemoryStore::default(),
            remote: SimRemote {
                inner: MemoryRemote {
                    service: Rc::clone(&service),
                    page_size: 7,
                },
                rng: Rc::clone(&fault_rng),
                faults: true,
                down: Rc::clone(&down),
            },
            made: 0,
            id,
        })
        .collect();
    let mut batch_keys = 0u64;
    let mut new_batch_key = || {
        batch_keys += 1;
        format!("batch-{batch_keys}")
    };
    let mut clock = 0;
    let mut ledger = Ledger::default();
    for _ in 0..40 + rng.below(40) {
        let i = rng.below(n) as usize;
        if rng.chance(70) {
            act(&mut clients[i], &mut rng, &mut clock, &mut ledger);
        } else if rng.chance(3) {
            // The service restarts: the next requests of any client find it down. What it
            // committed stays (it is in its database).
            *down.borrow_mut() = 1 + rng.below(6) as u32;
            seen.restarts += 1;
        } else if rng.chance(3) {
            // Reset sync on this client, wiping the online library half the time.
            let wipe = rng.chance(50);
            let c = &clients[i];
            match block_on(reset(&c.store, &c.remote, wipe)) {
                Ok(()) => {
                    seen.resets += 1;
                    ledger.wiped |= wipe;
                }
                Err(e) if e.kind == ErrorKind::Connection => seen.syncs_cut_off += 1,
                Err(e) => return Err(format!("client {i} reset: {e:?}")),
            }
        } else {
            let c = &clients[i];
            match block_on(sync(&c.store, &c.remote, &mut new_batch_key)) {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::Connection => seen.syncs_cut_off += 1,
                // Reset elsewhere: this client unlinks (keeping its data) and links again
                // on its next sync, as the app and the CLI offer.
                Err(e) if e.kind == ErrorKind::RelinkRequired => {
                    block_on(reset(&c.store, &c.remote, false)).map_err(|e| format!("{e:?}"))?;
                }
                Err(e) => return Err(format!("client {i}: {e:?}")),
            }
        }
    }
    // The network heals; everyone syncs until nothing moves.
    for c in &mut clients {
        c.remote.faults = false;
    }
    for _ in 0..6 {
        for c in &clients {
            match block_on(sync(&c.store, &c.remote, &mut new_batch_key)) {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::RelinkRequired => {
                    block_on(reset(&c.store, &c.remote, false)).map_err(|e| format!("{e:?}"))?;
                    block_on(sync(&c.store, &c.remote, &mut new_batch_key))
                        .map_err(|e| format!("sync after relinking: {e:?}"))?;
                }
                Err(e) => return Err(format!("final sync: {e:?}")),
            }
        }
    }
    let online: BTreeMap<(ObjectKind, Key), Object> = service
        .borrow()
        .objects
        .iter()
        .filter_map(|((kind, key), (_, data))| {
            data.as_ref()
                .map(|d| ((*kind, *key), Object::from_data(*kind, *key, d).unwrap()))
        })
        .collect();
    if !ledger.wiped {
        for k in ledger.made.difference(&ledger.deleted) {
            if !online.contains_key(&(ObjectKind::Reference, *k)) {
                return Err(format!(
                    "reference {k} was made, never deleted, and is gone"
                ));
            }
        }
    }
    for (i, c) in clients.iter().enumerate() {
        let dirty = block_on(refsync_core::sync::LocalStore::dirty(&c.store, 10)).unwrap();
        if !dirty.is_empty() {
            return Err(format!(
                "client {i} still has {} unsynced objects",
                dirty.len()
            ));
        }
        let live = c.store.live();
        if live != online {
            let only_here: Vec<_> = live.keys().filter(|k| !online.contains_key(k)).collect();
            let only_online: Vec<_> = online.keys().filter(|k| !live.contains_key(k)).collect();
            let differ: Vec<_> = live
                .iter()
                .filter(|(k, v)| online.get(k).is_some_and(|o| o != *v))
                .map(|(k, _)| k)
                .collect();
            return Err(format!(
                "client {i} differs from the service: only here {only_here:?}, only online \
                 {only_online:?}, different {differ:?}"
            ));
        }
        seen.conflicts += c.store.state.borrow().conflicts.len() as u64;
        for record in c.store.state.borrow().conflicts.values() {
            if record.kind != ObjectKind::Reference {
                return Err(format!(
                    "a {:?} conflicted; only references may",
                    record.kind
                ));
            }
            if record.reason == refsync_core::sync::ConflictReason::Fields {
                if record.fields.is_empty() {
                    return Err("a field conflict without conflicting fields".into());
                }
                // Each conflicting field really differs between the two copies kept.
                if let (Some(Object::Reference(l)), Some(Object::Reference(r))) =
                    (&record.local, &record.remote)
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
    }
    Ok(())
}

#[test]
fn every_replica_converges_on_the_services_copy() {
    let seeds: Vec<u64> = match std::env::var("REFSYNC_SIM_SEED") {
        Ok(one) => vec![one.parse().expect("REFSYNC_SIM_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("REFSYNC_SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000);
            (0..n).collect()
        }
    };
    let start = std::time::Instant::now();
    let mut seen = Seen::default();
    for &seed in &seeds {
        if let Err(e) = run(seed, &mut seen) {
            panic!("seed {seed} failed (replay with REFSYNC_SIM_SEED={seed}): {e}");
        }
    }
    eprintln!(
        "{} seeds in {:.1?}: {} conflicts recorded, {} syncs cut off by the network, {} resets, \
         {} service restarts",
        seeds.len(),
        start.elapsed(),
        seen.conflicts,
        seen.syncs_cut_off,
        seen.resets,
        seen.restarts
    );
    if seeds.len() >= 100 {
        assert!(seen.conflicts > 0, "no seed reached a conflict");
        assert!(seen.syncs_cut_off > 0, "no sync was cut off");
        assert!(seen.resets > 0, "no seed reset sync");
    }
}
