//! The IndexedDB schema and its upgrade steps.
//!
//! Each schema version has one step that moves a database from the version before it; opening
//! runs every step between the stored version and [`VERSION`] in order, inside the browser's
//! single upgrade transaction (so a failed upgrade leaves the old version intact). Steps are
//! never edited once released: a change is a new step. A step that must move data (which the
//! upgrade transaction cannot await) leaves it to [`super::Store::open`], which moves it in
//! one ordinary transaction right after, and is safe to run again if the tab closes first.
//!
//! Version 2's record layout: every object is one JSON string under its key in the store of
//! its kind. Strings, not structured objects, because a 50,000-reference library loads by
//! one `getAll` and one `serde_json` pass, far faster than walking 50,000 JS objects field by
//! field across the wasm boundary. The sync state sits beside the objects: `dirty` holds a
//! mark per changed object and `bases` the copy last agreed with the service, so a user's
//! edit is two blind puts in one transaction.
//!
//! Version 4 names the library a database holds ([`LIBRARY`] in [`META`]), since a browser may
//! hold several, each in a database of its own: no store changes, so the upgrade step is empty
//! and `Store::open_library` writes the name (a database without one is the personal library).
//!
//! Version 5 adds [`STYLES`], the citation styles a person added to the library (core's
//! `Style`, synced like every kind).
//!
//! Version 6 adds [`AUTHORS`]: who last changed each reference of a shared library online
//! (see `authors.rs`).
//!
//! Version 3 adds packs: a large sync page's unchanged objects are kept many to a record (see
//! [`PACKS`] and `packs.rs`), because IndexedDB's cost is per record: a first download of
//! 50,000 objects is a few hundred puts instead of 50,000. An object's own record, when it has
//! one, always wins over a pack.

use indexed_db_futures::database::Database;
use indexed_db_futures::error::OpenDbError;
use indexed_db_futures::prelude::*;
use refsync_core::ObjectKind;
use std::cell::Cell;
use std::rc::Rc;

/// The schema version this build of the app uses.
pub const VERSION: u32 = 6;

/// Version 1's references (serde objects). Emptied into [`REFS`] on the first open at
/// version 2.
pub const REFERENCES: &str = "references";
/// Small named values about the library (link, last sync, settings), by name.
pub const META: &str = "meta";
/// The name in [`META`] of the library the database holds (`refsync_core::sync::LibraryId`
/// as JSON): written by `Store::open_library` when missing, so a database from version 3 or
/// older says it is the personal library.
pub const LIBRARY: &str = "library";
/// References by key, as JSON strings.
pub const REFS: &str = "refs";
/// Groups (custom, smart, combination) by key, as JSON strings.
pub const GROUPS: &str = "groups";
/// Group sets by key, as JSON strings.
pub const GROUP_SETS: &str = "group_sets";
/// Attachment metadata by key, as JSON strings.
pub const ATTACHMENTS: &str = "attachments";
/// Citation styles added to the library by key, as JSON strings (version 5).
pub const STYLES: &str = "styles";
/// Attachment bytes as Blobs, by lower-case hex SHA-256 (one copy per content).
pub const BLOBS: &str = "blobs";
/// `kind/key` of every object changed here since it last synced (value: `true`).
pub const DIRTY: &str = "dirty";
/// `kind/key` to the service's copy this browser last agreed with (JSON).
pub const BASES: &str = "bases";
/// `kind/key` to an unresolved sync conflict (JSON).
pub const CONFLICTS: &str = "conflicts";
/// Packs of references by pack id (ten digits, so keys sort as numbers): one string of lines
/// `kind/key version json`, synced and unchanged, or never synced (version 0: an import's).
/// Written by the sync and by bulk writes, never edited; a newer pack wins over an older one,
/// and an object's own record (or its tombstone) over both.
pub const PACKS: &str = "packs";

/// Who last changed each reference online, a shared library's sync pages' lines by page
/// (version 6; see `authors.rs`).
pub const AUTHORS: &str = "authors";

/// The store that holds objects of `kind`.
pub fn store_of(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Reference => REFS,
        ObjectKind::Group => GROUPS,
        ObjectKind::GroupSet => GROUP_SETS,
        ObjectKind::Attachment => ATTACHMENTS,
        ObjectKind::Style => STYLES,
    }
}

/// Every store of objects, in the order of `ObjectKind::ALL`.
pub const OBJECT_STORES: [&str; 5] = [REFS, GROUPS, GROUP_SETS, ATTACHMENTS, STYLES];

/// Open `name` at [`VERSION`], creating or upgrading it; also returns the version it had
/// (0: new), so the caller can finish moving data a step left to it.
pub async fn open(name: &str) -> Result<(Database, u32), OpenDbError> {
    open_at(name, VERSION).await
}

/// Open `name` at `version` (at most [`VERSION`]): what an older build of the app did, for the
/// tests that upgrade a database made by one.
pub async fn open_at(name: &str, version: u32) -> Result<(Database, u32), OpenDbError> {
    let old_version = Rc::new(Cell::new(version));
    let seen = old_version.clone();
    let db = Database::open(name)
        .with_version(version)
        .with_on_upgrade_needed(move |event, db| {
            // Versions are whole numbers stored as f64 by the browser.
            let old = event.old_version() as u32;
            seen.set(old);
            for step_to in old + 1..=version {
                step(step_to, &db)?;
            }
            Ok(())
        })
        .await?;
    Ok((db, old_version.get()))
}

fn step(version: u32, db: &Database) -> indexed_db_futures::Result<()> {
    match version {
        1 => {
            db.create_object_store(REFERENCES).build()?;
            db.create_object_store(META).build()?;
        }
        2 => {
            // Version 2's object stores: a later kind's store is its own version's step.
            for store in [REFS, GROUPS, GROUP_SETS, ATTACHMENTS] {
                db.create_object_store(store).build()?;
            }
            for store in [BLOBS, DIRTY, BASES, CONFLICTS] {
                db.create_object_store(store).build()?;
            }
        }
        3 => {
            db.create_object_store(PACKS).build()?;
        }
        // 4: the library's name, in META (see the module's notes).
        5 => {
            db.create_object_store(STYLES).build()?;
        }
        6 => {
            db.create_object_store(AUTHORS).build()?;
        }
        _ => {}
    }
    Ok(())
}
