//! The IndexedDB schema and its upgrade steps.
//!
//! Each schema version has one step that moves a database from the version before it; opening
//! runs every step between the stored version and [`VERSION`] in order, inside the browser's
//! single upgrade transaction (so a failed upgrade leaves the old version intact). Steps are
//! never edited once released: a change is a new step.

use indexed_db_futures::database::Database;
use indexed_db_futures::error::OpenDbError;
use indexed_db_futures::prelude::*;

/// The schema version this build of the app uses.
pub const VERSION: u32 = 1;

/// References by key (`Reference` records, serde).
pub const REFERENCES: &str = "references";
/// Small named values about the library (link, last sync, settings), by name.
pub const META: &str = "meta";

/// Open `name` at [`VERSION`], creating or upgrading it.
pub async fn open(name: &str) -> Result<Database, OpenDbError> {
    Database::open(name)
        .with_version(VERSION)
        .with_on_upgrade_needed(|event, db| {
            // Versions are whole numbers stored as f64 by the browser.
            let old = event.old_version() as u32;
            for version in old + 1..=VERSION {
                step(version, &db)?;
            }
            Ok(())
        })
        .await
}

// A match, because every later version adds an arm here.
#[allow(clippy::single_match)]
fn step(version: u32, db: &Database) -> indexed_db_futures::Result<()> {
    match version {
        1 => {
            db.create_object_store(REFERENCES).build()?;
            db.create_object_store(META).build()?;
        }
        _ => {}
    }
    Ok(())
}
