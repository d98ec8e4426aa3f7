//! Which attachment files (by SHA-256) each library holds, and its storage used.
//!
//! Invariants: `libraries.storage_used` is the sum of the sizes of the library's rows in
//! `files` that are not freed, kept so by changing both in one transaction; a file is recorded
//! only after its bytes were stored and checked, only while the uploader's role still allows
//! writing, and only while the library's owner stays within their storage limit, which the
//! owner's libraries (personal and shared) share. A file is freed (`freed_at`) in the transaction of the batch after which no
//! live attachment object of its library names it, and counted again by a batch or an upload
//! that names it; the collector removes a row freed longer than the grace period, and only
//! then its bytes, holding the upload turn of that file, so an upload of the same bytes either
//! finishes first (and the row is no longer freed) or starts after (and stores them anew).

use super::{to_i64, to_u64, Db};
use sqlx::Row;

/// What recording an uploaded file came to.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordFile {
    Recorded,
    /// The library held it already (another upload of the same bytes won the race).
    AlreadyHeld,
    /// Storing it would take the owner over their limit.
    OverLimit,
    /// The uploader may not write there (any more).
    Forbidden(Option<refsync_core::protocol::Role>),
}

/// Add `size` to the library's storage used, unless the owner's libraries together would pass
/// `limit`; whether it did. The owner's account row is locked first, so two uploads into two
/// of one owner's libraries cannot both take the last room.
async fn grow_within(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    library_id: &str,
    size: u64,
    limit: u64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET storage_limit = storage_limit
         WHERE id = (SELECT account_id FROM libraries WHERE id = $1)",
    )
    .bind(library_id)
    .execute(&mut **tx)
    .await?;
    let grown = sqlx::query(
        "UPDATE libraries SET storage_used = storage_used + $1
         WHERE id = $2 AND $1 + (SELECT SUM(o.storage_used) FROM libraries o
                                 WHERE o.account_id = libraries.account_id) <= $3",
    )
    .bind(to_i64(size))
    .bind(library_id)
    .bind(to_i64(limit))
    .execute(&mut **tx)
    .await?;
    Ok(grown.rows_affected() == 1)
}

impl Db {
    /// Bytes counted against `owner`'s storage limit: every library they own, shared ones too.
    pub async fn storage_used_by(&self, owner: &str) -> Result<u64, sqlx::Error> {
        // PostgreSQL sums BIGINTs as NUMERIC; the cast keeps one Rust type for both.
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(storage_used), 0) AS BIGINT) FROM libraries
             WHERE account_id = $1",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(used))
    }

    /// The size of a file the library holds; with `counted_only`, only if it counts (is not
    /// freed: a freed file is kept for its grace period but no attachment names it).
    pub async fn file_size(
        &self,
        library_id: &str,
        sha256: &str,
        counted_only: bool,
    ) -> Result<Option<u64>, sqlx::Error> {
        let sql = if counted_only {
            "SELECT size FROM files WHERE library_id = $1 AND sha256 = $2 AND freed_at IS NULL"
        } else {
            "SELECT size FROM files WHERE library_id = $1 AND sha256 = $2"
        };
        let size: Option<i64> = sqlx::query_scalar(sql)
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
        uploader: &str,
        sha256: &str,
        size: u64,
        limit: u64,
        now: u64,
    ) -> Result<RecordFile, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The library's lock first, as role changes take it: the role read next is the one in
        // force when the file is recorded.
        sqlx::query("UPDATE libraries SET version = version WHERE id = $1")
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        let role = super::sharing::role_in(&mut tx, library_id, uploader).await?;
        if !role.is_some_and(|r| r.allows(refsync_core::protocol::Action::Write)) {
            tx.rollback().await?;
            return Ok(RecordFile::Forbidden(role));
        }
        // Then the insert: it takes the row (PostgreSQL, on the unique key), so a twin upload
        // waits here and then finds the row.
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
            // Held already; if freed, the upload names it again: it counts again (within the
            // limit), and the collector leaves it.
            let revived: Option<i64> = sqlx::query_scalar(
                "UPDATE files SET freed_at = NULL
                 WHERE library_id = $1 AND sha256 = $2 AND freed_at IS NOT NULL RETURNING size",
            )
            .bind(library_id)
            .bind(sha256)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(size) = revived {
                if !grow_within(&mut tx, library_id, to_u64(size), limit).await? {
                    tx.rollback().await?;
                    return Ok(RecordFile::OverLimit);
                }
            }
            tx.commit().await?;
            return Ok(RecordFile::AlreadyHeld);
        }
        if !grow_within(&mut tx, library_id, size, limit).await? {
            tx.rollback().await?;
            return Ok(RecordFile::OverLimit);
        }
        tx.commit().await?;
        Ok(RecordFile::Recorded)
    }

    /// After a batch's writes, in its transaction: each of `files` (hashes that the batch's
    /// attachment writes named before or after) is freed if no live attachment object of the
    /// library names it now, and counted again if one does and it was freed.
    pub(super) async fn settle_files(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        library_id: &str,
        files: &std::collections::BTreeSet<String>,
        now: u64,
    ) -> Result<(), sqlx::Error> {
        for sha256 in files {
            let named: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM objects
                 WHERE library_id = $1 AND sha256 = $2 AND kind = 3 AND data IS NOT NULL",
            )
            .bind(library_id)
            .bind(sha256)
            .fetch_one(&mut **tx)
            .await?;
            let changed: Option<i64> = if named > 0 {
                sqlx::query_scalar(
                    "UPDATE files SET freed_at = NULL
                     WHERE library_id = $1 AND sha256 = $2 AND freed_at IS NOT NULL RETURNING size",
                )
                .bind(library_id)
                .bind(sha256)
                .fetch_optional(&mut **tx)
                .await?
            } else {
                sqlx::query_scalar(
                    "UPDATE files SET freed_at = $3
                     WHERE library_id = $1 AND sha256 = $2 AND freed_at IS NULL RETURNING size",
                )
                .bind(library_id)
                .bind(sha256)
                .bind(to_i64(now))
                .fetch_optional(&mut **tx)
                .await?
                .map(|size: i64| -size)
            };
            if let Some(delta) = changed {
                // Counted again even past the limit: the bytes never left.
                sqlx::query("UPDATE libraries SET storage_used = storage_used + $1 WHERE id = $2")
                    .bind(delta)
                    .bind(library_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Files freed at or before `cutoff`, as (library id, SHA-256), at most `most`.
    pub async fn freed_files(
        &self,
        cutoff: u64,
        most: u32,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT library_id, sha256 FROM files
             WHERE freed_at IS NOT NULL AND freed_at <= $1 LIMIT $2",
        )
        .bind(to_i64(cutoff))
        .bind(i64::from(most))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("library_id")?, r.try_get("sha256")?)))
            .collect()
    }

    /// Forget a file freed at or before `cutoff`; whether it was (a write or an upload that
    /// named it since keeps it).
    pub async fn forget_freed_file(
        &self,
        library_id: &str,
        sha256: &str,
        cutoff: u64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM files WHERE library_id = $1 AND sha256 = $2
               AND freed_at IS NOT NULL AND freed_at <= $3",
        )
        .bind(library_id)
        .bind(sha256)
        .bind(to_i64(cutoff))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
