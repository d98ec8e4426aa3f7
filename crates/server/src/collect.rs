//! The collector of freed files: a file no attachment object of its library has named for
//! the grace period (`Limits::file_grace_ms`, a day by default) loses its row, then its bytes.
//! Its room was given back to the storage quota when it was freed (docs/server.md, "Files").
//!
//! Invariant: a row and its bytes are removed while holding the file's upload turn, and the
//! row only if it is still freed since before the cutoff: an upload of the same bytes either
//! held the turn first (it named the file again, so the row stays, and the bytes) or comes
//! after (and stores the bytes anew). A download already under way (a backup) finishes: the
//! grace period is far longer than one, and an open file outlives its unlinking.

use crate::auth::now_millis;
use crate::AppState;

/// Freed files looked at per round.
const ROUND: u32 = 500;

/// Remove every file freed at or before `now` minus the grace period; how many went.
pub async fn collect_files(state: &AppState, now: u64) -> Result<u64, sqlx::Error> {
    let cutoff = now.saturating_sub(state.limits.file_grace_ms);
    let mut removed = 0;
    loop {
        let freed = state.db.freed_files(cutoff, ROUND).await?;
        let full_round = freed.len() == ROUND as usize;
        for (library_id, sha256) in freed {
            let name = format!("{library_id}/{sha256}");
            let _turn = state.upload_turns.lock(&name).await;
            if state
                .db
                .forget_freed_file(&library_id, &sha256, cutoff)
                .await?
            {
                if let Err(e) = state.blobs.delete(&name).await {
                    // The row is gone, so nothing names or counts these bytes; a later wiping
                    // reset or an operator can remove them.
                    tracing::warn!(library = %library_id, "collector: a file could not be removed: {e}");
                }
                removed += 1;
            }
        }
        if !full_round {
            return Ok(removed);
        }
    }
}

/// Collect every `Limits::collect_every_ms` until the server shuts down.
pub async fn run(state: AppState) {
    let mut shutting_down = state.shutting_down.clone();
    let every = std::time::Duration::from_millis(state.limits.collect_every_ms.max(1_000));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutting_down.changed() => return,
        }
        match collect_files(&state, now_millis()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "collector: freed files removed"),
            Err(e) => tracing::warn!("collector: {e}"),
        }
    }
}
