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

/// Blobs in any S3-compatible store, through the `object_store` crate: the scale option, for
/// several server instances sharing one store.
pub struct S3Store {
    store: std::sync::Arc<dyn object_store::ObjectStore>,
}

impl S3Store {
    /// `url` is `s3://bucket[/prefix]`; credentials and region come from the usual `AWS_*`
    /// environment variables; `endpoint` points at a non-AWS server (http allowed).
    pub fn new(url: &str, endpoint: Option<&str>) -> Result<S3Store, String> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(url);
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        let store = builder
            .build()
            .map_err(|e| format!("S3 store {url}: {e}"))?;
        let prefix = url
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, p)| p.trim_matches('/').to_string())
            .unwrap_or_default();
        let store: std::sync::Arc<dyn object_store::ObjectStore> = if prefix.is_empty() {
            std::sync::Arc::new(store)
        } else {
            std::sync::Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(S3Store { store })
    }
}

fn io_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        other => io::Error::other(other),
    }
}

impl BlobStore for S3Store {
    fn put_file<'a>(&'a self, name: &'a str, file: &'a Path) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt;
            let path = object_store::path::Path::from(name);
            let mut source = tokio::fs::File::open(file).await?;
            // Uploads in parts as it reads, so a large file never sits in memory whole; the
            // object appears only when the upload completes.
            let mut writer =
                object_store::buffered::BufWriter::new(std::sync::Arc::clone(&self.store), path);
            tokio::io::copy(&mut source, &mut writer).await?;
            writer.shutdown().await?;
            drop(source);
            let _ = tokio::fs::remove_file(file).await;
            Ok(())
        })
    }

    fn read<'a>(
        &'a self,
        name: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, io::Result<BlobReader>> {
        Box::pin(async move {
            if start >= end {
                return Ok(Box::pin(tokio::io::empty()) as BlobReader);
            }
            use futures_util::TryStreamExt;
            let path = object_store::path::Path::from(name);
            let options = object_store::GetOptions {
                range: Some(object_store::GetRange::Bounded(start..end)),
                ..Default::default()
            };
            let result = self
                .store
                .get_opts(&path, options)
                .await
                .map_err(io_error)?;
            let stream = result.into_stream().map_err(io_error);
            Ok(Box::pin(tokio_util::io::StreamReader::new(stream)) as BlobReader)
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match self
                .store
                .delete(&object_store::path::Path::from(name))
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_error(e)),
            }
        })
    }
}
