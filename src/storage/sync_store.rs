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

use super::schema::{self, store_of, BASES, CONFLICTS, DIRTY, META};
use super::{sync_id, Store};
use indexed_db_futures::error::Error as IdbError;
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

/// Every store the engine's writes touch.
fn all_stores() -> Vec<&'static str> {
    let mut stores = schema::OBJECT_STORES.to_vec();
    stores.extend([DIRTY, BASES, CONFLICTS, META]);
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

async fn read_object(
    tx: &Transaction<'_>,
    kind: ObjectKind,
    key: Key,
) -> IdbResult<Option<Object>> {
    match read_string(tx, store_of(kind), &key.to_string()).await? {
        None => Ok(None),
        Some(json) => Object::from_json(kind, key, &json).map(Some).map_err(idb),
    }
}

async fn read_local(
    tx: &Transaction<'_>,
    kind: ObjectKind,
    key: Key,
) -> IdbResult<Option<LocalObject>> {
    let id = sync_id(kind, key);
    let current = read_object(tx, kind, key).await?;
    let dirty = tx
        .object_store(DIRTY)?
        .get(id.clone())
        .primitive()?
        .await
        .map(|v: Option<JsValue>| v.is_some())?;
    let base = match read_string(tx, BASES, &id).await? {
        None => None,
        Some(json) => Some(serde_json::from_str::<BaseRecord>(&json).map_err(idb)?),
    };
    if current.is_none() && base.is_none() && !dirty {
        return Ok(None);
    }
    let (base_version, base) = match base {
        None => (0, None),
        Some(b) => (
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

/// Put or remove an object's three records as `o` says.
fn write_local(tx: &Transaction<'_>, o: &LocalObject) -> IdbResult<()> {
    let id = sync_id(o.kind, o.key);
    let objects = tx.object_store(store_of(o.kind))?;
    match &o.current {
        Some(c) => {
            objects
                .put(to_json(c)?)
                .with_key(o.key.to_string())
                .primitive()?;
        }
        None => {
            objects.delete(o.key.to_string()).primitive()?;
        }
    }
    write_base(tx, &id, o.base_version, o.base.as_ref())?;
    mark(tx, &id, o.dirty)
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

fn mark(tx: &Transaction<'_>, id: &str, dirty: bool) -> IdbResult<()> {
    let marks = tx.object_store(DIRTY)?;
    if dirty {
        marks.put(true).with_key(id.to_string()).primitive()?;
    } else {
        marks.delete(id.to_string()).primitive()?;
    }
    Ok(())
}

fn parse_id(id: &str) -> Option<(ObjectKind, Key)> {
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
            write_local(&tx, &resolved)?;
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
                        let keys: Vec<String> = tx
                            .object_store(store_of(kind))?
                            .get_all_keys()
                            .primitive()?
                            .await?
                            .collect::<IdbResult<Vec<String>>>()?;
                        for k in keys {
                            dirty
                                .put(true)
                                .with_key(format!("{}/{k}", kind.as_str()))
                                .primitive()?;
                        }
                    }
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
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                self.note_read(&id);
                if let Some((kind, key)) = parse_id(&id) {
                    if let Some(o) = read_local(&tx, kind, key).await? {
                        out.push(o);
                    }
                }
            }
            Ok::<_, IdbError>(out)
        }
        .await
        .map_err(local_err)
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        self.note_read(&sync_id(kind, key));
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readonly)?;
            read_local(&tx, kind, key).await
        }
        .await
        .map_err(local_err)
    }

    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError> {
        async {
            let tx = self.tx(&all_stores(), TransactionMode::Readwrite)?;
            for change in &changes {
                match change {
                    StoreChange::Put(o) if self.edited_since_read(&sync_id(o.kind, o.key)) => {}
                    StoreChange::Conflict(r) if self.edited_since_read(&sync_id(r.kind, r.key)) => {
                    }
                    StoreChange::Put(o) => write_local(&tx, o)?,
                    StoreChange::Pushed {
                        kind,
                        key,
                        pushed,
                        version,
                    } => {
                        // Edited again while the push was in flight: it stays dirty.
                        let current = read_object(&tx, *kind, *key).await?;
                        let dirty = current != *pushed;
                        let id = sync_id(*kind, *key);
                        if current.is_none() && !dirty {
                            write_base(&tx, &id, 0, None)?;
                        } else {
                            write_base(&tx, &id, *version, pushed.as_ref())?;
                        }
                        mark(&tx, &id, dirty)?;
                    }
                    StoreChange::Conflict(record) => {
                        write_local(
                            &tx,
                            &LocalObject {
                                kind: record.kind,
                                key: record.key,
                                base_version: record.remote_version,
                                base: record.remote.clone(),
                                current: record.remote.clone(),
                                dirty: false,
                            },
                        )?;
                        let row = ConflictRow::of(record)?;
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
            tx.commit().await
        }
        .await
        .map_err(local_err)
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
