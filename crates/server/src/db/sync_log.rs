//! Syncs as clients report them, for Sync Status.
//!
//! Invariant: at most [`KEEP_PER_DEVICE`] entries per device are kept, the latest ones, however
//! many reports arrive at once.

use super::{to_i64, to_u64, Db};
use refsync_core::protocol::{ErrorBody, ErrorCode, SyncReport};
use sqlx::Row;

pub const KEEP_PER_DEVICE: i64 = 20;

impl Db {
    pub async fn add_sync_report(
        &self,
        library_id: &str,
        r: &SyncReport,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // Reports at the same moment take turns on the library's row: each one's trim then
        // sees the others' rows (on PostgreSQL it would not, and more than the limit stayed).
        sqlx::query("UPDATE libraries SET version = version WHERE id = $1")
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sync_log (library_id, device_id, started_at, device_name, duration_ms,
                                   sent, received, deleted, conflicts, error_code, error_message)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (library_id, device_id, started_at) DO NOTHING",
        )
        .bind(library_id)
        .bind(&r.device_id)
        .bind(to_i64(r.started_at))
        .bind(&r.device_name)
        .bind(to_i64(r.duration_ms))
        .bind(to_i64(r.sent))
        .bind(to_i64(r.received))
        .bind(to_i64(r.deleted))
        .bind(to_i64(r.conflicts))
        .bind(r.error.as_ref().map(|e| e.code.as_str()))
        .bind(r.error.as_ref().map(|e| e.message.as_str()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM sync_log WHERE library_id = $1 AND device_id = $2 AND started_at NOT IN
               (SELECT started_at FROM sync_log WHERE library_id = $1 AND device_id = $2
                ORDER BY started_at DESC LIMIT $3)",
        )
        .bind(library_id)
        .bind(&r.device_id)
        .bind(KEEP_PER_DEVICE)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The latest syncs of every device, newest first.
    pub async fn sync_log(&self, library_id: &str) -> Result<Vec<SyncReport>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT device_id, device_name, started_at, duration_ms, sent, received, deleted,
                    conflicts, error_code, error_message
             FROM sync_log WHERE library_id = $1 ORDER BY started_at DESC, device_id LIMIT 200",
        )
        .bind(library_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let code: Option<String> = row.try_get("error_code")?;
            let message: Option<String> = row.try_get("error_message")?;
            out.push(SyncReport {
                device_id: row.try_get("device_id")?,
                device_name: row.try_get("device_name")?,
                started_at: to_u64(row.try_get("started_at")?),
                duration_ms: to_u64(row.try_get("duration_ms")?),
                sent: to_u64(row.try_get("sent")?),
                received: to_u64(row.try_get("received")?),
                deleted: to_u64(row.try_get("deleted")?),
                conflicts: to_u64(row.try_get("conflicts")?),
                error: code.map(|c| ErrorBody {
                    code: serde_json::from_value(serde_json::Value::String(c))
                        .unwrap_or(ErrorCode::Unknown),
                    message: message.unwrap_or_default(),
                }),
            });
        }
        Ok(out)
    }
}
