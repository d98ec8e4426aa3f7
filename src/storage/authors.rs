//! Who last changed each reference of a shared library online, and when (the changes feed's
//! `changed_by` and `changed_at`, core's `StoreChange::Authored`), for "last changed by"
//! beside the editor; this browser's own pushes are lines too, with no name (this account),
//! in a shared library's database only (the personal library shows no such line). Unlinking
//! empties the store: versions of another link say nothing of these.
//!
//! Invariants: written only by the sync, in the transaction of the page that brought them, as
//! one record per page (IndexedDB's cost is per record) keyed by the page's highest version,
//! zero-padded so keys sort as numbers; a later record's line for a key wins over an earlier
//! one. Past [`MOST_RECORDS`] records they are merged into one in the same transaction, so
//! reading one reference's author stays one `getAll` of a bounded size. A line is true of its
//! version only: the editor compares it with the version the reference is at here.

use super::schema::AUTHORS;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::Result as IdbResult;
use refsync_core::Key;
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;

/// How many page records are kept before they are merged into one.
const MOST_RECORDS: u32 = 64;

/// Who wrote `version` of a reference, and when (Unix ms); `by` is empty for this browser's
/// own push (this account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub version: u64,
    pub by: String,
    pub at: u64,
}

/// One page's lines, gathered as the page is written.
#[derive(Default)]
pub struct PageAuthors {
    lines: String,
    highest: u64,
}

impl PageAuthors {
    pub fn add(&mut self, key: Key, version: u64, by: &str, at: u64) {
        // An address holds neither; a service that sent one must not split a line.
        let by = by.replace(['\t', '\n'], " ");
        self.lines
            .push_str(&format!("{key}\t{version}\t{at}\t{by}\n"));
        self.highest = self.highest.max(version);
    }

    /// Write the page's record (nothing if it had none), merging the records when there are
    /// too many.
    pub async fn finish(self, tx: &Transaction<'_>) -> IdbResult<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let store = tx.object_store(AUTHORS)?;
        store
            .put(self.lines)
            .with_key(format!("{:020}", self.highest))
            .primitive()?;
        if store.count().primitive()?.await? <= MOST_RECORDS {
            return Ok(());
        }
        let mut latest: BTreeMap<String, String> = BTreeMap::new();
        for text in records(tx).await? {
            for line in text.lines() {
                if let Some((key, _)) = line.split_once('\t') {
                    latest.insert(key.to_string(), line.to_string());
                }
            }
        }
        let mut merged = String::new();
        let mut highest = 0;
        for line in latest.values() {
            if let Some(a) = parse(line) {
                highest = highest.max(a.1.version);
            }
            merged.push_str(line);
            merged.push('\n');
        }
        store.clear()?;
        store
            .put(merged)
            .with_key(format!("{highest:020}"))
            .primitive()?;
        Ok(())
    }
}

/// Every record, oldest first.
async fn records(tx: &Transaction<'_>) -> IdbResult<Vec<String>> {
    let all: Vec<JsValue> = tx
        .object_store(AUTHORS)?
        .get_all()
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<JsValue>>>()?;
    Ok(all.into_iter().filter_map(|v| v.as_string()).collect())
}

fn parse(line: &str) -> Option<(&str, Author)> {
    let mut parts = line.splitn(4, '\t');
    let key = parts.next()?;
    let version = parts.next()?.parse().ok()?;
    let at = parts.next()?.parse().ok()?;
    let by = parts.next()?.to_string();
    Some((key, Author { version, by, at }))
}

/// The last author recorded for `key`, if any.
pub async fn of(tx: &Transaction<'_>, key: Key) -> IdbResult<Option<Author>> {
    let key = key.to_string();
    let mut found = None;
    for text in records(tx).await? {
        for line in text.lines() {
            if let Some((k, a)) = parse(line) {
                if k == key {
                    found = Some(a);
                }
            }
        }
    }
    Ok(found)
}

/// Who changed a reference last, as this browser knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastChange {
    /// Never synced: made here, not sent yet.
    New,
    /// Changed here since it last synced.
    Waiting,
    /// The version held here: who wrote it (empty: this browser) and when.
    By(Author),
    /// Synced before who wrote it was kept here.
    Unknown,
}

impl super::Store {
    /// Who last changed reference `key`: its sync state and the author of the version held.
    pub async fn last_change(&self, key: Key) -> Result<Option<LastChange>, super::StoreError> {
        use refsync_core::sync::LocalStore;
        let held = LocalStore::get(self, refsync_core::ObjectKind::Reference, key)
            .await
            .map_err(|e| super::StoreError::new("read a reference", e))?;
        let Some(held) = held else { return Ok(None) };
        if held.base_version == 0 {
            return Ok(Some(LastChange::New));
        }
        if held.dirty {
            return Ok(Some(LastChange::Waiting));
        }
        let author = async {
            let tx = self.tx(&[AUTHORS], TransactionMode::Readonly)?;
            of(&tx, key).await
        }
        .await
        .map_err(|e| super::StoreError::new("read who changed a reference", e))?;
        Ok(Some(match author {
            Some(a) if a.version == held.base_version => LastChange::By(a),
            _ => LastChange::Unknown,
        }))
    }
}
