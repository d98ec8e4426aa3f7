//! The IndexedDB store in a real browser: `cargo test --target wasm32-unknown-unknown`
//! (wasm-bindgen-test-runner drives headless Chromium through ChromeDriver).
//!
//! All tests of this binary share one page, so each uses its own database name.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use refsync_core::{parse_creators, CreatorRole, Field, Key, RefType, Reference};
use refsync_web::storage::{schema, Store};
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
            .transaction(schema::REFERENCES)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("tx");
        let refs = tx.object_store(schema::REFERENCES).expect("store");
        refs.put(&r)
            .with_key(r.key.to_string())
            .serde()
            .expect("put request")
            .await
            .expect("put");
        // Dropped without commit: indexed_db_futures aborts it, as a closed tab would.
    }
    assert_eq!(store.get_reference(&r.key).await.expect("read"), None);
    assert!(store.all_references().await.expect("all").is_empty());
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
    assert!(names.contains(&schema::REFERENCES.to_string()), "{names:?}");
    assert!(names.contains(&schema::META.to_string()), "{names:?}");
}
