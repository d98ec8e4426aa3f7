//! Attachments' bytes between this browser and the service, around each sync: what this
//! browser added is uploaded before the records are pushed, what other devices added is
//! downloaded after they arrive.
//!
//! Invariants: bytes are never removed here for a failed upload (the storage limit leaves the
//! file in this browser, listed in `meta` as waiting, and every later sync tries it again); a
//! download that the service cannot answer yet (the other device has not uploaded) is tried
//! again on the next sync.

use super::remote::BrowserRemote;
use crate::storage::Store;
use refsync_core::sync::{words, ErrorKind, SyncError};
use refsync_core::{Attachment, ObjectKind};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Bytes waiting to upload (a JSON list of SHA-256), in `meta`.
const PENDING: &str = "pending_uploads";

fn local(e: impl std::fmt::Display) -> SyncError {
    SyncError::new(ErrorKind::Local, e.to_string())
}

/// What an upload round did.
#[derive(Debug, Default)]
pub struct Uploaded {
    pub files: u64,
    /// The storage limit refused these, in plain words (the files stay here).
    pub refused: Option<String>,
}

/// Upload the bytes of attachments changed here, and of any refused before. A connection or
/// sign-in failure stops it (and the sync); the storage limit only skips the file.
pub async fn upload(store: &Store, remote: &BrowserRemote) -> Result<Uploaded, SyncError> {
    let mut pending: BTreeSet<String> = match store.meta(PENDING).await.map_err(local)? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => BTreeSet::new(),
    };
    let dirty: HashSet<_> = store
        .dirty_keys(ObjectKind::Attachment)
        .await
        .map_err(local)?
        .into_iter()
        .collect();
    let attachments = store.attachments().await.map_err(local)?;
    let by_sha: HashMap<&str, &Attachment> =
        attachments.iter().map(|a| (a.sha256.as_str(), a)).collect();
    pending.extend(
        attachments
            .iter()
            .filter(|a| dirty.contains(&a.key))
            .map(|a| a.sha256.clone()),
    );
    let mut done = Uploaded::default();
    let mut refused = Vec::new();
    let mut failure = None;
    for sha in pending.clone() {
        let Some(blob) = store.get_blob(&sha).await.map_err(local)? else {
            // Not in this browser (it came from elsewhere, or was deleted): nothing to send.
            pending.remove(&sha);
            continue;
        };
        match remote.upload(&sha, &blob).await {
            Ok(()) => {
                pending.remove(&sha);
                done.files += 1;
            }
            Err(e) if e.kind == ErrorKind::StorageLimit => {
                let name = by_sha.get(sha.as_str()).map_or_else(
                    || "An attachment".to_string(),
                    |a| format!("“{}” ({})", a.file_name, words::size_text(a.size)),
                );
                refused.push((name, e.message));
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let json = serde_json::to_string(&pending).map_err(local)?;
    store.set_meta(PENDING, &json).await.map_err(local)?;
    if let Some(e) = failure {
        return Err(e);
    }
    done.refused = words::storage_refused(&refused, "this browser");
    Ok(done)
}

/// Download the bytes of attachments this browser does not hold yet; how many arrived.
pub async fn download(store: &Store, remote: &BrowserRemote) -> Result<u64, SyncError> {
    let have: HashSet<String> = store
        .blob_keys()
        .await
        .map_err(local)?
        .into_iter()
        .collect();
    let wanted: BTreeMap<String, String> = store
        .attachments()
        .await
        .map_err(local)?
        .into_iter()
        .filter(|a| !have.contains(&a.sha256))
        .map(|a| (a.sha256, a.media_type))
        .collect();
    let mut arrived = 0;
    for (sha, media_type) in wanted {
        match remote.download(&sha, &media_type).await {
            Ok(blob) => {
                store.put_blob(&sha, &blob).await.map_err(local)?;
                arrived += 1;
            }
            // Not uploaded yet by the device that added it: the next sync asks again.
            Err(e) if !e.retryable() && e.kind != ErrorKind::Auth => {}
            Err(e) => return Err(e),
        }
    }
    Ok(arrived)
}
