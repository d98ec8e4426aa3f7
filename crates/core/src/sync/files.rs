//! Attachments' bytes between a client and the service, around each sync, the same loop for
//! every client over two small traits (the local bytes store, the service's file routes), as
//! the engine is for records: what was added here is uploaded before the records are pushed
//! (so a device that pulls a record can fetch its bytes), and what other devices added is
//! downloaded after their records arrive.
//!
//! Invariants: bytes are never removed here because an upload failed. A file the service
//! refuses on its own (the storage limit, the largest file it takes) stays here, waits, is
//! named in the report and is offered again on every later sync, while the rest of the sync
//! goes on; only a failure that stops every request (the connection, the sign-in, a reset
//! elsewhere) stops the sync, after the same retries as the records' requests. A downloaded
//! file is kept only if its SHA-256 is the one its attachment names (a damaged transfer is asked
//! for again next sync), and a file the service cannot give yet (its device has not uploaded it)
//! is asked for again next sync.

use super::engine::{retrying, ErrorKind, SyncError, SyncOutcome};
use super::words;
use crate::{Attachment, Key};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// This client's attachments and their bytes.
#[allow(async_fn_in_trait)] // browser stores are not Send, by design
pub trait LocalFiles {
    /// Bytes as this client holds them (a `Vec<u8>` natively, a `Blob` in the browser).
    type Bytes;
    /// Every attachment record this client holds.
    async fn attachments(&self) -> Result<Vec<Attachment>, SyncError>;
    /// The keys of attachment records changed here since they last synced.
    async fn changed_attachments(&self) -> Result<Vec<Key>, SyncError>;
    /// SHA-256 of files waiting to upload from an earlier sync.
    async fn waiting(&self) -> Result<BTreeSet<String>, SyncError>;
    async fn set_waiting(&self, waiting: &BTreeSet<String>) -> Result<(), SyncError>;
    /// SHA-256 of every file whose bytes this client holds.
    async fn held(&self) -> Result<HashSet<String>, SyncError>;
    async fn read(&self, sha256: &str) -> Result<Option<Self::Bytes>, SyncError>;
    async fn keep(&self, sha256: &str, bytes: Self::Bytes) -> Result<(), SyncError>;
    /// The lower-case hex SHA-256 of `bytes`.
    async fn sha256(&self, bytes: &Self::Bytes) -> Result<String, SyncError>;
}

/// The service's file routes.
#[allow(async_fn_in_trait)] // browser requests are not Send, by design
pub trait RemoteFiles<B> {
    async fn upload(&self, sha256: &str, bytes: &B) -> Result<(), SyncError>;
    async fn download(&self, sha256: &str, media_type: &str) -> Result<B, SyncError>;
    /// Wait before a retry; `false` when a retry cannot help (see the engine's `Remote`).
    async fn pause(&self, millis: u64) -> bool;
}

/// A file the service would not take, and why, in its own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The file as a person knows it: “a.pdf” (5 KB).
    pub file: String,
    pub kind: ErrorKind,
    pub reason: String,
}

/// What the uploads of one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uploaded {
    pub files: u64,
    pub refused: Vec<Refused>,
}

impl Uploaded {
    /// The refusals in plain words, saying where the files stay (`here`: "this browser").
    pub fn refused_text(&self, here: &str) -> Option<String> {
        let pairs: Vec<(String, String, bool)> = self
            .refused
            .iter()
            .map(|r| {
                (
                    r.file.clone(),
                    r.reason.clone(),
                    r.kind == ErrorKind::StorageLimit,
                )
            })
            .collect();
        words::storage_refused(&pairs, here)
    }
}

/// Whether the service refused this one file (the rest of the sync goes on).
fn refuses_the_file(e: &SyncError) -> bool {
    matches!(e.kind, ErrorKind::StorageLimit | ErrorKind::TooLarge)
}

/// Upload the bytes of attachments changed here, and of any refused before. A file larger
/// than `max_file` (the service's limit, from `/me`, when known) is not tried: it is refused
/// here, in the same words, and waits like a file the service refused.
pub async fn upload<L: LocalFiles, R: RemoteFiles<L::Bytes>>(
    local: &L,
    remote: &R,
    max_file: Option<u64>,
) -> Result<Uploaded, SyncError> {
    let mut waiting = local.waiting().await?;
    let changed: HashSet<Key> = local.changed_attachments().await?.into_iter().collect();
    if waiting.is_empty() && changed.is_empty() {
        // Most syncs: nothing to send, so neither every attachment's record read nor the
        // empty list written back.
        return Ok(Uploaded::default());
    }
    let attachments = local.attachments().await?;
    let by_sha: BTreeMap<&str, &Attachment> =
        crate::sort::map_of(attachments.iter().map(|a| (a.sha256.as_str(), a)));
    waiting.extend(
        attachments
            .iter()
            .filter(|a| changed.contains(&a.key))
            .map(|a| a.sha256.clone()),
    );
    let mut done = Uploaded::default();
    let mut failure = None;
    let named = |sha: &str| {
        by_sha.get(sha).map_or_else(
            || "An attachment".to_string(),
            |a| format!("“{}” ({})", a.file_name, words::size_text(a.size)),
        )
    };
    for sha in waiting.clone() {
        let too_large =
            max_file.filter(|&max| by_sha.get(sha.as_str()).is_some_and(|a| a.size > max));
        if let Some(max) = too_large {
            done.refused.push(Refused {
                file: named(&sha),
                kind: ErrorKind::TooLarge,
                reason: format!("It is {}.", words::too_large(max)),
            });
            continue;
        }
        let Some(bytes) = local.read(&sha).await? else {
            // Not held here (it came from elsewhere, or was deleted): nothing to send.
            waiting.remove(&sha);
            continue;
        };
        let sent = retrying(
            async |ms| remote.pause(ms).await,
            async || remote.upload(&sha, &bytes).await,
        )
        .await;
        match sent {
            Ok(()) => {
                waiting.remove(&sha);
                done.files += 1;
            }
            Err(e) if refuses_the_file(&e) => {
                done.refused.push(Refused {
                    file: named(&sha),
                    kind: e.kind,
                    reason: e.message,
                });
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    local.set_waiting(&waiting).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// Download the bytes of attachments this client does not hold yet; how many arrived.
pub async fn download<L: LocalFiles, R: RemoteFiles<L::Bytes>>(
    local: &L,
    remote: &R,
) -> Result<u64, SyncError> {
    let held = local.held().await?;
    let wanted: BTreeMap<String, String> = crate::sort::map_of(
        local
            .attachments()
            .await?
            .into_iter()
            .filter(|a| !held.contains(&a.sha256))
            .map(|a| (a.sha256, a.media_type)),
    );
    let mut arrived = 0;
    for (sha, media_type) in wanted {
        let got = retrying(
            async |ms| remote.pause(ms).await,
            async || remote.download(&sha, &media_type).await,
        )
        .await;
        match got {
            Ok(bytes) => {
                if local.sha256(&bytes).await? != sha {
                    continue; // damaged on the way: asked for again next time
                }
                local.keep(&sha, bytes).await?;
                arrived += 1;
            }
            // Not uploaded yet by the device that added it: the next sync asks again.
            Err(e) if !e.retryable() && !stops_the_sync(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(arrived)
}

/// After the engine's records, their bytes: downloaded when the engine ended well, and also
/// when it stopped on a refusal it had pulled after ([`ErrorKind::still_received`]), so a
/// viewer's refused edit or a full account never leaves what other devices added without its
/// files. The engine's error, when there is one, is what the sync ends with.
pub async fn download_after<L: LocalFiles, R: RemoteFiles<L::Bytes>>(
    local: &L,
    remote: &R,
    synced: Result<SyncOutcome, SyncError>,
) -> Result<(SyncOutcome, u64), SyncError> {
    if let Err(e) = &synced {
        if !e.kind.still_received() {
            return synced.map(|o| (o, 0));
        }
    }
    let downloaded = download(local, remote).await;
    Ok((synced?, downloaded?))
}

/// A failure every later request would meet too.
fn stops_the_sync(e: &SyncError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Auth | ErrorKind::RelinkRequired | ErrorKind::Local
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sync::block_on;
    use crate::AttachmentRole;
    use std::cell::RefCell;

    fn attachment(n: u8, sha: &str) -> Attachment {
        Attachment {
            key: Key::new(u64::from(n), [n; 10]),
            parent: Key::new(1, [1; 10]),
            file_name: format!("f{n}.pdf"),
            media_type: "application/pdf".into(),
            size: 5_000,
            sha256: sha.into(),
            role: AttachmentRole::File,
            caption: String::new(),
            merged_from: None,
            date_modified: 1,
        }
    }

    #[derive(Default)]
    struct Local {
        attachments: Vec<Attachment>,
        changed: Vec<Key>,
        waiting: RefCell<BTreeSet<String>>,
        files: RefCell<BTreeMap<String, Vec<u8>>>,
        /// Reads of every attachment's record, writes of the waiting list.
        listed: std::cell::Cell<u32>,
        waiting_written: std::cell::Cell<u32>,
    }

    impl LocalFiles for Local {
        type Bytes = Vec<u8>;
        async fn attachments(&self) -> Result<Vec<Attachment>, SyncError> {
            self.listed.set(self.listed.get() + 1);
            Ok(self.attachments.clone())
        }
        async fn changed_attachments(&self) -> Result<Vec<Key>, SyncError> {
            Ok(self.changed.clone())
        }
        async fn waiting(&self) -> Result<BTreeSet<String>, SyncError> {
            Ok(self.waiting.borrow().clone())
        }
        async fn set_waiting(&self, w: &BTreeSet<String>) -> Result<(), SyncError> {
            self.waiting_written.set(self.waiting_written.get() + 1);
            *self.waiting.borrow_mut() = w.clone();
            Ok(())
        }
        async fn held(&self) -> Result<HashSet<String>, SyncError> {
            Ok(self.files.borrow().keys().cloned().collect())
        }
        async fn read(&self, sha: &str) -> Result<Option<Vec<u8>>, SyncError> {
            Ok(self.files.borrow().get(sha).cloned())
        }
        async fn keep(&self, sha: &str, bytes: Vec<u8>) -> Result<(), SyncError> {
            self.files.borrow_mut().insert(sha.into(), bytes);
            Ok(())
        }
        async fn sha256(&self, bytes: &Vec<u8>) -> Result<String, SyncError> {
            // Fake digests: the bytes are their own name here.
            Ok(String::from_utf8_lossy(bytes).to_string())
        }
    }

    /// Scripted answers per file: each call takes the next (the last one repeats).
    type Script = BTreeMap<String, Vec<Result<Vec<u8>, SyncError>>>;

    /// A service whose answers are scripted per file.
    #[derive(Default)]
    struct Remote {
        answers: RefCell<Script>,
        pauses: RefCell<Vec<u64>>,
        uploaded: RefCell<Vec<String>>,
    }

    impl Remote {
        fn answer(&self, sha: &str) -> Result<Vec<u8>, SyncError> {
            let mut a = self.answers.borrow_mut();
            let list = a.get_mut(sha).unwrap();
            if list.len() > 1 {
                list.remove(0)
            } else {
                list[0].clone()
            }
        }
    }

    impl RemoteFiles<Vec<u8>> for Remote {
        async fn upload(&self, sha: &str, _bytes: &Vec<u8>) -> Result<(), SyncError> {
            self.answer(sha)?;
            self.uploaded.borrow_mut().push(sha.into());
            Ok(())
        }
        async fn download(&self, sha: &str, _media: &str) -> Result<Vec<u8>, SyncError> {
            self.answer(sha)
        }
        async fn pause(&self, ms: u64) -> bool {
            self.pauses.borrow_mut().push(ms);
            true
        }
    }

    fn err(kind: ErrorKind) -> SyncError {
        SyncError::new(kind, format!("{kind:?}"))
    }

    #[test]
    fn a_brief_outage_is_retried_and_a_refused_file_never_stops_the_others() {
        let local = Local {
            attachments: vec![
                attachment(1, "big"),
                attachment(2, "ok"),
                attachment(3, "full"),
            ],
            changed: vec![
                Key::new(1, [1; 10]),
                Key::new(2, [2; 10]),
                Key::new(3, [3; 10]),
            ],
            ..Local::default()
        };
        for sha in ["big", "ok", "full"] {
            local.files.borrow_mut().insert(sha.into(), sha.into());
        }
        let remote = Remote::default();
        remote.answers.borrow_mut().extend([
            ("big".to_string(), vec![Err(err(ErrorKind::TooLarge))]),
            (
                "ok".to_string(),
                vec![Err(err(ErrorKind::Connection)), Ok(Vec::new())],
            ),
            ("full".to_string(), vec![Err(err(ErrorKind::StorageLimit))]),
        ]);
        let done = block_on(upload(&local, &remote, None)).unwrap();
        assert_eq!(done.files, 1);
        assert_eq!(
            *remote.pauses.borrow(),
            vec![500],
            "one retry after the outage"
        );
        let refused: Vec<&str> = done.refused.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(refused, ["“f1.pdf” (5 KB)", "“f3.pdf” (5 KB)"]);
        let waiting: Vec<String> = local.waiting.borrow().iter().cloned().collect();
        assert_eq!(waiting, ["big", "full"], "kept to offer again");
        assert!(done.refused_text("this library").is_some());
    }

    #[test]
    fn with_nothing_changed_or_waiting_nothing_is_read_or_written() {
        let local = Local {
            attachments: vec![attachment(1, "a"), attachment(2, "b")],
            ..Local::default()
        };
        local.files.borrow_mut().insert("a".into(), b"a".to_vec());
        let remote = Remote::default();
        let done = block_on(upload(&local, &remote, None)).unwrap();
        assert_eq!(done, Uploaded::default());
        assert_eq!((local.listed.get(), local.waiting_written.get()), (0, 0));
        assert!(remote.uploaded.borrow().is_empty());

        // One changed: it goes, and the list is read and kept again.
        let local = Local {
            changed: vec![local.attachments[0].key],
            ..local
        };
        remote
            .answers
            .borrow_mut()
            .insert("a".into(), vec![Ok(Vec::new())]);
        let done = block_on(upload(&local, &remote, None)).unwrap();
        assert_eq!(done.files, 1);
        assert_eq!((local.listed.get(), local.waiting_written.get()), (1, 1));
    }

    #[test]
    fn a_file_over_the_services_limit_is_not_tried_and_waits() {
        let mut big = attachment(1, "big");
        big.size = 600_000_000;
        big.file_name = "film.mov".into();
        let local = Local {
            attachments: vec![big, attachment(2, "ok")],
            changed: vec![Key::new(1, [1; 10]), Key::new(2, [2; 10])],
            ..Local::default()
        };
        for sha in ["big", "ok"] {
            local.files.borrow_mut().insert(sha.into(), sha.into());
        }
        let remote = Remote::default();
        remote
            .answers
            .borrow_mut()
            .insert("ok".into(), vec![Ok(Vec::new())]);
        let done = block_on(upload(&local, &remote, Some(500_000_000))).unwrap();
        assert_eq!(
            *remote.uploaded.borrow(),
            ["ok"],
            "the large file is never sent"
        );
        assert_eq!(done.files, 1);
        assert_eq!(done.refused.len(), 1);
        assert_eq!(done.refused[0].kind, ErrorKind::TooLarge);
        let waiting: Vec<String> = local.waiting.borrow().iter().cloned().collect();
        assert_eq!(waiting, ["big"], "kept, and named again next sync");
        assert_eq!(
            done.refused_text("this browser").unwrap_or_default(),
            "“film.mov” (600 MB) did not upload: It is too large to sync (limit 500 MB). The file \
             stays in this browser and is not synced; everything else is."
        );
    }

    #[test]
    fn a_lasting_outage_stops_the_sync_after_the_retries_and_keeps_what_waits() {
        let local = Local {
            attachments: vec![attachment(1, "a")],
            changed: vec![Key::new(1, [1; 10])],
            ..Local::default()
        };
        local.files.borrow_mut().insert("a".into(), b"a".to_vec());
        let remote = Remote::default();
        remote
            .answers
            .borrow_mut()
            .insert("a".into(), vec![Err(err(ErrorKind::Connection))]);
        let e = block_on(upload(&local, &remote, None)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Connection);
        assert_eq!(*remote.pauses.borrow(), vec![500, 1000, 2000]);
        assert!(local.waiting.borrow().contains("a"));
    }

    #[test]
    fn downloads_are_checked_retried_and_asked_again_when_not_there_yet() {
        let local = Local {
            attachments: vec![
                attachment(1, "good"),
                attachment(2, "bad"),
                attachment(3, "later"),
            ],
            ..Local::default()
        };
        let remote = Remote::default();
        remote.answers.borrow_mut().extend([
            (
                "good".to_string(),
                vec![Err(err(ErrorKind::Server)), Ok(b"good".to_vec())],
            ),
            ("bad".to_string(), vec![Ok(b"damaged".to_vec())]),
            ("later".to_string(), vec![Err(err(ErrorKind::NotFound))]),
        ]);
        assert_eq!(block_on(download(&local, &remote)).unwrap(), 1);
        let held: Vec<String> = local.files.borrow().keys().cloned().collect();
        assert_eq!(held, ["good"], "the damaged copy is not kept");
        remote
            .answers
            .borrow_mut()
            .insert("later".into(), vec![Err(err(ErrorKind::Auth))]);
        assert_eq!(
            block_on(download(&local, &remote)).unwrap_err().kind,
            ErrorKind::Auth
        );
    }
}
