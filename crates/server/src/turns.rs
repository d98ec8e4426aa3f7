//! Turns by name: requests that must not interleave on one thing (two uploads of the same bytes
//! to one library) wait for each other; requests on different things never wait.
//!
//! Invariant: a name's lock lives only while someone holds or waits for it, so the map holds
//! only names in use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

#[derive(Clone, Default)]
pub struct Turns {
    names: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// Holding this is having the turn for its name.
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
    name: String,
    turns: Turns,
}

impl Turns {
    /// Wait for the turn on `name`.
    pub async fn lock(&self, name: &str) -> Turn {
        let lock = {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(names.entry(name.to_string()).or_default())
        };
        Turn {
            _guard: lock.lock_owned().await,
            name: name.to_string(),
            turns: self.clone(),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut names = self.turns.names.lock().unwrap_or_else(|p| p.into_inner());
        // Two references: the map's and this turn's guard's; nobody waits.
        if names
            .get(&self.name)
            .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            names.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_name_takes_turns_and_is_forgotten_after() {
        let turns = Turns::default();
        let first = turns.lock("a").await;
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move {
                let _second = turns.lock("a").await;
            })
        };
        let _other = turns.lock("b").await; // another name does not wait
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        drop(first);
        waiting.await.unwrap_or_default();
        drop(_other);
        assert!(turns
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty());
    }
}
