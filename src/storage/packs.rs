//! Packs: many references in one IndexedDB record.
//!
//! IndexedDB's cost is per record (each put is cloned, logged and committed on its own), so a
//! first download of 50,000 objects written as 50,000 records cannot be fast whatever the code
//! around it does: that alone was ~5 s of a 6.7 s first sync. A large sync page's unchanged
//! objects are written instead as packs of [`PACK_LINES`] lines, one string per pack, and so
//! are a bulk write's new references (an import, a restore) as [`UNSYNCED`] lines: 41,000
//! imported references were 82,000 records (each with its dirty mark), 7.7 s of an 11 s import.
//!
//! Invariants:
//! - a pack is never changed once written; it is only deleted, by the write that makes a newer
//!   pack hold every object it held;
//! - an object's effective record is its own record in its kind's store if it has one (a
//!   [`TOMBSTONE`] there means deleted), else its line in the newest pack that has it, else
//!   nothing. Every write of one object is therefore a write of its own record, and deleting an
//!   object that a pack holds leaves a tombstone;
//! - a line at version [`UNSYNCED`] is a reference never synced: it is dirty (to be sent) with
//!   no base, though it has no dirty mark. Its pack's head marks its id, so the index knows
//!   every such object and the engine's list of dirty objects ([`unsynced`]) reads only the
//!   packs that hold them. Once sent, such a reference goes into a newer pack at its version
//!   (`sync_store`), emptying the import's packs as a sync page empties older ones;
//! - a tab knows which pack holds what through its [`PackIndex`], which every transaction that
//!   reads or deletes objects brings up to date first ([`refresh`]): another tab may have
//!   synced packs in since. Packs are immutable, so the list of pack ids tells whether the
//!   index is current;
//! - each pack is written with its head: the ids of its lines, one per line, under
//!   [`head_key`] in the same store. A tab opening a library indexes it from the heads (a
//!   fiftieth of the packs' size) instead of reading every pack. A head is valid only while
//!   its pack exists (they are written and deleted together); a head without its pack is
//!   ignored, and a library with a pack without one (an older build wrote it) is indexed from
//!   the packs' texts, as before heads.
//!
//! Heads are keyed `#` and the pack id because `#` sorts before every digit: an older build
//! that lists the store still finds the newest pack last (so numbers the next one right) and
//! reads a head as a pack of no lines. That is why heads came without a schema version: a
//! version bump blocks a newer tab until every older tab of the library is closed.

use super::schema::{store_of, PACKS};
use super::{sync_id, Store};
use indexed_db_futures::future::BasicRequest;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::KeyRange;
use indexed_db_futures::Result as IdbResult;
use refsync_core::{Key, ObjectKind};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use wasm_bindgen::JsValue;

/// An own record that says "deleted here", hiding any copy a pack holds. JSON objects start
/// with `{` and versioned records with `v`, so it cannot be mistaken for either.
pub const TOMBSTONE: &str = "-";

/// Only references are packed: they are the bulk of a library, while groups, group sets and
/// attachments are few and read by kind (attachments on every sync), which stays one simple
/// read of their own store.
pub const PACKED_KIND: ObjectKind = ObjectKind::Reference;

/// Lines per pack: reading one object out of a pack reads the whole pack, so packs stay small
/// (~0.5 MB at 500 references) while still cutting records a hundredfold.
pub const PACK_LINES: usize = 500;

/// A sync page packs its unchanged objects only when it has at least this many; fewer are
/// cheaper as their own records (and an object edited later needs no pack read).
pub const PACK_AT_LEAST: usize = 200;

/// A packed line's version for a reference never synced (versions online start at 1).
pub const UNSYNCED: u64 = 0;

/// What a head puts before the id of an [`UNSYNCED`] line, listed again after every id. The
/// ids themselves stay plain, so an older build indexes the pack as it always did (and keeps
/// such a reference when it unlinks); it reads a marked line as an id no object has.
const UNSYNCED_MARK: char = '+';

/// One pack as indexed.
#[derive(Debug)]
struct Indexed {
    id: String,
    /// How many objects it holds the newest copy of.
    live: usize,
    /// How many lines it has.
    lines: usize,
}

/// Which pack holds the newest packed copy of each object, for one tab.
#[derive(Debug, Default)]
pub struct PackIndex {
    /// Every pack indexed, ascending by id.
    packs: Vec<Indexed>,
    /// Each packed object's (`kind/key`) newest pack.
    at: HashMap<String, String>,
    /// The packed objects whose newest line is [`UNSYNCED`] (empty once an import is sent).
    unsynced: HashSet<String>,
}

impl PackIndex {
    /// Index a pack newer than every pack indexed so far; returns the packs it made empty
    /// (every object they held is now in a newer pack), which the writer deletes.
    pub fn add(&mut self, pack: &str, text: &str) -> Vec<String> {
        self.add_ids(
            pack,
            &mut lines(text).map(|(id, version, _)| (id, version == UNSYNCED)),
        )
    }

    /// [`add`](Self::add) from the ids of a pack's lines (its head, or its text read), each
    /// with whether its line is [`UNSYNCED`]. A `dyn` iterator: one copy of this in the
    /// download, not one per kind of iterator.
    pub fn add_ids(
        &mut self,
        pack: &str,
        ids: &mut dyn Iterator<Item = (&str, bool)>,
    ) -> Vec<String> {
        let mut emptied = Vec::new();
        let mut held = 0;
        for (id, unsynced) in ids {
            held += 1;
            if unsynced {
                self.unsynced.insert(id.to_string());
            } else if !self.unsynced.is_empty() {
                self.unsynced.remove(id);
            }
            if let Some(old) = self.at.insert(id.to_string(), pack.to_string()) {
                if let Some(p) = self.packs.iter_mut().find(|p| p.id == old) {
                    p.live = p.live.saturating_sub(1);
                    if p.live == 0 {
                        emptied.push(old);
                    }
                }
            }
        }
        self.packs.retain(|p| p.live > 0);
        self.packs.push(Indexed {
            id: pack.to_string(),
            live: held,
            lines: held,
        });
        emptied
    }

    /// Drop `id` from the index (its line will not be carried into a newer pack); returns the
    /// pack this emptied, if it did, which the caller deletes in the same transaction (a pack
    /// still in the database would name the line to every other tab).
    pub fn forget(&mut self, id: &str) -> Vec<String> {
        self.unsynced.remove(id);
        let Some(old) = self.at.remove(id) else {
            return Vec::new();
        };
        let mut emptied = Vec::new();
        if let Some(p) = self.packs.iter_mut().find(|p| p.id == old) {
            p.live = p.live.saturating_sub(1);
            if p.live == 0 {
                emptied.push(old);
            }
        }
        self.packs.retain(|p| p.live > 0);
        emptied
    }

    /// The packed objects whose newest line is [`UNSYNCED`].
    pub fn unsynced_ids(&self) -> &HashSet<String> {
        &self.unsynced
    }

    /// The packs that hold the newest line of an [`UNSYNCED`] object, ascending.
    pub fn unsynced_packs(&self) -> Vec<String> {
        let mut packs: Vec<String> = self
            .unsynced
            .iter()
            .filter_map(|id| self.at.get(id))
            .collect::<HashSet<&String>>()
            .into_iter()
            .cloned()
            .collect();
        packs.sort_unstable();
        packs
    }

    /// The pack that holds `id` (`kind/key`), if any does.
    pub fn pack_of(&self, id: &str) -> Option<&str> {
        self.at.get(id).map(String::as_str)
    }

    /// Packs that newer packs have emptied more than half of: a large sync page carries
    /// their remaining lines into its own packs, so that stale lines never outnumber live ones
    /// (and the emptied packs are then deleted as any emptied pack is).
    pub fn sparse(&self) -> Vec<String> {
        self.packs
            .iter()
            .filter(|p| p.live * 2 < p.lines)
            .map(|p| p.id.clone())
            .collect()
    }

    /// Whether a pack holds `id`.
    pub fn holds(&self, id: &str) -> bool {
        self.at.contains_key(id)
    }

    /// The number after every pack's (see [`pack_name`]).
    pub fn next_number(&self) -> u64 {
        self.packs
            .last()
            .and_then(|p| p.id.parse::<u64>().ok())
            .unwrap_or(0)
            + 1
    }

    /// Every pack that holds the newest copy of some object, ascending: the packs a full
    /// read of the library reads (an emptied pack is deleted by the write that empties it).
    pub fn live_packs(&self) -> Vec<String> {
        self.packs.iter().map(|p| p.id.clone()).collect()
    }

    /// Every packed object's id with its newest pack.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.at
            .iter()
            .map(|(id, pack)| (id.as_str(), pack.as_str()))
    }
}

/// Pack `n`'s id: ten digits, so that ids sort as their numbers do.
pub fn pack_name(n: u64) -> String {
    format!("{n:010}")
}

/// What a head's key starts with (see the module's invariants).
const HEAD: char = '#';

/// The key of pack `id`'s head.
pub fn head_key(id: &str) -> String {
    format!("{HEAD}{id}")
}

/// The head of a pack's text: the ids of its lines, one per line, then the ids of its
/// [`UNSYNCED`] lines again after [`UNSYNCED_MARK`].
pub fn head_of(text: &str) -> String {
    let mut head = String::new();
    for (id, _, _) in lines(text) {
        head.push_str(id);
        head.push('\n');
    }
    for (id, version, _) in lines(text) {
        if version == UNSYNCED {
            head.push(UNSYNCED_MARK);
            head.push_str(id);
            head.push('\n');
        }
    }
    head
}

/// The ids a head lists, each with whether its line is [`UNSYNCED`].
fn read_head(head: &str) -> impl Iterator<Item = (&str, bool)> {
    let lines = head.split('\n').filter(|id| !id.is_empty());
    let unsynced: HashSet<&str> = lines
        .clone()
        .filter_map(|line| line.strip_prefix(UNSYNCED_MARK))
        .collect();
    lines
        .filter(|line| !line.starts_with(UNSYNCED_MARK))
        .map(move |id| (id, unsynced.contains(id)))
}

/// The keys of packs: pack ids are digits, heads sort before them.
fn packs_range() -> KeyRange<String> {
    KeyRange::LowerBound("0".to_string(), false)
}

/// The keys of heads.
fn heads_range() -> KeyRange<String> {
    KeyRange::UpperBound("0".to_string(), true)
}

/// A pack's lines: `(kind/key, version, json)`. A line that does not read is skipped (the
/// pack was written by this code; a damaged line only loses that object's synced copy, which
/// the next full sync brings back).
pub fn lines(text: &str) -> impl Iterator<Item = (&str, u64, &str)> {
    text.split('\n').filter_map(|line| {
        let (id, rest) = line.split_once(' ')?;
        let (version, json) = rest.split_once(' ')?;
        Some((id, version.parse().ok()?, json))
    })
}

/// One pack line; `json` never holds a newline (serde_json escapes them).
pub fn push_line(pack: &mut String, id: &str, version: u64, json: &str) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = writeln!(pack, "{id} {version} {json}");
}

/// An object's record as its own record would hold it: it is its own base at `version`.
pub fn as_record(version: u64, json: &str) -> String {
    format!("v{version}\n{json}")
}

/// Every pack's id, ascending.
pub(crate) async fn pack_ids(tx: &Transaction<'_>) -> IdbResult<Vec<String>> {
    tx.object_store(PACKS)?
        .get_all_keys()
        .with_query::<String, _>(packs_range())
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<String>>>()
}

/// Every head, by the id of its pack.
async fn heads(tx: &Transaction<'_>) -> IdbResult<HashMap<String, String>> {
    let packs = tx.object_store(PACKS)?;
    let keys = packs
        .get_all_keys()
        .with_query::<String, _>(heads_range())
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<String>>>()?;
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let values = packs
        .get_all()
        .with_query::<String, _>(heads_range())
        .primitive()?
        .await?
        .collect::<IdbResult<Vec<JsValue>>>()?;
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|(key, v)| Some((key.strip_prefix(HEAD)?.to_string(), v.as_string()?)))
        .collect())
}

/// How many packs a read of many asks for at once. One request for every pack held all their
/// text (~170 MB at 250,000 references) in the wasm memory beside the references made from it,
/// and a wasm memory never shrinks: 579 MB after opening such a library, 494 MB read in eights
/// (docs/bench.md, stop 49). Eight still keep IndexedDB busy between round trips.
const PACKS_AT_ONCE: usize = 8;

/// Call `f` with each of packs `ids` as `(id, text)`, in the order given, [`PACKS_AT_ONCE`]
/// asked for at a time. An id with no pack is skipped. A `dyn` callback: one copy of this in
/// the download.
pub async fn each_pack(
    tx: &Transaction<'_>,
    ids: &[String],
    f: &mut dyn FnMut(&str, &str),
) -> IdbResult<()> {
    let packs = tx.object_store(PACKS)?;
    for batch in ids.chunks(PACKS_AT_ONCE) {
        // The batch is asked for before the first is awaited (one round trip, not one each).
        let mut pending: Vec<BasicRequest<Option<JsValue>>> = Vec::with_capacity(batch.len());
        for id in batch {
            pending.push(packs.get(id.clone()).primitive()?);
        }
        for (id, request) in batch.iter().zip(pending) {
            if let Some(text) = request.await?.and_then(|v| v.as_string()) {
                f(id, &text);
            }
        }
    }
    Ok(())
}

/// The index of every pack in the database, from their heads: reading every pack instead was
/// most of opening a large library that came by sync (250,000 references are 500 packs of
/// ~0.5 MB, and their heads a fiftieth of that). A pack with no head (an older build wrote it)
/// is read and its head made from its text.
pub async fn index_of(tx: &Transaction<'_>) -> IdbResult<PackIndex> {
    let ids = pack_ids(tx).await?;
    let mut heads = heads(tx).await?;
    let headless: Vec<String> = ids
        .iter()
        .filter(|id| !heads.contains_key(*id))
        .cloned()
        .collect();
    each_pack(tx, &headless, &mut |id, text| {
        heads.insert(id.to_string(), head_of(text));
    })
    .await?;
    let mut index = PackIndex::default();
    for id in &ids {
        if let Some(head) = heads.remove(id) {
            index.add_ids(id, &mut read_head(&head));
        }
    }
    Ok(index)
}

/// The text of the packs' store's record `key` (a pack or a head), if there is one.
async fn text_of(tx: &Transaction<'_>, key: String) -> IdbResult<Option<String>> {
    let found: Option<JsValue> = tx.object_store(PACKS)?.get(key).primitive()?.await?;
    Ok(found.and_then(|v| v.as_string()))
}

/// Bring this tab's index up to date with the packs in the database. Costs one listing of
/// pack ids when nothing changed; reads only the packs it has not seen.
pub async fn refresh(store: &Store, tx: &Transaction<'_>) -> IdbResult<()> {
    let keys = pack_ids(tx).await?;
    let (same, only_new) = {
        let index = store.state.packs.borrow();
        let known: Vec<&String> = index.packs.iter().map(|p| &p.id).collect();
        let same = known.len() == keys.len() && known.iter().zip(&keys).all(|(a, b)| *a == b);
        // Only packs newer than any indexed were added: index just those.
        let last = known.last().copied();
        let only_new = known.iter().all(|k| keys.contains(k))
            && keys
                .iter()
                .filter(|k| !known.contains(k))
                .all(|k| last.is_none_or(|l| k > l));
        (same, only_new)
    };
    if same {
        return Ok(());
    }
    if !only_new {
        // A pack was deleted (or one older than ours appeared): start again.
        *store.state.packs.borrow_mut() = index_of(tx).await?;
        return Ok(());
    }
    let new: Vec<String> = {
        let index = store.state.packs.borrow();
        keys.into_iter()
            .filter(|k| !index.packs.iter().any(|p| p.id == **k))
            .collect()
    };
    for id in new {
        // A pack an older build wrote has no head: its text is read instead.
        let head = match text_of(tx, head_key(&id)).await? {
            Some(head) => head,
            None => head_of(&text_of(tx, id.clone()).await?.unwrap_or_default()),
        };
        store
            .state
            .packs
            .borrow_mut()
            .add_ids(&id, &mut read_head(&head));
    }
    Ok(())
}

/// The packed copies of `wanted` (`kind/key` ids the index places in a pack), as records
/// ([`as_record`]), each pack read once.
pub async fn read_packed(
    store: &Store,
    tx: &Transaction<'_>,
    wanted: &[String],
) -> IdbResult<HashMap<String, String>> {
    let mut by_pack: HashMap<String, HashSet<String>> = HashMap::new();
    {
        let index = store.state.packs.borrow();
        for id in wanted {
            if let Some(pack) = index.pack_of(id) {
                by_pack
                    .entry(pack.to_string())
                    .or_default()
                    .insert(id.clone());
            }
        }
    }
    let mut ids: Vec<String> = by_pack.keys().cloned().collect();
    ids.sort_unstable();
    let mut out = HashMap::new();
    each_pack(tx, &ids, &mut |pack, text| {
        let Some(wanted) = by_pack.get(pack) else {
            return;
        };
        for (id, version, json) in lines(text) {
            if wanted.contains(id) {
                out.insert(id.to_string(), as_record(version, json));
            }
        }
    })
    .await?;
    Ok(out)
}

/// Which keys each kind's store holds, when a large page listed them.
pub type OwnKeys = HashMap<ObjectKind, HashSet<String>>;

/// The effective records of `ids` (see the module's invariants): the own record, else the
/// packed copy, `None` for neither or a tombstone. `own`, when given, lists the keys each
/// kind's store holds, so that objects it lacks are not asked for one by one. The transaction
/// must cover the object stores and [`PACKS`].
pub async fn read_records(
    store: &Store,
    tx: &Transaction<'_>,
    ids: &[(ObjectKind, Key)],
    own: Option<&OwnKeys>,
) -> IdbResult<Vec<Option<String>>> {
    Ok(read_effective(store, tx, ids, own)
        .await?
        .into_iter()
        .map(|found| found.map(|(record, _)| record))
        .collect())
}

/// [`read_records`], each with whether it came from a pack (`true`) or is the own record.
pub async fn read_effective(
    store: &Store,
    tx: &Transaction<'_>,
    ids: &[(ObjectKind, Key)],
    own: Option<&OwnKeys>,
) -> IdbResult<Vec<Option<(String, bool)>>> {
    refresh(store, tx).await?;
    let mut pending: Vec<Option<BasicRequest<Option<JsValue>>>> = Vec::with_capacity(ids.len());
    for (kind, key) in ids {
        let name = key.to_string();
        let listed = own.is_none_or(|o| o.get(kind).is_some_and(|k| k.contains(&name)));
        pending.push(if listed {
            Some(tx.object_store(store_of(*kind))?.get(name).primitive()?)
        } else {
            None
        });
    }
    let mut found = Vec::with_capacity(ids.len());
    let mut wanted = Vec::new();
    for ((kind, key), request) in ids.iter().zip(pending) {
        let record = match request {
            Some(r) => r.await?.and_then(|v| v.as_string()),
            None => None,
        };
        if record.is_none() {
            let id = sync_id(*kind, *key);
            if store.state.packs.borrow().holds(&id) {
                wanted.push(id);
            }
        }
        found.push(record);
    }
    let mut packed = if wanted.is_empty() {
        HashMap::new()
    } else {
        read_packed(store, tx, &wanted).await?
    };
    Ok(ids
        .iter()
        .zip(found)
        .map(|((kind, key), record)| match record {
            Some(r) if r == TOMBSTONE => None,
            Some(r) => Some((r, false)),
            None => packed.remove(&sync_id(*kind, *key)).map(|r| (r, true)),
        })
        .collect())
}

/// References never synced that packs hold (see [`UNSYNCED`]), each given to `each` as its
/// key and JSON, pack by pack in id order, until `limit` were: each line whose newest copy is
/// in its pack, not named in `skip`, and not hidden by an own record (an edit made since, which
/// has its own dirty mark, or a tombstone). Returns how many were given. The index must be
/// fresh in `tx` ([`refresh`]).
pub async fn unsynced(
    store: &Store,
    tx: &Transaction<'_>,
    limit: usize,
    skip: &HashSet<String>,
    each: &mut dyn FnMut(Key, &str),
) -> IdbResult<usize> {
    let prefix = format!("{}/", PACKED_KIND.as_str());
    let objects = tx.object_store(store_of(PACKED_KIND))?;
    let mut given = 0;
    let unsynced_packs = store.state.packs.borrow().unsynced_packs();
    for pack in unsynced_packs {
        if given >= limit {
            break;
        }
        let text = text_of(tx, pack.clone()).await?.unwrap_or_default();
        let mut wanted = Vec::new();
        {
            let index = store.state.packs.borrow();
            for (id, version, json) in lines(&text) {
                if version != UNSYNCED
                    || skip.contains(id)
                    || index.pack_of(id) != Some(pack.as_str())
                {
                    continue;
                }
                if let Some(Ok(key)) = id.strip_prefix(&prefix).map(Key::parse) {
                    wanted.push((key, json));
                }
            }
        }
        // Every own record is asked for before the first is awaited.
        let mut asked = Vec::with_capacity(wanted.len());
        for (key, _) in &wanted {
            asked.push(objects.get(key.to_string()).primitive()?);
        }
        for ((key, json), own) in wanted.into_iter().zip(asked) {
            let own: Option<JsValue> = own.await?;
            if own.is_none() && given < limit {
                each(key, json);
                given += 1;
            }
        }
    }
    Ok(given)
}

/// Remove an object's own record, leaving a tombstone if a pack holds a copy (the index must
/// be fresh in `tx`).
pub fn delete_object(
    store: &Store,
    tx: &Transaction<'_>,
    kind: ObjectKind,
    key: Key,
) -> IdbResult<()> {
    let objects = tx.object_store(store_of(kind))?;
    if store.state.packs.borrow().holds(&sync_id(kind, key)) {
        objects
            .put(TOMBSTONE.to_string())
            .with_key(key.to_string())
            .primitive()?;
    } else {
        objects.delete(key.to_string()).primitive()?;
    }
    Ok(())
}

/// Write a new pack (ids from [`PackIndex::next_number`] within the same read-write transaction
/// that refreshed the index, so no other tab can take the id first).
pub fn write(tx: &Transaction<'_>, id: &str, text: String) -> IdbResult<()> {
    let packs = tx.object_store(PACKS)?;
    packs
        .put(head_of(&text))
        .with_key(head_key(id))
        .primitive()?;
    packs.put(text).with_key(id.to_string()).primitive()?;
    Ok(())
}

/// Delete packs a newer pack emptied, with their heads.
pub fn delete(tx: &Transaction<'_>, ids: &[String]) -> IdbResult<()> {
    let packs = tx.object_store(PACKS)?;
    for id in ids {
        packs.delete(id.clone()).primitive()?;
        packs.delete(head_key(id)).primitive()?;
    }
    Ok(())
}

/// A page's packs being filled: each full pack is put at once and indexed (the index is put
/// back to what the database holds if the page's transaction fails).
pub struct Packer {
    next: u64,
    text: String,
    lines: usize,
}

impl Packer {
    pub fn new(index: &PackIndex) -> Packer {
        Packer {
            next: index.next_number(),
            text: String::new(),
            lines: 0,
        }
    }

    pub fn push(
        &mut self,
        tx: &Transaction<'_>,
        index: &RefCell<PackIndex>,
        id: &str,
        version: u64,
        json: &str,
    ) -> IdbResult<()> {
        push_line(&mut self.text, id, version, json);
        self.lines += 1;
        if self.lines >= PACK_LINES {
            self.flush(tx, index)?;
        }
        Ok(())
    }

    pub fn flush(&mut self, tx: &Transaction<'_>, index: &RefCell<PackIndex>) -> IdbResult<()> {
        if self.lines == 0 {
            return Ok(());
        }
        let id = pack_name(self.next);
        self.next += 1;
        let text = std::mem::take(&mut self.text);
        let emptied = index.borrow_mut().add(&id, &text);
        delete(tx, &emptied)?;
        write(tx, &id, text)?;
        self.lines = 0;
        Ok(())
    }
}

impl Packer {
    /// Put the page's last lines, then fold packs the page left mostly stale: their live
    /// lines go into new packs (each stale pack read once) and the old ones are deleted. A
    /// line an own record hides is not carried: the own record wins whatever a pack holds, and
    /// an object edited or deleted here keeps its synced copy in its base record, so the line
    /// is dead weight (an unsynced one would also be read at every look for what to send).
    pub async fn finish(
        mut self,
        tx: &Transaction<'_>,
        index: &RefCell<PackIndex>,
    ) -> IdbResult<()> {
        // This page's own lines first, so that the index counts what they replaced.
        self.flush(tx, index)?;
        let sparse = index.borrow().sparse();
        for pack in sparse {
            let text = text_of(tx, pack.clone()).await?.unwrap_or_default();
            let live: Vec<(&str, u64, &str)> = lines(&text)
                .filter(|(id, _, _)| index.borrow().pack_of(id) == Some(pack.as_str()))
                .collect();
            // Every own record is asked for before the first is awaited.
            let mut asked = Vec::with_capacity(live.len());
            for (id, _, _) in &live {
                asked.push(match super::sync_store::parse_id(id) {
                    Some((kind, key)) => Some(
                        tx.object_store(store_of(kind))?
                            .get(key.to_string())
                            .primitive()?,
                    ),
                    None => None,
                });
            }
            for ((id, version, json), own) in live.into_iter().zip(asked) {
                let hidden: Option<JsValue> = match own {
                    Some(request) => request.await?,
                    None => None,
                };
                if hidden.is_some() {
                    let emptied = index.borrow_mut().forget(id);
                    delete(tx, &emptied)?;
                } else {
                    self.push(tx, index, id, version, json)?;
                }
            }
        }
        self.flush(tx, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn a_newer_pack_wins_and_an_emptied_pack_is_named() {
        let mut index = PackIndex::default();
        let mut first = String::new();
        push_line(&mut first, "reference/a", 3, "{\"t\":1}");
        push_line(&mut first, "reference/b", 3, "{\"t\":2}");
        push_line(&mut first, "reference/c", 3, "{\"t\":3}");
        assert!(index.add("0000000001", &first).is_empty());
        let mut second = String::new();
        push_line(&mut second, "reference/a", 5, "{\"t\":4}");
        assert!(index
            .add(&pack_name(index.next_number()), &second)
            .is_empty());
        assert_eq!(index.pack_of("reference/a"), Some("0000000002"));
        assert_eq!(index.pack_of("reference/b"), Some("0000000001"));
        assert!(index.sparse().is_empty(), "one stale line of three");
        let mut third = String::new();
        push_line(&mut third, "reference/c", 6, "{\"t\":5}");
        assert!(index.add("0000000003", &third).is_empty());
        assert_eq!(
            index.sparse(),
            vec!["0000000001"],
            "two stale lines of three"
        );
        let mut fourth = String::new();
        push_line(&mut fourth, "reference/b", 7, "{\"t\":6}");
        assert_eq!(index.add("0000000004", &fourth), vec!["0000000001"]);
        assert!(index.sparse().is_empty());
        assert_eq!(pack_name(index.next_number()), "0000000005");
    }

    #[wasm_bindgen_test]
    fn lines_read_back_what_was_pushed_and_skip_damage() {
        let mut pack = String::new();
        push_line(&mut pack, "group/x", 12, "{\"name\":\"a b\"}");
        pack.push_str("garbage\n");
        let read: Vec<_> = lines(&pack).collect();
        assert_eq!(read, vec![("group/x", 12, "{\"name\":\"a b\"}")]);
        assert_eq!(as_record(12, "{}"), "v12\n{}");
        let head = head_of(&pack);
        assert_eq!(head, "group/x\n");
        assert_eq!(
            read_head(&head).collect::<Vec<_>>(),
            vec![("group/x", false)]
        );
        push_line(&mut pack, "reference/y", UNSYNCED, "{}");
        let head = head_of(&pack);
        assert_eq!(head, "group/x\nreference/y\n+reference/y\n");
        assert_eq!(
            read_head(&head).collect::<Vec<_>>(),
            vec![("group/x", false), ("reference/y", true)]
        );
        let mut index = PackIndex::default();
        index.add("0000000001", &pack);
        assert_eq!(index.unsynced_packs(), vec!["0000000001"]);
        assert!(index.unsynced_ids().contains("reference/y"));
        let mut sent = String::new();
        push_line(&mut sent, "reference/y", 4, "{}");
        index.add("0000000002", &sent);
        assert!(index.unsynced_ids().is_empty(), "sent: a newer synced line");
        assert!(
            head_key(&pack_name(7)) < pack_name(0),
            "heads sort before packs"
        );
    }
}
