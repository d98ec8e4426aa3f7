//! The account: sign up, sign in, sign out, "Sync now", syncing by itself (`schedule`), and
//! Sync Status (`status`) — the browser library joined to the refsync service.
//!
//! Invariants: the session (token, account, library) is kept in IndexedDB's `meta`, never in
//! localStorage; an expired or revoked session sends the person to sign in again and changes
//! nothing in the library; only one sync runs at a time in this tab, and one asked for while
//! it runs runs when it ends (never dropped).

mod schedule;
mod settings;
mod status;
mod tabs;

pub use settings::SettingsDialog;
pub use status::{SyncProgressBar, SyncStatusDialog};

use crate::browser;
use crate::features::library::{use_library, Library};
use crate::features::ui::{DialogFooter, Modal};
use crate::later::{later, loaded};
use crate::storage::{Store, StoreError};
use crate::sync::remote::{self, BrowserRemote};
use crate::sync::run::{self, Progress};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::Hint;
use refsync_core::sync::{words, ErrorKind, LibraryId, LocalStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The session's name in `meta`.
const SESSION: &str = "session";
/// This browser's device id in `meta` (made once).
const DEVICE: &str = "device_id";
/// The last syncs, newest first, in `meta`.
const HISTORY: &str = "sync_history";
/// Minutes between automatic syncs (0: off), in `meta`.
const INTERVAL: &str = "sync_interval";
/// How many syncs the history keeps.
const HISTORY_LEN: usize = 20;
/// What the service said of the online library at the last sync (`Library::online`), in `meta`.
const ONLINE: &str = "online_library";

/// One sync, for Sync Status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// When it started (Unix milliseconds).
    pub at: u64,
    pub duration_ms: u64,
    pub sent: u64,
    pub received: u64,
    pub deleted: u64,
    pub conflicts: u64,
    /// What stopped it, in plain words, and its kind's id.
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

impl SyncRecord {
    /// The line for a sync that started at `started` and ended now with `result`.
    fn of(started: u64, result: Result<&run::Report, (ErrorKind, &str)>) -> SyncRecord {
        let mut record = SyncRecord {
            at: started,
            duration_ms: browser::now_millis().saturating_sub(started),
            sent: 0,
            received: 0,
            deleted: 0,
            conflicts: 0,
            error: None,
            error_kind: None,
        };
        match result {
            Ok(report) => {
                let o = report.outcome;
                (
                    record.sent,
                    record.received,
                    record.deleted,
                    record.conflicts,
                ) = (o.sent, o.received, o.deleted, o.conflicts);
                // Files the service would not take: the rest of the sync went through.
                if let Some(text) = &report.refused {
                    record.error = Some(text.clone());
                    record.error_kind = Some(ErrorKind::StorageLimit.id().into());
                }
            }
            Err((kind, message)) => {
                record.error = Some(explain(kind, message));
                record.error_kind = Some(kind.id().into());
            }
        }
        record
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub token: String,
    pub library_id: String,
}

#[derive(Clone, Copy)]
pub struct Account {
    pub session: RwSignal<Option<SessionInfo>>,
    pub syncing: RwSignal<bool>,
    pub dialog: RwSignal<bool>,
    /// The last syncs, newest first.
    pub history: RwSignal<Vec<SyncRecord>>,
    /// Minutes between automatic syncs; 0 is off.
    pub interval: RwSignal<u32>,
    pub status_open: RwSignal<bool>,
    pub settings_open: RwSignal<bool>,
    /// How far the running sync has come (a first download shows a progress bar).
    pub progress: RwSignal<Option<Progress>>,
    /// Sets of probable duplicates the last first sync made (its notice shows until read).
    pub duplicates_found: RwSignal<Option<u64>>,
    /// The shared libraries this browser holds, and invitations (features/sharing.rs).
    pub sharing: crate::features::sharing::Sharing,
    /// Whether the account's change stream is open: changes made elsewhere arrive as they
    /// happen, and the lists of libraries and invitations are asked for only when it says
    /// they changed (schedule.rs).
    pub live: RwSignal<bool>,
    /// The personal library's store, which keeps the session, when the window shows a shared
    /// library (the window's own store otherwise).
    home: StoredValue<Option<Rc<Store>>, LocalStorage>,
    /// What asked for a sync while one was running.
    again: StoredValue<Again>,
}

/// A sync asked for while one runs, run when that one ends: an invitation accepted, an edit
/// made or a change hint arriving mid-sync is never lost, and triggers that fire together still
/// cost one sync.
#[derive(Clone, Debug, Default)]
struct Again {
    /// Asked by the person (Sync now, Accept, a new shared library).
    asked: bool,
    /// An automatic trigger (an edit, the network back, a hint that could not be read).
    quiet: bool,
    /// The highest version change hints announced, by library: worth a sync only if past the
    /// version the running sync reached there (its own pushes are hinted too).
    hinted: BTreeMap<String, u64>,
}

/// The store that keeps the session, this browser's device id and the sync interval: the
/// personal library's, whichever library the window shows (a shared library is reached
/// through the personal library's account).
pub async fn home_store(lib: Library, account: Account) -> Result<Rc<Store>, StoreError> {
    if lib.id.get_value() == LibraryId::Personal {
        return lib.open_store();
    }
    if let Some(home) = account.home.get_value() {
        return Ok(home);
    }
    let home = Rc::new(Store::open(lib.db_base).await?);
    account.home.set_value(Some(home.clone()));
    Ok(home)
}

pub fn use_account() -> Account {
    use_context::<Account>().unwrap_or_else(|| panic!("provide_account not run"))
}

/// Load the saved session once the library is open.
pub fn provide_account() {
    let lib = use_library();
    let account = Account {
        session: RwSignal::new(None),
        syncing: RwSignal::new(false),
        dialog: RwSignal::new(false),
        history: RwSignal::new(Vec::new()),
        interval: RwSignal::new(15),
        status_open: RwSignal::new(false),
        settings_open: RwSignal::new(false),
        progress: RwSignal::new(None),
        duplicates_found: RwSignal::new(None),
        sharing: crate::features::sharing::Sharing::new(),
        live: RwSignal::new(false),
        home: StoredValue::new_local(None),
        again: StoredValue::new(Again::default()),
    };
    provide_context(account);
    schedule::start(lib, account);
    Effect::new(move |loaded: Option<bool>| {
        if loaded == Some(true) {
            return true;
        }
        if lib.open_store().is_err() {
            lib.load.track();
            return false;
        }
        spawn_local(load_saved(lib, account));
        tabs::start(lib, account);
        true
    });
}

/// Read the session, the history and the interval from IndexedDB (at start, and when another
/// tab says it changed them).
async fn load_saved(lib: Library, account: Account) {
    let Ok(store) = lib.open_store() else { return };
    if let Ok(Some(json)) = store.meta(HISTORY).await {
        if let Ok(h) = serde_json::from_str::<Vec<SyncRecord>>(&json) {
            account.history.set(h);
        }
    }
    if let Ok(Some(json)) = store.meta(ONLINE).await {
        if let Ok(info) = serde_json::from_str(&json) {
            lib.online.set(Some(info));
        }
    }
    if let Ok(Some(at)) = store.meta(crate::features::transfer::LAST_BACKUP).await {
        lib.last_backup.set(at.parse().ok());
    }
    let Ok(home) = home_store(lib, account).await else {
        return;
    };
    if let Ok(Some(minutes)) = home.meta(INTERVAL).await {
        if let Ok(m) = minutes.parse() {
            account.interval.set(m);
        }
    }
    let session = match home.meta(SESSION).await {
        Ok(Some(json)) => serde_json::from_str::<SessionInfo>(&json).ok(),
        _ => None,
    };
    if account.session.get_untracked() != session {
        account.session.set(session);
    }
    crate::features::sharing::load_known(lib, account).await;
}

async fn device_id(lib: Library, account: Account) -> Result<String, String> {
    let store = home_store(lib, account).await.map_err(|e| e.to_string())?;
    if let Ok(Some(id)) = store.meta(DEVICE).await {
        return Ok(id);
    }
    let id = browser::new_key().to_string();
    store
        .set_meta(DEVICE, &id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(id)
}

/// What to tell the person when a sync stops, and what to do about it.
fn explain(kind: ErrorKind, message: &str) -> String {
    match kind {
        ErrorKind::Connection if message == OFFLINE => {
            "This browser is offline; your library is safe here and will sync when the network is back.".into()
        }
        ErrorKind::Connection => {
            "Could not reach the refsync service; your library is safe here and will sync when the connection is back.".into()
        }
        ErrorKind::Auth => "Your sign-in has expired. Sign in again to sync; nothing in your library was changed.".into(),
        ErrorKind::StorageLimit => format!("Your online storage is full: {message}"),
        ErrorKind::TooLarge => format!("A file is too large to sync: {message}"),
        // Already in words (core's), with the figures.
        ErrorKind::ReferenceLimit => message.to_string(),
        ErrorKind::RelinkRequired => "Sync was reset on another device, so this library is no longer linked. Open Sync Status and choose Link again to merge it into the online library, or reset sync here.".into(),
        ErrorKind::Server => format!("The refsync service failed ({message}); it will be tried again."),
        ErrorKind::Invalid => format!("The service refused the sync: {message}"),
        ErrorKind::Forbidden => format!("Your role in this shared library does not allow it: {message}"),
        ErrorKind::NotFound => format!("The online library is not there any more, or this account no longer belongs to it: {message}"),
        ErrorKind::Local => message.to_string(),
    }
}

/// Sync now, as the button does: signed out, it asks the person to sign in.
pub fn sync_now(lib: Library, account: Account) {
    if account.session.with_untracked(Option::is_none) {
        account.dialog.set(true);
        return;
    }
    start_sync(lib, account, true, false);
}

/// Sync if signed in, online and not syncing already; otherwise nothing (the automatic
/// triggers: the network coming back fires one).
pub fn sync_quietly(lib: Library, account: Account) {
    start_sync(lib, account, false, false);
}

/// A sync's error when the browser says it is offline (no request is made).
const OFFLINE: &str = "offline";

/// `follow_up`: asked for while the sync before it ran; one that finds nothing new leaves that
/// sync's message in place (it said all there is).
fn start_sync(lib: Library, account: Account, asked: bool, follow_up: bool) {
    let Some(session) = account.session.get_untracked() else {
        return;
    };
    if !asked && browser::offline() {
        return;
    }
    if account.syncing.get_untracked() {
        account.again.update_value(|a| {
            a.asked |= asked;
            a.quiet |= !asked;
        });
        return;
    }
    account.syncing.set(true);
    spawn_local(async move {
        browser::mark("sync-start");
        let phase = browser::perf_now();
        let started = browser::now_millis();
        // One tab syncs at a time; another tab's sync waits here for its turn.
        let result = browser::with_lock(SYNC_LOCK, run_sync(lib, account, session))
            .await
            .unwrap_or_else(|e| Err((ErrorKind::Connection, e.to_string())));
        browser::measure("sync-run", phase);
        account.progress.set(None);
        let mut others = Vec::new();
        let result = match result {
            Ok(Some(synced)) => {
                others = synced.others;
                synced.result
            }
            Err(e) => Err(e),
            // Signed out or reset while waiting for the lock: nothing to do.
            Ok(None) => {
                account.again.set_value(Again::default());
                account.syncing.set(false);
                return;
            }
        };
        // Whole pages may have been written even if the sync stopped later; a sync that
        // brought nothing leaves the window's copy as it is (reading 50,000 references again
        // would cost more than the sync).
        let brought = match &result {
            Ok(r) => {
                let o = r.outcome;
                o.received + o.deleted + o.conflicts > 0 || o.linked
            }
            Err(_) => true,
        };
        let shown_at = browser::perf_now();
        let reloaded = if brought {
            lib.show_synced().await
        } else {
            Ok(())
        };
        browser::measure("sync-show", shown_at);
        browser::mark("sync-done");
        account.syncing.set(false);
        let record = SyncRecord::of(
            started,
            result
                .as_ref()
                .map_err(|(kind, message)| (*kind, message.as_str())),
        );
        match result {
            Ok(report) => {
                let o = report.outcome;
                let nothing = !brought && o.sent + report.uploaded + report.downloaded == 0;
                match report.refused {
                    // Files the service would not take (full, or too large), in words that say
                    // which and why; the rest of the sync went through.
                    Some(text) => lib.fail(text),
                    None if follow_up && nothing => {}
                    None => lib.tell(run::describe(&report)),
                }
                if o.duplicates > 0 {
                    account.duplicates_found.set(Some(o.duplicates));
                }
                if o.conflicts > 0 {
                    lib.fail(format!(
                        "{} could not be merged and {} in Sync Conflicts, waiting for you to choose.",
                        refs_text(o.conflicts),
                        if o.conflicts == 1 { "is" } else { "are" }
                    ));
                }
            }
            Err((kind, message)) => {
                let text = explain(kind, &message);
                if kind == ErrorKind::Auth {
                    forget_session(lib, account).await;
                    account.dialog.set(true);
                }
                lib.fail(text);
            }
        }
        if let Err(e) = reloaded {
            lib.fail(e.to_string());
        }
        if let Some(text) = crate::features::sharing::describe_others(&others) {
            let failed = others.iter().any(|(_, r)| r.is_err());
            let text = format!(
                "{} {text}",
                lib.notice
                    .with_untracked(|n| n.as_ref().map(|n| n.text.clone()).unwrap_or_default())
            );
            if failed {
                lib.fail(text.trim().to_string());
            } else {
                lib.tell(text.trim().to_string());
            }
        }
        let unreachable = record.error_kind.as_deref() == Some(ErrorKind::Connection.id());
        remember(lib, account, record).await;
        tabs::tell_others(if brought { tabs::SYNCED } else { tabs::HISTORY });
        run_again(lib, account, unreachable).await;
    });
}

/// Once a sync ends: the one asked for meanwhile, if any. After a sync that could not reach
/// the service, only one the person asked for: an automatic one would fail the same way at
/// once (the network coming back and the timer try again).
async fn run_again(lib: Library, account: Account, unreachable: bool) {
    let mut again = Again::default();
    account
        .again
        .update_value(|a| std::mem::swap(a, &mut again));
    if unreachable && !again.asked {
        return;
    }
    if again.asked || again.quiet {
        start_sync(lib, account, again.asked, true);
        return;
    }
    for (id, version) in again.hinted {
        if behind(lib, account, &id, version).await {
            start_sync(lib, account, false, true);
            return;
        }
    }
}

/// The service says one of the account's libraries is at a version now (`None`: a hint that
/// could not be read, which still says something moved): sync if this browser's copy is
/// older, now or once the running sync ends.
pub fn hinted(lib: Library, account: Account, hint: Option<Hint>) {
    let Some(Hint {
        library_version,
        library_id: Some(id),
    }) = hint
    else {
        sync_quietly(lib, account);
        return;
    };
    let wait = move |id: String| {
        account.again.update_value(|a| {
            let v = a.hinted.entry(id).or_default();
            *v = (*v).max(library_version);
        });
    };
    if account.syncing.get_untracked() {
        wait(id);
        return;
    }
    spawn_local(async move {
        if !behind(lib, account, &id, library_version).await {
            return;
        }
        // A stream's first hints (one per library) come together: one sync, and the others
        // are checked again once it ends.
        if account.syncing.get_untracked() {
            wait(id);
        } else {
            sync_quietly(lib, account);
        }
    });
}

/// Whether this browser's copy of library `id` is older than `version`, or not here at all
/// (joined on another device: a sync lists and fetches it).
async fn behind(lib: Library, account: Account, id: &str, version: u64) -> bool {
    async fn reached(store: &Store) -> Option<u64> {
        store.link().await.ok().flatten().map(|l| l.synced_version)
    }
    let Some(session) = account.session.get_untracked() else {
        return false;
    };
    let reached = if id == online_id(lib, &session) {
        match lib.open_store() {
            Ok(store) => reached(&store).await,
            Err(_) => None,
        }
    } else if id == session.library_id {
        match home_store(lib, account).await {
            Ok(store) => reached(&store).await,
            Err(_) => None,
        }
    } else if account
        .sharing
        .libraries
        .with_untracked(|l| l.iter().any(|k| k.summary.id == id && !k.gone))
    {
        let shared = LibraryId::Shared { id: id.to_string() };
        match Store::open_library(lib.db_base, &shared).await {
            Ok(store) => {
                let v = reached(&store).await;
                store.close();
                v
            }
            Err(_) => None,
        }
    } else {
        None
    };
    reached.is_none_or(|v| v < version)
}

/// The name of the Web Lock a sync holds (shared by every tab of the app).
const SYNC_LOCK: &str = "refsync-sync";

fn refs_text(n: u64) -> String {
    format!("{n} {}", if n == 1 { "reference" } else { "references" })
}

/// The online library `lib` syncs with: the account's own for the personal library, its own
/// id for a shared one.
pub fn online_id(lib: Library, session: &SessionInfo) -> String {
    match lib.id.get_value() {
        LibraryId::Personal => session.library_id.clone(),
        LibraryId::Shared { id } => id,
    }
}

later! { sync;
    /// One sync, reported to the service's sync log; `None` if the session it was asked for is
    /// gone by the time the lock is held (a reset or a sign-out in this or another tab).
    /// Loaded with the engine the first time a sync runs (src/later.rs).
    async fn run_sync(
        lib: Library,
        account: Account,
        session: SessionInfo,
    ) -> Result<Option<Synced>, (ErrorKind, String)> {
        let phase = browser::perf_now();
        let store = lib
            .open_store()
            .map_err(|e| (ErrorKind::Local, e.to_string()))?;
        let remote = BrowserRemote::new(
            session.token.clone(),
            online_id(lib, &session),
            device_id(lib, account)
                .await
                .map_err(|e| (ErrorKind::Local, e))?,
        );
        let home = home_store(lib, account)
            .await
            .map_err(|e| (ErrorKind::Local, e.to_string()))?;
        let saved = match home.meta(SESSION).await {
            Ok(Some(json)) => serde_json::from_str::<SessionInfo>(&json).ok(),
            _ => None,
        };
        if saved.as_ref() != Some(&session) {
            return Ok(None);
        }
        if browser::offline() {
            return Err((ErrorKind::Connection, OFFLINE.into()));
        }
        let started = browser::now_millis();
        // What the service says of the account's own library (a shared library's figures are
        // its owner's): the figures kept from the last sync serve this one (the largest file
        // worth sending, the reference limit's words), and are asked for again once it is done;
        // only a browser that has none (a first sync: its progress bar needs the total) waits
        // for them first. Asking first cost every sync a round trip and a write (~40 ms of a
        // no-op sync's ~100 here, docs/bench.md).
        let personal = lib.id.get_value() == LibraryId::Personal;
        let kept = if personal {
            lib.online.get_untracked()
        } else {
            None
        };
        let online = match (&kept, personal) {
            (Some(_), _) => kept.clone(),
            (None, true) => run::online(&remote).await,
            (None, false) => None,
        };
        if let (Some(info), None) = (&online, &kept) {
            remember_online(lib, &store, info).await;
        }
        browser::measure("sync-prepare", phase);
        let lists =
            crate::features::sharing::ask_lists(account.sharing, account.live, &session.token);
        let result = run::sync_all(
            store.clone(),
            remote.clone(),
            online.clone(),
            Box::new(move |p| account.progress.set(Some(p))),
        )
        .await;
        let sent = result
            .as_ref()
            .is_ok_and(|r| r.uploaded > 0 || r.outcome.sent > 0);
        if personal && sent {
            // What was just sent counts online now: shown with the sync's result.
            if let Some(info) = run::online(&remote).await {
                remember_online(lib, &store, &info).await;
            }
        } else if kept.is_some() && result.is_ok() {
            // The kept figures served; fresh ones follow the sync, not delaying it.
            let (remote, store) = (remote.clone(), store.clone());
            spawn_local(async move {
                if let Some(info) = run::online(&remote).await {
                    remember_online(lib, &store, &info).await;
                }
            });
        }
        // The sync log line goes on its own: the sync is done without waiting for it. (No point
        // telling a service that cannot be reached or does not know us.)
        let line = match &result {
            Ok(r) => Some((r.outcome, None)),
            Err(e) if !matches!(e.kind, ErrorKind::Connection | ErrorKind::Auth) => {
                Some((Default::default(), Some(e.clone())))
            }
            Err(_) => None,
        };
        let device = remote.device_id.clone();
        if let Some((outcome, error)) = line {
            spawn_local(async move {
                run::report(&remote, started, &outcome, error.as_ref()).await;
            });
        }
        if let (Err(e), LibraryId::Shared { id }) = (&result, lib.id.get_value()) {
            if e.kind == ErrorKind::NotFound {
                crate::features::sharing::mark_gone(lib, account, &id).await;
            }
        }
        // Every other library of the account syncs in the same turn, unless the service cannot
        // be reached or does not know the session (the window's sync says so already).
        let phase = browser::perf_now();
        let others = match &result {
            Err(e) if matches!(e.kind, ErrorKind::Connection | ErrorKind::Auth) => {
                // The lists asked for are never read: the next sync asks again.
                account.sharing.lists_stale();
                Vec::new()
            }
            _ => {
                crate::features::sharing::sync_others(lib, account, &session, &device, lists).await
            }
        };
        browser::measure("sync-others", phase);
        Ok(Some(Synced {
            result: result.map_err(|e| (e.kind, e.message)),
            others,
        }))
    }
}

/// What one press of Sync now did: the window's library, then the others.
struct Synced {
    result: Result<run::Report, (ErrorKind, String)>,
    others: crate::features::sharing::Others,
}

/// Show and keep what the service said of the online library (Sync Status and Settings show
/// it offline too).
async fn remember_online(
    lib: Library,
    store: &crate::storage::Store,
    info: &refsync_core::protocol::LibraryInfo,
) {
    lib.online.set(Some(info.clone()));
    // Only a figure shown between syncs: losing it costs nothing.
    let _ = store
        .set_meta(ONLINE, &serde_json::to_string(info).unwrap_or_default())
        .await;
}

/// Keep a sync in the history (newest first, at most [`HISTORY_LEN`]). The saved history is
/// read again first: another tab may have added its own sync since this one loaded it.
async fn remember(lib: Library, account: Account, record: SyncRecord) {
    let Ok(store) = lib.open_store() else { return };
    let history = remember_in(&store, record, account.history.get_untracked()).await;
    account.history.set(history);
}

/// Keep a sync in `store`'s history (`known`: the history as last read, if the saved one
/// cannot be); the new history.
async fn remember_in(store: &Store, record: SyncRecord, known: Vec<SyncRecord>) -> Vec<SyncRecord> {
    let mut history = match store.meta(HISTORY).await {
        Ok(Some(json)) => serde_json::from_str::<Vec<SyncRecord>>(&json).unwrap_or_default(),
        _ => known,
    };
    history.insert(0, record);
    history.truncate(HISTORY_LEN);
    // Losing a line of history is not worth interrupting anyone for.
    let _ = store
        .set_meta(
            HISTORY,
            &serde_json::to_string(&history).unwrap_or_default(),
        )
        .await;
    history
}

/// The newest sync kept in `store`'s Sync Status.
pub async fn last_sync_in(store: &Store) -> Option<SyncRecord> {
    let json = store.meta(HISTORY).await.ok().flatten()?;
    serde_json::from_str::<Vec<SyncRecord>>(&json)
        .ok()?
        .into_iter()
        .next()
}

/// Keep the sync of a library the window does not show in that library's own Sync Status.
pub async fn remember_other(
    store: &Store,
    started: u64,
    result: &Result<run::Report, refsync_core::sync::SyncError>,
) {
    let record = SyncRecord::of(
        started,
        result.as_ref().map_err(|e| (e.kind, e.message.as_str())),
    );
    remember_in(store, record, Vec::new()).await;
}

/// Set the minutes between automatic syncs (0: off) and keep the setting.
pub fn set_interval(lib: Library, account: Account, minutes: u32) {
    account.interval.set(minutes);
    spawn_local(async move {
        if let Ok(store) = home_store(lib, account).await {
            if let Err(e) = store.set_meta(INTERVAL, &minutes.to_string()).await {
                lib.fail(e.to_string());
            }
        }
    });
}

async fn forget_session(lib: Library, account: Account) {
    account.session.set(None);
    if let Ok(store) = home_store(lib, account).await {
        let _ = store.set_meta(SESSION, "").await;
    }
    tabs::tell_others(tabs::CHANGED);
}

/// Keep the session, unless this library is linked to another account's library: a sync
/// library can be linked to one account only (then the new session is signed out again).
async fn save_session(store: &crate::storage::Store, info: &SessionInfo) -> Result<(), String> {
    use refsync_core::sync::LocalStore;
    let link = store.link().await.map_err(|e| e.message)?;
    if link.is_some_and(|l| l.library_id != info.library_id) {
        let _ = remote::sign_out(&info.token).await;
        return Err(format!(
            "This browser's library is linked to another refsync account, and a sync library can be linked to only one account. To sync it with {} instead, sign in to the other account and reset sync in Settings first (it offers a backup).",
            info.email
        ));
    }
    store
        .set_meta(SESSION, &serde_json::to_string(info).unwrap_or_default())
        .await
        .map_err(|e| e.to_string())
}

/// Sign out here (and at the service, if it can be told).
pub async fn sign_out(lib: Library, account: Account) {
    let Some(s) = account.session.get_untracked() else {
        return;
    };
    // Signed out here even if the service cannot be told (the token then expires).
    let _ = remote::sign_out(&s.token).await;
    forget_session(lib, account).await;
}

/// Link again after a reset elsewhere: forget what was synced (keeping the library) and sync,
/// which merges this library into the online one as it is now.
pub fn relink(lib: Library, account: Account) {
    spawn_local(async move {
        let unlinked = match lib.open_store() {
            Ok(store) => {
                use refsync_core::sync::LocalStore;
                store.set_link(None).await.map_err(|e| e.message)
            }
            Err(e) => Err(e.to_string()),
        };
        match unlinked {
            Ok(()) => sync_now(lib, account),
            Err(e) => lib.fail(e),
        }
    });
}

/// The top bar's account area: sign in, or the account with Sync now and Sign out.
#[component]
pub fn AccountBar() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let sign_out = move |_| {
        spawn_local(async move {
            sign_out(lib, account).await;
            lib.tell("Signed out. Your library stays in this browser.");
        });
    };
    view! {
        {move || match account.session.get() {
            None => view! {
                <button id="sign-in" class="btn btn-top" on:click=move |_| account.dialog.set(true)>"Sign in to sync"</button>
            }.into_any(),
            Some(s) => view! {
                <span id="account-email" class="account-email"
                    data-live=move || account.live.get().to_string()
                    title=move || if account.live.get() {
                        "Signed in; changes made on your other devices arrive as they happen"
                    } else {
                        "Signed in"
                    }>{s.email}</span>
                <button id="sync-now" class="btn btn-top" disabled=move || account.syncing.get()
                    on:click=move |_| sync_now(lib, account)>
                    <span class="sync-dot" aria-hidden="true"
                        class:syncing=move || account.syncing.get()
                        class:failed=move || !account.syncing.get() && account.history.with(|h| h.first().is_some_and(|r| r.error.is_some()))
                    ></span>
                    {move || if account.syncing.get() { "Syncing…" } else { "Sync now" }}
                </button>
                <PendingChanges />
                <button id="sync-status" class="link-btn light" on:click=move |_| account.status_open.set(true)>"Sync Status"</button>
                <button id="settings-open" class="link-btn light" on:click=move |_| account.settings_open.set(true)>"Settings"</button>
                <button id="sign-out" class="link-btn light" on:click=sign_out>"Sign out"</button>
            }.into_any(),
        }}
        {move || account.dialog.get().then(|| loaded(|| account_dialog(AccountDialog::SignIn)))}
        {move || account.status_open.get().then(|| loaded(|| account_dialog(AccountDialog::Status)))}
        {move || account.settings_open.get().then(|| loaded(|| account_dialog(AccountDialog::Settings)))}
    }
}

/// The account's dialogs.
#[derive(Clone, Copy, Debug)]
enum AccountDialog {
    SignIn,
    Status,
    Settings,
}

later! { account;
    /// The dialogs, loaded the first time one opens.
    fn account_dialog(which: AccountDialog) -> AnyView {
        match which {
            AccountDialog::SignIn => view! { <SignInDialog /> }.into_any(),
            AccountDialog::Status => view! { <SyncStatusDialog /> }.into_any(),
            AccountDialog::Settings => view! { <SettingsDialog /> }.into_any(),
        }
    }
}

/// How many objects hold changes made here that no sync has sent yet, counted again after
/// each change and each sync.
fn pending_count(lib: Library, account: Account) -> LocalResource<u32> {
    LocalResource::new(move || {
        lib.changed.track();
        account.syncing.track();
        async move {
            match lib.open_store() {
                Ok(store) => store.dirty_count().await.unwrap_or(0),
                Err(_) => 0,
            }
        }
    })
}

/// "3 changes waiting to sync" beside Sync now, while any change made here has not been sent
/// (counted again after each change and each sync).
#[component]
fn PendingChanges() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let waiting = pending_count(lib, account);
    let text = move || {
        waiting.get().filter(|n| *n > 0).map(|n| {
            format!(
                "{} waiting to sync",
                words::count(u64::from(n), "change", "changes")
            )
        })
    };
    view! {
        <span id="pending" class="pending" title="Changes made in this browser that the next sync sends">
            {text}
        </span>
    }
}

#[component]
fn SignInDialog() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let creating = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close = Callback::new(move |_| account.dialog.set(false));
    // A first link merges this browser's references into the online library: offer a backup
    // of them first (the guide's advice), when there are any and the library is not linked.
    let unlinked = LocalResource::new(move || async move {
        use refsync_core::sync::LocalStore;
        match lib.open_store() {
            Ok(store) => store.link().await.ok().flatten().is_none(),
            Err(_) => false,
        }
    });
    let held = move || lib.counts.with(|c| c.all + c.trash);
    let offer = move || {
        (unlinked.get() == Some(true) && held() > 0).then(|| {
            let text = format!(
                "Signing in merges this browser's {} with the account's online library.",
                words::count(held() as u64, "reference", "references")
            );
            view! { <crate::features::transfer::BackupOffer id="backup-offer" text=text /> }
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (e, p, new) = (
            email.get_untracked().trim().to_string(),
            password.get_untracked(),
            creating.get_untracked(),
        );
        if e.is_empty() || p.is_empty() {
            error.set(Some("Enter your email and password.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = async {
                let session = if new {
                    remote::register(&e, &p).await?
                } else {
                    remote::sign_in(&e, &p).await?
                };
                let me = remote::me(&session.token).await?;
                Ok::<_, refsync_core::sync::SyncError>(SessionInfo {
                    email: session.account.email,
                    token: session.token,
                    library_id: me.library.id,
                })
            }
            .await;
            busy.set(false);
            match result {
                Ok(info) => {
                    let saved = match home_store(lib, account).await {
                        Ok(store) => save_session(&store, &info).await,
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = saved {
                        error.set(Some(e));
                        return;
                    }
                    account.session.set(Some(info));
                    account.dialog.set(false);
                    tabs::tell_others(tabs::CHANGED);
                    sync_now(lib, account);
                }
                Err(e) => error.set(Some(match e.kind {
                    ErrorKind::Connection => {
                        "The refsync service cannot be reached. Check your connection and try again.".into()
                    }
                    _ => e.message,
                })),
            }
        });
    };
    view! {
        <Modal id="sign-in-dialog" title=Signal::derive(move || if creating.get() { "Create an account" } else { "Sign in" }.to_string()) on_close=close>
            <div class="tabs" role="tablist">
                <button role="tab" id="tab-sign-in" class="tab" class:active=move || !creating.get()
                    aria-selected=move || (!creating.get()).to_string()
                    on:click=move |_| creating.set(false)>"Sign in"</button>
                <button role="tab" id="tab-create" class="tab" class:active=move || creating.get()
                    aria-selected=move || creating.get().to_string()
                    on:click=move |_| creating.set(true)>"Create account"</button>
            </div>
            <form class="form" on:submit=submit>
                <p class="hint">{move || if creating.get() {
                    "Your library in this browser is linked to the new account and synced to it."
                } else {
                    "Your library in this browser is synced with your account's online library."
                }}</p>
                <label for="account-email-input">"Email"</label>
                <input id="account-email-input" type="email" autocomplete="username" bind:value=email />
                <label for="account-password">"Password"</label>
                <input id="account-password" type="password"
                    autocomplete=move || if creating.get() { "new-password" } else { "current-password" }
                    bind:value=password />
                <Show when=move || creating.get()>
                    <p class="hint">"At least 10 characters."</p>
                </Show>
                {offer}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="account-submit" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || match (busy.get(), creating.get()) {
                            (true, _) => "Please wait…",
                            (false, true) => "Create account",
                            (false, false) => "Sign in",
                        }}
                    </button>
                </DialogFooter>
            </form>
        </Modal>
    }
}
