//! The browser library as core's sync engine sees it: [`LocalStore`] over the stores of
//! schema version 2.
//!
//! Invariants: each engine call that writes is one IndexedDB transaction over every store it
//! touches, so a closed tab or a failed write leaves the library as it was before the call;
//! an object's sync state is the trio (its record in its kind's store, its dirty mark, its
//! base) and they only ever change together; and an edit the person makes while a sync runs
//! is never overwritten: a page change for an object edited after the engine read it is
//! skipped, the edit stays dirty with its old base, and the next push meets the service's copy
//! as a conflict, which the engine merges three ways (or keeps for the person).

use super::packs::{self, OwnKeys};
use super::schema::{self, store_of, BASES, CONFLICTS, DIRTY, META, PACKS};
use super::{split_record, sync_id, Store, Write};
use indexed_db_futures::error::Error as IdbError;
use indexed_db_futures::future::BasicRequest;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::Result as IdbResult;
use refsync_core::protocol::Object;
use refsync_core::query::DuplicateSet;
use refsync_core::sync::{
    resolve, ConflictReason, ConflictRecord, ErrorKind, LinkState, LocalObject, LocalStore,
    Resolution, StoreChange, SyncError,
};
use refsync_core::{Key, ObjectKind, Reference};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// The link's name in `meta`.
const LINK: &str = "link";
/// Probable duplicates found by the last first sync, in `meta`.
const DUPLICATES: &str = "duplicates";

/// What `meta` keeps of the link.
#[derive(Serialize, Deserialize)]
struct LinkRecord {
    library_id: String,
    epoch: u64,
    synced_version: u64,
}

/// A base as stored: the version and the data as sent (`None`: deleted online).
///
/// Nearly every object is unchanged since it was synced; such an object is its own base: its
/// record carries the version (`v<version>` and a newline before the JSON, see
/// [`split_record`]) and it has no base record. That is one write per object for a sync
/// instead of three. Invariant: a record carries a version only while the object is
/// unchanged, because every person's write goes through [`pin_bases`] first, which copies the
/// record into a base record before the record is overwritten.
#[derive(Serialize, Deserialize)]
struct BaseRecord {
    version: u64,
    data: Option<String>,
}

/// A conflict as stored.
#[derive(Serialize, Deserialize)]
pub struct ConflictRow {
    pub kind: String,
    pub key: String,
    pub reason: String,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub remote_version: u64,
    pub fields: Vec<String>,
}

fn local_err(e: impl std::fmt::Display) -> SyncError {
    SyncError::new(
        ErrorKind::Local,
        format!("This browser's storage failed ({e}); nothing was changed."),
    )
}

fn idb(e: impl std::fmt::Display) -> IdbError {
    IdbError::from(JsValue::from(js_sys::Error::new(&e.to_string())))
}

fn to_json(o: &Object) -> IdbResult<String> {
    o.to_json().map_err(idb)
}

fn reason_id(r: ConflictReason) -> &'static str {
    match r {
        ConflictReason::Fields => "fields",
        ConflictReason::EditedHereDeletedOnline => "edited_here_deleted_online",
        ConflictReason::DeletedHereEditedOnline => "deleted_here_edited_online",
    }
}

fn reason_of(id: &str) -> ConflictReason {
    match id {
        "edited_here_deleted_online" => ConflictReason::EditedHereDeletedOnline,
        "deleted_here_edited_online" => ConflictReason::DeletedHereEditedOnline,
        _ => ConflictReason::Fields,
    }
}

impl ConflictRow {
    fn of(r: &ConflictRecord) -> IdbResult<ConflictRow> {
        Ok(ConflictRow {
            kind: r.kind.as_str().into(),
            key: r.key.to_string(),
            reason: reason_id(r.reason).into(),
            local: r.local.as_ref().map(to_json).transpose()?,
            remote: r.remote.as_ref().map(to_json).transpose()?,
            remote_version: r.remote_version,
            fields: r.fields.clone(),
        })
    }

    /// The record, or `None` if it no longer reads (a newer app wrote it).
    pub fn record(&self) -> Option<ConflictRecord> {
        let kind = ObjectKind::parse(&self.kind)?;
        let key = Key::parse(&self.key).ok()?;
        let read = |d: &Option<String>| match d {
            None => Some(None),
            Some(json) => Object::from_json(kind, key, json).ok().map(Some),
        };
        Some(ConflictRecord {
            kind,
            key,
            reason: reason_of(&self.reason),
            local: read(&self.local)?,
            remote: read(&self.remote)?,
            remote_version: self.remote_version,
            fields: self.fields.clone(),
        })
    }
}

/// A sync that changes more objects than this has the window read everything again instead of
/// replaying the changes. Replaying is cheaper at any size (the window rebuilds its index once
/// for a long list); the bound only keeps a sync's copies from growing without end.
const REPLAY_AT_MOST: usize = 250_000;

/// Pages larger than this list each store's keys once instead of reading key by key.
const LIST_KEYS_OVER: usize = 500;

async fn all_keys(
    tx: &Transaction<'_>,
    store: &str,
) -> IdbResult<std::collections::HashSet<String>> {
    tx.object_store(store)?
        .get_all_keys()
        .primitive()?
        .await?
        .collect()
}

/// The string a read found, if it was made and found one.
async fn read_value(read: Option<BasicRequest<Option<JsValue>>>) -> IdbResult<Option<String>> {
    Ok(match read {
        Some(r) => r.await?.and_then(|v| v.as_string()),
        None => None,
    })
}

/// Every store the engine's writes touch.
fn all_stores() -> Vec<&'static str> {
    let mut stores = schema::OBJECT_STORES.to_vec();
    stores.extend([DIRTY, BASES, CONFLICTS, META, PACKS]);
    stores
}

async fn read_string(tx: &Transaction<'_>, store: &str, id: &str) -> IdbResult<Option<String>> {
    let found: Option<JsValue> = tx
        .object_store(store)?
        .get(id.to_string())
        .primitive()?
        .await?;
    Ok(found.and_then(|v| v.as_string()))
}

/// An object record: the object, and the synced version it carries if it is its own base.
fn parse_record(kind: ObjectKind, key: Key, record: &str) -> IdbResult<(Object, Option<u64>)> {
    let (version, json) = split_record(record);
    Ok((Object::from_json(kind, key, json).map_err(idb)?, version))
}

async fn read_object(
    store: &Store,
    tx: &Transaction<'_>,
    kind: ObjectKind,
    key: Key,
) -> IdbResult<Option<(Object, Option<u64>)>> {
    packs::read_records(store, tx, &[(kind, key)], None)
        .await?
        .pop()
        .flatten()
        .map(|record| parse_record(kind, key, &record))
        .transpose()
}

/// What a large page already listed: each store's keys, the dirty marks and the bases, so
/// that only what exists is read.
struct Listed {
    objects: OwnKeys,
    marks: std::collections::HashSet<String>,
    bases: std::collections::HashSet<String>,
}

/// The sync state of each of `ids`, and what was found besides the object ([`Seen`]). Every
/// read is asked for before the first is awaited: one transaction's requests run back to
/// back, so a page costs a few round trips, not one per object.
async fn read_locals(
    store: &Store,
    tx: &Transaction<'_>,
    ids: &[(ObjectKind, Key)],
    listed: Option<&Listed>,
) -> IdbResult<Vec<(Option<LocalObject>, Seen)>> {
    let records = packs::read_records(store, tx, ids, listed.map(|l| &l.objects)).await?;
    let (dirty, bases) = (tx.object_store(DIRTY)?, tx.object_store(BASES)?);
    type Read = Option<BasicRequest<Option<JsValue>>>;
    let mut pending: Vec<(Read, Read)> = Vec::with_capacity(ids.len());
    for (kind, key) in ids {
        let id = sync_id(*kind, *key);
        let (has_mark, has_base) = match listed {
            None => (true, true),
            Some(l) => (l.marks.contains(&id), l.bases.contains(&id)),
        };
        let mark = has_mark
            .then(|| dirty.get(id.clone()).primitive())
            .transpose()?;
        let base = has_base.then(|| bases.get(id).primitive()).transpose()?;
        pending.push((mark, base));
    }
    let mut out = Vec::with_capacity(ids.len());
    for (((kind, key), record), (mark, base)) in ids.iter().zip(records).zip(pending) {
        let current = record
            .map(|record| parse_record(*kind, *key, &record))
            .transpose()?;
        let dirty = match mark {
            Some(m) => m.await?.is_some(),
            None => false,
        };
        let base = match read_value(base).await? {
            None => None,
            Some(json) => Some(serde_json::from_str::<BaseRecord>(&json).map_err(idb)?),
        };
        let seen = (dirty, base.is_some());
        out.push((local_object(*kind, *key, current, dirty, base)?, seen));
    }
    Ok(out)
}

/// An object's sync state from its records (`None`: nothing under that key).
fn local_object(
    kind: ObjectKind,
    key: Key,
    current: Option<(Object, Option<u64>)>,
    dirty: bool,
    base: Option<BaseRecord>,
) -> IdbResult<Option<LocalObject>> {
    let (current, own_version) = match current {
        Some((o, v)) => (Some(o), v),
        None => (None, None),
    };
    if current.is_none() && base.is_none() && !dirty {
        return Ok(None);
    }
    let (base_version, base) = match (base, own_version) {
        (None, None) => (0, None),
        (None, Some(v)) => (v, current.clone()),
        (Some(b), _) => (
            b.version,
            match b.data {
                None => None,
                Some(json) => Some(Object::from_json(kind, key, &json).map_err(idb)?),
            },
        ),
    };
    Ok(Some(LocalObject {
        kind,
        key,
        base_version,
        base,
        current,
        dirty,
    }))
}

/// What the last read of an object found besides the object: a dirty mark, a base record.
/// A write that knows there is none skips deleting it (most of a first download).
pub(crate) type Seen = (bool, bool);

/// Put or remove an object's records as `o` says; `seen` is what the engine's read found.
/// The pack index must be fresh in `tx` (a delete may need a tombstone).
fn write_local(
    store: &Store,
    tx: &Transaction<'_>,
    o: &LocalObject,
    seen: Option<Seen>,
) -> IdbResult<()> {
    let id = sync_id(o.kind, o.key);
    let objects = tx.object_store(store_of(o.kind))?;
    let (had_mark, had_base) = seen.unwrap_or((true, true));
    if let (Some(c), false, true) = (&o.current, o.dirty, o.base == o.current) {
        if o.base_version > 0 {
            // Unchanged since synced: its own base.
            objects
                .put(format!("v{}\n{}", o.base_version, to_json(c)?))
                .with_key(o.key.to_string())
                .primitive()?;
            if had_base {
                tx.object_store(BASES)?.delete(id.clone()).primitive()?;
            }
            if had_mark {
                mark(tx, &id, false)?;
            }
            return Ok(());
        }
    }
    match &o.current {
        Some(c) => {
            objects
                .put(to_json(c)?)
                .with_key(o.key.to_string())
                .primitive()?;
        }
        None => packs::delete_object(store, tx, o.kind, o.key)?,
    }
    write_base(tx, &id, o.base_version, o.base.as_ref())?;
    if o.dirty || had_mark {
        mark(tx, &id, o.dirty)?;
    }
    Ok(())
}

fn write_base(
    tx: &Transaction<'_>,
    id: &str,
    version: u64,
    base: Option<&Object>,
) -> IdbResult<()> {
    let bases = tx.object_store(BASES)?;
    if version == 0 && base.is_none() {
        bases.delete(id.to_string()).primitive()?;
    } else {
        let record = BaseRecord {
            version,
            data: base.map(to_json).transpose()?,
        };
        bases
            .put(serde_json::to_string(&record).map_err(idb)?)
            .with_key(id.to_string())
            .primitive()?;
    }
    Ok(())
}

/// Before a person's write to the objects `ids` (sync ids): an object that is its own base
/// (its record carries the synced version) gets a base record with that copy, since the write
/// is about to replace the record. The transaction must cover the object stores and `bases`.
pub(super) async fn pin_bases(
    store: &Store,
    tx: &Transaction<'_>,
    ids: &[String],
) -> IdbResult<()> {
    let parsed: Vec<(&String, ObjectKind, Key)> = ids
        .iter()
        .filter_map(|id| parse_id(id).map(|(kind, key)| (id, kind, key)))
        .collect();
    // A large write (an import) asks once which of its objects have records at all.
    let mut own: OwnKeys = OwnKeys::new();
    if parsed.len() > 200 {
        for (_, kind, _) in &parsed {
            if !own.contains_key(kind) {
                own.insert(*kind, all_keys(tx, store_of(*kind)).await?);
            }
        }
    }
    let targets: Vec<(ObjectKind, Key)> =
        parsed.iter().map(|(_, kind, key)| (*kind, *key)).collect();
    let records =
        packs::read_records(store, tx, &targets, (!own.is_empty()).then_some(&own)).await?;
    let bases = tx.object_store(BASES)?;
    for ((id, _, _), record) in parsed.iter().zip(records) {
        let Some(record) = record else {
            continue;
        };
        let (Some(version), json) = split_record(&record) else {
            continue;
        };
        let base = BaseRecord {
            version,
            data: Some(json.to_string()),
        };
        bases
            .put(serde_json::to_string(&base).map_err(idb)?)
            .with_key((*id).clone())
            .primitive()?;
    }
    Ok(())
}

fn mark(tx: &Transaction<'_>, id: &str, dirty: bool) -> IdbResult<()> {
    let marks = tx.object_store(DIRTY)?;
    if dirty {
        marks.put(true).with_key(id.to_string()).primitive()?;
    } else {
        marks.delete(id.to_string()).primitive()?;
    }
    Ok(())
}

/// Whether a page's put may go into a pack: a reference that is unchanged since synced (so it
/// is its own base at a version).
fn packable(o: &LocalObject) -> bool {
    o.kind == packs::PACKED_KIND
        && o.current.is_some()
        && !o.dirty
        && o.base == o.current
        && o.base_version > 0
}

/// A page's packs being filled: each full pack is put at once and indexed (the index is put
/// back to what the database holds if the page's transaction fails).
struct Packer {
    next: u64,
    text: String,
    lines: usize,
}

impl Packer {
    fn new(index: &packs::PackIndex) -> Packer {
        Packer {
            next: index.next_number(),
            text: String::new(),
            lines: 0,
        }
    }

    fn push(
        &mut self,
        tx: &Transaction<'_>,
        index: &std::cell::RefCell<packs::PackIndex>,
        id: &str,
        version: u64,
        json: &str,
    ) -> IdbResult<()> {
        packs::push_line(&mut self.text, id, version, json);
        self.lines += 1;
        if self.lines >= packs::PACK_LINES {
            self.flush(tx, index)?;
        }
        Ok(())
    }

    fn flush(
        &mut self,
        tx: &Transaction<'_>,
        index: &std::cell::RefCell<packs::PackIndex>,
    ) -> IdbResult<()> {
        if self.lines == 0 {
            return Ok(());
        }
        let id = packs::pack_name(self.next);
        self.next += 1;
        let text = std::mem::take(&mut self.text);
        let emptied = index.borrow_mut().add(&id, &text);
        packs::delete(tx, &emptied)?;
        packs::write(tx, &id, text)?;
        self.lines = 0;
        Ok(())
    }
}

/// The kind and key a sync id (`kind/key`) names.
pub(crate) fn parse_id(id: &str) -> Option<(ObjectKind, Key)> {
    let (kind, key) = id.split_once('/')?;
    Some((ObjectKind::parse(kind)?, Key::parse(key).ok()?))
}

impl Store {
    /// Settle a conflict as the person chose: the chosen copy becomes an ordinary edit based
    /// on the online version (so it syncs), and the conflict is gone, in one transaction.
    pub async fn resolve_conflict(
        &self,
        record: &ConflictRecord,
        resolution: Resolution,
    ) -> Result<(), SyncError> {
        let resolved = resolve(record, resolution);
        self.note_edits(std::iter::once(sync_id(record.kind, record.key)));
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            packs::refresh(self, &tx).await?;
            write_local(self, &tx, &resolved, None)?;
            tx.object_store(CONFLICTS)?
                .delete(sync_id(record.kind, record.key))
                .primitive()?;
            tx.commit().await
        }
        .await
        .map_err(local_err)
    }

    /// The unresolved sync conflicts.
    pub async fn conflicts(&self) -> Result<Vec<ConflictRecord>, SyncError> {
        async {
            let tx = self.tx(&[CONFLICTS], TransactionMode::Readonly)?;
            let all: Vec<JsValue> = tx
                .object_store(CONFLICTS)?
                .get_all()
                .primitive()?
                .await?
                .collect::<IdbResult<Vec<JsValue>>>()?;
            Ok::<_, IdbError>(
                all.into_iter()
                    .filter_map(|v| v.as_string())
                    .filter_map(|s| serde_json::from_str::<ConflictRow>(&s).ok())
                    .filter_map(|row| row.record())
                    .collect(),
            )
        }
        .await
        .map_err(local_err)
    }
}

impl LocalStore for Store {
    async fn link(&self) -> Result<Option<LinkState>, SyncError> {
        // The engine asks at the start of every round: a fresh listing of keys per round.
        self.object_keys.replace(None);
        let found = self.meta(LINK).await.map_err(local_err)?;
        Ok(found
            .and_then(|json| serde_json::from_str::<LinkRecord>(&json).ok())
            .map(|l| LinkState {
                library_id: l.library_id,
                epoch: l.epoch,
                synced_version: l.synced_version,
            }))
    }

    async fn set_link(&self, link: Option<LinkState>) -> Result<(), SyncError> {
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            let meta = tx.object_store(META)?;
            match &link {
                Some(l) => {
                    let record = LinkRecord {
                        library_id: l.library_id.clone(),
                        epoch: l.epoch,
                        synced_version: l.synced_version,
                    };
                    meta.put(serde_json::to_string(&record).map_err(idb)?)
                        .with_key(LINK.to_string())
                        .primitive()?;
                }
                None => {
                    // Unlinked: keep the data, forget what was synced, so that a new link
                    // sends everything here (and deletes made here are forgotten with it).
                    meta.delete(LINK.to_string()).primitive()?;
                    packs::refresh(self, &tx).await?;
                    tx.object_store(BASES)?.clear()?;
                    tx.object_store(CONFLICTS)?.clear()?;
                    let dirty = tx.object_store(DIRTY)?;
                    dirty.clear()?;
                    for kind in [
                        ObjectKind::Reference,
                        ObjectKind::Group,
                        ObjectKind::GroupSet,
                        ObjectKind::Attachment,
                    ] {
                        let objects = tx.object_store(store_of(kind))?;
                        let keys: Vec<String> = objects
                            .get_all_keys()
                            .primitive()?
                            .await?
                            .collect::<IdbResult<Vec<String>>>()?;
                        let records: Vec<JsValue> = objects
                            .get_all()
                            .primitive()?
                            .await?
                            .collect::<IdbResult<Vec<JsValue>>>()?;
                        let own: std::collections::HashSet<String> = keys.iter().cloned().collect();
                        for (k, record) in keys.into_iter().zip(records) {
                            if record.as_string().as_deref() == Some(packs::TOMBSTONE) {
                                // Deleted here: with the packs gone, simply absent.
                                objects.delete(k).primitive()?;
                                continue;
                            }
                            // Forget the synced version a record carries, like the bases.
                            if let Some(record) = record.as_string() {
                                if let (Some(_), json) = split_record(&record) {
                                    objects
                                        .put(json.to_string())
                                        .with_key(k.clone())
                                        .primitive()?;
                                }
                            }
                            dirty
                                .put(true)
                                .with_key(format!("{}/{k}", kind.as_str()))
                                .primitive()?;
                        }
                        if kind == packs::PACKED_KIND {
                            // Packed references become own records, to send again like the rest.
                            let prefix = format!("{}/", kind.as_str());
                            let packed: Vec<String> = self
                                .packs
                                .borrow()
                                .entries()
                                .filter(|(id, _)| {
                                    id.strip_prefix(&prefix).is_some_and(|k| !own.contains(k))
                                })
                                .map(|(id, _)| id.to_string())
                                .collect();
                            let found = packs::read_packed(self, &tx, &packed).await?;
                            for (id, record) in found {
                                let Some(k) = id.strip_prefix(&prefix) else {
                                    continue;
                                };
                                objects
                                    .put(split_record(&record).1.to_string())
                                    .with_key(k.to_string())
                                    .primitive()?;
                                dirty.put(true).with_key(id.clone()).primitive()?;
                            }
                        }
                    }
                    tx.object_store(PACKS)?.clear()?;
                }
            }
            tx.commit().await
        }
        .await
        .map_err(local_err)
    }

    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readonly)?;
            let ids: Vec<String> = tx
                .object_store(DIRTY)?
                .get_all_keys()
                .with_limit(u32::try_from(limit).unwrap_or(u32::MAX))
                .primitive()?
                .await?
                .collect::<IdbResult<Vec<String>>>()?;
            for id in &ids {
                self.note_read(id);
            }
            let targets: Vec<(ObjectKind, Key)> =
                ids.iter().filter_map(|id| parse_id(id)).collect();
            let read = read_locals(self, &tx, &targets, None).await?;
            Ok::<_, IdbError>(read.into_iter().filter_map(|(o, _)| o).collect())
        }
        .await
        .map_err(local_err)
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        self.note_read(&sync_id(kind, key));
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readonly)?;
            let mut read = read_locals(self, &tx, &[(kind, key)], None).await?;
            Ok::<_, IdbError>(read.pop().and_then(|(o, _)| o))
        }
        .await
        .map_err(local_err)
    }

    async fn get_many(
        &self,
        ids: &[(ObjectKind, Key)],
    ) -> Result<Vec<Option<LocalObject>>, SyncError> {
        let started = crate::browser::perf_now();
        let read = async {
            let tx = self.tx(&all_stores(), TransactionMode::Readonly)?;
            // A large page (a first download) asks once which keys exist at all: into an
            // empty or fresh library most reads would find nothing.
            let known = if ids.len() > LIST_KEYS_OVER {
                let mut kinds: Vec<ObjectKind> = ids.iter().map(|(k, _)| *k).collect();
                refsync_core::sort::sort_by_key(&mut kinds, |k| k.as_str());
                kinds.dedup();
                // The keys of a large store are listed once per round of pages, not per page:
                // a 50,000-reference library has 50,000 of them. Nothing can vanish from the
                // list unnoticed that matters (a key listed but gone reads as nothing), and
                // what this sync writes is added as it goes; other tabs only make new keys,
                // which no page of this round can hold.
                let mut cache = self.object_keys.borrow_mut().take().unwrap_or_default();
                for kind in kinds {
                    if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(kind) {
                        e.insert(all_keys(&tx, store_of(kind)).await?);
                    }
                }
                let objects = cache.clone();
                self.object_keys.replace(Some(cache));
                Some(Listed {
                    objects,
                    marks: all_keys(&tx, DIRTY).await?,
                    bases: all_keys(&tx, BASES).await?,
                })
            } else {
                None
            };
            for (kind, key) in ids {
                self.note_read(&sync_id(*kind, *key));
            }
            let read = read_locals(self, &tx, ids, known.as_ref()).await?;
            let mut out = Vec::with_capacity(ids.len());
            let mut seen = std::collections::HashMap::with_capacity(ids.len());
            for ((kind, key), (o, found)) in ids.iter().zip(read) {
                seen.insert(sync_id(*kind, *key), found);
                out.push(o);
            }
            self.seen.replace(seen);
            Ok::<_, IdbError>(out)
        }
        .await
        .map_err(local_err);
        crate::browser::measure("sync-read-page", started);
        read
    }

    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError> {
        let started = crate::browser::perf_now();
        // What the engine's read of this page found, for the writes below.
        let seen = self.seen.take();
        let written = async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            packs::refresh(self, &tx).await?;
            let mut shown = Vec::new();
            let mut conflicts = false;
            // A large page (its keys were listed) with many unchanged references packs them.
            let packable_puts = changes
                .iter()
                .filter(|c| matches!(c, StoreChange::Put(o) if packable(o)))
                .count();
            let mut packer = (packable_puts >= packs::PACK_AT_LEAST
                && self.object_keys.borrow().is_some())
            .then(|| Packer::new(&self.packs.borrow()));
            // By value: what is written moves on to the window without a copy.
            for change in changes {
                match change {
                    StoreChange::Put(o) if self.edited_since_read(&sync_id(o.kind, o.key)) => {}
                    StoreChange::Conflict(r) if self.edited_since_read(&sync_id(r.kind, r.key)) => {
                    }
                    StoreChange::Put(o) if packer.is_some() && packable(&o) => {
                        let id = sync_id(o.kind, o.key);
                        let (had_mark, had_base) = seen.get(&id).copied().unwrap_or((true, true));
                        if had_base {
                            tx.object_store(BASES)?.delete(id.clone()).primitive()?;
                        }
                        if had_mark {
                            mark(&tx, &id, false)?;
                        }
                        // A pack line is hidden by an own record: the record goes.
                        let name = o.key.to_string();
                        if let Some(own) = self
                            .object_keys
                            .borrow_mut()
                            .as_mut()
                            .and_then(|c| c.get_mut(&o.kind))
                        {
                            if own.remove(&name) {
                                tx.object_store(store_of(o.kind))?
                                    .delete(name)
                                    .primitive()?;
                            }
                        }
                        if let (Some(p), Some(c)) = (packer.as_mut(), o.current) {
                            p.push(&tx, &self.packs, &id, o.base_version, &to_json(&c)?)?;
                            shown.push(Write::Put(c));
                        }
                    }
                    StoreChange::Put(o) => {
                        write_local(self, &tx, &o, seen.get(&sync_id(o.kind, o.key)).copied())?;
                        if let Some(cache) = self.object_keys.borrow_mut().as_mut() {
                            cache.entry(o.kind).or_default().insert(o.key.to_string());
                        }
                        shown.push(match o.current {
                            Some(c) => Write::Put(c),
                            None => Write::Delete(o.kind, o.key),
                        });
                    }
                    StoreChange::Pushed {
                        kind,
                        key,
                        pushed,
                        version,
                    } => {
                        // Edited again while the push was in flight: it stays dirty.
                        let current = read_object(self, &tx, kind, key).await?.map(|(o, _)| o);
                        let dirty = current != pushed;
                        write_local(
                            self,
                            &tx,
                            &LocalObject {
                                kind,
                                key,
                                base_version: if current.is_none() && !dirty {
                                    0
                                } else {
                                    version
                                },
                                base: if current.is_none() && !dirty {
                                    None
                                } else {
                                    pushed
                                },
                                current,
                                dirty,
                            },
                            None,
                        )?;
                    }
                    StoreChange::Conflict(record) => {
                        conflicts = true;
                        write_local(
                            self,
                            &tx,
                            &LocalObject {
                                kind: record.kind,
                                key: record.key,
                                base_version: record.remote_version,
                                base: record.remote.clone(),
                                current: record.remote.clone(),
                                dirty: false,
                            },
                            None,
                        )?;
                        let row = ConflictRow::of(&record)?;
                        tx.object_store(CONFLICTS)?
                            .put(serde_json::to_string(&row).map_err(idb)?)
                            .with_key(sync_id(record.kind, record.key))
                            .primitive()?;
                    }
                }
            }
            if let Some(v) = synced_version {
                if let Some(json) = read_string(&tx, META, LINK).await? {
                    let mut link: LinkRecord = serde_json::from_str(&json).map_err(idb)?;
                    link.synced_version = v;
                    tx.object_store(META)?
                        .put(serde_json::to_string(&link).map_err(idb)?)
                        .with_key(LINK.to_string())
                        .primitive()?;
                }
            }
            if let Some(mut p) = packer {
                // This page's own lines first, so that the index counts what they replaced;
                // then the live lines of packs left mostly stale, each pack read once.
                p.flush(&tx, &self.packs)?;
                let sparse = self.packs.borrow().sparse();
                for pack in sparse {
                    let text: Option<JsValue> = tx
                        .object_store(PACKS)?
                        .get(pack.clone())
                        .primitive()?
                        .await?;
                    let text = text.and_then(|v| v.as_string()).unwrap_or_default();
                    for (id, version, json) in packs::lines(&text) {
                        if self.packs.borrow().pack_of(id) == Some(pack.as_str()) {
                            p.push(&tx, &self.packs, id, version, json)?;
                        }
                    }
                }
                p.flush(&tx, &self.packs)?;
            }
            // The part of a page's write spent here, before IndexedDB's own work.
            crate::browser::measure("sync-write-queue", started);
            tx.commit().await?;
            // Committed: tell the window what changed (a conflict changes more than objects:
            // it reads everything).
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
            Ok::<(), IdbError>(())
        }
        .await
        .map_err(local_err);
        if written.is_err() {
            // The page is rolled back, but the pack index and the key listing already hold
            // what it wrote: both are read again from the database.
            *self.packs.borrow_mut() = packs::PackIndex::default();
            self.object_keys.replace(None);
        }
        crate::browser::measure("sync-write-page", started);
        written
    }

    async fn references(&self) -> Result<Vec<Reference>, SyncError> {
        Ok(self.load().await.map_err(local_err)?.references)
    }

    async fn record_duplicates(&self, sets: Vec<DuplicateSet>) -> Result<(), SyncError> {
        let keys: Vec<Vec<String>> = sets
            .iter()
            .map(|s| s.keys.iter().map(Key::to_string).collect())
            .collect();
        let json = serde_json::to_string(&keys).map_err(local_err)?;
        self.set_meta(DUPLICATES, &json).await.map_err(local_err)
    }
}
