//! Where attachment bytes are kept: a blob store behind one trait.
//!
//! Invariants: a blob is named `<library id>/<sha256>` and written whole or not at all (a
//! reader never sees half a file); the bytes under a name never change, because the name is
//! their hash. The default store is a folder under the data dir.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

pub trait BlobStore: Send + Sync {
    /// Store the finished file at `file` under `name` (the file may be moved away).
    fn put_file<'a>(&'a self, name: &'a str, file: &'a Path) -> BoxFuture<'a, io::Result<()>>;
    /// The bytes `start..end` of a blob.
    fn read<'a>(
        &'a self,
        name: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, io::Result<BlobReader>>;
    /// Remove a blob; removing one that is not there is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Blobs as files in a folder.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: PathBuf) -> io::Result<DirStore> {
        std::fs::create_dir_all(&root)?;
        Ok(DirStore { root })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl BlobStore for DirStore {
    fn put_file<'a>(&'a self, name: &'a str, file: &'a Path) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let dest = self.path(name);
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            // The temp file is on the same file system (under the data dir), so this is an
            // atomic rename: the blob appears whole.
            tokio::fs::rename(file, &dest).await
        })
    }

    fn read<'a>(
        &'a self,
        name: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, io::Result<BlobReader>> {
        Box::pin(async move {
            let mut f = tokio::fs::File::open(self.path(name)).await?;
            f.seek(io::SeekFrom::Start(start)).await?;
            Ok(Box::pin(f.take(end.saturating_sub(start))) as BlobReader)
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(name)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}
