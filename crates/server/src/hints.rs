//! Change hints: "library L is now at version V", fanned out to every open event stream; and
//! "account A's lists changed" (its libraries, their names, roles, owners and members, its
//! invitations), under the key [`lists_key`], which the account's stream passes on.
//!
//! Invariants: a hint is only ever published after the write it announces has committed; on
//! PostgreSQL every instance learns of every write through LISTEN/NOTIFY (the notice is sent
//! by the writing transaction itself, so it arrives on commit and never for a rollback), and
//! an instance whose listener connection drops reconnects and carries on. Hints are advice:
//! a lost one only delays a sync until the next one or the next timer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "refsync_hints";

/// The key an account's list notices go under: no library's id starts with `@`.
pub fn lists_key(account_id: &str) -> String {
    format!("@{account_id}")
}

#[derive(Clone, Default)]
pub struct Hints {
    libraries: Arc<Mutex<HashMap<String, broadcast::Sender<u64>>>>,
}

impl Hints {
    pub fn subscribe(&self, library_id: &str) -> broadcast::Receiver<u64> {
        let mut map = self.libraries.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(library_id.to_string())
            .or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    pub fn publish(&self, library_id: &str, version: u64) {
        let mut map = self.libraries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(library_id) {
            if tx.send(version).is_err() {
                // Nobody listens any more.
                map.remove(library_id);
            }
        }
    }

    /// Relay every notice on [`CHANNEL`] to this instance's streams, for as long as the
    /// process runs.
    pub fn listen_postgres(&self, url: String) {
        let hints = self.clone();
        tokio::spawn(async move {
            loop {
                match relay(&hints, &url).await {
                    Ok(()) => {}
                    Err(e) => tracing::warn!(
                        "change hints: listener lost its connection ({e}); reconnecting"
                    ),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

async fn relay(hints: &Hints, url: &str) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let note = listener.recv().await?;
        let Some((library, version)) = note.payload().split_once(' ') else {
            continue;
        };
        if let Ok(version) = version.parse() {
            hints.publish(library, version);
        }
    }
}
