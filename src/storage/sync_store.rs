//! The browser library as core's sync engine sees it: [`LocalStore`] over the stores of
//! schema version 2.
//!
//! Invariants: each engine call that writes is one IndexedDB transaction over every store it
//! touches, so a closed tab or a failed write leaves the library as it was before the call;
//! an object's sync state is the trio (its record in its kind's store, its dirty mark, its
//! base) and they only ever change together; a person's write is read-modify-write in one
//! transaction, carried onto the copy stored at that moment (so a sync page written since the
//! window read its copy is not reverted); each person's write puts a fresh token in the dirty
//! mark, and a page change for an object whose mark changed after the engine read it (an edit
//! in this tab or another) is skipped: the edit stays dirty with its old base, and the next
//! push meets the service's copy as a conflict, which the engine merges three ways (or keeps
//! for the person). Conflicts, the outbox and settling follow core's `sync::apply` rules.

use super::authors::PageAuthors;
use super::packs::{self, OwnKeys};
use super::schema::{self, store_of, AUTHORS, BASES, CONFLICTS, DIRTY, META, PACKS};
use super::{split_record, sync_id, Store, Write};
use indexed_db_futures::error::Error as IdbError;
use indexed_db_futures::future::BasicRequest;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::KeyRange;
use indexed_db_futures::Result as IdbResult;
use refsync_core::protocol::Batch;
use refsync_core::protocol::Object;
use refsync_core::query::DuplicateSet;
use refsync_core::sync::apply::{
    after_push, after_write, edit_conflict, held_in_conflict, is_gone, keep_conflict,
    refresh_conflict, settle, unlink_conflict,
};
use refsync_core::sync::{
    ConflictReason, ConflictRecord, ErrorKind, LinkState, LocalObject, LocalStore, Resolution,
    StoreChange, SyncError,
};
use refsync_core::{Key, ObjectKind, Reference};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use wasm_bindgen::JsValue;

/// The link's name in `meta`.
const LINK: &str = "link";
/// Probable duplicates found by the last first sync, in `meta`.
const DUPLICATES: &str = "duplicates";
/// The batch being sent (JSON), until its answer is written (core's engine), in `meta`.
const OUTBOX: &str = "outbox";

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
    /// The copy both sides started from (absent in conflicts kept before it was recorded).
    #[serde(default)]
    pub base: Option<String>,
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

impl ConflictRow {
    fn of(r: &ConflictRecord) -> IdbResult<ConflictRow> {
        Ok(ConflictRow {
            kind: r.kind.as_str().into(),
            key: r.key.to_string(),
            reason: r.reason.id().into(),
            local: r.local.as_ref().map(to_json).transpose()?,
            remote: r.remote.as_ref().map(to_json).transpose()?,
            remote_version: r.remote_version,
            fields: r.fields.clone(),
            base: r.base.as_ref().map(to_json).transpose()?,
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
            reason: ConflictReason::from_id(&self.reason),
            local: read(&self.local)?,
            remote: read(&self.remote)?,
            remote_version: self.remote_version,
            fields: self.fields.clone(),
            base: read(&self.base)?,
        })
    }
}

/// Pages larger than this list each store's keys once instead of reading key by key.
const LIST_KEYS_OVER: usize = 500;

pub(super) async fn all_keys(
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
    stores.extend([DIRTY, BASES, CONFLICTS, META, PACKS, AUTHORS]);
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
        let unsynced = matches!(current, Some((_, Some(packs::UNSYNCED))));
        let token = match mark {
            Some(m) => m
                .await?
                .map(|v| v.as_string().unwrap_or_else(|| "true".into())),
            None => None,
        }
        .or_else(|| unsynced.then(|| UNSYNCED_TOKEN.to_string()));
        let dirty = token.is_some();
        let base = match read_value(base).await? {
            None => None,
            Some(json) => Some(serde_json::from_str::<BaseRecord>(&json).map_err(idb)?),
        };
        let seen = (token, base.is_some());
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
    // A packed line never synced (an import's): dirty, with no base (see `packs::UNSYNCED`).
    let dirty = dirty || own_version == Some(packs::UNSYNCED);
    let own_version = own_version.filter(|v| *v != packs::UNSYNCED);
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

/// The token an unsynced packed line stands for: it is dirty without a mark (`packs::UNSYNCED`).
/// No written mark holds it (marks are a tab's id, a dot and a number, or `true`).
const UNSYNCED_TOKEN: &str = "packed";

/// What the last read of an object found besides the object: its dirty mark (the token a
/// person's write put there, or [`UNSYNCED_TOKEN`]), whether it has a base record. A write that knows there is none
/// skips deleting it (most of a first download); a sync page compares the mark.
pub(crate) type Seen = (Option<String>, bool);

/// Put or remove an object's records as `o` says; `seen` is what the engine's read found. A
/// dirty object gets a fresh mark when the person wrote it (`person`) or had none; an engine
/// write that keeps it dirty keeps its mark. The pack index must be fresh in `tx` (a delete
/// may need a tombstone).
fn write_local(
    store: &Store,
    tx: &Transaction<'_>,
    o: &LocalObject,
    seen: Option<&Seen>,
    person: bool,
) -> IdbResult<()> {
    let id = sync_id(o.kind, o.key);
    let objects = tx.object_store(store_of(o.kind))?;
    let (had_mark, had_base) = seen.map_or((true, true), |(m, b)| (m.is_some(), *b));
    if is_gone(o) {
        packs::delete_object(store, tx, o.kind, o.key)?;
        if had_base {
            tx.object_store(BASES)?.delete(id.clone()).primitive()?;
        }
        if had_mark {
            mark(tx, &id, None)?;
        }
        return Ok(());
    }
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
                mark(tx, &id, None)?;
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
    if had_base || o.base_version > 0 || o.base.is_some() {
        write_base(tx, &id, o.base_version, o.base.as_ref())?;
    }
    if o.dirty && (person || !had_mark) {
        mark(tx, &id, Some(&store.new_mark()))?;
    } else if !o.dirty && had_mark {
        mark(tx, &id, None)?;
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

/// Put a dirty mark with `token`, or (`None`) remove it.
fn mark(tx: &Transaction<'_>, id: &str, token: Option<&str>) -> IdbResult<()> {
    let marks = tx.object_store(DIRTY)?;
    match token {
        Some(t) => {
            marks
                .put(t.to_string())
                .with_key(id.to_string())
                .primitive()?;
        }
        None => {
            marks.delete(id.to_string()).primitive()?;
        }
    }
    Ok(())
}

/// Each of `ids`' dirty mark as it stands in `tx` (its token; `None`: not dirty).
async fn marks_now(
    tx: &Transaction<'_>,
    ids: &[String],
) -> IdbResult<std::collections::HashMap<String, String>> {
    let marks = tx.object_store(DIRTY)?;
    let mut out = std::collections::HashMap::new();
    if ids.len() > LIST_KEYS_OVER {
        // Usually few objects are dirty: two requests for them all, not one per id.
        let keys: Vec<String> = marks
            .get_all_keys()
            .primitive()?
            .await?
            .collect::<IdbResult<Vec<String>>>()?;
        let values: Vec<JsValue> = marks
            .get_all()
            .primitive()?
            .await?
            .collect::<IdbResult<Vec<JsValue>>>()?;
        for (k, v) in keys.into_iter().zip(values) {
            out.insert(k, v.as_string().unwrap_or_else(|| "true".into()));
        }
        return Ok(out);
    }
    let mut pending = Vec::with_capacity(ids.len());
    for id in ids {
        let read: BasicRequest<Option<JsValue>> = marks.get(id.clone()).primitive()?;
        pending.push((id, read));
    }
    for (id, read) in pending {
        if let Some(v) = read.await? {
            out.insert(id.clone(), v.as_string().unwrap_or_else(|| "true".into()));
        }
    }
    Ok(out)
}

/// The waiting conflicts of `ids` (sync ids), as stored in `tx`.
async fn conflicts_of(
    tx: &Transaction<'_>,
    ids: &[String],
) -> IdbResult<std::collections::HashMap<String, ConflictRecord>> {
    let store = tx.object_store(CONFLICTS)?;
    // Few conflicts ever wait: one listing says whether any of `ids` has one.
    let listed: std::collections::HashSet<String> = store
        .get_all_keys()
        .primitive()?
        .await?
        .collect::<IdbResult<_>>()?;
    let mut out = std::collections::HashMap::new();
    for id in ids.iter().filter(|id| listed.contains(*id)) {
        if let Some(json) = read_string(tx, CONFLICTS, id).await? {
            if let Some(record) = serde_json::from_str::<ConflictRow>(&json)
                .ok()
                .and_then(|row| row.record())
            {
                out.insert(id.clone(), record);
            }
        }
    }
    Ok(out)
}

fn put_conflict(tx: &Transaction<'_>, record: &ConflictRecord) -> IdbResult<()> {
    let row = ConflictRow::of(record)?;
    tx.object_store(CONFLICTS)?
        .put(serde_json::to_string(&row).map_err(idb)?)
        .with_key(sync_id(record.kind, record.key))
        .primitive()?;
    Ok(())
}

/// A person's writes (`Store::write`): carried onto what is stored, in one transaction.
pub(super) async fn write_person(store: &Store, writes: &[Write]) -> IdbResult<Vec<Write>> {
    let tx = store.tx(&all_stores(), TransactionMode::Readwrite)?;
    let written = write_person_in(store, &tx, writes).await?;
    tx.commit().await?;
    Ok(written)
}

/// [`write_person`] in `tx`, left for the caller to commit.
async fn write_person_in(
    store: &Store,
    tx: &Transaction<'_>,
    writes: &[Write],
) -> IdbResult<Vec<Write>> {
    let targets: Vec<(ObjectKind, Key)> = writes.iter().map(Write::target).collect();
    let ids: Vec<String> = targets.iter().map(|(k, key)| sync_id(*k, *key)).collect();
    packs::refresh(store, tx).await?;
    // A large write (an import) asks once which of its objects exist at all.
    let listed = if targets.len() > LIST_KEYS_OVER {
        let mut objects = OwnKeys::new();
        for (kind, _) in &targets {
            if !objects.contains_key(kind) {
                objects.insert(*kind, all_keys(tx, store_of(*kind)).await?);
            }
        }
        Some(Listed {
            objects,
            marks: all_keys(tx, DIRTY).await?,
            bases: all_keys(tx, BASES).await?,
        })
    } else {
        None
    };
    let held = read_locals(store, tx, &targets, listed.as_ref()).await?;
    let mut conflicts = conflicts_of(tx, &ids).await?;
    let mut written = Vec::with_capacity(writes.len());
    for ((w, id), (held, seen)) in writes.iter().zip(&ids).zip(held) {
        let record = conflicts.get_mut(id);
        let o = after_write(held.as_ref(), record.as_deref(), w);
        if let Some(record) = record {
            edit_conflict(record, w);
            put_conflict(tx, record)?;
        }
        write_local(store, tx, &o, Some(&seen), true)?;
        written.push(match o.current {
            Some(c) => Write::Put(c),
            None => Write::Delete(o.kind, o.key),
        });
    }
    Ok(written)
}

/// New objects (`Store::write_bulk`: an import), in one transaction: at least
/// [`packs::PACK_AT_LEAST`] references go into packs as unsynced lines, with no record or dirty
/// mark each (see `packs::UNSYNCED`), the rest as a person's writes. Packing is only for keys
/// under which nothing is stored yet (an import's keys were made a moment ago): checked by one
/// count over the range of the keys in each store that could hold something of theirs, and if
/// any does the whole write is a person's.
pub(super) async fn write_new(store: &Store, objects: &[&Object]) -> IdbResult<()> {
    let tx = store.tx(&all_stores(), TransactionMode::Readwrite)?;
    packs::refresh(store, &tx).await?;
    let (refs, rest): (Vec<&Object>, Vec<&Object>) = objects
        .iter()
        .copied()
        .partition(|o| o.kind() == packs::PACKED_KIND);
    let writes = |objects: &[&Object]| -> Vec<Write> {
        objects.iter().map(|o| Write::Put((*o).clone())).collect()
    };
    if refs.len() >= packs::PACK_AT_LEAST && nothing_under(store, &tx, &refs).await? {
        let mut packer = packs::Packer::new(&store.state.packs.borrow());
        for o in &refs {
            let id = sync_id(o.kind(), o.key());
            packer.push(&tx, &store.state.packs, &id, packs::UNSYNCED, &to_json(o)?)?;
        }
        packer.flush(&tx, &store.state.packs)?;
        if !rest.is_empty() {
            write_person_in(store, &tx, &writes(&rest)).await?;
        }
    } else {
        write_person_in(store, &tx, &writes(objects)).await?;
    }
    tx.commit().await
}

/// Whether nothing is stored under any of `objects`' keys (all of one kind): no pack line, and
/// no record, dirty mark, base or conflict in the range from their least key to their greatest.
async fn nothing_under(
    store: &Store,
    tx: &Transaction<'_>,
    objects: &[&Object],
) -> IdbResult<bool> {
    let Some(kind) = objects.first().map(|o| o.kind()) else {
        return Ok(true);
    };
    let packed = {
        let index = store.state.packs.borrow();
        objects
            .iter()
            .any(|o| index.holds(&sync_id(o.kind(), o.key())))
    };
    if packed {
        return Ok(false);
    }
    let keys = objects.iter().map(|o| o.key());
    let (Some(least), Some(greatest)) = (keys.clone().min(), keys.max()) else {
        return Ok(true);
    };
    let ranges = [
        (store_of(kind), least.to_string(), greatest.to_string()),
        (DIRTY, sync_id(kind, least), sync_id(kind, greatest)),
        (BASES, sync_id(kind, least), sync_id(kind, greatest)),
        (CONFLICTS, sync_id(kind, least), sync_id(kind, greatest)),
    ];
    let mut counts = Vec::with_capacity(ranges.len());
    for (name, from, to) in ranges {
        counts.push(
            tx.object_store(name)?
                .count()
                .with_query::<String, _>(KeyRange::Bound(from, false, to, false))
                .primitive()?,
        );
    }
    for count in counts {
        if count.await? > 0 {
            return Ok(false);
        }
    }
    Ok(true)
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

/// One page of the engine's changes being written, in one transaction: a method per kind of
/// change. It holds what the engine's reads found of the page's objects, their marks now (an
/// object whose mark moved since it was read was edited by the person meanwhile, and the
/// page's change for it is skipped), the conflicts waiting for them, and the packs being
/// filled when the page is large.
struct Page<'a> {
    store: &'a Store,
    tx: &'a Transaction<'a>,
    seen: HashMap<String, Seen>,
    marks: HashMap<String, String>,
    waiting: HashMap<String, ConflictRecord>,
    /// Whether the page's unchanged puts go into packs (a large page whose keys were listed,
    /// so that the own records they replace are known).
    packs_puts: bool,
    /// The records of the objects the page answers as pushed, read at its start: whether each
    /// came from a pack, which a pushed object goes back into (see `packs::UNSYNCED`).
    pushed_reads: HashMap<String, Option<(String, bool)>>,
    packer: Option<packs::Packer>,
    /// What the window is to replay once the page is committed.
    shown: Vec<Write>,
    conflicts: bool,
}

impl<'a> Page<'a> {
    async fn start(
        store: &'a Store,
        tx: &'a Transaction<'a>,
        changes: &[StoreChange],
    ) -> IdbResult<Page<'a>> {
        packs::refresh(store, tx).await?;
        let touched: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                StoreChange::Put(o) => Some(sync_id(o.kind, o.key)),
                StoreChange::Conflict(r) => Some(sync_id(r.kind, r.key)),
                StoreChange::Pushed { kind, key, .. } => Some(sync_id(*kind, *key)),
                StoreChange::Answered | StoreChange::Authored { .. } => None,
            })
            .collect();
        let seen = store.state.take_reads(touched.iter().map(String::as_str));
        let read_ids: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                StoreChange::Put(o) => Some(sync_id(o.kind, o.key)),
                StoreChange::Conflict(r) => Some(sync_id(r.kind, r.key)),
                _ => None,
            })
            .filter(|id| seen.contains_key(id))
            .collect();
        let mut marks = if read_ids.is_empty() {
            HashMap::new()
        } else {
            marks_now(tx, &read_ids).await?
        };
        // An unsynced packed line stands for its own mark while no own record hides it.
        let still_packed: Vec<(ObjectKind, Key)> = read_ids
            .iter()
            .filter(|id| {
                !marks.contains_key(*id)
                    && seen.get(*id).and_then(|(t, _)| t.as_deref()) == Some(UNSYNCED_TOKEN)
            })
            .filter_map(|id| parse_id(id))
            .collect();
        if !still_packed.is_empty() {
            let found = packs::read_records(store, tx, &still_packed, None).await?;
            for ((kind, key), record) in still_packed.into_iter().zip(found) {
                if record.is_some_and(|r| split_record(&r).0 == Some(packs::UNSYNCED)) {
                    marks.insert(sync_id(kind, key), UNSYNCED_TOKEN.to_string());
                }
            }
        }
        let pushed: Vec<(ObjectKind, Key)> = changes
            .iter()
            .filter_map(|c| match c {
                StoreChange::Pushed { kind, key, .. } => Some((*kind, *key)),
                _ => None,
            })
            .collect();
        let pushed_reads = if pushed.is_empty() {
            HashMap::new()
        } else {
            let found = packs::read_effective(store, tx, &pushed, None).await?;
            pushed
                .iter()
                .map(|(kind, key)| sync_id(*kind, *key))
                .zip(found)
                .collect()
        };
        // A large page (its keys were listed) with many unchanged references packs them.
        let packable_puts = changes
            .iter()
            .filter(|c| matches!(c, StoreChange::Put(o) if packable(o)))
            .count();
        let packs_puts =
            packable_puts >= packs::PACK_AT_LEAST && store.state.object_keys.borrow().is_some();
        let packer = packs_puts.then(|| packs::Packer::new(&store.state.packs.borrow()));
        Ok(Page {
            store,
            tx,
            seen,
            marks,
            waiting: conflicts_of(tx, &touched).await?,
            packs_puts,
            pushed_reads,
            packer,
            shown: Vec::new(),
            conflicts: false,
        })
    }

    /// Whether the person wrote the object (in any tab) since the engine read it.
    fn moved(&self, kind: ObjectKind, key: Key) -> bool {
        let id = sync_id(kind, key);
        self.seen
            .get(&id)
            .is_some_and(|(token, _)| token.as_deref() != self.marks.get(&id).map(String::as_str))
    }

    fn packs(&self, o: &LocalObject) -> bool {
        self.packs_puts && packable(o)
    }

    /// Keep a waiting conflict's online side current with the object as written.
    fn refresh(&mut self, o: &LocalObject) -> IdbResult<()> {
        if let Some(record) = self.waiting.get_mut(&sync_id(o.kind, o.key)) {
            if refresh_conflict(record, o.base_version, o.base.as_ref()) {
                put_conflict(self.tx, record)?;
            }
        }
        Ok(())
    }

    /// An unchanged object of a large page, into a pack (its own records go).
    fn put_packed(&mut self, o: LocalObject) -> IdbResult<()> {
        self.refresh(&o)?;
        let tx = self.tx;
        let id = sync_id(o.kind, o.key);
        let (had_mark, had_base) = self
            .seen
            .get(&id)
            .map_or((true, true), |(m, b)| (m.is_some(), *b));
        if had_base {
            tx.object_store(BASES)?.delete(id.clone()).primitive()?;
        }
        if had_mark {
            mark(tx, &id, None)?;
        }
        // A pack line is hidden by an own record: the record goes.
        let name = o.key.to_string();
        if let Some(own) = self
            .store
            .state
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
        if let (Some(p), Some(c)) = (self.packer.as_mut(), o.current) {
            p.push(
                tx,
                &self.store.state.packs,
                &id,
                o.base_version,
                &to_json(&c)?,
            )?;
            self.shown.push(Write::Put(c));
        }
        Ok(())
    }

    fn put(&mut self, o: LocalObject) -> IdbResult<()> {
        self.refresh(&o)?;
        let seen = self.seen.get(&sync_id(o.kind, o.key));
        write_local(self.store, self.tx, &o, seen, false)?;
        if let Some(cache) = self.store.state.object_keys.borrow_mut().as_mut() {
            cache.entry(o.kind).or_default().insert(o.key.to_string());
        }
        self.shown.push(match o.current {
            Some(c) => Write::Put(c),
            None => Write::Delete(o.kind, o.key),
        });
        Ok(())
    }

    /// The service took a push: its copy becomes the base (edited again while the push was
    /// in flight, the object stays dirty). An object sent from a pack (an import's) goes into
    /// a new pack at its version, unchanged: the import's packs empty as their lines are sent,
    /// and are deleted as any emptied pack is.
    async fn pushed(
        &mut self,
        kind: ObjectKind,
        key: Key,
        pushed: Option<Object>,
        version: u64,
    ) -> IdbResult<()> {
        let id = sync_id(kind, key);
        // Read at the page's start, all at once; an object answered twice reads again.
        let (current, from_pack) = match self.pushed_reads.remove(&id) {
            Some(found) => match found {
                Some((record, packed)) => (Some(parse_record(kind, key, &record)?.0), packed),
                None => (None, false),
            },
            None => (
                read_object(self.store, self.tx, kind, key)
                    .await?
                    .map(|(o, _)| o),
                false,
            ),
        };
        let o = after_push(kind, key, current, pushed, version);
        if from_pack && packable(&o) {
            // No own record, so no mark or base either (`write_local` writes all three).
            self.seen.insert(id, (None, false));
            if self.packer.is_none() {
                self.packer = Some(packs::Packer::new(&self.store.state.packs.borrow()));
            }
            return self.put_packed(o);
        }
        self.refresh(&o)?;
        write_local(self.store, self.tx, &o, None, false)
    }

    fn conflict(&mut self, record: ConflictRecord) -> IdbResult<()> {
        self.conflicts = true;
        write_local(self.store, self.tx, &held_in_conflict(&record), None, false)?;
        let id = sync_id(record.kind, record.key);
        let kept = keep_conflict(self.waiting.remove(&id), record);
        put_conflict(self.tx, &kept)?;
        self.waiting.insert(id, kept);
        Ok(())
    }
}

/// The kind and key a sync id (`kind/key`) names.
pub(crate) fn parse_id(id: &str) -> Option<(ObjectKind, Key)> {
    let (kind, key) = id.split_once('/')?;
    Some((ObjectKind::parse(kind)?, Key::parse(key).ok()?))
}

impl Store {
    /// Settle a conflict as the person chose, seeing it as `shown`: the choice becomes an
    /// ordinary edit on the newest online copy this browser holds (core's `apply::settle`), so
    /// it syncs, and the conflict is gone, in one transaction.
    pub async fn resolve_conflict(
        &self,
        shown: &ConflictRecord,
        resolution: Resolution,
    ) -> Result<(), SyncError> {
        let id = sync_id(shown.kind, shown.key);
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            packs::refresh(self, &tx).await?;
            let Some(stored) = conflicts_of(&tx, std::slice::from_ref(&id))
                .await?
                .remove(&id)
            else {
                // Settled meanwhile (another tab): nothing to do.
                return tx.commit().await;
            };
            let mut held = read_locals(self, &tx, &[(shown.kind, shown.key)], None).await?;
            let (held, seen) = held.pop().unwrap_or((None, (None, false)));
            let settled = settle(&stored, shown, held.as_ref(), resolution);
            write_local(self, &tx, &settled, Some(&seen), true)?;
            tx.object_store(CONFLICTS)?.delete(id).primitive()?;
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
        // The engine asks at the start of every sync: a fresh listing of keys, no old reads.
        self.state.begin_round();
        let started = crate::browser::perf_now();
        let found = self.meta(LINK).await.map_err(local_err)?;
        crate::browser::measure("sync-link", started);
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
                    meta.delete(OUTBOX.to_string()).primitive()?;
                    packs::refresh(self, &tx).await?;
                    tx.object_store(BASES)?.clear()?;
                    // Who wrote which version: versions of another link mean nothing here.
                    tx.object_store(AUTHORS)?.clear()?;
                    // Waiting conflicts stay for the person to settle.
                    let rows: Vec<JsValue> = tx
                        .object_store(CONFLICTS)?
                        .get_all()
                        .primitive()?
                        .await?
                        .collect::<IdbResult<Vec<JsValue>>>()?;
                    for row in rows {
                        let record = row
                            .as_string()
                            .and_then(|json| serde_json::from_str::<ConflictRow>(&json).ok())
                            .and_then(|row| row.record());
                        if let Some(mut record) = record {
                            unlink_conflict(&mut record);
                            put_conflict(&tx, &record)?;
                        }
                    }
                    let dirty = tx.object_store(DIRTY)?;
                    dirty.clear()?;
                    for kind in ObjectKind::ALL {
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
                                .put(self.new_mark())
                                .with_key(format!("{}/{k}", kind.as_str()))
                                .primitive()?;
                        }
                        if kind == packs::PACKED_KIND {
                            // Packed references become own records, to send again like the rest.
                            let prefix = format!("{}/", kind.as_str());
                            let packed: Vec<String> = self
                                .state
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
                                dirty
                                    .put(self.new_mark())
                                    .with_key(id.clone())
                                    .primitive()?;
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

    async fn outbox(&self) -> Result<Option<Batch>, SyncError> {
        let started = crate::browser::perf_now();
        let found = self.meta(OUTBOX).await.map_err(local_err)?;
        crate::browser::measure("sync-outbox", started);
        let Some(json) = found else {
            return Ok(None);
        };
        serde_json::from_str(&json).map(Some).map_err(local_err)
    }

    async fn set_outbox(&self, batch: &Batch) -> Result<(), SyncError> {
        let json = serde_json::to_string(batch).map_err(local_err)?;
        self.set_meta(OUTBOX, &json).await.map_err(local_err)
    }

    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        let started = crate::browser::perf_now();
        let read = async {
            let tx = self.tx(&all_stores(), TransactionMode::Readonly)?;
            let ids: Vec<String> = tx
                .object_store(DIRTY)?
                .get_all_keys()
                .with_limit(u32::try_from(limit).unwrap_or(u32::MAX))
                .primitive()?
                .await?
                .collect::<IdbResult<Vec<String>>>()?;
            let targets: Vec<(ObjectKind, Key)> =
                ids.iter().filter_map(|id| parse_id(id)).collect();
            let read = read_locals(self, &tx, &targets, None).await?;
            let mut out: Vec<LocalObject> = read.into_iter().filter_map(|(o, _)| o).collect();
            if ids.len() < limit {
                // Every marked object is listed: the rest are an import's, packed unsynced. An
                // edit made to one since has its own mark, so it is among the listed.
                let listed: std::collections::HashSet<String> = ids.into_iter().collect();
                let kind = packs::PACKED_KIND;
                let mut unreadable = None;
                packs::unsynced(
                    self,
                    &tx,
                    limit.saturating_sub(out.len()),
                    &listed,
                    &mut |key, json| match Object::from_json(kind, key, json) {
                        Ok(current) => out.push(LocalObject {
                            kind,
                            key,
                            base_version: 0,
                            base: None,
                            current: Some(current),
                            dirty: true,
                        }),
                        Err(e) => unreadable = Some(e),
                    },
                )
                .await?;
                if let Some(e) = unreadable {
                    return Err(idb(e));
                }
            }
            Ok::<_, IdbError>(out)
        }
        .await;
        crate::browser::measure("sync-dirty", started);
        read.map_err(local_err)
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        Ok(self.get_many(&[(kind, key)]).await?.pop().flatten())
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
                let mut cache = self.state.object_keys.take().unwrap_or_default();
                for kind in kinds {
                    if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(kind) {
                        e.insert(all_keys(&tx, store_of(kind)).await?);
                    }
                }
                let objects = cache.clone();
                self.state.object_keys.replace(Some(cache));
                Some(Listed {
                    objects,
                    marks: all_keys(&tx, DIRTY).await?,
                    bases: all_keys(&tx, BASES).await?,
                })
            } else {
                None
            };
            let read = read_locals(self, &tx, ids, known.as_ref()).await?;
            let mut out = Vec::with_capacity(ids.len());
            let mut seen = Vec::with_capacity(ids.len());
            for ((kind, key), (o, found)) in ids.iter().zip(read) {
                seen.push((sync_id(*kind, *key), found));
                out.push(o);
            }
            self.state.record_reads(seen);
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
        let written = async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            let mut page = Page::start(self, &tx, &changes).await?;
            let mut authors = PageAuthors::default();
            // By value: what is written moves on to the window without a copy.
            for change in changes {
                match change {
                    StoreChange::Put(o) if page.moved(o.kind, o.key) => {}
                    StoreChange::Conflict(r) if page.moved(r.kind, r.key) => {}
                    StoreChange::Put(o) if page.packs(&o) => page.put_packed(o)?,
                    StoreChange::Put(o) => page.put(o)?,
                    StoreChange::Pushed {
                        kind,
                        key,
                        pushed,
                        version,
                    } => {
                        if self.shared && kind == ObjectKind::Reference && pushed.is_some() {
                            // The service took this browser's copy: its author is this account
                            // (kept only where "Last changed by" is shown).
                            authors.add(key, version, "", crate::browser::now_millis());
                        }
                        page.pushed(kind, key, pushed, version).await?
                    }
                    StoreChange::Conflict(record) => page.conflict(*record)?,
                    StoreChange::Answered => {
                        tx.object_store(META)?
                            .delete(OUTBOX.to_string())
                            .primitive()?;
                    }
                    StoreChange::Authored {
                        key,
                        version,
                        by,
                        at,
                    } => authors.add(key, version, &by, at),
                }
            }
            authors.finish(&tx).await?;
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
            let (shown, conflicts, packer) = (page.shown, page.conflicts, page.packer);
            if let Some(p) = packer {
                p.finish(&tx, &self.state.packs).await?;
            }
            // The part of a page's write spent here, before IndexedDB's own work.
            crate::browser::measure("sync-write-queue", started);
            tx.commit().await?;
            // Committed: tell the window what changed (a conflict changes more than objects:
            // it reads everything).
            self.state.written(shown, conflicts);
            Ok::<(), IdbError>(())
        }
        .await
        .map_err(local_err);
        if written.is_err() {
            // The page is rolled back, but the pack index and the key listing already hold
            // what it wrote: both are read again from the database.
            self.state.rolled_back();
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
