//! Libraries and their objects: the changes feed, batch writes and reset.
//!
//! Invariants: a library's version only goes up, and is raised by one by each transaction that
//! changes anything, which stamps every object it touched with the new version; a write is
//! applied only when its base version is the object's current version, so nothing is ever
//! overwritten silently; a batch is one transaction, taken under the library row's write lock
//! (so two batches of one library never interleave), and its answer is stored under its
//! idempotency key in the same transaction, so a retried batch is answered, not applied again.

use super::{to_i64, to_u64, Db};
use refsync_core::protocol::{
    verdict, Action, BatchResult, ObjectVersion, RemoteObject, Role, Verdict, WriteResult,
};
use refsync_core::{Key, ObjectKind};
use sqlx::Row;
use std::collections::HashMap;

/// Keys per `IN (...)` read, and rows per multi-row insert (9 parameters each): well inside
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
const READ_CHUNK: usize = 1_000;
const WRITE_CHUNK: usize = 1_000;

#[derive(Clone, Debug)]
pub struct LibraryRow {
    pub id: String,
    pub account_id: String,
    pub version: u64,
    pub epoch: u64,
    pub storage_used: u64,
    /// `None` for an account's personal library; a shared library's name.
    pub name: Option<String>,
}

impl LibraryRow {
    pub fn is_shared(&self) -> bool {
        self.name.is_some()
    }
}

/// One object as stored; `data` is the JSON text, `None` for a tombstone.
#[derive(Clone, Debug)]
pub struct ObjectRow {
    pub kind: ObjectKind,
    pub key: Key,
    pub version: u64,
    pub data: Option<String>,
    /// Who wrote this version (email) and when, read only for shared libraries.
    pub changed_by: Option<String>,
    pub changed_at: Option<u64>,
}

/// A write checked and ready to apply: the data is valid JSON of the kind, under its key.
#[derive(Clone, Debug)]
pub struct StoredBatch {
    pub idempotency_key: String,
    /// SHA-256 of the request body, to tell a retry from a different batch reusing the key.
    pub request_hash: String,
    pub writes: Vec<CheckedWrite>,
}

#[derive(Clone, Debug)]
pub struct CheckedWrite {
    pub kind: ObjectKind,
    pub key: Key,
    pub base_version: u64,
    /// Canonical JSON text; `None` deletes.
    pub data: Option<String>,
    /// A group marked shared (kept by a wiping reset).
    pub shared: bool,
    /// An attachment's file.
    pub sha256: Option<String>,
}

#[derive(Debug)]
pub enum BatchOutcome {
    Applied(BatchResult),
    /// The same batch came before; this is its answer.
    Replayed(String),
    RelinkRequired,
    /// The idempotency key was used before for a different batch.
    KeyReused,
    /// The account's reference limit would be exceeded.
    ReferenceLimit {
        limit: u64,
    },
    /// The writer's role does not allow writing (any more): nothing was applied.
    Forbidden(Option<Role>),
}

pub(super) fn kind_code(kind: ObjectKind) -> i64 {
    match kind {
        ObjectKind::Reference => 0,
        ObjectKind::Group => 1,
        ObjectKind::GroupSet => 2,
        ObjectKind::Attachment => 3,
        ObjectKind::Style => 4,
    }
}

pub(super) fn kind_from_code(code: i64) -> Result<ObjectKind, sqlx::Error> {
    Ok(match code {
        0 => ObjectKind::Reference,
        1 => ObjectKind::Group,
        2 => ObjectKind::GroupSet,
        3 => ObjectKind::Attachment,
        4 => ObjectKind::Style,
        other => {
            return Err(sqlx::Error::Decode(
                format!("unknown object kind {other}").into(),
            ))
        }
    })
}

fn key_from_text(text: String) -> Result<Key, sqlx::Error> {
    Key::parse(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(super) fn library_from_row(row: &sqlx::any::AnyRow) -> Result<LibraryRow, sqlx::Error> {
    Ok(LibraryRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        version: to_u64(row.try_get("version")?),
        epoch: to_u64(row.try_get("epoch")?),
        storage_used: to_u64(row.try_get("storage_used")?),
        name: row.try_get("name")?,
    })
}

fn object_from_row(row: &sqlx::any::AnyRow) -> Result<ObjectRow, sqlx::Error> {
    Ok(ObjectRow {
        kind: kind_from_code(row.try_get("kind")?)?,
        key: key_from_text(row.try_get("key")?)?,
        version: to_u64(row.try_get("version")?),
        data: row.try_get("data")?,
        changed_by: None,
        changed_at: None,
    })
}

impl ObjectRow {
    pub fn to_remote(&self) -> RemoteObject {
        RemoteObject {
            kind: self.kind,
            key: self.key,
            version: self.version,
            // Stored text was checked JSON when written.
            data: self
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            changed_by: self.changed_by.clone(),
            changed_at: self.changed_at,
        }
    }
}

const LIBRARY_COLUMNS: &str = "id, account_id, version, epoch, storage_used, name";
/// The same, of `libraries l` in a join.
pub(super) const LIBRARY_COLUMNS_L: &str =
    "l.id, l.account_id, l.version, l.epoch, l.storage_used, l.name";

impl Db {
    pub async fn library_of_account(&self, account_id: &str) -> Result<LibraryRow, sqlx::Error> {
        let sql = format!(
            "SELECT {LIBRARY_COLUMNS} FROM libraries WHERE account_id = $1 AND name IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(account_id)
            .fetch_one(&self.pool)
            .await?;
        library_from_row(&row)
    }

    pub async fn library(&self, id: &str) -> Result<Option<LibraryRow>, sqlx::Error> {
        let sql = format!("SELECT {LIBRARY_COLUMNS} FROM libraries WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(library_from_row).transpose()
    }

    /// References not deleted (trashed ones count), as the batches kept it.
    pub async fn reference_count(&self, library_id: &str) -> Result<u64, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT refs FROM libraries WHERE id = $1")
            .bind(library_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(n))
    }

    /// Objects and tombstones with a version above `since`, after `after` (the last
    /// (version, kind, key) of the previous page), at most `limit`; and the library's version,
    /// read first so that everything up to it is in this page or a later one.
    pub async fn changes(
        &self,
        library_id: &str,
        since: u64,
        after: Option<(u64, ObjectKind, Key)>,
        limit: usize,
        attributed: bool,
    ) -> Result<(u64, Vec<ObjectRow>), sqlx::Error> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM libraries WHERE id = $1")
            .bind(library_id)
            .fetch_one(&self.pool)
            .await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A shared library's page says who wrote each version; a personal one's is always its
        // owner, and its 50,000-object pull pays for no join.
        let select = if attributed {
            "SELECT o.kind, o.key, o.version, o.data, o.changed_at, a.email AS changed_by
             FROM objects o LEFT JOIN accounts a ON a.id = o.changed_by"
        } else {
            "SELECT o.kind, o.key, o.version, o.data FROM objects o"
        };
        let rows = match after {
            None => {
                sqlx::query(&format!(
                    "{select} WHERE o.library_id = $1 AND o.version > $2
                     ORDER BY o.version, o.kind, o.key LIMIT $3"
                ))
                .bind(library_id)
                .bind(to_i64(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some((v, kind, key)) => {
                sqlx::query(&format!(
                    "{select} WHERE o.library_id = $1 AND o.version > $2
                       AND (o.version, o.kind, o.key) > ($3, $4, $5)
                     ORDER BY o.version, o.kind, o.key LIMIT $6"
                ))
                .bind(library_id)
                .bind(to_i64(since))
                .bind(to_i64(v))
                .bind(kind_code(kind))
                .bind(key.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        let objects = rows
            .iter()
            .map(|row| {
                let mut object = object_from_row(row)?;
                if attributed {
                    object.changed_by = row.try_get("changed_by")?;
                    object.changed_at = row.try_get::<Option<i64>, _>("changed_at")?.map(to_u64);
                }
                Ok(object)
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((to_u64(version), objects))
    }

    /// The version of every object and tombstone.
    pub async fn versions(
        &self,
        library_id: &str,
    ) -> Result<(u64, Vec<ObjectVersion>), sqlx::Error> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM libraries WHERE id = $1")
            .bind(library_id)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT kind, key, version, CASE WHEN data IS NULL THEN 1 ELSE 0 END AS deleted
             FROM objects WHERE library_id = $1 ORDER BY kind, key",
        )
        .bind(library_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(ObjectVersion {
                kind: kind_from_code(row.try_get("kind")?)?,
                key: key_from_text(row.try_get("key")?)?,
                version: to_u64(row.try_get("version")?),
                deleted: row.try_get::<i64, _>("deleted")? != 0,
            });
        }
        Ok((to_u64(version), out))
    }

    /// Apply a batch in one transaction (see the module's invariants).
    pub async fn apply_batch(
        &self,
        library_id: &str,
        writer: &str,
        epoch: u64,
        batch: &StoredBatch,
        reference_limit: Option<u64>,
        now: u64,
    ) -> Result<BatchOutcome, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so SQLite takes its write lock now (a read first would
        // risk a busy upgrade), and PostgreSQL locks the row until commit.
        let row = sqlx::query(
            "UPDATE libraries SET version = version WHERE id = $1 RETURNING version, epoch, name",
        )
        .bind(library_id)
        .fetch_one(&mut *tx)
        .await?;
        let version = to_u64(row.try_get("version")?);
        // Who wrote each version is kept in shared libraries only: a personal library's is
        // always its owner, and its rows (pushed and pulled 50,000 at a time) stay as narrow
        // as before.
        let shared = row.try_get::<Option<String>, _>("name")?.is_some();
        let (by, at) = if shared {
            (Some(writer), Some(to_i64(now)))
        } else {
            (None, None)
        };
        // The role as it is now, under the lock that role changes take too: a write never
        // lands under a role already taken away.
        let role = super::sharing::role_in(&mut tx, library_id, writer).await?;
        if !role.is_some_and(|r| r.allows(Action::Write)) {
            return Ok(BatchOutcome::Forbidden(role));
        }
        if to_u64(row.try_get("epoch")?) != epoch {
            return Ok(BatchOutcome::RelinkRequired);
        }
        let earlier = sqlx::query(
            "SELECT request_hash, response FROM batches WHERE library_id = $1 AND idempotency_key = $2",
        )
        .bind(library_id)
        .bind(&batch.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(earlier) = earlier {
            let hash: String = earlier.try_get("request_hash")?;
            return Ok(if hash == batch.request_hash {
                BatchOutcome::Replayed(earlier.try_get("response")?)
            } else {
                BatchOutcome::KeyReused
            });
        }

        let new_version = version + 1;
        // Every write's current row, read in a few statements rather than one per write:
        // round trips, not rows, are what a 5,000-write batch costs on PostgreSQL.
        let mut current: HashMap<(ObjectKind, Key), (u64, Option<String>)> =
            HashMap::with_capacity(batch.writes.len());
        // The files the batch's attachment writes name, before and after: whether each is
        // still named is settled once the writes are in.
        let mut files: std::collections::BTreeSet<String> = batch
            .writes
            .iter()
            .filter_map(|w| w.sha256.clone())
            .collect();
        for kind in ObjectKind::ALL {
            let keys: Vec<&str> = batch
                .writes
                .iter()
                .filter(|w| w.kind == kind)
                .map(|w| w.key.as_str())
                .collect();
            for chunk in keys.chunks(READ_CHUNK) {
                let p: Vec<String> = self.placeholders(1, chunk.len() + 2).collect();
                let sql = format!(
                    "SELECT key, version, sha256, data FROM objects
                     WHERE library_id = {} AND kind = {} AND key IN ({})",
                    p[0],
                    p[1],
                    p[2..].join(", ")
                );
                // Not a prepared statement kept for reuse: PostgreSQL would soon switch it to a
                // generic plan made when the table was small (a scan per key list), and a
                // 50,000-reference push went from 0.2 s to seconds per batch.
                let mut q = sqlx::query(&sql)
                    .persistent(false)
                    .bind(library_id)
                    .bind(kind_code(kind));
                for k in chunk {
                    q = q.bind(*k);
                }
                for row in q.fetch_all(&mut *tx).await? {
                    let key = key_from_text(row.try_get("key")?)?;
                    if let Some(sha) = row.try_get::<Option<String>, _>("sha256")? {
                        files.insert(sha);
                    }
                    current.insert(
                        (kind, key),
                        (to_u64(row.try_get("version")?), row.try_get("data")?),
                    );
                }
            }
        }

        let mut results = Vec::with_capacity(batch.writes.len());
        let mut apply = Vec::new();
        // References the batch adds (written where there was none or a tombstone) less those
        // it deletes.
        let mut refs_delta = 0i64;
        for w in &batch.writes {
            let (cur_version, cur_data) = current.remove(&(w.kind, w.key)).unwrap_or((0, None));
            match verdict(
                w.base_version,
                w.data.as_deref(),
                cur_version,
                cur_data.as_deref(),
            ) {
                Verdict::Unchanged => results.push(WriteResult::Unchanged {
                    key: w.key,
                    version: cur_version,
                }),
                Verdict::Conflict => results.push(WriteResult::Conflict {
                    key: w.key,
                    current: ObjectRow {
                        kind: w.kind,
                        key: w.key,
                        version: cur_version,
                        data: cur_data,
                        changed_by: None,
                        changed_at: None,
                    }
                    .to_remote(),
                }),
                Verdict::Accept => {
                    if w.kind == ObjectKind::Reference {
                        refs_delta += i64::from(w.data.is_some()) - i64::from(cur_data.is_some());
                    }
                    apply.push(w);
                    results.push(WriteResult::Ok {
                        key: w.key,
                        version: new_version,
                    });
                }
            }
        }
        let changed = !apply.is_empty();
        for chunk in apply.chunks(WRITE_CHUNK) {
            let mut p = self.placeholders(1, chunk.len() * 9);
            let rows: Vec<String> = (0..chunk.len())
                .map(|_| {
                    let row: Vec<String> = p.by_ref().take(9).collect();
                    format!("({})", row.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO objects
                   (library_id, kind, key, version, shared, sha256, data, changed_by, changed_at)
                 VALUES {}
                 ON CONFLICT (library_id, kind, key) DO UPDATE SET version = excluded.version,
                   shared = excluded.shared, sha256 = excluded.sha256, data = excluded.data,
                   changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                rows.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for w in chunk {
                q = q
                    .bind(library_id)
                    .bind(kind_code(w.kind))
                    .bind(w.key.as_str())
                    .bind(to_i64(new_version))
                    .bind(i64::from(w.shared))
                    .bind(w.sha256.as_deref())
                    .bind(w.data.as_deref())
                    .bind(by)
                    .bind(at);
            }
            q.execute(&mut *tx).await?;
        }

        if !files.is_empty() && changed {
            Self::settle_files(&mut tx, library_id, &files, now).await?;
        }

        if let Some(limit) = reference_limit {
            let adds_references = batch
                .writes
                .iter()
                .any(|w| w.kind == ObjectKind::Reference && w.data.is_some());
            if adds_references {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM objects WHERE library_id = $1 AND kind = 0 AND data IS NOT NULL",
                )
                .bind(library_id)
                .fetch_one(&mut *tx)
                .await?;
                if to_u64(n) > limit {
                    tx.rollback().await?;
                    return Ok(BatchOutcome::ReferenceLimit { limit });
                }
            }
        }

        let library_version = if changed {
            sqlx::query("UPDATE libraries SET version = $1, refs = refs + $2 WHERE id = $3")
                .bind(to_i64(new_version))
                .bind(refs_delta)
                .bind(library_id)
                .execute(&mut *tx)
                .await?;
            self.notify_in(&mut tx, library_id, new_version).await?;
            new_version
        } else {
            version
        };
        let result = BatchResult {
            library_version,
            results,
        };
        let response = serde_json::to_string(&result)
            .map_err(|e| sqlx::Error::Protocol(format!("cannot encode a batch result: {e}")))?;
        // Answers are kept a week: long enough for any retry, short enough to stay small.
        sqlx::query("DELETE FROM batches WHERE library_id = $1 AND created_at < $2")
            .bind(library_id)
            .bind(to_i64(now.saturating_sub(7 * 24 * 3600 * 1000)))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO batches (library_id, idempotency_key, request_hash, response, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(library_id)
        .bind(&batch.idempotency_key)
        .bind(&batch.request_hash)
        .bind(&response)
        .bind(to_i64(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.wrote_objects(apply.len() as u64);
        Ok(BatchOutcome::Applied(result))
    }

    /// Break the link: bump the epoch, and with `wipe` remove every object but shared groups
    /// (tombstones too) and forget the library's files. Returns the new epoch and version, how many
    /// objects were deleted, and the files to remove from the blob store.
    pub async fn reset(
        &self,
        library_id: &str,
        wipe: bool,
    ) -> Result<(u64, u64, u64, Vec<String>), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE libraries SET epoch = epoch + 1 WHERE id = $1 RETURNING version, epoch",
        )
        .bind(library_id)
        .fetch_one(&mut *tx)
        .await?;
        let mut version = to_u64(row.try_get("version")?);
        let epoch = to_u64(row.try_get("epoch")?);
        let mut deleted = 0;
        let mut files = Vec::new();
        if wipe {
            version += 1;
            // Gone, not tombstoned: every device must link again, and a device that does
            // sends its library as new; tombstones would turn each of its objects into an
            // edit-versus-delete conflict instead of an upload.
            let done = sqlx::query(
                "DELETE FROM objects
                 WHERE library_id = $1 AND data IS NOT NULL AND NOT (kind = 1 AND shared = 1)",
            )
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
            deleted = done.rows_affected();
            sqlx::query("DELETE FROM objects WHERE library_id = $1 AND data IS NULL")
                .bind(library_id)
                .execute(&mut *tx)
                .await?;
            files = sqlx::query_scalar("SELECT sha256 FROM files WHERE library_id = $1")
                .bind(library_id)
                .fetch_all(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM files WHERE library_id = $1")
                .bind(library_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE libraries SET version = $1, storage_used = 0, refs = 0 WHERE id = $2",
            )
            .bind(to_i64(version))
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        }
        // Answers to batches of the old link must not be replayed into the new one.
        sqlx::query("DELETE FROM batches WHERE library_id = $1")
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        self.notify_in(&mut tx, library_id, version).await?;
        tx.commit().await?;
        Ok((epoch, version, deleted, files))
    }

    /// On PostgreSQL, tell every instance (this one too) that the library moved; the notice is
    /// delivered when the transaction commits, and never if it rolls back. On SQLite there is
    /// one instance, which publishes after the commit itself.
    async fn notify_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        library_id: &str,
        version: u64,
    ) -> Result<(), sqlx::Error> {
        if self.backend == super::Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::hints::CHANNEL)
                .bind(format!("{library_id} {version}"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}
