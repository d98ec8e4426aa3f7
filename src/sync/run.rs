//! One sync of the browser library: core's engine over the IndexedDB store and the service.
//!
//! Invariant: the engine writes each page of changes in one store transaction, so a closed
//! tab or a cut connection mid-sync leaves the library as it was after the last whole page.

use super::remote::BrowserRemote;
use crate::browser;
use crate::storage::Store;
use refsync_core::sync::{sync, SyncError, SyncOutcome};

/// Sync `store` with the service once, until both agree.
pub async fn sync_once(store: &Store, remote: &BrowserRemote) -> Result<SyncOutcome, SyncError> {
    // Idempotency keys for batches: unique per attempt; a retried batch reuses its key.
    let mut new_key = || browser::new_key().to_string();
    sync(store, remote, &mut new_key).await
}

/// A sync's result in plain words.
pub fn describe(outcome: &SyncOutcome) -> String {
    let mut parts = Vec::new();
    if outcome.sent > 0 {
        parts.push(format!("{} sent", outcome.sent));
    }
    if outcome.received > 0 {
        parts.push(format!("{} received", outcome.received));
    }
    if outcome.deleted > 0 {
        parts.push(format!("{} deleted", outcome.deleted));
    }
    if outcome.conflicts > 0 {
        parts.push(format!("{} in conflict", outcome.conflicts));
    }
    if parts.is_empty() {
        "Synced: everything was already up to date.".into()
    } else {
        format!("Synced: {}.", parts.join(", "))
    }
}
