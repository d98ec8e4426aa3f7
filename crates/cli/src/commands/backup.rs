//! `refsync backup` and `refsync restore FILE.zip`: the whole library in one `.zip`, in core's
//! backup format, the web app's too, so a backup made by either restores in the other.
//!
//! Invariants: a backup holds every live object (the Trash included) and the bytes of every
//! attachment this library holds; a restore goes into an empty library only and checks the
//! whole file before writing anything, then writes it in one transaction.

use crate::context::{now_millis, Context};
use crate::error::{CliError, Result};
use crate::store::LibraryFile;
use refsync_core::backup::{self, Manifest};
use refsync_core::edit::Write;
use std::collections::HashMap;
use std::path::Path;

/// Write a backup of `lib` to `path`; what it holds, in words.
/// When this library was last backed up (Unix milliseconds), in its `meta`.
pub const LAST_BACKUP: &str = "last_backup";

pub async fn write_backup(lib: &LibraryFile, path: &Path) -> Result<String> {
    let snap = lib.snapshot().await?;
    let mut files = HashMap::new();
    for a in snap.attachments.values() {
        if let Some(bytes) = lib.file(&a.sha256).await? {
            files.insert(a.sha256.clone(), bytes);
        }
    }
    let manifest = Manifest::of(now_millis(), snap.into_objects());
    let zip = backup::write(&manifest, &files)
        .map_err(|e| CliError::other(format!("could not make the backup: {e}")))?;
    std::fs::write(path, zip)
        .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))?;
    lib.set_meta(LAST_BACKUP, Some(&now_millis().to_string()))
        .await?;
    Ok(manifest.describe())
}

pub async fn backup(cx: &Context, path: &Path) -> Result<()> {
    let lib = cx.open().await?;
    let what = write_backup(&lib, path).await?;
    lib.close().await;
    println!("Saved {}: {what}.", path.display());
    Ok(())
}

pub async fn restore(cx: &Context, path: &Path) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    if !(snap.references.is_empty()
        && snap.groups.is_empty()
        && snap.sets.is_empty()
        && snap.attachments.is_empty()
        && snap.styles.is_empty())
    {
        return Err(CliError::bad_input(
            "a backup restores into an empty library only, so that nothing here is overwritten or mixed with it: \
             make one with `refsync init NEW_PATH` and restore with `refsync --library NEW_PATH restore FILE.zip`",
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let (manifest, files) = backup::read(&bytes)
        .map_err(|e| CliError::bad_input(format!("nothing was restored: {e}")))?;
    for (sha, data) in &files {
        lib.put_file(sha, data).await?;
    }
    let what = manifest.describe();
    let writes = manifest
        .into_objects()
        .into_iter()
        .map(Write::Put)
        .collect();
    lib.write(writes).await?;
    lib.close().await;
    println!("Restored {what}.");
    Ok(())
}
