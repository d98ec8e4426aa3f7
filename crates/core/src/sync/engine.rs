//! The sync engine: push this client's changes, pull the service's, merge, persist, repeat
//! until both agree (docs/sync.md, "One sync"). It runs over two traits, so the browser
//! (IndexedDB, fetch) and the CLI (SQLite, HTTP) share it; the decisions are [`plan`]'s.
//!
//! Invariants: every batch of store writes is one [`LocalStore::apply`] call, which the store
//! makes atomic, so a sync cut off anywhere leaves the store consistent and the next sync
//! finishes the job (a page applied twice changes nothing); a batch is kept in the store's
//! outbox before it is sent and forgotten in the same transaction that writes its answer, so a
//! batch whose answer was lost (a cut connection, a closed tab, a failed write) is sent again
//! under its own idempotency key by the next sync, which then learns what the service took;
//! an object edited while its push was in flight stays dirty; `relink_required` and `auth` stop
//! the engine at once, never a retry loop. The traits' futures need not be `Send`: browser
//! futures are not.

use super::plan::{plan, Action, ConflictReason, ConflictRecord, LocalObject};
use crate::protocol::{
    Batch, BatchResult, ChangesPage, Data, ErrorCode, Link, Object, ResetResult, Write, WriteResult,
};
use crate::query::{DuplicateSet, Library};
use crate::{Key, ObjectKind, Reference};

/// Most writes one batch carries.
pub const PUSH_BATCH: usize = 1_000;
/// Tries of one request that fails for a retryable reason, and the first pause between them.
pub const TRIES: u32 = 4;
pub const FIRST_PAUSE_MS: u64 = 500;
/// Push-and-pull rounds in one sync before it stops (a healthy sync needs one or two).
pub const MAX_ROUNDS: usize = 10;

/// What kind of failure stopped a sync, for Sync Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service could not be reached, or the connection broke: try again later.
    Connection,
    /// Not signed in, or the session expired: sign in again.
    Auth,
    /// The account's storage is full.
    StorageLimit,
    /// The service takes no file this large (a refusal of one file, never of a whole sync).
    TooLarge,
    /// The account's reference limit refused what this client sent (what others changed was
    /// still pulled).
    ReferenceLimit,
    /// The library was reset elsewhere: link again.
    RelinkRequired,
    /// The service failed on its side.
    Server,
    /// The service refused what was sent, or sent what cannot be read.
    Invalid,
    /// The account's role in a shared library does not allow what was sent (a viewer's
    /// write, or a role taken away since the last sync).
    Forbidden,
    /// The service has no such thing for this account: a file not uploaded yet, or a library
    /// deleted or that the account no longer belongs to.
    NotFound,
    /// This device's own storage failed (full, blocked, damaged): nothing was half-written.
    Local,
}

impl ErrorKind {
    /// A stable name, for logs and saved sync histories.
    pub fn id(self) -> &'static str {
        match self {
            ErrorKind::Connection => "connection",
            ErrorKind::Auth => "auth",
            ErrorKind::StorageLimit => "storage_limit",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::ReferenceLimit => "reference_limit",
            ErrorKind::RelinkRequired => "relink_required",
            ErrorKind::Server => "server",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Local => "local",
        }
    }

    /// The service's code for this kind, for reporting a failed sync to its sync log (kinds
    /// the service never answers with are `unknown`; the message says what happened).
    pub fn code(self) -> ErrorCode {
        match self {
            ErrorKind::Auth => ErrorCode::Auth,
            ErrorKind::StorageLimit => ErrorCode::StorageLimit,
            ErrorKind::TooLarge => ErrorCode::TooLarge,
            ErrorKind::ReferenceLimit => ErrorCode::ReferenceLimit,
            ErrorKind::RelinkRequired => ErrorCode::RelinkRequired,
            ErrorKind::Server => ErrorCode::Internal,
            ErrorKind::Invalid => ErrorCode::Invalid,
            ErrorKind::Forbidden => ErrorCode::Forbidden,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::Connection | ErrorKind::Local => ErrorCode::Unknown,
        }
    }

    /// Whether a sync that stopped on this had still received what other devices changed: a
    /// push the service refused (over the reference limit, or not allowed by the role) is
    /// followed by a pull, so the records arrived and their attachments' bytes are worth
    /// fetching too (see `files::download_after`).
    pub fn still_received(self) -> bool {
        matches!(self, ErrorKind::ReferenceLimit | ErrorKind::Forbidden)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncError {
    pub kind: ErrorKind,
    pub message: String,
}

impl SyncError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> SyncError {
        SyncError {
            kind,
            message: message.into(),
        }
    }

    /// Whether trying again soon may work.
    pub fn retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Connection | ErrorKind::Server)
    }

    /// The kind a service error code means.
    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> SyncError {
        let kind = match code {
            ErrorCode::Auth => ErrorKind::Auth,
            ErrorCode::StorageLimit => ErrorKind::StorageLimit,
            ErrorCode::TooLarge => ErrorKind::TooLarge,
            ErrorCode::ReferenceLimit => ErrorKind::ReferenceLimit,
            ErrorCode::RelinkRequired => ErrorKind::RelinkRequired,
            ErrorCode::Forbidden => ErrorKind::Forbidden,
            ErrorCode::NotFound => ErrorKind::NotFound,
            ErrorCode::Internal | ErrorCode::RateLimited | ErrorCode::Unknown => ErrorKind::Server,
            _ => ErrorKind::Invalid,
        };
        SyncError::new(kind, message)
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// This client's link to the service's library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub library_id: String,
    pub epoch: u64,
    /// The library version this client holds everything up to.
    pub synced_version: u64,
}

/// One write to the local store.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreChange {
    /// Set the object as given.
    Put(LocalObject),
    /// The service took `pushed` at `version`: it becomes the base; the object stays dirty
    /// only if it changed again since it was pushed.
    Pushed {
        kind: ObjectKind,
        key: Key,
        pushed: Option<Object>,
        version: u64,
    },
    /// Record a conflict (combined with one already waiting, see [`super::apply`]); the
    /// object takes the service's copy meanwhile.
    Conflict(Box<ConflictRecord>),
    /// The batch in the outbox was answered (its answers are in the same call): forget it.
    Answered,
    /// Who wrote version `version` of a reference online, and when (Unix ms): the changes
    /// feed says so in a shared library only. Kept for "last changed by" beside the editor; a
    /// store may ignore it (it changes nothing that syncs).
    Authored {
        key: Key,
        version: u64,
        by: String,
        at: u64,
    },
}

/// The client's side: its objects, their bases and dirty marks, conflicts and the link.
#[allow(async_fn_in_trait)] // browser stores are not Send, by design
pub trait LocalStore {
    async fn link(&self) -> Result<Option<LinkState>, SyncError>;
    /// Link, or (with `None`) unlink: keep the data, forget what was synced (every object is
    /// new again, deletes not yet sent are forgotten, the outbox is emptied) and keep waiting
    /// conflicts (see [`super::apply::unlink_conflict`]).
    async fn set_link(&self, link: Option<LinkState>) -> Result<(), SyncError>;
    /// The batch sent last whose answer is not written yet, if any.
    async fn outbox(&self) -> Result<Option<Batch>, SyncError>;
    /// Keep `batch` as the one being sent, before it is sent.
    async fn set_outbox(&self, batch: &Batch) -> Result<(), SyncError>;
    /// Up to `limit` objects with local changes.
    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError>;
    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError>;
    /// [`LocalStore::get`] for a whole page at once, in `ids`' order. Stores where a read has
    /// a fixed cost (a transaction, a query) read them together.
    async fn get_many(
        &self,
        ids: &[(ObjectKind, Key)],
    ) -> Result<Vec<Option<LocalObject>>, SyncError> {
        let mut out = Vec::with_capacity(ids.len());
        for (kind, key) in ids {
            out.push(self.get(*kind, *key).await?);
        }
        Ok(out)
    }
    /// Every change, and the synced version when given, in one transaction.
    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError>;
    /// Every reference not deleted (for duplicate detection after a first sync).
    async fn references(&self) -> Result<Vec<Reference>, SyncError>;
    /// Keep probable duplicates for the user to look at (Possible Duplicates).
    async fn record_duplicates(&self, sets: Vec<DuplicateSet>) -> Result<(), SyncError>;
}

/// The service's side (docs/server.md).
#[allow(async_fn_in_trait)] // browser requests are not Send, by design
pub trait Remote {
    /// The online library this remote reads and writes (the engine syncs a store only with
    /// the library it is linked to).
    fn library_id(&self) -> &str;
    async fn link(&self) -> Result<Link, SyncError>;
    async fn changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError>;
    async fn batch(&self, epoch: u64, batch: &Batch) -> Result<BatchResult, SyncError>;
    /// Break the link for every device; with `wipe`, also empty the online library.
    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError>;
    /// Wait before a retry; `false` when a retry cannot help (the device knows it is
    /// offline), which ends the tries at once.
    async fn pause(&self, millis: u64) -> bool;
}

/// What one sync did, for Sync Status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Objects the service took from this client.
    pub sent: u64,
    /// Objects taken from the service (new or changed).
    pub received: u64,
    /// Of those, references (what a progress bar counts).
    pub received_references: u64,
    /// Objects deleted here because they were deleted online.
    pub deleted: u64,
    /// New conflicts waiting for the user.
    pub conflicts: u64,
    /// This sync linked the library (a new device, a first sync or one after a reset).
    pub linked: bool,
    /// Sets of probable duplicates found after linking (never merged by the engine).
    pub duplicates: u64,
    /// Objects the service sent that this version cannot read (a newer client's, or damaged):
    /// skipped, so that one of them never stops a library from syncing.
    pub unreadable: u64,
}

async fn with_retries<T, R: Remote>(
    remote: &R,
    call: impl AsyncFnMut() -> Result<T, SyncError>,
) -> Result<T, SyncError> {
    retrying(async |ms| remote.pause(ms).await, call).await
}

/// `call`, tried [`TRIES`] times while it fails for a retryable reason, pausing (by `pause`)
/// [`FIRST_PAUSE_MS`] and then twice as long each time: the one retry policy of every request
/// a sync makes, records and files alike. A pause that says a retry cannot help (the device
/// is offline) ends the tries with the last error.
pub(crate) async fn retrying<T>(
    pause: impl AsyncFn(u64) -> bool,
    mut call: impl AsyncFnMut() -> Result<T, SyncError>,
) -> Result<T, SyncError> {
    let mut wait = FIRST_PAUSE_MS;
    let mut tries = 1;
    loop {
        match call().await {
            Err(e) if e.retryable() && tries < TRIES => {
                if !pause(wait).await {
                    return Err(e);
                }
                wait *= 2;
                tries += 1;
            }
            other => return other,
        }
    }
}

fn object_data(object: &Option<Object>) -> Result<Option<Data>, SyncError> {
    object
        .as_ref()
        .map(Object::to_data)
        .transpose()
        .map_err(|e| SyncError::new(ErrorKind::Invalid, format!("cannot encode an object: {e}")))
}

fn object_of(kind: ObjectKind, key: Key, data: Option<&Data>) -> Result<Option<Object>, SyncError> {
    let Some(data) = data else { return Ok(None) };
    Object::from_data(kind, key, data).map(Some).map_err(|e| {
        SyncError::new(
            ErrorKind::Invalid,
            format!(
                "the service sent a {} this version cannot read: {e}",
                kind.as_str()
            ),
        )
    })
}

/// The store write an action comes to, counting it in `outcome`.
fn change_for(
    local: Option<&LocalObject>,
    kind: ObjectKind,
    key: Key,
    version: u64,
    remote: Option<Object>,
    outcome: &mut SyncOutcome,
) -> Option<StoreChange> {
    match plan(local, version, remote.as_ref()) {
        Action::Skip => None,
        Action::Accept(object) => {
            if object.is_none() {
                if local.and_then(|l| l.current.as_ref()).is_some() {
                    outcome.deleted += 1;
                }
            } else {
                outcome.received += 1;
                if kind == ObjectKind::Reference {
                    outcome.received_references += 1;
                }
            }
            Some(StoreChange::Put(LocalObject {
                kind,
                key,
                base_version: version,
                base: object.clone(),
                current: object,
                dirty: false,
            }))
        }
        Action::Rebase(current) => {
            outcome.received += 1;
            Some(StoreChange::Put(LocalObject {
                kind,
                key,
                base_version: version,
                base: remote,
                current,
                dirty: true,
            }))
        }
        Action::Conflict(record) => {
            outcome.conflicts += 1;
            Some(StoreChange::Conflict(record))
        }
    }
}

/// Sync once: link if needed, then push and pull until nothing is left on either side.
/// `new_key` makes a fresh idempotency key per batch (a retry reuses its batch's key).
pub async fn sync<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    new_key: &mut impl FnMut() -> String,
) -> Result<SyncOutcome, SyncError> {
    sync_with_progress(store, remote, new_key, &mut |_| {}).await
}

/// [`sync`], calling `progress` with the counts so far after each page is written (a first
/// download of a large library shows a progress bar with it).
pub async fn sync_with_progress<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    new_key: &mut impl FnMut() -> String,
    progress: &mut impl FnMut(&SyncOutcome),
) -> Result<SyncOutcome, SyncError> {
    let mut outcome = SyncOutcome::default();
    let mut joining = false;
    let link = match store.link().await? {
        Some(link) if link.library_id != remote.library_id() => {
            return Err(other_library(&link.library_id, remote.library_id()));
        }
        Some(link) => link,
        None => {
            let l = with_retries(remote, async || remote.link().await).await?;
            if l.library_id != remote.library_id() {
                return Err(other_library(&l.library_id, remote.library_id()));
            }
            // A first sync pulls everything; what this client holds is pushed as new, so the
            // two libraries end as their union.
            let link = LinkState {
                library_id: l.library_id,
                epoch: l.epoch,
                synced_version: 0,
            };
            // Unlinked, everything here is waiting to be sent: nothing waiting means an empty
            // library, which cannot add duplicates to the online one.
            joining = !store.dirty(1).await?.is_empty();
            store.set_link(Some(link.clone())).await?;
            outcome.linked = true;
            link
        }
    };
    for _ in 0..MAX_ROUNDS {
        let pushed = match push(store, remote, link.epoch, new_key, &mut outcome).await {
            Ok(pushed) => pushed,
            Err(e) if e.kind.still_received() => {
                // What was refused stays here (over the limit: its batch in the outbox,
                // offered again next sync; refused by the role: as conflicts, see `send`); the
                // device still receives what other devices changed.
                pull(store, remote, link.epoch, &mut outcome, progress).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let pulled = pull(store, remote, link.epoch, &mut outcome, progress).await?;
        if !pushed && !pulled && store.dirty(1).await?.is_empty() {
            break;
        }
    }
    if joining {
        // Two libraries joined as their union: the same paper may now be there twice. The
        // user decides; the engine only points them out.
        let sets = Library::from_references(store.references().await?).duplicates();
        outcome.duplicates = sets.len() as u64;
        store.record_duplicates(sets).await?;
    }
    Ok(outcome)
}

fn other_library(linked: &str, asked: &str) -> SyncError {
    SyncError::new(
        ErrorKind::Invalid,
        format!(
            "This library is linked to the online library {linked}, not {asked}; nothing was \
             synced. (Signed in to another account? Reset sync first to link it elsewhere.)"
        ),
    )
}

/// Reset sync: with `wipe`, empty the online library and tell every other device to link
/// again; then unlink here, keeping this library's data and forgetting what was synced, so a
/// later link sends it all again.
pub async fn reset<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    wipe: bool,
) -> Result<(), SyncError> {
    if wipe {
        with_retries(remote, async || remote.reset(true).await).await?;
    }
    store.set_link(None).await
}

/// Push every dirty object; whether anything was pushed. A batch left in the outbox by an
/// earlier sync goes first.
async fn push<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    epoch: u64,
    new_key: &mut impl FnMut() -> String,
    outcome: &mut SyncOutcome,
) -> Result<bool, SyncError> {
    let mut any = false;
    if let Some(batch) = store.outbox().await? {
        // Its answer never arrived here (or never got written): asked again under its own
        // key, the service answers instead of applying it twice, and this client learns the
        // version it took, so its later edits are not mistaken for conflicts with its own.
        any = true;
        let sent = batch
            .writes
            .iter()
            .map(|w| object_of(w.kind, w.key, w.data.as_ref()))
            .collect::<Result<Vec<_>, SyncError>>()?;
        send(store, remote, epoch, &batch, sent, outcome).await?;
    }
    for _ in 0..MAX_ROUNDS {
        let dirty = store.dirty(PUSH_BATCH).await?;
        if dirty.is_empty() {
            break;
        }
        any = true;
        let writes = dirty
            .iter()
            .map(|o| {
                Ok(Write {
                    kind: o.kind,
                    key: o.key,
                    base_version: o.base_version,
                    data: object_data(&o.current)?,
                })
            })
            .collect::<Result<Vec<_>, SyncError>>()?;
        let batch = Batch {
            idempotency_key: new_key(),
            writes,
        };
        store.set_outbox(&batch).await?;
        let sent = dirty.into_iter().map(|o| o.current).collect();
        send(store, remote, epoch, &batch, sent, outcome).await?;
    }
    Ok(any)
}

/// Send one batch (`sent`: each write's object) and write its answers, forgetting the outbox.
async fn send<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    epoch: u64,
    batch: &Batch,
    sent: Vec<Option<Object>>,
    outcome: &mut SyncOutcome,
) -> Result<(), SyncError> {
    let result = match with_retries(remote, async || remote.batch(epoch, batch).await).await {
        Ok(result) => result,
        Err(e) if e.kind == ErrorKind::Forbidden => {
            set_aside_refused(store, batch, outcome).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if result.results.len() != batch.writes.len()
        || batch
            .writes
            .iter()
            .zip(&result.results)
            .any(|(w, answer)| answer.key() != w.key)
    {
        return Err(SyncError::new(
            ErrorKind::Invalid,
            "the service answered a batch out of order",
        ));
    }
    // Conflicts are planned against the objects as held now (edited since, maybe).
    let conflicted: Vec<(ObjectKind, Key)> = batch
        .writes
        .iter()
        .zip(&result.results)
        .filter(|(_, a)| matches!(a, WriteResult::Conflict { .. }))
        .map(|(w, _)| (w.kind, w.key))
        .collect();
    let mut held = if conflicted.is_empty() {
        Vec::new()
    } else {
        store.get_many(&conflicted).await?
    }
    .into_iter();
    let mut changes = Vec::with_capacity(batch.writes.len() + 1);
    for ((w, pushed), answer) in batch.writes.iter().zip(sent).zip(&result.results) {
        match answer {
            WriteResult::Ok { version, .. } | WriteResult::Unchanged { version, .. } => {
                if matches!(answer, WriteResult::Ok { .. }) {
                    outcome.sent += 1;
                }
                changes.push(StoreChange::Pushed {
                    kind: w.kind,
                    key: w.key,
                    pushed,
                    version: *version,
                });
            }
            WriteResult::Conflict { current, .. } => {
                let Ok(theirs) = object_of(current.kind, current.key, current.data.as_ref()) else {
                    // Unreadable here: the write stays to be sent, and is named.
                    outcome.unreadable += 1;
                    continue;
                };
                // Gone here since it was sent (a new object deleted before it ever synced
                // leaves nothing behind): that delete is this client's change.
                let local = held.next().flatten().or_else(|| {
                    pushed.is_some().then_some(LocalObject {
                        kind: w.kind,
                        key: w.key,
                        base_version: 0,
                        base: None,
                        current: None,
                        dirty: true,
                    })
                });
                if let Some(change) = change_for(
                    local.as_ref(),
                    w.kind,
                    w.key,
                    current.version,
                    theirs,
                    outcome,
                ) {
                    changes.push(change);
                }
            }
        }
    }
    changes.push(StoreChange::Answered);
    store.apply(changes, None).await
}

/// The account's role refused the whole batch (a viewer's edits, or a role taken away since
/// they were made): each of its objects goes back to the service's copy as last synced, and
/// this client's copy waits as a [`ConflictReason::Refused`] conflict, to be dropped or copied
/// into a library the person may change. Nothing is lost, and the next sync is not stuck
/// sending it again.
async fn set_aside_refused<S: LocalStore>(
    store: &S,
    batch: &Batch,
    outcome: &mut SyncOutcome,
) -> Result<(), SyncError> {
    let ids: Vec<(ObjectKind, Key)> = batch.writes.iter().map(|w| (w.kind, w.key)).collect();
    let held = store.get_many(&ids).await?;
    let mut changes = Vec::with_capacity(ids.len() + 1);
    for ((kind, key), local) in ids.into_iter().zip(held) {
        let Some(local) = local else { continue };
        if local.current == local.base {
            continue;
        }
        outcome.conflicts += 1;
        changes.push(StoreChange::Conflict(Box::new(ConflictRecord {
            kind,
            key,
            reason: ConflictReason::Refused,
            local: local.current,
            remote: local.base.clone(),
            remote_version: local.base_version,
            fields: Vec::new(),
            base: local.base,
        })));
    }
    changes.push(StoreChange::Answered);
    store.apply(changes, None).await
}

/// Pull every change since the synced version, page by page; whether anything arrived.
async fn pull<S: LocalStore, R: Remote>(
    store: &S,
    remote: &R,
    epoch: u64,
    outcome: &mut SyncOutcome,
    progress: &mut impl FnMut(&SyncOutcome),
) -> Result<bool, SyncError> {
    let since = store.link().await?.map_or(0, |l| l.synced_version);
    let mut cursor: Option<String> = None;
    let mut any = false;
    loop {
        let page = with_retries(remote, async || {
            remote.changes(epoch, since, cursor.as_deref()).await
        })
        .await?;
        let mut changes = Vec::with_capacity(page.objects.len());
        let ids: Vec<(ObjectKind, Key)> = page.objects.iter().map(|o| (o.kind, o.key)).collect();
        let locals = store.get_many(&ids).await?;
        for (o, local) in page.objects.into_iter().zip(locals) {
            let Ok(theirs) = object_of(o.kind, o.key, o.data.as_ref()) else {
                // One object this version cannot read does not stop the page: it is counted
                // (Sync Status names it) and the rest is applied.
                outcome.unreadable += 1;
                continue;
            };
            if let Some(change) =
                change_for(local.as_ref(), o.kind, o.key, o.version, theirs, outcome)
            {
                any = true;
                changes.push(change);
            }
            if let (ObjectKind::Reference, Some(by), Some(at), Some(_)) =
                (o.kind, o.changed_by, o.changed_at, &o.data)
            {
                changes.push(StoreChange::Authored {
                    key: o.key,
                    version: o.version,
                    by,
                    at,
                });
            }
        }
        let done = page.next.is_none();
        // A last page with nothing in it that moves no version (a sync with nothing new) has
        // nothing to write: no write transaction, in every store (docs/sync.md).
        let unchanged = done && changes.is_empty() && page.library_version == since;
        if !unchanged {
            store
                .apply(changes, done.then_some(page.library_version))
                .await?;
        }
        progress(outcome);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(any),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Calls that always fail to connect; the pauses asked for, answered by `online`.
    fn tries_while(online: bool) -> (u32, Vec<u64>) {
        let calls = Cell::new(0);
        let pauses = RefCell::new(Vec::new());
        let result: Result<(), SyncError> = crate::sync::block_on(retrying(
            async |ms| {
                pauses.borrow_mut().push(ms);
                online
            },
            async || {
                calls.set(calls.get() + 1);
                Err(SyncError::new(ErrorKind::Connection, "refused"))
            },
        ));
        assert_eq!(result.map_err(|e| e.kind), Err(ErrorKind::Connection));
        (calls.get(), pauses.into_inner())
    }

    #[test]
    fn a_sync_with_nothing_new_writes_nothing_here() {
        use crate::sync::{block_on, MemoryRemote, MemoryStore};
        use crate::{Field, Key, RefType, Reference};
        let remote = MemoryRemote::new(Default::default());
        let (a, b) = (MemoryStore::default(), MemoryStore::default());
        let n = Cell::new(0);
        let mut key = || {
            n.set(n.get() + 1);
            n.get().to_string()
        };
        let mut reference = Reference::new(Key::new(1, [1; 10]), RefType::Book, 1);
        a.edit(Object::Reference(reference.clone()));
        block_on(sync(&a, &remote, &mut key)).unwrap();
        block_on(sync(&b, &remote, &mut key)).unwrap();
        let written = |s: &MemoryStore| s.state.borrow().pages_written;
        let before = (written(&a), written(&b));
        let outcome = block_on(sync(&a, &remote, &mut key)).unwrap();
        assert_eq!((outcome.sent, outcome.received), (0, 0));
        block_on(sync(&b, &remote, &mut key)).unwrap();
        assert_eq!(
            (written(&a), written(&b)),
            before,
            "nothing new, nothing written"
        );

        // Something new is still written, and the version it reached is kept.
        let version = |s: &MemoryStore| s.state.borrow().link.as_ref().unwrap().synced_version;
        reference.set(Field::Title, "Edited");
        a.edit(Object::Reference(reference));
        block_on(sync(&a, &remote, &mut key)).unwrap();
        let outcome = block_on(sync(&b, &remote, &mut key)).unwrap();
        assert_eq!(outcome.received, 1);
        assert_eq!(version(&b), version(&a));
        assert_eq!(written(&b), before.1 + 1);
    }

    #[test]
    fn a_request_is_retried_with_longer_pauses_unless_the_device_is_offline() {
        assert_eq!(tries_while(true), (TRIES, vec![500, 1000, 2000]));
        assert_eq!(tries_while(false), (1, vec![500]), "offline: no retry");
    }
}
