//! One sync of the browser library: attachments' bytes up, core's engine over the IndexedDB
//! store and the service, bytes down, and a line in the service's sync log.
//!
//! Invariant: the engine writes each page of changes in one store transaction, so a closed
//! tab or a cut connection mid-sync leaves the library as it was after the last whole page.

use super::files;
use super::remote::BrowserRemote;
use crate::browser;
use crate::later::later;
use crate::storage::Store;
use refsync_core::protocol::{ErrorBody, LibraryInfo, SyncReport};
use refsync_core::sync::{
    sync_with_progress, words, ErrorKind, LocalStore, SyncError, SyncOutcome,
};
use std::rc::Rc;

/// What one sync did.
#[derive(Debug, Default)]
pub struct Report {
    pub outcome: SyncOutcome,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Attachments the storage limit refused, in plain words (the rest of the sync went on).
    pub refused: Option<String>,
}

/// How far a sync has come: references received so far, and of how many when known (a
/// first download knows the online library's size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub received: u64,
    pub total: Option<u64>,
}

/// What the service says of the online library now (best effort: a sync works without it).
pub async fn online(remote: &BrowserRemote) -> Option<LibraryInfo> {
    super::remote::me(&remote.token)
        .await
        .ok()
        .map(|me| me.library)
}

later! { sync;
    /// Sync `store` with the service once, until both agree, calling `progress` after each
    /// page. `online` is what the service last said of the library (see [`online`]): the
    /// first download's total, the largest file worth sending, the reference limit's figures.
    /// The engine is loaded the first time a sync runs (src/later.rs): a window that never
    /// syncs never fetches it.
    async fn sync_loaded(
        store: Rc<Store>,
        remote: BrowserRemote,
        online: Option<LibraryInfo>,
        progress: Box<dyn FnMut(Progress)>,
    ) -> Result<Report, SyncError> {
        sync_now(&store, &remote, online.as_ref(), progress).await
    }
}

/// [`sync_loaded`], where an engine that could not be fetched is a connection failure.
pub async fn sync_all(
    store: Rc<Store>,
    remote: BrowserRemote,
    online: Option<LibraryInfo>,
    progress: Box<dyn FnMut(Progress)>,
) -> Result<Report, SyncError> {
    sync_loaded(store, remote, online, progress)
        .await
        .unwrap_or_else(|e| Err(SyncError::new(ErrorKind::Connection, e.to_string())))
}

async fn sync_now(
    store: &Store,
    remote: &BrowserRemote,
    online: Option<&LibraryInfo>,
    mut progress: impl FnMut(Progress),
) -> Result<Report, SyncError> {
    let first = store.link().await?.is_none_or(|l| l.synced_version == 0);
    // Only for the progress bar: without it the bar just counts.
    let total = online.filter(|_| first).map(|o| o.references);
    let phase = browser::perf_now();
    let uploaded = files::upload(store, remote, online.and_then(|o| o.max_file_size)).await?;
    browser::measure("sync-files-up", phase);
    let phase = browser::perf_now();
    // Idempotency keys for batches: unique per attempt; a retried batch reuses its key.
    let mut new_key = || browser::new_key().to_string();
    let synced = sync_with_progress(store, remote, &mut new_key, &mut |o| {
        progress(Progress {
            received: o.received_references,
            total,
        });
    })
    .await;
    browser::measure("sync-engine", phase);
    let phase = browser::perf_now();
    let (outcome, downloaded) =
        files::download_after(store, remote, synced)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::ReferenceLimit => {
                    let held = online.and_then(|o| Some((o.references, o.reference_limit?)));
                    SyncError::new(e.kind, words::reference_limit(held, "this browser"))
                }
                _ => e,
            })?;
    browser::measure("sync-files-down", phase);
    Ok(Report {
        outcome,
        uploaded: uploaded.files,
        downloaded,
        refused: uploaded.refused_text("this browser"),
    })
}

/// Tell the service's sync log how a sync went (best effort: a lost line costs nothing).
pub async fn report(
    remote: &BrowserRemote,
    started_at: u64,
    outcome: &SyncOutcome,
    error: Option<&SyncError>,
) {
    let line = SyncReport {
        device_id: remote.device_id.clone(),
        device_name: browser::device_name(),
        started_at,
        duration_ms: browser::now_millis().saturating_sub(started_at),
        sent: outcome.sent,
        received: outcome.received,
        deleted: outcome.deleted,
        conflicts: outcome.conflicts,
        error: error.map(|e| ErrorBody {
            code: e.kind.code(),
            message: e.message.clone(),
        }),
    };
    let _ = remote.report(&line).await;
}

/// A sync's result in plain words (the same words as the CLI's).
pub fn describe(report: &Report) -> String {
    words::synced(
        &words::SyncCounts::of(&report.outcome, report.uploaded + report.downloaded),
        "Sync Conflicts",
    )
}
