//! The browser's library store: the only code that touches IndexedDB.
//!
//! Invariants: the database's schema is whatever [`schema::upgrade`] builds, one numbered
//! step per version, so a browser holding any older version is brought forward without losing
//! data; every user action is one transaction that writes the objects and their dirty marks
//! together and is committed explicitly (an indexed_db_futures transaction that is dropped
//! rolls back), so a failed or interrupted write leaves nothing half-done; bulk writes
//! (import, restore) go in large transactions of many objects, never one per object; a
//! large sync page's unchanged references, and a bulk write's new ones, go many to a record
//! (`packs.rs`), and every read of an object goes through `packs::read_records`, which knows an
//! own record beats a pack.

pub mod authors;
pub(crate) mod packs;
pub mod schema;
mod sync_state;
pub mod sync_store;

use indexed_db_futures::database::Database;
use indexed_db_futures::error::Error as IdbError;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::KeyRange;
use indexed_db_futures::Result as IdbResult;
use refsync_core::protocol::Object;
use refsync_core::sync::{ConflictRecord, LibraryId};
use refsync_core::{Attachment, Group, GroupSet, Key, ObjectKind, Reference, Style};
use serde::de::DeserializeOwned;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// The IndexedDB database the app uses.
pub const DB_NAME: &str = "refsync";

/// How many objects a bulk write puts in one transaction: large enough that a 50,000-object
/// import is a handful of commits, small enough that progress moves and memory stays flat.
pub const BULK_BATCH: usize = 5_000;

/// A storage failure, worded for the person using the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    action: &'static str,
    detail: String,
    /// The whole message, when it is not a storage failure (a change this library refuses).
    refusal: Option<String>,
}

impl StoreError {
    fn new(action: &'static str, detail: impl fmt::Display) -> StoreError {
        StoreError {
            action,
            detail: detail.to_string(),
            refusal: None,
        }
    }

    /// A change refused before storage is reached, with the reason in words.
    pub fn refused(why: String) -> StoreError {
        StoreError {
            action: "change the library",
            detail: String::new(),
            refusal: Some(why),
        }
    }

    /// The store was asked to work before it finished opening (or after opening failed).
    pub fn not_open() -> StoreError {
        StoreError::new("reach the library", "it has not finished opening")
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.refusal {
            return f.write_str(why);
        }
        write!(
            f,
            "Could not {} in this browser's storage ({}).",
            self.action, self.detail
        )
    }
}

impl std::error::Error for StoreError {}

/// Everything a library window shows, as loaded at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub references: Vec<Reference>,
    pub groups: Vec<Group>,
    pub group_sets: Vec<GroupSet>,
    pub attachments: Vec<Attachment>,
    pub styles: Vec<Style>,
    /// Sync conflicts waiting for the person.
    pub conflicts: Vec<ConflictRecord>,
    /// Records that could not be read (kept in the database untouched, left out here).
    pub unreadable: usize,
}

pub use refsync_core::edit::Write;

/// The id of an object in the sync stores: `kind/key`.
pub fn sync_id(kind: ObjectKind, key: Key) -> String {
    format!("{}/{key}", kind.as_str())
}

/// An open library database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    /// What the store keeps in memory for syncs and the window (see `sync_state.rs`).
    pub(crate) state: sync_state::SyncState,
    /// A shared library's database: only there is who changed what kept (`authors.rs`).
    pub(crate) shared: bool,
}

impl Store {
    /// Open (creating or upgrading as needed) the personal library's database, `name`.
    pub async fn open(name: &str) -> Result<Store, StoreError> {
        Store::open_library(name, &LibraryId::Personal).await
    }

    /// Open the database of `library` among those named after `base` (see
    /// `refsync_core::sync::libraries`), creating or upgrading it; a database that holds
    /// another library is refused, untouched.
    pub async fn open_library(base: &str, library: &LibraryId) -> Result<Store, StoreError> {
        let name = library.store_name(base);
        let (db, old_version) = schema::open(&name)
            .await
            .map_err(|e| StoreError::new("open the library", e))?;
        let store = Store {
            db,
            state: sync_state::SyncState::default(),
            shared: *library != LibraryId::Personal,
        };
        if (1..2).contains(&old_version) {
            store
                .move_version_1_references()
                .await
                .map_err(|e| StoreError::new("bring the library up to date", e))?;
        }
        match store.meta(schema::LIBRARY).await? {
            // A database from before libraries had ids (version 3 and older) is the personal
            // library: it says so from now on.
            None => store.set_meta(schema::LIBRARY, &library.to_text()).await?,
            Some(held) if LibraryId::from_text(&held).as_ref() == Some(library) => {}
            Some(held) => {
                store.close();
                return Err(StoreError::new(
                    "open the library",
                    format!("the database “{name}” holds another library ({held}); it was left as it is"),
                ));
            }
        }
        Ok(store)
    }

    /// The library this database holds.
    pub async fn library(&self) -> Result<LibraryId, StoreError> {
        Ok(self
            .meta(schema::LIBRARY)
            .await?
            .and_then(|t| LibraryId::from_text(&t))
            .unwrap_or(LibraryId::Personal))
    }

    /// Version 1 kept references as structured objects and had no sync state: move them to
    /// version 2's JSON records, each marked changed (none has ever synced), in one
    /// transaction. Running it again finds the old store empty.
    async fn move_version_1_references(&self) -> IdbResult<()> {
        let tx = self
            .db
            .transaction([schema::REFERENCES, schema::REFS, schema::DIRTY])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let old = tx.object_store(schema::REFERENCES)?;
        let refs = tx.object_store(schema::REFS)?;
        let dirty = tx.object_store(schema::DIRTY)?;
        let values: Vec<JsValue> = old
            .get_all()
            .primitive()?
            .await?
            .collect::<IdbResult<Vec<JsValue>>>()?;
        // Through JSON rather than serde-wasm-bindgen: version 1's objects are plain JSON-like
        // values, and a second deserializer of every model type would cost the download ~8 KB.
        let mut all = Vec::with_capacity(values.len());
        for v in values {
            let json = js_sys::JSON::stringify(&v)?;
            let json = String::from(json);
            all.push(
                serde_json::from_str::<Reference>(&json)
                    .map_err(|e| IdbError::from(js_error(e)))?,
            );
        }
        for r in &all {
            let json = serde_json::to_string(r).map_err(|e| IdbError::from(js_error(e)))?;
            refs.put(json).with_key(r.key.to_string()).primitive()?;
            dirty
                .put(true)
                .with_key(sync_id(ObjectKind::Reference, r.key))
                .primitive()?;
        }
        old.clear()?;
        tx.commit().await
    }

    /// The underlying database, for code that composes its own transactions.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Close the database (other tabs waiting to upgrade it can then proceed).
    pub fn close(self) {
        self.db.close();
    }

    pub(crate) fn tx(&self, stores: &[&str], mode: TransactionMode) -> IdbResult<Transaction<'_>> {
        self.db.transaction(stores.to_vec()).with_mode(mode).build()
    }

    /// Everything the window shows, in one read transaction.
    pub async fn load(&self) -> Result<Snapshot, StoreError> {
        async {
            let mut stores = schema::OBJECT_STORES.to_vec();
            stores.extend([schema::CONFLICTS, schema::PACKS]);
            let tx = self.tx(&stores, TransactionMode::Readonly)?;
            let mut snapshot = Snapshot::default();
            let mut unreadable = 0;
            snapshot.references = self.read_references(&tx, &mut unreadable).await?;
            snapshot.groups = read_all(&tx, schema::GROUPS, &mut unreadable).await?;
            snapshot.group_sets = read_all(&tx, schema::GROUP_SETS, &mut unreadable).await?;
            snapshot.attachments = read_all(&tx, schema::ATTACHMENTS, &mut unreadable).await?;
            snapshot.styles = read_all(&tx, schema::STYLES, &mut unreadable).await?;
            let rows: Vec<sync_store::ConflictRow> =
                read_all(&tx, schema::CONFLICTS, &mut unreadable).await?;
            snapshot.conflicts = rows.iter().filter_map(|r| r.record()).collect();
            snapshot.unreadable = unreadable;
            Ok::<_, IdbError>(snapshot)
        }
        .await
        .map_err(|e| StoreError::new("load the library", e))
    }

    /// Every reference: own records (in key order) and packed copies (in pack order after
    /// them). The index comes from the heads, and the packs are read [`packs::each_pack`]'s
    /// few at a time, so that their text is never all in memory at once.
    async fn read_references(
        &self,
        tx: &Transaction<'_>,
        unreadable: &mut usize,
    ) -> IdbResult<Vec<Reference>> {
        let index = packs::index_of(tx).await?;
        let mut out: Vec<Reference> = read_all(tx, schema::REFS, unreadable).await?;
        let live = index.live_packs();
        if !live.is_empty() {
            let own: std::collections::HashSet<String> = tx
                .object_store(schema::REFS)?
                .get_all_keys()
                .primitive()?
                .await?
                .collect::<IdbResult<_>>()?;
            let prefix = format!("{}/", packs::PACKED_KIND.as_str());
            packs::each_pack(tx, &live, &mut |pack, text| {
                for (id, _, json) in packs::lines(text) {
                    let newest = index.pack_of(id) == Some(pack);
                    let shadowed = id.strip_prefix(&prefix).is_none_or(|k| own.contains(k));
                    if !newest || shadowed {
                        continue;
                    }
                    match serde_json::from_str::<Reference>(json) {
                        Ok(r) => out.push(r),
                        Err(_) => *unreadable += 1,
                    }
                }
            })
            .await?;
        }
        *self.state.packs.borrow_mut() = index;
        Ok(out)
    }

    /// The newest `n` references (by key, which is creation order: keys are ULIDs), to show
    /// while the rest loads, and how many the library holds when that was known on the way;
    /// `None` if it holds no more than `n`. Without packs: one key cursor from the end and one
    /// read of the last `n` records, no count (counting 250,000 records took IndexedDB 0.75 s,
    /// four times the rest). With packs: every own key and every pack's head (the ids it
    /// holds), then only the packs that hold the newest `n`.
    pub async fn newest_references(
        &self,
        n: usize,
    ) -> Result<Option<(Vec<Reference>, Option<usize>)>, StoreError> {
        async {
            let tx = self.tx(&[schema::REFS, schema::PACKS], TransactionMode::Readonly)?;
            let refs = tx.object_store(schema::REFS)?;
            // The packs' ids, not a count: IndexedDB counts by walking records, and packs
            // are large ones.
            if packs::pack_ids(&tx).await?.is_empty() {
                return newest_own(&refs, n).await;
            }
            let own: std::collections::HashSet<String> = refs
                .get_all_keys()
                .primitive()?
                .await?
                .collect::<IdbResult<_>>()?;
            let index = packs::index_of(&tx).await?;
            let prefix = format!("{}/", packs::PACKED_KIND.as_str());
            // Every key, own records first (a tombstone among them counts until the whole
            // library is read: the total shown meanwhile may be a few too many).
            let mut keys: Vec<&str> = own.iter().map(String::as_str).collect();
            keys.extend(
                index
                    .entries()
                    .filter_map(|(id, _)| id.strip_prefix(prefix.as_str()))
                    .filter(|k| !own.contains(*k)),
            );
            let total = keys.len();
            refsync_core::sort::sort(&mut keys);
            let newest: Vec<(ObjectKind, Key)> = keys[total.saturating_sub(n)..]
                .iter()
                .filter_map(|k| Key::parse(k).ok())
                .map(|k| (packs::PACKED_KIND, k))
                .collect();
            *self.state.packs.borrow_mut() = index;
            if total <= n || n == 0 {
                return Ok::<_, IdbError>(None);
            }
            // Only the packs that hold the newest are read, and only their newest copies.
            let own = packs::OwnKeys::from([(packs::PACKED_KIND, own)]);
            let out = packs::read_records(self, &tx, &newest, Some(&own))
                .await?
                .into_iter()
                .flatten()
                .filter_map(|record| serde_json::from_str(split_record(&record).1).ok())
                .collect();
            Ok(Some((out, Some(total))))
        }
        .await
        .map_err(|e| StoreError::new("load the library", e))
    }

    /// A dirty mark no other write (in this tab or another) has made: the tab's random id and
    /// a counter.
    pub(crate) fn new_mark(&self) -> String {
        let n = self.state.next_mark();
        format!("{}.{n}", crate::browser::tab_id())
    }

    /// `objects` as stored now: a put of each that exists, a delete of each that does not.
    pub async fn objects(&self, objects: &[(ObjectKind, Key)]) -> Result<Vec<Write>, StoreError> {
        async {
            let mut stores = schema::OBJECT_STORES.to_vec();
            stores.push(schema::PACKS);
            let tx = self.tx(&stores, TransactionMode::Readonly)?;
            let records = packs::read_records(self, &tx, objects, None).await?;
            let mut out = Vec::with_capacity(records.len());
            for ((kind, key), record) in objects.iter().copied().zip(records) {
                out.push(match record {
                    Some(record) => Write::Put(
                        Object::from_json(kind, key, split_record(&record).1)
                            .map_err(|e| IdbError::from(js_error(e)))?,
                    ),
                    None => Write::Delete(kind, key),
                });
            }
            Ok::<_, IdbError>(out)
        }
        .await
        .map_err(|e| StoreError::new("read changes made in another tab", e))
    }

    /// The objects syncs changed since the last call, as writes for the window to replay, or
    /// `None` if there were too many (or conflicts) and the window should read everything.
    pub fn take_synced(&self) -> Option<Vec<Write>> {
        self.state.take_synced()
    }

    /// Apply one person's action, all or nothing: each write carried onto the copy stored
    /// now (core's `sync::apply::after_write`), with its dirty mark, and the waiting conflict
    /// of an object it touches changed with it. Returns what was written: each object as it
    /// now stands (a put, or a delete), for the window to show.
    pub async fn write(&self, writes: &[Write]) -> Result<Vec<Write>, StoreError> {
        sync_store::write_person(self, writes)
            .await
            .map_err(|e| StoreError::new("save your change", e))
    }

    /// Save many new objects (an import) in transactions of [`BULK_BATCH`], calling
    /// `progress` with the count saved after each commit: [`Store::write_bulk_as`] packed.
    pub async fn write_bulk(
        &self,
        objects: &[Object],
        progress: impl FnMut(usize),
    ) -> Result<(), StoreError> {
        self.write_bulk_as(objects, true, progress).await
    }

    /// Save many new objects in transactions of [`BULK_BATCH`], calling `progress` with the
    /// count saved after each commit. `pack`: new references go into packs, unsynced
    /// (`sync_store::write_new`: an import); else a record and a dirty mark each, as a
    /// person's writes (a restore: a library restored whole opens from its own records, which
    /// at 250,000 references is 0.2 s and 448 MB against ~1.0 s and 494 MB from packs;
    /// docs/bench.md, stops 48 and 50). What committed before a failure stays saved; the
    /// error says so.
    pub async fn write_bulk_as(
        &self,
        objects: &[Object],
        pack: bool,
        mut progress: impl FnMut(usize),
    ) -> Result<(), StoreError> {
        let mut done = 0;
        for chunk in objects.chunks(BULK_BATCH) {
            if !pack {
                let writes: Vec<Write> = chunk.iter().cloned().map(Write::Put).collect();
                self.write(&writes).await.map_err(|e| {
                    StoreError::new(
                        "save everything",
                        format!("{done} of {} were saved; {}", objects.len(), e.detail),
                    )
                })?;
                done += chunk.len();
                progress(done);
                continue;
            }
            // In key order, so that each pack holds a run of keys: the first screen of a large
            // library reads only the packs that hold the newest (an import's keys differ only
            // in their random part). Only within a transaction: what is saved is still the
            // objects' first `done`, as `progress` says.
            let mut sorted: Vec<&Object> = chunk.iter().collect();
            refsync_core::sort::sort_by_key(&mut sorted, |o| (o.kind().as_str(), o.key()));
            sync_store::write_new(self, &sorted).await.map_err(|e| {
                // The pack index already holds what the failed write packed.
                self.state.rolled_back();
                StoreError::new(
                    "save everything",
                    format!("{done} of {} were saved; {e}", objects.len()),
                )
            })?;
            done += chunk.len();
            progress(done);
        }
        Ok(())
    }

    /// How many objects have changes not yet synced: those marked, and an import's references
    /// packed unsynced (`packs::UNSYNCED`).
    pub async fn dirty_count(&self) -> Result<u32, StoreError> {
        async {
            let tx = self.tx(
                &[schema::DIRTY, schema::REFS, schema::PACKS],
                TransactionMode::Readonly,
            )?;
            let marked = tx.object_store(schema::DIRTY)?.count().primitive()?.await?;
            packs::refresh(self, &tx).await?;
            if self.state.packs.borrow().unsynced_ids().is_empty() {
                return Ok::<_, IdbError>(marked);
            }
            // An own record hides its packed line: an edit since (marked, so counted above)
            // or a delete (nothing to send).
            let own = sync_store::all_keys(&tx, schema::REFS).await?;
            let prefix = format!("{}/", packs::PACKED_KIND.as_str());
            let packed = self
                .state
                .packs
                .borrow()
                .unsynced_ids()
                .iter()
                .filter(|id| id.strip_prefix(&prefix).is_some_and(|k| !own.contains(k)))
                .count();
            Ok(marked.saturating_add(u32::try_from(packed).unwrap_or(u32::MAX)))
        }
        .await
        .map_err(|e| StoreError::new("count unsynced changes", e))
    }

    /// Keep an attachment's bytes (once per content: the SHA-256 is the key).
    pub async fn put_blob(&self, sha256: &str, blob: &web_sys::Blob) -> Result<(), StoreError> {
        async {
            let tx = self.tx(&[schema::BLOBS], TransactionMode::Readwrite)?;
            tx.object_store(schema::BLOBS)?
                .put(JsValue::from(blob.clone()))
                .with_key(sha256.to_string())
                .primitive()?;
            tx.commit().await
        }
        .await
        .map_err(|e| StoreError::new("save the attachment", e))
    }

    /// An attachment's bytes, if this browser has them.
    pub async fn get_blob(&self, sha256: &str) -> Result<Option<web_sys::Blob>, StoreError> {
        async {
            let tx = self.tx(&[schema::BLOBS], TransactionMode::Readonly)?;
            let found: Option<JsValue> = tx
                .object_store(schema::BLOBS)?
                .get(sha256.to_string())
                .primitive()?
                .await?;
            Ok::<_, IdbError>(found.and_then(|v| v.dyn_into::<web_sys::Blob>().ok()))
        }
        .await
        .map_err(|e| StoreError::new("read the attachment", e))
    }

    /// Every attachment record (not their bytes).
    pub async fn attachments(&self) -> Result<Vec<Attachment>, StoreError> {
        async {
            let tx = self.tx(&[schema::ATTACHMENTS], TransactionMode::Readonly)?;
            let mut unreadable = 0;
            read_all(&tx, schema::ATTACHMENTS, &mut unreadable).await
        }
        .await
        .map_err(|e| StoreError::new("read the attachments", e))
    }

    /// The SHA-256 of every attachment's bytes this browser holds.
    pub async fn blob_keys(&self) -> Result<Vec<String>, StoreError> {
        async {
            let tx = self.tx(&[schema::BLOBS], TransactionMode::Readonly)?;
            tx.object_store(schema::BLOBS)?
                .get_all_keys()
                .primitive()?
                .await?
                .collect::<IdbResult<Vec<String>>>()
        }
        .await
        .map_err(|e| StoreError::new("list the attachments' files", e))
    }

    /// The keys of the objects of `kind` changed here since the last sync.
    pub async fn dirty_keys(&self, kind: ObjectKind) -> Result<Vec<Key>, StoreError> {
        async {
            let tx = self.tx(&[schema::DIRTY], TransactionMode::Readonly)?;
            let prefix = format!("{}/", kind.as_str());
            let ids: Vec<String> = tx
                .object_store(schema::DIRTY)?
                .get_all_keys()
                .with_query::<String, _>(KeyRange::Bound(
                    prefix.clone(),
                    false,
                    format!("{prefix}\u{ffff}"),
                    false,
                ))
                .primitive()?
                .await?
                .collect::<IdbResult<Vec<String>>>()?;
            Ok::<_, IdbError>(
                ids.iter()
                    .filter_map(|id| Key::parse(id.strip_prefix(&prefix)?).ok())
                    .collect(),
            )
        }
        .await
        .map_err(|e| StoreError::new("list unsynced changes", e))
    }

    /// Forget bytes no attachment uses any more.
    pub async fn delete_blob(&self, sha256: &str) -> Result<(), StoreError> {
        async {
            let tx = self.tx(&[schema::BLOBS], TransactionMode::Readwrite)?;
            tx.object_store(schema::BLOBS)?
                .delete(sha256.to_string())
                .primitive()?;
            tx.commit().await
        }
        .await
        .map_err(|e| StoreError::new("remove the attachment", e))
    }

    /// A named value about the library (settings, the link).
    pub async fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        async {
            let tx = self.tx(&[schema::META], TransactionMode::Readonly)?;
            let found: Option<JsValue> = tx
                .object_store(schema::META)?
                .get(name.to_string())
                .primitive()?
                .await?;
            Ok::<_, IdbError>(found.and_then(|v| v.as_string()))
        }
        .await
        .map_err(|e| StoreError::new("read a setting", e))
    }

    pub async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        async {
            let tx = self.tx(&[schema::META], TransactionMode::Readwrite)?;
            tx.object_store(schema::META)?
                .put(value.to_string())
                .with_key(name.to_string())
                .primitive()?;
            tx.commit().await
        }
        .await
        .map_err(|e| StoreError::new("save a setting", e))
    }

    /// Save references (new, or replaced whole) in one transaction: all of them or none.
    pub async fn put_references(&self, refs: &[Reference]) -> Result<(), StoreError> {
        let writes: Vec<Write> = refs
            .iter()
            .cloned()
            .map(|r| Write::Put(Object::Reference(r)))
            .collect();
        self.write(&writes).await.map(|_| ())
    }

    /// One reference by key.
    pub async fn get_reference(&self, key: &Key) -> Result<Option<Reference>, StoreError> {
        async {
            let tx = self.tx(&[schema::REFS, schema::PACKS], TransactionMode::Readonly)?;
            let found = packs::read_records(self, &tx, &[(ObjectKind::Reference, *key)], None)
                .await?
                .pop()
                .flatten();
            match found {
                None => Ok(None),
                Some(record) => serde_json::from_str(split_record(&record).1)
                    .map(Some)
                    .map_err(|e| IdbError::from(js_error(e))),
            }
        }
        .await
        .map_err(|e| StoreError::new("read a reference", e))
    }

    /// Every reference (own records in key order, then packed ones in pack order).
    pub async fn all_references(&self) -> Result<Vec<Reference>, StoreError> {
        Ok(self.load().await?.references)
    }
}

/// An object record's synced version, if it carries one, and its JSON. A synced object that
/// has not changed since is stored as `v<version>` and a newline before its JSON: the record is
/// then its own base (see `sync_store`), one write per object for a sync instead of three.
/// JSON never starts with `v`, so plain records read as they always did.
pub(crate) fn split_record(record: &str) -> (Option<u64>, &str) {
    if let Some(rest) = record.strip_prefix('v') {
        if let Some((version, json)) = rest.split_once('\n') {
            if let Ok(v) = version.parse() {
                return (Some(v), json);
            }
        }
    }
    (None, record)
}

/// The newest `n` references of a library without packs (every reference is its own record,
/// in key order); `None` if it holds no more than `n`. Listing every key to find the last `n`
/// took 1.3 s at 250,000 (the keys crossing into the page, most of it waiting); a key cursor
/// stepped back from the end past the newest `n` takes a few milliseconds.
async fn newest_own(
    refs: &indexed_db_futures::object_store::ObjectStore<'_>,
    n: usize,
) -> IdbResult<Option<(Vec<Reference>, Option<usize>)>> {
    if n == 0 {
        return Ok(None);
    }
    // The key just older than the newest `n`: there is one only if the library holds more.
    let Some(before) = nth_key_from_the_end(refs, n + 1).await? else {
        return Ok(None);
    };
    let values: Vec<JsValue> = refs
        .get_all()
        .with_query::<String, _>(KeyRange::LowerBound(before, true))
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<JsValue>>>()?;
    let out = values
        .into_iter()
        .filter_map(|v| v.as_string())
        .filter(|record| record != packs::TOMBSTONE)
        .filter_map(|record| serde_json::from_str(split_record(&record).1).ok())
        .collect();
    Ok(Some((out, None)))
}

/// The `n`th key of `store` counting from its last (`n` from 1): a key cursor opened from the
/// end and advanced once. indexed_db_futures builds cursors only with a feature that brings
/// its whole cursor API into the download, so this one cursor is web-sys's own.
async fn nth_key_from_the_end(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    n: usize,
) -> IdbResult<Option<String>> {
    use indexed_db_futures::internals::SystemRepr;
    let request = store.as_sys().open_key_cursor_with_range_and_direction(
        &JsValue::UNDEFINED,
        web_sys::IdbCursorDirection::Prev,
    )?;
    let mut cursor = request_done(&request).await?;
    if n > 1 {
        let Some(at) = cursor.dyn_ref::<web_sys::IdbCursor>() else {
            return Ok(None);
        };
        // The same request succeeds again once the cursor has moved.
        at.advance(u32::try_from(n - 1).unwrap_or(u32::MAX))?;
        cursor = request_done(&request).await?;
    }
    Ok(cursor
        .dyn_ref::<web_sys::IdbCursor>()
        .and_then(|c| c.key().ok())
        .and_then(|k| k.as_string()))
}

/// The result of `request` once it next succeeds (a cursor's request succeeds at each step).
async fn request_done(request: &web_sys::IdbRequest) -> IdbResult<JsValue> {
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = wasm_bindgen_futures::JsFuture::from(done).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => Ok(request.result()?),
        Err(_) => Err(IdbError::from(match request.error() {
            Ok(Some(e)) => JsValue::from(e),
            _ => JsValue::from(js_sys::Error::new("the cursor could not be read")),
        })),
    }
}

/// Every record of `store` in `tx`, parsed; records that do not parse are counted, not
/// fatal (one damaged record must not hide a whole library).
async fn read_all<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    store: &str,
    unreadable: &mut usize,
) -> IdbResult<Vec<T>> {
    let values: Vec<JsValue> = tx
        .object_store(store)?
        .get_all()
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<JsValue>>>()?;
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let record = v.as_string();
        if record.as_deref() == Some(packs::TOMBSTONE) {
            continue;
        }
        match record.map(|s| serde_json::from_str::<T>(split_record(&s).1)) {
            Some(Ok(t)) => out.push(t),
            _ => *unreadable += 1,
        }
    }
    Ok(out)
}

fn js_error(e: impl fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}
