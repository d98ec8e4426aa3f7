//! Which attachment files (by SHA-256) each library holds, and its storage used.
//!
//! Invariants: `libraries.storage_used` is the sum of the sizes of the library's rows in
//! `files`, kept so by changing both in one transaction; a file is recorded only after its
//! bytes were stored and checked, and only while the account stays within its storage limit.

use super::{to_i64, to_u64, Db};

/// What recording an uploaded file came to.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordFile {
    Recorded,
    /// The library held it already (another upload of the same bytes won the race).
    AlreadyHeld,
    /// Storing it would take the account over its limit.
    OverLimit,
}

impl Db {
    /// The size of a file the library holds.
    pub async fn file_size(
        &self,
        library_id: &str,
        sha256: &str,
    ) -> Result<Option<u64>, sqlx::Error> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM files WHERE library_id = $1 AND sha256 = $2")
                .bind(library_id)
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(size.map(to_u64))
    }

    /// Record a stored file and add its size to the library's storage used, unless the library
    /// holds it already (never counted twice) or the size would pass `limit`. "Already held"
    /// is decided first, so a concurrent upload of the same bytes is told so, not refused for
    /// room its twin already took.
    pub async fn record_file(
        &self,
        library_id: &str,
        sha256: &str,
        size: u64,
        limit: u64,
        now: u64,
    ) -> Result<RecordFile, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The insert comes first: it takes the write lock (SQLite) or the row (PostgreSQL, on
        // the unique key), so a twin upload waits here and then finds the row.
        let inserted = sqlx::query(
            "INSERT INTO files (library_id, sha256, size, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (library_id, sha256) DO NOTHING",
        )
        .bind(library_id)
        .bind(sha256)
        .bind(to_i64(size))
        .bind(to_i64(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(RecordFile::AlreadyHeld);
        }
        let grown = sqlx::query(
            "UPDATE libraries SET storage_used = storage_used + $1
             WHERE id = $2 AND storage_used + $1 <= $3",
        )
        .bind(to_i64(size))
        .bind(library_id)
        .bind(to_i64(limit))
        .execute(&mut *tx)
        .await?;
        if grown.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(RecordFile::OverLimit);
        }
        tx.commit().await?;
        Ok(RecordFile::Recorded)
    }
}
