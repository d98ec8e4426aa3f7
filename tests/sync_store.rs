//! The IndexedDB store under core's sync engine, in a real browser: two browser libraries
//! (two databases) syncing through the service's rules in memory (`MemoryService`). What the
//! engine needs of a store — dirty marks, bases, conflicts, the link, atomic pages — is
//! exercised here against IndexedDB itself; the engine against the real server is tested
//! natively in `crates/server/tests/engine.rs`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use refsync_core::protocol::Object;
use refsync_core::sync::{
    sync, ConflictReason, LocalStore, MemoryRemote, MemoryService, Resolution, StoreChange,
};
use refsync_core::{Field, Key, ObjectKind, RefType, Reference};
use refsync_web::storage::{schema, Store, Write};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn reference(n: u8, title: &str) -> Reference {
    let mut r = Reference::new(
        Key::new(1_700_000_000_000 + u64::from(n), [n; 10]),
        RefType::JournalArticle,
        1,
    );
    r.set(Field::Title, title);
    r
}

fn batch_keys(prefix: &'static str) -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("{prefix}-{n}")
    }
}

/// The test runner gives each run a fresh browser profile, so a name is a new database.
async fn fresh(name: &str) -> Store {
    Store::open(name).await.expect("open")
}

async fn titles(store: &Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .all_references()
        .await
        .unwrap()
        .iter()
        .map(|r| r.title().to_string())
        .collect();
    t.sort();
    t
}

#[wasm_bindgen_test]
async fn two_browser_libraries_converge_and_keep_a_real_conflict() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service.clone());
    let a = fresh("sync-a").await;
    let b = fresh("sync-b").await;
    let (mut ka, mut kb) = (batch_keys("a"), batch_keys("b"));

    let one = reference(1, "Shared paper");
    let two = reference(2, "Second paper");
    a.write(&[
        Write::Put(Object::Reference(one.clone())),
        Write::Put(Object::Reference(two.clone())),
    ])
    .await
    .unwrap();
    let out = sync(&a, &remote, &mut ka).await.expect("first sync of a");
    assert_eq!(out.sent, 2);
    assert_eq!(
        a.dirty_count().await.unwrap(),
        0,
        "pushed: nothing left to send"
    );

    // A new device downloads everything.
    let out = sync(&b, &remote, &mut kb).await.expect("first sync of b");
    assert_eq!(out.received, 2);
    assert_eq!(titles(&b).await, vec!["Second paper", "Shared paper"]);
    assert_eq!(b.dirty_count().await.unwrap(), 0);

    // Different fields on each side merge; the same field becomes a conflict on b.
    let mut on_a = one.clone();
    on_a.set(Field::Volume, "12");
    on_a.set(Field::Title, "Shared paper (a)");
    let mut on_b = one.clone();
    on_b.set(Field::Pages, "1-10");
    on_b.set(Field::Title, "Shared paper (b)");
    a.write(&[Write::Put(Object::Reference(on_a))])
        .await
        .unwrap();
    b.write(&[Write::Put(Object::Reference(on_b))])
        .await
        .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    let out = sync(&b, &remote, &mut kb).await.unwrap();
    assert_eq!(out.conflicts, 1);
    let conflicts = b.conflicts().await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].reason, ConflictReason::Fields);
    assert!(
        conflicts[0].fields.contains(&"title".to_string()),
        "{:?}",
        conflicts[0].fields
    );

    // Kept here: an ordinary edit that syncs back to a; the conflict is settled.
    b.resolve_conflict(&conflicts[0], Resolution::KeepLocal)
        .await
        .unwrap();
    assert!(b.conflicts().await.unwrap().is_empty());
    assert_eq!(b.dirty_count().await.unwrap(), 1);
    sync(&b, &remote, &mut kb).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    assert_eq!(titles(&a).await, titles(&b).await);
    assert!(titles(&a).await.contains(&"Shared paper (b)".to_string()));

    // A permanent delete on b is gone on a.
    b.write(&[Write::Delete(ObjectKind::Reference, two.key)])
        .await
        .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    let out = sync(&a, &remote, &mut ka).await.unwrap();
    assert_eq!(out.deleted, 1);
    assert_eq!(titles(&a).await, vec!["Shared paper (b)"]);
    assert_eq!(a.dirty_count().await.unwrap(), 0);
    assert_eq!(b.dirty_count().await.unwrap(), 0);
}

#[wasm_bindgen_test]
async fn the_link_survives_a_reload_and_unlinking_keeps_the_library_to_send_again() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service.clone());
    let mut keys = batch_keys("c");
    let store = fresh("sync-c").await;
    store
        .write(&[Write::Put(Object::Reference(reference(3, "Kept")))])
        .await
        .unwrap();
    sync(&store, &remote, &mut keys).await.unwrap();
    let linked = store.link().await.unwrap().expect("linked");
    store.close();

    let store = Store::open("sync-c").await.unwrap();
    assert_eq!(store.link().await.unwrap(), Some(linked));
    assert_eq!(store.dirty_count().await.unwrap(), 0);

    store.set_link(None).await.unwrap();
    assert_eq!(store.link().await.unwrap(), None);
    assert_eq!(titles(&store).await, vec!["Kept"], "the library stays");
    assert_eq!(
        store.dirty_count().await.unwrap(),
        1,
        "marked to be sent to whatever it links to next"
    );
    let base = store
        .get(ObjectKind::Reference, reference(3, "Kept").key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((base.base_version, base.base, base.dirty), (0, None, true));
}

#[wasm_bindgen_test]
async fn an_edit_made_while_a_sync_runs_is_not_overwritten_and_both_edits_survive() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service.clone());
    let a = fresh("sync-race-a").await;
    let b = fresh("sync-race-b").await;
    let (mut ka, mut kb) = (batch_keys("ra"), batch_keys("rb"));
    let paper = reference(9, "Raced paper");
    a.write(&[Write::Put(Object::Reference(paper.clone()))])
        .await
        .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();

    // b changes the pages online.
    let mut on_b = paper.clone();
    on_b.set(Field::Pages, "1-10");
    b.write(&[Write::Put(Object::Reference(on_b))])
        .await
        .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();

    // On a, the engine reads the object, then the person edits the volume before the engine
    // writes its page: the page's copy (without the volume) must not replace the edit.
    let read = a
        .get(ObjectKind::Reference, paper.key)
        .await
        .unwrap()
        .unwrap();
    let mut typed = paper.clone();
    typed.set(Field::Volume, "7");
    a.write(&[Write::Put(Object::Reference(typed.clone()))])
        .await
        .unwrap();
    let mut stale = read.clone();
    let mut from_page = paper.clone();
    from_page.set(Field::Pages, "1-10");
    stale.current = Some(Object::Reference(from_page));
    stale.dirty = false;
    a.apply(vec![StoreChange::Put(stale)], None).await.unwrap();
    let now = a.get_reference(&paper.key).await.unwrap().unwrap();
    assert_eq!(now.get(Field::Volume), "7", "the edit is still there");
    assert_eq!(a.dirty_count().await.unwrap(), 1, "and still to be sent");

    // The next syncs carry both edits everywhere (different fields merge).
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    for store in [&a, &b] {
        let r = store.get_reference(&paper.key).await.unwrap().unwrap();
        assert_eq!((r.get(Field::Volume), r.get(Field::Pages)), ("7", "1-10"));
    }
    assert!(a.conflicts().await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn an_edit_after_a_sync_keeps_the_synced_copy_as_its_base() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service.clone());
    let a = fresh("sync-base").await;
    let mut keys = batch_keys("base");
    let synced = reference(7, "As synced");
    a.write(&[Write::Put(Object::Reference(synced.clone()))])
        .await
        .unwrap();
    sync(&a, &remote, &mut keys).await.unwrap();
    let clean = a
        .get(ObjectKind::Reference, synced.key)
        .await
        .unwrap()
        .unwrap();
    assert!(!clean.dirty);
    assert_eq!(clean.base, Some(Object::Reference(synced.clone())));

    // The store keeps one copy of a synced object; an edit must not lose the base with it.
    let mut edited = synced.clone();
    edited.set(Field::Title, "Edited here");
    a.write(&[Write::Put(Object::Reference(edited.clone()))])
        .await
        .unwrap();
    let dirty = a
        .get(ObjectKind::Reference, synced.key)
        .await
        .unwrap()
        .unwrap();
    assert!(dirty.dirty);
    assert_eq!(dirty.base, Some(Object::Reference(synced.clone())));
    assert_eq!(dirty.current, Some(Object::Reference(edited.clone())));
    let mut again = edited.clone();
    again.set(Field::Year, "2001");
    a.write(&[Write::Put(Object::Reference(again))])
        .await
        .unwrap();
    let many = a
        .get_many(&[(ObjectKind::Reference, synced.key)])
        .await
        .unwrap();
    assert_eq!(
        many[0].as_ref().unwrap().base,
        Some(Object::Reference(synced))
    );
}

/// `count` references with distinct keys, titled `Paper <n>`.
fn papers(count: u16) -> Vec<Reference> {
    (0..count)
        .map(|n| {
            let [hi, lo] = n.to_be_bytes();
            let mut r = Reference::new(
                Key::new(
                    1_700_100_000_000 + u64::from(n),
                    [hi, lo, 1, 2, 3, 4, 5, 6, 7, 8],
                ),
                RefType::Book,
                1,
            );
            r.set(Field::Title, format!("Paper {n}"));
            r
        })
        .collect()
}

async fn title_of(store: &Store, key: &Key) -> Option<String> {
    store
        .get_reference(key)
        .await
        .unwrap()
        .map(|r| r.title().to_string())
}

/// A large download is stored many references to a record (packs); every way a packed
/// reference can change afterwards must behave as if each had its own record.
#[wasm_bindgen_test]
async fn a_large_download_is_packed_and_every_change_to_a_packed_reference_syncs() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let mut remote = MemoryRemote::new(service.clone());
    remote.page_size = 1000;
    let a = fresh("pack-a").await;
    let b = fresh("pack-b").await;
    let (mut ka, mut kb) = (batch_keys("pa"), batch_keys("pb"));
    let all = papers(1200);
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();

    let out = sync(&b, &remote, &mut kb).await.unwrap();
    assert_eq!(out.received, 1200);
    assert!(packs_in(&b).await > 0, "the download went into packs");
    assert_eq!(b.all_references().await.unwrap().len(), 1200);
    assert_eq!(b.dirty_count().await.unwrap(), 0);
    assert_eq!(title_of(&b, &all[5].key).await.as_deref(), Some("Paper 5"));
    // The first screen of a packed library: the newest references, from the packs.
    let (newest, total) = b.newest_references(100).await.unwrap().unwrap();
    assert_eq!(total, Some(1200));
    let mut keys: Vec<Key> = newest.iter().map(|r| r.key).collect();
    keys.sort();
    let expected: Vec<Key> = all[1100..].iter().map(|r| r.key).collect();
    assert_eq!(keys, expected);

    // Edited and deleted here: the edit keeps the synced copy as its base; the delete hides
    // the packed copy.
    let mut edited = all[5].clone();
    edited.set(Field::Title, "Paper 5, edited on b");
    b.write(&[
        Write::Put(Object::Reference(edited)),
        Write::Delete(ObjectKind::Reference, all[6].key),
    ])
    .await
    .unwrap();
    let five = b
        .get(ObjectKind::Reference, all[5].key)
        .await
        .unwrap()
        .unwrap();
    assert!(five.dirty);
    assert_eq!(five.base, Some(Object::Reference(all[5].clone())));
    assert_eq!(title_of(&b, &all[6].key).await, None);

    // Another tab (its own handle on the same database) sees the same library.
    let tab = Store::open("pack-b").await.unwrap();
    let seen = tab.all_references().await.unwrap();
    assert_eq!(seen.len(), 1199);
    assert!(seen.iter().any(|r| r.title() == "Paper 5, edited on b"));
    assert!(!seen.iter().any(|r| r.key == all[6].key));
    // A delete from that tab hides a packed copy too.
    tab.write(&[Write::Delete(ObjectKind::Reference, all[9].key)])
        .await
        .unwrap();
    assert_eq!(title_of(&b, &all[9].key).await, None);

    sync(&b, &remote, &mut kb).await.unwrap();
    let out = sync(&a, &remote, &mut ka).await.unwrap();
    assert_eq!(out.deleted, 2);
    assert_eq!(
        title_of(&a, &all[5].key).await.as_deref(),
        Some("Paper 5, edited on b")
    );
    assert_eq!(a.all_references().await.unwrap().len(), 1198);

    // Changes from a arrive over packed copies (a small page: own records).
    let mut on_a = all[7].clone();
    on_a.set(Field::Title, "Paper 7, edited on a");
    a.write(&[
        Write::Put(Object::Reference(on_a)),
        Write::Delete(ObjectKind::Reference, all[8].key),
    ])
    .await
    .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    assert_eq!(
        title_of(&b, &all[7].key).await.as_deref(),
        Some("Paper 7, edited on a")
    );
    assert_eq!(title_of(&b, &all[8].key).await, None);
    assert_eq!(b.dirty_count().await.unwrap(), 0);

    // The same field edited on both sides of a packed reference is a conflict.
    let mut x = all[10].clone();
    x.set(Field::Title, "Paper 10 by a");
    a.write(&[Write::Put(Object::Reference(x))]).await.unwrap();
    let mut y = all[10].clone();
    y.set(Field::Title, "Paper 10 by b");
    b.write(&[Write::Put(Object::Reference(y))]).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    let out = sync(&b, &remote, &mut kb).await.unwrap();
    assert_eq!(out.conflicts, 1);
    let conflict = b.conflicts().await.unwrap().pop().unwrap();
    b.resolve_conflict(&conflict, Resolution::KeepLocal)
        .await
        .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    assert_eq!(titles(&a).await, titles(&b).await);
    assert_eq!(
        title_of(&a, &all[10].key).await.as_deref(),
        Some("Paper 10 by b")
    );

    // Unlinking turns every packed reference into one to send again.
    b.set_link(None).await.unwrap();
    assert_eq!(packs_in(&b).await, 0);
    assert_eq!(b.dirty_count().await.unwrap(), 1197);
    assert_eq!(b.all_references().await.unwrap().len(), 1197);
    assert_eq!(titles(&a).await, titles(&b).await);
}

/// A transaction on the packs' store alone.
fn packs_tx(store: &Store, mode: TransactionMode) -> Transaction<'_> {
    store
        .database()
        .transaction([schema::PACKS])
        .with_mode(mode)
        .build()
        .unwrap()
}

/// Every record of the packs' store, packs and their heads, as `(key, text)` in key order.
async fn pack_records(store: &Store) -> Vec<(String, String)> {
    let tx = packs_tx(store, TransactionMode::Readonly);
    let packs = tx.object_store(schema::PACKS).unwrap();
    let keys: Vec<String> = packs
        .get_all_keys()
        .primitive()
        .unwrap()
        .await
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let texts: Vec<wasm_bindgen::JsValue> = packs
        .get_all()
        .primitive()
        .unwrap()
        .await
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    keys.into_iter()
        .zip(texts.iter().map(|t| t.as_string().unwrap()))
        .collect()
}

/// The text of every pack in the database (not their heads).
async fn pack_texts(store: &Store) -> Vec<String> {
    pack_records(store)
        .await
        .into_iter()
        .filter(|(key, _)| !key.starts_with('#'))
        .map(|(_, text)| text)
        .collect()
}

/// Put (or with `None` delete) one record of the packs' store, as an older build or a
/// damaged database might have left it.
async fn set_pack_record(store: &Store, key: &str, text: Option<&str>) {
    let tx = packs_tx(store, TransactionMode::Readwrite);
    let packs = tx.object_store(schema::PACKS).unwrap();
    if let Some(text) = text {
        packs
            .put(text.to_string())
            .with_key(key.to_string())
            .primitive()
            .unwrap();
    } else {
        packs.delete(key.to_string()).primitive().unwrap();
    }
    tx.commit().await.unwrap();
}

async fn packs_in(store: &Store) -> usize {
    pack_texts(store).await.len()
}

/// How many lines all the database's packs hold together, live or stale.
async fn pack_lines(store: &Store) -> usize {
    pack_texts(store)
        .await
        .iter()
        .map(|t| t.lines().count())
        .sum()
}

/// A library of 1,000 references made on another device and downloaded into the fresh
/// database `name` in one page (so into packs); returns it with the references.
async fn downloaded(name: &str) -> (Store, Vec<Reference>) {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let mut remote = MemoryRemote::new(service.clone());
    remote.page_size = 1000;
    let all = papers(1000);
    let a = fresh(&format!("{name}-source")).await;
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    sync(&a, &remote, &mut batch_keys("source")).await.unwrap();
    let b = fresh(name).await;
    sync(&b, &remote, &mut batch_keys("here")).await.unwrap();
    (b, all)
}

/// One large page of changes into `store`: the references of `all` in `range`, each retitled
/// `... (again)` and a version later, as the service would send them.
async fn page_again(store: &Store, all: &[Reference], range: std::ops::Range<usize>) {
    // A round starts with the link, and a large page's read lists the keys, as in a sync.
    store.link().await.unwrap();
    let ids: Vec<(ObjectKind, Key)> = all.iter().map(|r| (ObjectKind::Reference, r.key)).collect();
    let read = store.get_many(&ids).await.unwrap();
    let changes: Vec<StoreChange> = read
        .into_iter()
        .enumerate()
        .filter(|(i, _)| range.contains(i))
        .map(|(_, o)| {
            let mut o = o.unwrap();
            let Some(Object::Reference(mut r)) = o.current.take() else {
                unreachable!()
            };
            r.set(Field::Title, format!("{} (again)", r.title()));
            o.current = Some(Object::Reference(r));
            o.base = o.current.clone();
            o.base_version += 10_000;
            StoreChange::Put(o)
        })
        .collect();
    store.apply(changes, None).await.unwrap();
}

/// A second full download (a newer version of every reference) replaces the packs: the old
/// ones are deleted with the write that empties them, and another tab, whose index named
/// them, reads the new copies.
#[wasm_bindgen_test]
async fn a_full_download_again_replaces_the_packs_and_other_tabs_follow() {
    let (b, all) = downloaded("repack").await;
    assert_eq!(packs_in(&b).await, 2, "1,000 references, 500 to a pack");
    let tab = Store::open("repack").await.unwrap();
    assert_eq!(tab.all_references().await.unwrap().len(), 1000);

    // The service's copies, each a version later and retitled, arrive as one large page.
    page_again(&b, &all, 0..1000).await;
    assert_eq!(
        packs_in(&b).await,
        2,
        "two new packs; the two old ones deleted"
    );

    // The other tab's index named the deleted packs: it reads the new ones.
    let title = tab
        .get_reference(&all[3].key)
        .await
        .unwrap()
        .map(|r| r.title().to_string());
    assert_eq!(title.as_deref(), Some("Paper 3 (again)"));
    let again = tab.all_references().await.unwrap();
    assert_eq!(again.len(), 1000);
    assert!(again.iter().all(|r| r.title().ends_with("(again)")));
    // An edit there still has the newest synced copy as its base.
    let mut edited = all[4].clone();
    edited.set(Field::Title, "Edited in the other tab");
    tab.write(&[Write::Put(Object::Reference(edited))])
        .await
        .unwrap();
    let four = tab
        .get(ObjectKind::Reference, all[4].key)
        .await
        .unwrap()
        .unwrap();
    let Some(Object::Reference(base)) = four.base else {
        unreachable!()
    };
    assert_eq!(base.title(), "Paper 4 (again)");
}

/// Each pack is written with its head (the ids it holds), from which a tab opening the library
/// indexes it without reading the packs. A pack without a head (as an older build wrote them)
/// is still read whole, and a head left without its pack is ignored.
#[wasm_bindgen_test]
async fn packs_are_indexed_from_their_heads_and_a_pack_without_one_still_reads() {
    let (b, all) = downloaded("heads").await;
    let keys = |records: Vec<(String, String)>| -> Vec<String> {
        records.into_iter().map(|(key, _)| key).collect()
    };
    let records = pack_records(&b).await;
    assert_eq!(
        keys(records.clone()),
        ["#0000000001", "#0000000002", "0000000001", "0000000002"]
    );
    assert_eq!(
        records[0].1.lines().count(),
        500,
        "a head lists its pack's 500 ids"
    );

    // The first pack loses its head; a head of a pack that no longer exists claims everything.
    set_pack_record(&b, "#0000000001", None).await;
    let claims: String = all
        .iter()
        .map(|r| format!("reference/{}\n", r.key))
        .collect();
    set_pack_record(&b, "#0000000000", Some(&claims)).await;

    // A new tab opens the library: its first screen is the newest 600, from both packs.
    let tab = Store::open("heads").await.unwrap();
    let (newest, total) = tab.newest_references(600).await.unwrap().unwrap();
    assert_eq!(total, Some(1000));
    let mut newest: Vec<Key> = newest.iter().map(|r| r.key).collect();
    newest.sort();
    let expected: Vec<Key> = all[400..].iter().map(|r| r.key).collect();
    assert_eq!(newest, expected);
    assert_eq!(
        title_of(&tab, &all[3].key).await.as_deref(),
        Some("Paper 3")
    );
    assert_eq!(tab.all_references().await.unwrap().len(), 1000);

    // A full download again replaces both packs with their heads; the stray head stays unused.
    page_again(&b, &all, 0..1000).await;
    assert_eq!(
        keys(pack_records(&b).await),
        [
            "#0000000000",
            "#0000000003",
            "#0000000004",
            "0000000003",
            "0000000004"
        ]
    );
    assert_eq!(
        title_of(&tab, &all[3].key).await.as_deref(),
        Some("Paper 3 (again)")
    );
    let again = Store::open("heads").await.unwrap();
    let (newest, _) = again.newest_references(10).await.unwrap().unwrap();
    assert_eq!(newest.len(), 10);
    assert!(newest.iter().all(|r| r.title().ends_with("(again)")));
}

/// Large pages that each change part of a library leave packs mostly stale; such a pack's
/// remaining references move into the new packs and the pack goes, so stale copies never
/// outnumber live ones.
#[wasm_bindgen_test]
async fn mostly_stale_packs_are_folded_into_new_ones() {
    let (b, all) = downloaded("fold").await;
    assert_eq!(packs_in(&b).await, 2);

    // 600 changed: the first pack is emptied and goes; the second keeps 400 of its 500.
    page_again(&b, &all, 0..600).await;
    assert_eq!(packs_in(&b).await, 3);
    assert_eq!(
        pack_lines(&b).await,
        1100,
        "100 stale lines, in the second pack"
    );
    // 400 more: the second pack keeps 100 of 500, so they move and it goes too.
    page_again(&b, &all, 500..900).await;
    assert_eq!(pack_lines(&b).await, 1000, "no stale line left");

    let tab = Store::open("fold").await.unwrap();
    let mut titles: Vec<(Key, String)> = tab
        .all_references()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.title().to_string()))
        .collect();
    titles.sort();
    let expected: Vec<(Key, String)> = all
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // 500..600 changed twice.
            let again = match i {
                500..600 => " (again) (again)",
                0..900 => " (again)",
                _ => "",
            };
            (r.key, format!("Paper {i}{again}"))
        })
        .collect();
    assert_eq!(titles, expected);
}

/// How many records the store `name` of `store`'s database holds.
async fn records_in(store: &Store, name: &str) -> u32 {
    let tx = store
        .database()
        .transaction([name])
        .with_mode(TransactionMode::Readonly)
        .build()
        .unwrap();
    tx.object_store(name)
        .unwrap()
        .count()
        .primitive()
        .unwrap()
        .await
        .unwrap()
}

/// An import (a bulk write of new references) goes into packs, unsynced, instead of a record
/// and a dirty mark each; every way such a reference can change before it is sent must behave
/// as if it had its own record, and sending them empties the import's packs.
#[wasm_bindgen_test]
async fn an_import_is_packed_unsynced_and_every_change_to_it_syncs() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let mut remote = MemoryRemote::new(service.clone());
    remote.page_size = 1000;
    let a = fresh("import-a").await;
    let all = papers(1200);
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    assert_eq!(records_in(&a, schema::REFS).await, 0, "no record each");
    assert_eq!(records_in(&a, schema::DIRTY).await, 0, "no mark each");
    assert_eq!(packs_in(&a).await, 3);
    assert_eq!(a.dirty_count().await.unwrap(), 1200, "all of them to send");
    assert_eq!(a.all_references().await.unwrap().len(), 1200);
    let (newest, total) = a.newest_references(100).await.unwrap().unwrap();
    assert_eq!((newest.len(), total), (100, Some(1200)));
    let held = a
        .get(ObjectKind::Reference, all[3].key)
        .await
        .unwrap()
        .unwrap();
    assert!(held.dirty);
    assert_eq!((held.base_version, held.base), (0, None), "never synced");

    // Edited and deleted before any sync: the edit is sent as edited, the delete never.
    let mut edited = all[5].clone();
    edited.set(Field::Title, "Paper 5, edited before sending");
    a.write(&[
        Write::Put(Object::Reference(edited)),
        Write::Delete(ObjectKind::Reference, all[6].key),
    ])
    .await
    .unwrap();
    assert_eq!(a.dirty_count().await.unwrap(), 1199);
    let five = a
        .get(ObjectKind::Reference, all[5].key)
        .await
        .unwrap()
        .unwrap();
    assert!(five.dirty);
    assert_eq!(five.base, None);
    assert_eq!(title_of(&a, &all[6].key).await, None);
    // Another tab sees the same library, and its delete hides a packed copy too.
    let tab = Store::open("import-a").await.unwrap();
    assert_eq!(tab.all_references().await.unwrap().len(), 1199);
    tab.write(&[Write::Delete(ObjectKind::Reference, all[9].key)])
        .await
        .unwrap();
    assert_eq!(a.dirty_count().await.unwrap(), 1198);

    let out = sync(&a, &remote, &mut batch_keys("ia")).await.unwrap();
    assert_eq!(out.sent, 1198);
    assert_eq!(a.dirty_count().await.unwrap(), 0);
    assert!(
        !pack_texts(&a).await.iter().any(|t| t.contains(" 0 {")),
        "sent references are packed at their versions, the import's packs gone"
    );
    assert_eq!(
        pack_lines(&a).await,
        1197,
        "the edited one keeps its own record"
    );
    assert_eq!(a.all_references().await.unwrap().len(), 1198);
    let out = sync(&a, &remote, &mut batch_keys("ia2")).await.unwrap();
    assert_eq!(out.sent, 0, "nothing sent twice");

    let b = fresh("import-b").await;
    let out = sync(&b, &remote, &mut batch_keys("ib")).await.unwrap();
    assert_eq!(out.received, 1198);
    assert_eq!(titles(&a).await, titles(&b).await);
    assert!(titles(&b)
        .await
        .contains(&"Paper 5, edited before sending".to_string()));
    assert_eq!(title_of(&b, &all[9].key).await, None);

    // Edited after sending, the synced copy is the base, as for any synced reference.
    let mut again = all[7].clone();
    again.set(Field::Title, "Paper 7, edited after sending");
    a.write(&[Write::Put(Object::Reference(again))])
        .await
        .unwrap();
    let seven = a
        .get(ObjectKind::Reference, all[7].key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seven.base, Some(Object::Reference(all[7].clone())));
    assert!(seven.base_version > 0);
}

/// Unlinking before an import was ever sent keeps it to send, as own records.
#[wasm_bindgen_test]
async fn an_import_unlinked_before_sending_is_kept_to_send() {
    let a = fresh("import-unlink").await;
    let all = papers(300);
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    assert_eq!(packs_in(&a).await, 1);
    a.set_link(None).await.unwrap();
    assert_eq!(packs_in(&a).await, 0);
    assert_eq!(records_in(&a, schema::REFS).await, 300);
    assert_eq!(a.dirty_count().await.unwrap(), 300);
    assert_eq!(a.all_references().await.unwrap().len(), 300);
}

/// A library of more packs than one read asks for at once (eight): a tab opening it reads
/// every pack's newest copies, hides what own records replaced, and unlinking turns every
/// packed copy into an own record to send.
#[wasm_bindgen_test]
async fn a_library_of_more_packs_than_one_read_asks_for_is_read_whole() {
    let a = fresh("many-packs").await;
    let all = papers(4600);
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    assert_eq!(packs_in(&a).await, 10);
    let mut edited = all[4550].clone();
    edited.set(Field::Title, "Paper 4550, edited");
    a.write(&[
        Write::Put(Object::Reference(edited)),
        Write::Delete(ObjectKind::Reference, all[10].key),
    ])
    .await
    .unwrap();

    let tab = Store::open("many-packs").await.unwrap();
    let read = tab.all_references().await.unwrap();
    assert_eq!(read.len(), 4599, "every pack read, the deleted one hidden");
    let titles: std::collections::HashSet<String> =
        read.iter().map(|r| r.title().to_string()).collect();
    assert_eq!(titles.len(), 4599, "no reference read twice");
    assert!(titles.contains("Paper 4550, edited"));
    assert!(titles.contains("Paper 4599") && titles.contains("Paper 0"));
    assert!(!titles.contains("Paper 10") && !titles.contains("Paper 4550"));

    tab.set_link(None).await.unwrap();
    assert_eq!(packs_in(&tab).await, 0);
    assert_eq!(tab.dirty_count().await.unwrap(), 4599);
    assert_eq!(a.all_references().await.unwrap().len(), 4599);
    assert_eq!(
        title_of(&a, &all[4599].key).await.as_deref(),
        Some("Paper 4599")
    );
}

/// The engine's read of an unsynced packed reference stands for a dirty mark: a page's write
/// of it goes through while nobody touched it, and is skipped once the person edited it
/// (or deleted it) after the read, as for a marked object.
#[wasm_bindgen_test]
async fn a_page_over_an_unsynced_packed_reference_is_skipped_only_after_an_edit() {
    let a = fresh("import-race").await;
    let all = papers(300);
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    let page = |read: refsync_core::sync::LocalObject, title: &str| {
        let mut o = read;
        let Some(Object::Reference(mut r)) = o.current.take() else {
            unreachable!()
        };
        r.set(Field::Title, title);
        o.current = Some(Object::Reference(r));
        o.base = o.current.clone();
        o.base_version = 7;
        o.dirty = false;
        StoreChange::Put(o)
    };

    a.link().await.unwrap();
    let read = a
        .get(ObjectKind::Reference, all[1].key)
        .await
        .unwrap()
        .unwrap();
    assert!(read.dirty);
    a.apply(vec![page(read, "Paper 1 from a page")], None)
        .await
        .unwrap();
    assert_eq!(
        title_of(&a, &all[1].key).await.as_deref(),
        Some("Paper 1 from a page"),
        "untouched since read: written"
    );

    a.link().await.unwrap();
    let read = a
        .get(ObjectKind::Reference, all[2].key)
        .await
        .unwrap()
        .unwrap();
    let mut typed = all[2].clone();
    typed.set(Field::Title, "Paper 2 typed meanwhile");
    a.write(&[Write::Put(Object::Reference(typed))])
        .await
        .unwrap();
    a.apply(vec![page(read, "Paper 2 from a page")], None)
        .await
        .unwrap();
    assert_eq!(
        title_of(&a, &all[2].key).await.as_deref(),
        Some("Paper 2 typed meanwhile"),
        "edited since read: skipped"
    );

    a.link().await.unwrap();
    let read = a
        .get(ObjectKind::Reference, all[3].key)
        .await
        .unwrap()
        .unwrap();
    a.write(&[Write::Delete(ObjectKind::Reference, all[3].key)])
        .await
        .unwrap();
    a.apply(vec![page(read, "Paper 3 from a page")], None)
        .await
        .unwrap();
    assert_eq!(title_of(&a, &all[3].key).await, None, "deleted since read");
}

/// A bulk write under a key the library already uses is written as a person's write: what is
/// there is carried over, never hidden behind a pack.
#[wasm_bindgen_test]
async fn a_bulk_write_over_an_existing_key_is_not_packed() {
    let a = fresh("import-over").await;
    let all = papers(300);
    a.write(&[Write::Put(Object::Reference(all[0].clone()))])
        .await
        .unwrap();
    let objects: Vec<Object> = all.iter().cloned().map(Object::Reference).collect();
    a.write_bulk(&objects, |_| {}).await.unwrap();
    assert_eq!(packs_in(&a).await, 0);
    assert_eq!(records_in(&a, schema::REFS).await, 300);
    assert_eq!(a.dirty_count().await.unwrap(), 300);
}

/// Two browser libraries with one paper synced to both, and a conflict waiting on `b` (each
/// changed the title). Returns the service, the stores and the paper.
async fn a_waiting_conflict(
    names: (&'static str, &'static str),
) -> (MemoryRemote, Store, Store, Reference) {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service);
    let a = fresh(names.0).await;
    let b = fresh(names.1).await;
    let (mut ka, mut kb) = (batch_keys(names.0), batch_keys(names.1));
    let paper = reference(20, "Paper");
    a.write(&[Write::Put(Object::Reference(paper.clone()))])
        .await
        .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    let mut on_a = paper.clone();
    on_a.set(Field::Title, "Title from a");
    let mut on_b = paper.clone();
    on_b.set(Field::Title, "Title from b");
    a.write(&[Write::change(
        Object::Reference(paper.clone()),
        Object::Reference(on_a),
    )])
    .await
    .unwrap();
    b.write(&[Write::change(
        Object::Reference(paper.clone()),
        Object::Reference(on_b),
    )])
    .await
    .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    assert_eq!(sync(&b, &remote, &mut kb).await.unwrap().conflicts, 1);
    (remote, a, b, paper)
}

fn online(remote: &MemoryRemote, key: Key) -> Reference {
    let s = remote.service.borrow();
    let (_, data) = s.objects.get(&(ObjectKind::Reference, key)).unwrap();
    match Object::from_data(ObjectKind::Reference, key, data.as_ref().unwrap()).unwrap() {
        Object::Reference(r) => r,
        _ => unreachable!(),
    }
}

/// Issue 20, defect 1: a conflict settled after newer versions arrived is based on the newest
/// online copy, not the one captured when the conflict arose (which kept this browser stale
/// for good, and different from every other device).
#[wasm_bindgen_test]
async fn a_conflict_settled_after_newer_pulls_ends_equal_to_the_service() {
    for keep in [Resolution::KeepOnline, Resolution::KeepLocal] {
        let names = match keep {
            Resolution::KeepOnline => ("late-online-a", "late-online-b"),
            _ => ("late-local-a", "late-local-b"),
        };
        let (remote, a, b, paper) = a_waiting_conflict(names).await;
        let (mut ka, mut kb) = (batch_keys("la"), batch_keys("lb"));
        // The person opens the conflict now...
        let shown = b.conflicts().await.unwrap().remove(0);
        // ...while a changes the year and b's next sync brings that newer copy in.
        let from = a.get_reference(&paper.key).await.unwrap().unwrap();
        let mut newer = from.clone();
        newer.set(Field::Year, "2011");
        a.write(&[Write::change(
            Object::Reference(from),
            Object::Reference(newer),
        )])
        .await
        .unwrap();
        sync(&a, &remote, &mut ka).await.unwrap();
        sync(&b, &remote, &mut kb).await.unwrap();
        assert_eq!(b.conflicts().await.unwrap().len(), 1, "still waiting");
        b.resolve_conflict(&shown, keep.clone()).await.unwrap();
        sync(&b, &remote, &mut kb).await.unwrap();
        sync(&a, &remote, &mut ka).await.unwrap();
        let on_b = b.get_reference(&paper.key).await.unwrap().unwrap();
        let on_a = a.get_reference(&paper.key).await.unwrap().unwrap();
        assert_eq!(
            on_b,
            online(&remote, paper.key),
            "{keep:?}: b equals the service"
        );
        assert_eq!(on_a, on_b, "{keep:?}: and so does a");
        assert_eq!(
            on_b.get(Field::Year),
            "2011",
            "{keep:?}: the newer year stays"
        );
        let title = match keep {
            Resolution::KeepOnline => "Title from a",
            _ => "Title from b",
        };
        assert_eq!(on_b.title(), title, "{keep:?}");
        assert_eq!(b.dirty_count().await.unwrap(), 0);
    }
}

/// Issue 20, defect 2: editing a reference that waits in Sync Conflicts, then syncing into a
/// second conflict, keeps the first conflict's side (it used to be overwritten, and this
/// browser's title was gone without the person choosing).
#[wasm_bindgen_test]
async fn a_second_conflict_on_a_waiting_reference_keeps_the_first_side() {
    let (remote, a, b, paper) = a_waiting_conflict(("second-a", "second-b")).await;
    let (mut ka, mut kb) = (batch_keys("sa"), batch_keys("sb"));
    // b edits the pages of the reference as it shows it (its side of the conflict)...
    let shown = match b.conflicts().await.unwrap().remove(0).local {
        Some(Object::Reference(r)) => r,
        _ => unreachable!(),
    };
    let mut typed = shown.clone();
    typed.set(Field::Pages, "10-20");
    b.write(&[Write::change(
        Object::Reference(shown),
        Object::Reference(typed),
    )])
    .await
    .unwrap();
    // ...while a changes the pages too: b's next sync meets a second conflict.
    let from = a.get_reference(&paper.key).await.unwrap().unwrap();
    let mut on_a = from.clone();
    on_a.set(Field::Pages, "99");
    a.write(&[Write::change(
        Object::Reference(from),
        Object::Reference(on_a),
    )])
    .await
    .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    let waiting = b.conflicts().await.unwrap();
    assert_eq!(waiting.len(), 1);
    let Some(Object::Reference(mine)) = &waiting[0].local else {
        panic!("b's side")
    };
    assert_eq!(
        mine.title(),
        "Title from b",
        "the first conflict's side stays"
    );
    assert_eq!(mine.get(Field::Pages), "10-20", "with the edit made since");
    let Some(Object::Reference(theirs)) = &waiting[0].remote else {
        panic!("the online side")
    };
    assert_eq!(
        (theirs.title(), theirs.get(Field::Pages)),
        ("Title from a", "99")
    );
    // Settled as this browser's, everything of b's reaches a.
    b.resolve_conflict(&waiting[0], Resolution::KeepLocal)
        .await
        .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    let on_a = a.get_reference(&paper.key).await.unwrap().unwrap();
    assert_eq!(
        (on_a.title(), on_a.get(Field::Pages)),
        ("Title from b", "10-20")
    );
}

/// Issue 20, defect 3: an edit built from the copy the window read before a sync wrote a newer
/// one is carried onto the newer copy, instead of writing the old copy back (which reverted the
/// other device's change everywhere once pushed).
#[wasm_bindgen_test]
async fn an_edit_built_before_a_sync_keeps_what_the_sync_brought() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service);
    let a = fresh("stale-a").await;
    let b = fresh("stale-b").await;
    let (mut ka, mut kb) = (batch_keys("ta"), batch_keys("tb"));
    let paper = reference(21, "Paper");
    a.write(&[Write::Put(Object::Reference(paper.clone()))])
        .await
        .unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    // a's window shows the paper; meanwhile b changes the year and a's sync brings it in.
    let window = a.get_reference(&paper.key).await.unwrap().unwrap();
    let mut on_b = paper.clone();
    on_b.set(Field::Year, "1962");
    b.write(&[Write::change(
        Object::Reference(paper.clone()),
        Object::Reference(on_b),
    )])
    .await
    .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    sync(&a, &remote, &mut ka).await.unwrap();
    // The person types a title into the copy the window still shows.
    let mut typed = window.clone();
    typed.set(Field::Title, "Typed");
    let written = a
        .write(&[Write::change(
            Object::Reference(window),
            Object::Reference(typed),
        )])
        .await
        .unwrap();
    let Write::Put(Object::Reference(shown)) = &written[0] else {
        panic!("the written copy")
    };
    assert_eq!((shown.title(), shown.get(Field::Year)), ("Typed", "1962"));
    sync(&a, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    for store in [&a, &b] {
        let r = store.get_reference(&paper.key).await.unwrap().unwrap();
        assert_eq!((r.title(), r.get(Field::Year)), ("Typed", "1962"));
    }
}

/// The rest of defect 3's kind: a person's edit in another tab between this tab's sync
/// reading a page and writing it is not overwritten (the dirty mark's token tells).
#[wasm_bindgen_test]
async fn an_edit_in_another_tab_while_this_tab_syncs_is_not_overwritten() {
    let service = Rc::new(RefCell::new(MemoryService::new()));
    let remote = MemoryRemote::new(service);
    let syncing = fresh("tabs-race").await;
    let other_tab = fresh("tabs-race").await;
    let b = fresh("tabs-race-b").await;
    let (mut ka, mut kb) = (batch_keys("xa"), batch_keys("xb"));
    let paper = reference(22, "Paper");
    syncing
        .write(&[Write::Put(Object::Reference(paper.clone()))])
        .await
        .unwrap();
    sync(&syncing, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    let mut on_b = paper.clone();
    on_b.set(Field::Pages, "1-10");
    b.write(&[Write::change(
        Object::Reference(paper.clone()),
        Object::Reference(on_b.clone()),
    )])
    .await
    .unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    // This tab's engine reads the paper for a page...
    let read = syncing
        .get_many(&[(ObjectKind::Reference, paper.key)])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    // ...the other tab saves an edit...
    let mut typed = paper.clone();
    typed.set(Field::Volume, "7");
    other_tab
        .write(&[Write::change(
            Object::Reference(paper.clone()),
            Object::Reference(typed),
        )])
        .await
        .unwrap();
    // ...and the page's copy arrives: it must not replace the edit.
    syncing
        .apply(
            vec![StoreChange::Put(refsync_core::sync::LocalObject {
                base_version: read.base_version + 1,
                base: Some(Object::Reference(on_b.clone())),
                current: Some(Object::Reference(on_b)),
                dirty: false,
                ..read
            })],
            None,
        )
        .await
        .unwrap();
    let now = syncing.get_reference(&paper.key).await.unwrap().unwrap();
    assert_eq!(
        now.get(Field::Volume),
        "7",
        "the other tab's edit is still there"
    );
    assert_eq!(
        syncing.dirty_count().await.unwrap(),
        1,
        "and still to be sent"
    );
    sync(&syncing, &remote, &mut ka).await.unwrap();
    sync(&b, &remote, &mut kb).await.unwrap();
    let r = b.get_reference(&paper.key).await.unwrap().unwrap();
    assert_eq!((r.get(Field::Volume), r.get(Field::Pages)), ("7", "1-10"));
}
