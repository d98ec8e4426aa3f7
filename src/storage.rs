//! The browser's library store: the only code that touches IndexedDB.
//!
//! Invariants: the database's schema is whatever [`schema::upgrade`] builds, one numbered
//! step per version, so a browser holding any older version is brought forward without losing
//! data; every write goes through one transaction that is committed explicitly (an
//! indexed_db_futures transaction that is dropped rolls back), so a failed or interrupted write
//! leaves nothing half-done.

pub mod schema;

use indexed_db_futures::database::Database;
use indexed_db_futures::error::Error as IdbError;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::Result as IdbResult;
use refsync_core::{Key, Reference};
use std::fmt;

/// The IndexedDB database the app uses.
pub const DB_NAME: &str = "refsync";

/// A storage failure, worded for the person using the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    action: &'static str,
    detail: String,
}

impl StoreError {
    fn new(action: &'static str, detail: impl fmt::Display) -> StoreError {
        StoreError {
            action,
            detail: detail.to_string(),
        }
    }

    /// The store was asked to work before it finished opening (or after opening failed).
    pub fn not_open() -> StoreError {
        StoreError::new("reach the library", "it has not finished opening")
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Could not {} in this browser's storage ({}).",
            self.action, self.detail
        )
    }
}

impl std::error::Error for StoreError {}

/// An open library database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Open (creating or upgrading as needed) the database called `name`.
    pub async fn open(name: &str) -> Result<Store, StoreError> {
        let db = schema::open(name)
            .await
            .map_err(|e| StoreError::new("open the library", e))?;
        Ok(Store { db })
    }

    /// The underlying database, for code that composes its own transactions.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Close the database (other tabs waiting to upgrade it can then proceed).
    pub fn close(self) {
        self.db.close();
    }

    /// A transaction over the references store.
    fn references_tx(&self, mode: TransactionMode) -> IdbResult<Transaction<'_>> {
        self.db
            .transaction(schema::REFERENCES)
            .with_mode(mode)
            .build()
    }

    /// Save references (new or changed) in one transaction: all of them or none.
    pub async fn put_references(&self, refs: &[Reference]) -> Result<(), StoreError> {
        async {
            let tx = self.references_tx(TransactionMode::Readwrite)?;
            let store = tx.object_store(schema::REFERENCES)?;
            for r in refs {
                // Requests go out when built; the commit waits for all of them.
                store.put(r).with_key(r.key.to_string()).serde()?;
            }
            tx.commit().await?;
            Ok::<(), IdbError>(())
        }
        .await
        .map_err(|e| StoreError::new("save the reference", e))
    }

    /// One reference by key.
    pub async fn get_reference(&self, key: &Key) -> Result<Option<Reference>, StoreError> {
        async {
            let tx = self.references_tx(TransactionMode::Readonly)?;
            let store = tx.object_store(schema::REFERENCES)?;
            let found: Option<Reference> = store.get(key.to_string()).serde()?.await?;
            Ok::<_, IdbError>(found)
        }
        .await
        .map_err(|e| StoreError::new("read a reference", e))
    }

    /// Every reference, in key order (which is creation order: keys are ULIDs).
    pub async fn all_references(&self) -> Result<Vec<Reference>, StoreError> {
        async {
            let tx = self.references_tx(TransactionMode::Readonly)?;
            let store = tx.object_store(schema::REFERENCES)?;
            let all = store.get_all().serde()?.await?;
            all.collect::<IdbResult<Vec<Reference>>>()
        }
        .await
        .map_err(|e| StoreError::new("load the library", e))
    }
}
