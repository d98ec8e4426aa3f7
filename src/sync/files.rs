//! Attachments' bytes between this browser and the service: the browser's side of core's files
//! loop (`refsync_core::sync::files`, which holds the rules: what waits, what is retried, what
//! stops a sync), over the IndexedDB store (bytes as Blobs) and the service's file routes.

use super::remote::BrowserRemote;
use crate::browser;
use crate::storage::Store;
use refsync_core::sync::files::{self, LocalFiles, RemoteFiles, Uploaded};
use refsync_core::sync::{ErrorKind, SyncError, SyncOutcome};
use refsync_core::{Attachment, Key, ObjectKind};
use std::collections::{BTreeSet, HashSet};

/// Bytes waiting to upload (a JSON list of SHA-256), in `meta`.
const WAITING: &str = "pending_uploads";

fn local(e: impl std::fmt::Display) -> SyncError {
    SyncError::new(ErrorKind::Local, e.to_string())
}

impl LocalFiles for Store {
    type Bytes = web_sys::Blob;

    async fn attachments(&self) -> Result<Vec<Attachment>, SyncError> {
        Store::attachments(self).await.map_err(local)
    }

    async fn changed_attachments(&self) -> Result<Vec<Key>, SyncError> {
        self.dirty_keys(ObjectKind::Attachment).await.map_err(local)
    }

    async fn waiting(&self) -> Result<BTreeSet<String>, SyncError> {
        Ok(match self.meta(WAITING).await.map_err(local)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => BTreeSet::new(),
        })
    }

    async fn set_waiting(&self, waiting: &BTreeSet<String>) -> Result<(), SyncError> {
        let json = serde_json::to_string(waiting).map_err(local)?;
        self.set_meta(WAITING, &json).await.map_err(local)
    }

    async fn held(&self) -> Result<HashSet<String>, SyncError> {
        Ok(self.blob_keys().await.map_err(local)?.into_iter().collect())
    }

    async fn read(&self, sha256: &str) -> Result<Option<web_sys::Blob>, SyncError> {
        self.get_blob(sha256).await.map_err(local)
    }

    async fn keep(&self, sha256: &str, bytes: web_sys::Blob) -> Result<(), SyncError> {
        self.put_blob(sha256, &bytes).await.map_err(local)
    }

    async fn sha256(&self, bytes: &web_sys::Blob) -> Result<String, SyncError> {
        let data = browser::read_blob(bytes).await.map_err(local)?;
        browser::sha256_hex(&data).await.map_err(local)
    }
}

impl RemoteFiles<web_sys::Blob> for BrowserRemote {
    async fn upload(&self, sha256: &str, bytes: &web_sys::Blob) -> Result<(), SyncError> {
        BrowserRemote::upload(self, sha256, bytes).await
    }

    async fn download(&self, sha256: &str, media_type: &str) -> Result<web_sys::Blob, SyncError> {
        BrowserRemote::download(self, sha256, media_type).await
    }

    async fn pause(&self, millis: u64) -> bool {
        refsync_core::sync::Remote::pause(self, millis).await
    }
}

/// Upload what this browser added (and what was refused before); a file over `max_file` (the
/// service's limit) is not tried.
pub async fn upload(
    store: &Store,
    remote: &BrowserRemote,
    max_file: Option<u64>,
) -> Result<Uploaded, SyncError> {
    files::upload(store, remote, max_file).await
}

/// Download what other devices added after the engine's records, as core's
/// [`files::download_after`] says (a refusal the engine pulled after does not stop them); the
/// outcome and how many arrived.
pub async fn download_after(
    store: &Store,
    remote: &BrowserRemote,
    synced: Result<SyncOutcome, SyncError>,
) -> Result<(SyncOutcome, u64), SyncError> {
    files::download_after(store, remote, synced).await
}
