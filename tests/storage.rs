//! The IndexedDB store in a real browser: `cargo test --target wasm32-unknown-unknown`
//! (wasm-bindgen-test-runner drives headless Chromium through ChromeDriver).
//!
//! All tests of this binary share one page, so each uses its own database name.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use refsync_core::protocol::Object;
use refsync_core::{
    parse_creators, CreatorRole, Field, Group, GroupKind, Key, ObjectKind, RefType, Reference,
};
use refsync_web::storage::{schema, sync_id, Store, Write};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn reference(n: u8, title: &str) -> Reference {
    let mut r = Reference::new(
        Key::new(1_700_000_000_000 + u64::from(n), [n; 10]),
        RefType::Book,
        1,
    );
    r.set(Field::Title, title);
    r.creators = parse_creators(
        "Kuhn, Thomas S.; World Health Organization,",
        CreatorRole::Author,
    );
    r.set(Field::Year, "1962");
    r
}

#[wasm_bindgen_test]
async fn a_saved_reference_reads_back_equal() {
    let store = Store::open("test-roundtrip").await.expect("open");
    let r = reference(1, "The Structure of Scientific Revolutions");
    store
        .put_references(std::slice::from_ref(&r))
        .await
        .expect("save");
    assert_eq!(
        store.get_reference(&r.key).await.expect("read"),
        Some(r.clone())
    );
    assert_eq!(store.all_references().await.expect("all"), vec![r]);
}

#[wasm_bindgen_test]
async fn saving_again_replaces_instead_of_duplicating() {
    let store = Store::open("test-replace").await.expect("open");
    let mut r = reference(2, "Draft title");
    store
        .put_references(std::slice::from_ref(&r))
        .await
        .expect("save");
    r.set(Field::Title, "Final title");
    store
        .put_references(std::slice::from_ref(&r))
        .await
        .expect("save again");
    assert_eq!(store.all_references().await.expect("all"), vec![r]);
}

#[wasm_bindgen_test]
async fn a_missing_key_reads_as_none() {
    let store = Store::open("test-missing").await.expect("open");
    let absent = Key::new(5, [9; 10]);
    assert_eq!(store.get_reference(&absent).await.expect("read"), None);
}

#[wasm_bindgen_test]
async fn a_transaction_that_is_not_committed_leaves_nothing() {
    let store = Store::open("test-rollback").await.expect("open");
    let r = reference(3, "Never committed");
    {
        let tx = store
            .database()
            .transaction([schema::REFS, schema::DIRTY])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("tx");
        put_marked(&tx, &r).await;
        // Dropped without commit: indexed_db_futures aborts it, as a closed tab would.
    }
    assert_eq!(store.get_reference(&r.key).await.expect("read"), None);
    assert!(store.all_references().await.expect("all").is_empty());
    assert_eq!(store.dirty_count().await.expect("dirty"), 0);
}

#[wasm_bindgen_test]
async fn an_action_saves_the_object_and_its_dirty_mark_together() {
    let store = Store::open("test-action").await.expect("open");
    let r = reference(6, "Edited");
    let g = Group {
        key: Key::new(1_700_000_000_100, [6; 10]),
        name: "Reading list".into(),
        set: None,
        kind: GroupKind::Custom,
        shared: false,
        date_modified: 1,
    };
    store
        .write(&[
            Write::Put(Object::Reference(r.clone())),
            Write::Put(Object::Group(g.clone())),
        ])
        .await
        .expect("write");
    assert_eq!(store.dirty_count().await.expect("dirty"), 2);
    let loaded = store.load().await.expect("load");
    assert_eq!(loaded.references, vec![r.clone()]);
    assert_eq!(loaded.groups, vec![g]);
    // A permanent delete of something never synced removes it and leaves nothing to send (the
    // rule every store shares; a push still in flight is settled by its answer, core's
    // `sync::apply::after_push`). A synced object's delete stays marked: see `sync_store.rs`.
    store
        .write(&[Write::Delete(ObjectKind::Reference, r.key)])
        .await
        .expect("delete");
    assert!(store.load().await.expect("load").references.is_empty());
    assert_eq!(store.dirty_count().await.expect("dirty"), 1);
}

#[wasm_bindgen_test]
async fn ten_thousand_references_save_in_large_batches_and_load_back() {
    let store = Store::open("test-bulk").await.expect("open");
    let refs: Vec<Reference> = (0..10_000u32)
        .map(|i| {
            let mut r = Reference::new(
                Key::new(1_700_000_000_000 + u64::from(i), [7; 10]),
                RefType::JournalArticle,
                1,
            );
            r.set(Field::Title, format!("Paper {i}"));
            r
        })
        .collect();
    let objects: Vec<Object> = refs.iter().cloned().map(Object::Reference).collect();
    let mut steps = Vec::new();
    store
        .write_bulk(&objects, |done| steps.push(done))
        .await
        .expect("bulk");
    assert_eq!(steps, vec![5_000, 10_000], "two transactions of 5,000");
    store.close();
    let again = Store::open("test-bulk").await.expect("reopen");
    let loaded = again.load().await.expect("load");
    assert_eq!(loaded.references.len(), 10_000);
    assert_eq!(loaded.references, refs, "in key order, equal");
    assert_eq!(again.dirty_count().await.expect("dirty"), 10_000);
    // What a large library shows first while the rest loads: the newest, and the count the
    // packs' heads give on the way (a bulk write packs its references).
    let (newest, total) = again
        .newest_references(2_000)
        .await
        .expect("newest")
        .expect("more than 2,000");
    assert_eq!(total, Some(10_000));
    assert_eq!(newest, refs[8_000..].to_vec());
    assert_eq!(again.newest_references(10_000).await.expect("all"), None);

    // A library of own records (each written by a person's action) finds its newest by key,
    // without counting.
    let own = Store::open("test-own").await.expect("open");
    own.put_references(&refs).await.expect("save");
    let (newest, total) = own
        .newest_references(2_000)
        .await
        .expect("newest")
        .expect("more than 2,000");
    assert_eq!(
        total, None,
        "not counted: a count of a large library is slow"
    );
    assert_eq!(newest, refs[8_000..].to_vec());
    assert_eq!(own.newest_references(10_000).await.expect("all"), None);
    for n in [1, 9_999] {
        let (newest, total) = own
            .newest_references(n)
            .await
            .expect("newest")
            .expect("more");
        assert_eq!(
            (newest, total),
            (refs[10_000 - n..].to_vec(), None),
            "the newest {n}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_version_1_library_is_brought_forward_with_nothing_lost() {
    let name = "test-upgrade-from-1";
    let r = reference(8, "Saved by the first version");
    {
        // Version 1 exactly as it shipped: two stores, references as structured objects.
        let db = Database::open(name)
            .with_version(1u32)
            .with_on_upgrade_needed(|_, db| {
                db.create_object_store(schema::REFERENCES).build()?;
                db.create_object_store(schema::META).build()?;
                Ok(())
            })
            .await
            .expect("open at version 1");
        let tx = db
            .transaction(schema::REFERENCES)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("tx");
        tx.object_store(schema::REFERENCES)
            .expect("store")
            .put(&r)
            .with_key(r.key.to_string())
            .serde()
            .expect("put");
        tx.commit().await.expect("commit");
        db.close();
    }
    let store = Store::open(name)
        .await
        .expect("open at the current version");
    assert_eq!(store.database().version() as u32, schema::VERSION);
    assert_eq!(store.all_references().await.expect("all"), vec![r]);
    assert_eq!(
        store.dirty_count().await.expect("dirty"),
        1,
        "never synced, so it is marked to upload"
    );
    store.close();
    // Opening again moves nothing twice.
    let again = Store::open(name).await.expect("reopen");
    assert_eq!(again.all_references().await.expect("all").len(), 1);
    assert_eq!(again.dirty_count().await.expect("dirty"), 1);
}

/// A database made by an older build (schema `version`) holding `r`, marked to upload, as that
/// build left it.
async fn database_at(name: &str, version: u32, r: &Reference) -> Database {
    let (db, _) = schema::open_at(name, version)
        .await
        .expect("open at an older version");
    let tx = db
        .transaction([schema::REFS, schema::DIRTY])
        .with_mode(TransactionMode::Readwrite)
        .build()
        .expect("tx");
    put_marked(&tx, r).await;
    tx.commit().await.expect("commit");
    db
}

/// [`database_at`] `version` without the object store `added` (what the next version adds),
/// then opened by this build: upgraded to the current version.
async fn upgraded(name: &str, version: u32, r: &Reference, added: &str) -> Store {
    let db = database_at(name, version, r).await;
    let names: Vec<String> = db.object_store_names().collect();
    assert!(!names.contains(&added.to_string()), "{names:?}");
    db.close();
    let store = Store::open(name)
        .await
        .expect("open at the current version");
    assert_eq!(store.database().version() as u32, schema::VERSION);
    store
}

/// Put `r` and mark it to upload, inside `tx`, as the store's own writes do.
async fn put_marked(tx: &indexed_db_futures::transaction::Transaction<'_>, r: &Reference) {
    tx.object_store(schema::REFS)
        .expect("refs")
        .put(serde_json::to_string(r).unwrap())
        .with_key(r.key.to_string())
        .primitive()
        .expect("put request")
        .await
        .expect("put");
    tx.object_store(schema::DIRTY)
        .expect("dirty")
        .put(true)
        .with_key(sync_id(ObjectKind::Reference, r.key))
        .primitive()
        .expect("mark request")
        .await
        .expect("mark");
}

/// Issue 22: a browser may hold several libraries, each in a database of its own that names
/// the library it holds. A database made by the previous version (schema 3, before libraries
/// had names) becomes the personal library with everything in it: references, their sync
/// marks and the link.
#[wasm_bindgen_test]
async fn a_database_from_schema_3_opens_as_the_personal_library_with_everything_in_it() {
    use refsync_core::sync::{LibraryId, LocalStore};
    let name = "test-upgrade-from-3";
    let r = reference(9, "Saved by schema 3");
    {
        let db = database_at(name, 3, &r).await;
        let tx = db
            .transaction([schema::META])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("tx");
        tx.object_store(schema::META)
            .expect("meta")
            .put(r#"{"library_id":"lib-1","epoch":2,"synced_version":7}"#.to_string())
            .with_key("link".to_string())
            .primitive()
            .expect("link");
        tx.commit().await.expect("commit");
        assert_eq!(db.version() as u32, 3);
        db.close();
    }
    let store = Store::open(name)
        .await
        .expect("open at the current version");
    assert_eq!(store.database().version() as u32, schema::VERSION);
    assert_eq!(store.library().await.unwrap(), LibraryId::Personal);
    assert_eq!(store.all_references().await.unwrap(), vec![r]);
    assert_eq!(store.dirty_count().await.unwrap(), 1, "still to upload");
    let link = store.link().await.unwrap().expect("still linked");
    assert_eq!(
        (link.library_id.as_str(), link.epoch, link.synced_version),
        ("lib-1", 2, 7)
    );
    store.close();

    // It is the personal library, and no other.
    let shared = LibraryId::Shared { id: "lab".into() };
    Store::open_library(name, &LibraryId::Personal)
        .await
        .expect("as the personal library")
        .close();
    let lab = Store::open_library(name, &shared)
        .await
        .expect("its own database");
    assert_eq!(lab.library().await.unwrap(), shared);
    assert!(
        lab.all_references().await.unwrap().is_empty(),
        "libraries are kept apart"
    );
    lab.close();
    let personal = Store::open(name).await.unwrap();
    assert_eq!(personal.all_references().await.unwrap().len(), 1);
}

/// Issue 26: version 5 keeps the citation styles a person added. A database of version 4
/// (today's before it) opens with everything in it, and then holds a style like any object:
/// written, marked to upload, and loaded with the library.
#[wasm_bindgen_test]
async fn a_database_from_schema_4_keeps_everything_and_then_holds_citation_styles() {
    use refsync_core::sync::LibraryId;
    use refsync_core::Style;
    let name = "test-upgrade-from-4";
    let r = reference(10, "Saved by schema 4");
    let store = upgraded(name, 4, &r, schema::STYLES).await;
    assert_eq!(store.library().await.unwrap(), LibraryId::Personal);
    assert_eq!(store.all_references().await.unwrap(), vec![r.clone()]);
    let style = Style {
        key: Key::new(1_700_000_000_077, [77; 10]),
        title: "Journal of Examples".into(),
        file_name: "journal-of-examples.csl".into(),
        xml: "<style xmlns=\"http://purl.org/net/xbiblio/csl\"/>".into(),
        date_modified: 1,
    };
    store
        .write(&[Write::Put(Object::Style(style.clone()))])
        .await
        .expect("a style is written");
    assert_eq!(store.dirty_count().await.unwrap(), 2, "both to upload");
    store.close();
    let again = Store::open(name).await.unwrap();
    let loaded = again.load().await.unwrap();
    assert_eq!(loaded.styles, vec![style]);
    assert_eq!(loaded.references, vec![r]);
}

/// Version 6 keeps who last changed each reference of a shared library. A database
/// of version 5 (today's before it) opens with everything in it, and can then say who changed
/// a reference (here: made in this browser, not sent yet).
#[wasm_bindgen_test]
async fn a_database_from_schema_5_keeps_everything_and_then_says_who_changed_a_reference() {
    use refsync_web::storage::authors::LastChange;
    let name = "test-upgrade-from-5";
    let r = reference(11, "Saved by schema 5");
    let store = upgraded(name, 5, &r, schema::AUTHORS).await;
    assert_eq!(store.all_references().await.unwrap(), vec![r.clone()]);
    assert_eq!(store.dirty_count().await.unwrap(), 1, "still to upload");
    assert_eq!(
        store.last_change(r.key).await.unwrap(),
        Some(LastChange::New)
    );
}

/// A database is opened only as the library it holds.
#[wasm_bindgen_test]
async fn a_database_holding_another_library_is_refused_untouched() {
    use refsync_core::sync::LibraryId;
    let shared = LibraryId::Shared { id: "x1".into() };
    let name = shared.store_name("test-identity");
    let lab = Store::open_library("test-identity", &shared).await.unwrap();
    lab.put_references(&[reference(3, "In the lab's library")])
        .await
        .unwrap();
    lab.close();
    // Its database opened by name as if it were a personal library.
    let err = Store::open(&name).await.unwrap_err().to_string();
    assert!(err.contains("another library"), "{err}");
    let again = Store::open_library("test-identity", &shared).await.unwrap();
    assert_eq!(again.all_references().await.unwrap().len(), 1, "untouched");
}

#[wasm_bindgen_test]
async fn attachment_bytes_are_kept_as_blobs() {
    let store = Store::open("test-blobs").await.expect("open");
    let bytes = js_sys::Uint8Array::from(&b"%PDF-1.4 tiny"[..]);
    let blob = web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&bytes)).unwrap();
    store.put_blob("abc123", &blob).await.expect("put");
    let back = store
        .get_blob("abc123")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(back.size(), 13.0);
    store.delete_blob("abc123").await.expect("delete");
    assert!(store.get_blob("abc123").await.expect("get").is_none());
}

#[wasm_bindgen_test]
async fn data_survives_closing_and_reopening_the_database() {
    let r = reference(4, "Kept across sessions");
    {
        let store = Store::open("test-reopen").await.expect("open");
        store
            .put_references(std::slice::from_ref(&r))
            .await
            .expect("save");
        store.close();
    }
    let again = Store::open("test-reopen").await.expect("reopen");
    assert_eq!(again.all_references().await.expect("all"), vec![r]);
}

#[wasm_bindgen_test]
async fn a_new_database_gets_the_current_schema() {
    let store = Store::open("test-schema").await.expect("open");
    let db = store.database();
    assert_eq!(db.version() as u32, schema::VERSION);
    let names: Vec<String> = db.object_store_names().collect();
    for store in [
        schema::META,
        schema::REFS,
        schema::GROUPS,
        schema::GROUP_SETS,
        schema::ATTACHMENTS,
        schema::STYLES,
        schema::BLOBS,
        schema::DIRTY,
        schema::BASES,
        schema::CONFLICTS,
        schema::PACKS,
    ] {
        assert!(names.contains(&store.to_string()), "{store} in {names:?}");
    }
}
