//! End-to-end sync between two browsers (two fresh profiles: two devices) through the real
//! service: what is deleted, trashed and edited on one arrives on the other; a same-field
//! edit becomes a Sync Conflict resolved each way; an edit against a permanent delete; the
//! storage limit; an expired sign-in; the service going away mid-sync; reset sync with a
//! wipe; a second account refused; two tabs of one browser; an edit made during a sync sent
//! when it ends.

use super::*;
use harness::{with_app_on, with_browser, App, TestServer};

const EMAIL: &str = "researcher@example.org";
pub(crate) use crate::desk::PASSWORD;
pub(crate) const CTRL_A: &str = "\u{E009}a\u{E009}";

/// Open the sign-in dialog. The account bar is drawn again as a session ends (the button can
/// be replaced between finding and clicking it), so press until the dialog is open.
pub(crate) async fn open_sign_in(c: &Client) {
    wait_until(c, "the sign-in dialog", || async {
        if c.find(Locator::Css("#sign-in-dialog")).await.is_ok() {
            return true;
        }
        if let Ok(button) = c.find(Locator::Css("#sign-in")).await {
            let _ = button.click().await;
        }
        c.find(Locator::Css("#sign-in-dialog")).await.is_ok()
    })
    .await;
}

pub(crate) async fn create_account(c: &Client, email: &str) {
    open_sign_in(c).await;
    click(c, "#tab-create").await;
    type_into(c, "#account-email-input", email).await;
    type_into(c, "#account-password", PASSWORD).await;
    click(c, "#account-submit").await;
    wait_text(c, "#account-email", |t| t == email).await;
    wait_text(c, "#notice", |t| t.starts_with("Synced")).await;
}

pub(crate) async fn sign_in(c: &Client, email: &str) {
    open_sign_in(c).await;
    type_into(c, "#account-email-input", email).await;
    type_into(c, "#account-password", PASSWORD).await;
    click(c, "#account-submit").await;
}

/// Open a second device: a fresh browser on the same service, signed in to the account.
async fn second_device<F, Fut>(app: &App, steps: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    second_device_as(app, EMAIL, steps).await;
}

/// A second device signed in to `email`'s account.
pub(crate) async fn second_device_as<F, Fut>(app: &App, email: &'static str, steps: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let downloads = tempfile::tempdir().unwrap();
    let url = app.url.clone();
    with_browser(downloads.path(), move |b| async move {
        b.goto(&url).await.unwrap();
        wait_text(&b, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        sign_in(&b, email).await;
        wait_text(&b, "#notice", |t| t.starts_with("Synced")).await;
        steps(b).await;
    })
    .await;
}

/// Select the row whose text contains `title`.
pub(crate) async fn pick_row(c: &Client, title: &str) {
    let xpath = format!(
        "//div[@id='reference-list']//*[contains(concat(' ', @class, ' '), ' ref-row ')][contains(., '{title}')]"
    );
    wait_until(c, &format!("a row “{title}”"), || async {
        c.find(Locator::XPath(&xpath)).await.is_ok()
    })
    .await;
    c.find(Locator::XPath(&xpath))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub(crate) async fn wait_until<F, Fut>(c: &Client, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let _ = c;
    let start = std::time::Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Replace a field's text as a person would (select all, type), and wait for the save.
pub(crate) async fn retype(c: &Client, css: &str, text: &str) {
    type_into(c, css, CTRL_A).await;
    type_into(c, css, text).await;
    wait_text(c, "#save-state", |t| t == "Saved").await;
}

/// Give each reference (by its title) a new title on A and another on B: while the service
/// is away, the makings of a same-field conflict each.
async fn retitle_on_both(a: &Client, b: &Client, titles: &[(&str, &str, &str)]) {
    for (title, on_a, on_b) in titles {
        pick_row(a, title).await;
        retype(a, "#field-title", on_a).await;
        pick_row(b, title).await;
        retype(b, "#field-title", on_b).await;
    }
}

/// How many messages the status bar has shown.
pub(crate) async fn notices(c: &Client) -> u64 {
    c.find(Locator::Css("#notice"))
        .await
        .unwrap()
        .attr("data-seq")
        .await
        .unwrap()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Press Sync now (once it can be pressed) and wait for the message saying how it went.
pub(crate) async fn sync_now(c: &Client) {
    let before = notices(c).await;
    wait_until(c, "Sync now to be ready", || async {
        match c.find(Locator::Css("#sync-now")).await {
            Ok(b) => b.attr("disabled").await.unwrap().is_none(),
            Err(_) => false,
        }
    })
    .await;
    click(c, "#sync-now").await;
    wait_until(c, "the sync's message", || async {
        notices(c).await > before
    })
    .await;
}

/// Hold back (or let go) the page's GET requests whose path ends with `path_end`, as a slow
/// network would: `/changes` (every sync pulls), `/invitations` (a sync that asks for the
/// account's lists asks as it starts and reads the answer once its own pushes and pulls are
/// through). `window.__held` counts those waiting.
pub(crate) async fn hold_requests(c: &Client, path_end: &str, hold: bool) {
    c.execute(
        r#"const hold = arguments[0];
        window.__holdPath = arguments[1];
        if (!window.__realFetch) {
            window.__realFetch = window.fetch.bind(window);
            window.__held = [];
            window.fetch = (input, init) => {
                // Read, never copied: a Request copied takes its body with it.
                const isRequest = input instanceof Request;
                const url = isRequest ? input.url : String(input);
                const method = ((init && init.method) || (isRequest ? input.method : 'GET')).toUpperCase();
                const path = new URL(url, location.href).pathname;
                if (window.__holding && method === 'GET' && path.endsWith(window.__holdPath)) {
                    return new Promise(go => window.__held.push(go))
                        .then(() => window.__realFetch(input, init));
                }
                return window.__realFetch(input, init);
            };
        }
        window.__holding = hold;
        if (!hold) { window.__held.splice(0).forEach(go => go()); }"#,
        vec![serde_json::json!(hold), serde_json::json!(path_end)],
    )
    .await
    .unwrap();
}

/// Whether the account's change stream is open in this window (`#account-email`'s
/// `data-live`).
pub(crate) async fn live(c: &Client) -> bool {
    match c.find(Locator::Css("#account-email")).await {
        Ok(e) => e.attr("data-live").await.ok().flatten().as_deref() == Some("true"),
        Err(_) => false,
    }
}

/// How many of the page's requests [`hold_requests`] holds back now.
pub(crate) async fn held(c: &Client) -> u64 {
    c.execute("return (window.__held || []).length", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

pub(crate) async fn row_titles(c: &Client) -> Vec<String> {
    let mut rows: Vec<String> = c
        .execute(
            "return [...document.querySelectorAll('#reference-list .ref-row .col-title')].map(e => { const c = e.cloneNode(true); c.querySelectorAll('.badge').forEach(b => b.remove()); return c.textContent.trim(); })",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn deletes_trash_edits_and_attachments_cross_between_two_devices() {
    let scratch = tempfile::tempdir().unwrap();
    let (pdf, pdf_bytes) = write_pdf(scratch.path(), "paper.pdf", 20_000);
    with_app(move |a, app| async move {
        add_reference(&a, "Deleted on B", "Able, A.", "2001").await;
        add_reference(&a, "Trashed on A", "Baker, B.", "2002").await;
        add_reference(&a, "Edited on both", "Carter, C.", "2003").await;
        a.find(Locator::Css("#attach-file"))
            .await
            .unwrap()
            .send_keys(&pdf.display().to_string())
            .await
            .unwrap();
        wait_text(&a, "#attachments", |t| t.contains("paper.pdf")).await;
        create_account(&a, EMAIL).await;

        let a2 = a.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            wait_text(&b, "#count-all", |t| t == "3").await;
            // The attachment's bytes came too.
            pick_row(&b, "Edited on both").await;
            wait_text(&b, "#attachments", |t| t.contains("paper.pdf")).await;
            let bytes = b
                .execute_async(
                    r#"const done = arguments[0];
                    const open = indexedDB.open('refsync');
                    open.onsuccess = () => {
                        const tx = open.result.transaction('blobs');
                        const all = tx.objectStore('blobs').getAll();
                        all.onsuccess = async () => {
                            const sizes = await Promise.all(all.result.map(b => b.size));
                            done(sizes);
                        };
                    };"#,
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(
                bytes,
                serde_json::json!([pdf_bytes.len()]),
                "the attachment's bytes are in the second browser"
            );

            // B deletes one for good; A trashes another; each edits another field of the third.
            pick_row(&b, "Deleted on B").await;
            type_into(&b, "#reference-list", DELETE).await;
            wait_text(&b, "#count-trash", |t| t == "1").await;
            click(&b, "#nav-trash").await;
            pick_row(&b, "Deleted on B").await;
            click(&b, "#delete-selected").await;
            click(&b, "#confirm-delete").await;
            wait_text(&b, "#count-trash", |t| t == "0").await;
            click(&b, "#nav-all").await;
            pick_row(&b, "Edited on both").await;
            retype(&b, "#field-pages", "101-120").await;

            pick_row(&a, "Trashed on A").await;
            click(&a, "#trash-reference").await;
            wait_text(&a, "#count-trash", |t| t == "1").await;
            pick_row(&a, "Edited on both").await;
            retype(&a, "#field-volume", "7").await;

            sync_now(&a).await;
            sync_now(&b).await;
            sync_now(&a).await;
            for (c, name) in [(&a, "A"), (&b, "B")] {
                wait_text(c, "#count-all", |t| t == "1").await;
                wait_text(c, "#count-trash", |t| t == "1").await;
                click(c, "#nav-all").await;
                assert_eq!(row_titles(c).await, ["Edited on both"], "{name}");
                pick_row(c, "Edited on both").await;
                assert_eq!(field_value(c, "#field-volume").await, "7", "{name}");
                assert_eq!(field_value(c, "#field-pages").await, "101-120", "{name}");
                assert!(
                    absent(c, "#nav-conflicts").await,
                    "different fields merge without a conflict ({name})"
                );
                click(c, "#nav-trash").await;
                assert_eq!(row_titles(c).await, ["Trashed on A"], "{name}");
            }

            // An edit made while a sync is under way (held at its pull) goes as soon as that
            // sync ends, without another Sync now.
            click(&a, "#nav-all").await;
            pick_row(&a, "Edited on both").await;
            hold_requests(&a, "/changes", true).await;
            click(&a, "#sync-now").await;
            wait_until(&a, "the sync held", || async { held(&a).await > 0 }).await;
            retype(&a, "#field-volume", "8").await;
            // The edit asks for its own sync 5 s after it, while the one under way still waits.
            tokio::time::sleep(Duration::from_secs(7)).await;
            hold_requests(&a, "/changes", false).await;
            wait_text(&a, "#notice", |t| t.contains("1 sent")).await;
            sync_now(&b).await;
            click(&b, "#nav-all").await;
            pick_row(&b, "Edited on both").await;
            assert_eq!(field_value(&b, "#field-volume").await, "8");
        })
        .await;
    })
    .await;
}

/// A sync with nothing new asks the service for the changes and nothing else while the
/// account's change stream is open: the lists of libraries and invitations are asked for again
/// only when the stream says they changed, or was down (docs/sharing.md). Asking each time
/// cost every sync two more round trips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_sync_with_nothing_new_asks_for_the_lists_only_when_they_may_have_changed() {
    with_app(|a, _app| async move {
        add_reference(&a, "Paper one", "Able, A.", "2001").await;
        create_account(&a, EMAIL).await;
        wait_until(&a, "the account's change stream open", || async {
            live(&a).await
        })
        .await;
        // Asked for while the stream is open (the first sync may have asked before it opened).
        sync_now(&a).await;
        hold_requests(&a, "/invitations", true).await;
        for _ in 0..3 {
            sync_now(&a).await;
        }
        assert_eq!(held(&a).await, 0, "no sync asked for the invitations");
        // The stream said the lists changed (a shared library made here): asked again.
        click(&a, "#new-shared-library").await;
        type_into(&a, "#new-shared-name", "Seminar").await;
        click(&a, "#new-shared-create").await;
        wait_until(&a, "a sync's request for the invitations", || async {
            held(&a).await > 0
        })
        .await;
        hold_requests(&a, "/invitations", false).await;
        wait_text(&a, "#shared-by-me-list", |t| t.contains("Seminar")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn same_field_edits_become_conflicts_resolved_each_way_and_both_devices_end_equal() {
    with_app(|a, app| async move {
        for title in ["Paper one", "Paper two", "Paper three", "Paper four"] {
            add_reference(&a, title, "Able, A.", "2001").await;
        }
        create_account(&a, EMAIL).await;
        let a2 = a.clone();
        let server = app.server.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            wait_text(&b, "#count-all", |t| t == "4").await;

            // The service goes away; both devices keep working and edit the same fields (B
            // offline too, so that A is the first to sync when the service is back).
            server.stop().await;
            harness::set_offline(&b, true).await;
            retitle_on_both(
                &a,
                &b,
                &[
                    ("Paper one", "One as A wrote it", "One as B wrote it"),
                    ("Paper two", "Two as A wrote it", "Two as B wrote it"),
                    ("Paper three", "Three as A wrote it", "Three as B wrote it"),
                ],
            )
            .await;
            // An edit on A against a permanent delete on B.
            pick_row(&a, "Paper four").await;
            retype(&a, "#field-year", "1999").await;
            pick_row(&b, "Paper four").await;
            type_into(&b, "#reference-list", DELETE).await;
            click(&b, "#nav-trash").await;
            pick_row(&b, "Paper four").await;
            click(&b, "#delete-selected").await;
            click(&b, "#confirm-delete").await;
            wait_text(&b, "#count-trash", |t| t == "0").await;
            click(&b, "#nav-all").await;

            // Syncing now fails in plain words and loses nothing.
            sync_now(&a).await;
            wait_text(&a, "#notice", |t| t.contains("Could not reach")).await;
            click(&a, "#sync-status").await;
            wait_text(&a, "#sync-last", |t| t.contains("Could not reach")).await;
            close_dialog(&a, "#sync-status-dialog").await;

            // Back again: A syncs first and its edits win the service; B gets the conflicts.
            server.restart().await;
            sync_now(&a).await;
            wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
            harness::set_offline(&b, false).await;
            sync_now(&b).await;
            wait_text(&b, "#count-conflicts", |t| t == "4").await;
            click(&b, "#nav-conflicts").await;
            wait_count(&b, 4).await;

            // Keep this browser's.
            pick_row(&b, "One as B").await;
            wait_text(&b, "#conflict-card", |t| t.contains("Title")).await;
            click(&b, "#resolve-conflict").await;
            wait_text(&b, "#conflict-dialog", |t| t.contains("One as A wrote it")).await;
            click(&b, "#keep-local").await;
            wait_text(&b, "#count-conflicts", |t| t == "3").await;

            // Keep the online one.
            pick_row(&b, "Two as B").await;
            click(&b, "#resolve-conflict").await;
            wait_text(&b, "#conflict-dialog", |t| t.contains("Two as A wrote it")).await;
            click(&b, "#keep-online").await;
            wait_text(&b, "#count-conflicts", |t| t == "2").await;

            // Pick the online title and edit it before keeping.
            pick_row(&b, "Three as B").await;
            click(&b, "#resolve-conflict").await;
            wait_text(&b, "#conflict-dialog", |t| {
                t.contains("Three as A wrote it")
            })
            .await;
            let differing = texts(&b, "#conflict-dialog .conflict-row.differs th").await;
            assert_eq!(differing, ["Title"], "only the title differs");
            click(&b, "input[name='pick-title'][value='online']").await;
            assert_eq!(
                field_value(&b, "#merged-title").await,
                "Three as A wrote it"
            );
            screenshot(&b, "conflict-dialog").await;
            type_into(&b, "#merged-title", ", then merged").await;
            click(&b, "#keep-merged").await;
            wait_text(&b, "#count-conflicts", |t| t == "1").await;

            // Edited on A, deleted on B: B chooses to keep it deleted.
            pick_row(&b, "Paper four").await;
            wait_text(&b, "#conflict-card", |t| {
                t.contains("permanently in this browser")
            })
            .await;
            screenshot(&b, "conflict-edit-versus-delete").await;
            click(&b, "#conflict-keep-deleted").await;
            wait_until(&b, "the Sync Conflicts group to go", || async {
                absent(&b, "#nav-conflicts").await
            })
            .await;

            sync_now(&b).await;
            wait_text(&b, "#notice", |t| t.starts_with("Synced")).await;
            sync_now(&a).await;
            let want = [
                "One as B wrote it",
                "Three as A wrote it, then merged",
                "Two as A wrote it",
            ];
            for (c, name) in [(&a, "A"), (&b, "B")] {
                click(c, "#nav-all").await;
                wait_text(c, "#count-all", |t| t == "3").await;
                assert_eq!(row_titles(c).await, want, "{name}");
            }
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn the_storage_limit_keeps_the_file_here_and_an_expired_sign_in_asks_again() {
    let scratch = tempfile::tempdir().unwrap();
    let (pdf, pdf_bytes) = write_pdf(scratch.path(), "too-big.pdf", 30_000);
    let server = TestServer::start_with(|config| {
        config.limits.storage_limit = 10_000;
        config.limits.token_ttl_ms = 15_000;
    })
    .await;
    with_app_on(server, move |a, _app| async move {
        add_reference(&a, "A paper with a large file", "Able, A.", "2001").await;
        a.find(Locator::Css("#attach-file"))
            .await
            .unwrap()
            .send_keys(&pdf.display().to_string())
            .await
            .unwrap();
        wait_text(&a, "#attachments", |t| t.contains("too-big.pdf")).await;
        open_sign_in(&a).await;
        click(&a, "#tab-create").await;
        type_into(&a, "#account-email-input", EMAIL).await;
        type_into(&a, "#account-password", PASSWORD).await;
        click(&a, "#account-submit").await;
        wait_text(&a, "#notice", |t| t.contains("online storage is full")).await;
        // The sign-in was made before this point: it expires 15 s after it at the latest.
        let signed_in = std::time::Instant::now();
        click(&a, "#sync-status").await;
        let status = wait_text(&a, "#sync-last", |t| t.contains("too-big.pdf")).await;
        assert!(status.contains("stays in this browser"), "{status}");
        screenshot(&a, "sync-status-storage-limit").await;
        close_dialog(&a, "#sync-status-dialog").await;
        // The file is still here, whole.
        let size = a
            .execute_async(
                r#"const done = arguments[0];
                const open = indexedDB.open('refsync');
                open.onsuccess = () => {
                    const all = open.result.transaction('blobs').objectStore('blobs').getAll();
                    all.onsuccess = () => done(all.result.map(b => b.size));
                };"#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(size, serde_json::json!([pdf_bytes.len()]));

        // Once the sign-in has expired, a sync asks to sign in again and changes nothing.
        let left = Duration::from_millis(15_500).saturating_sub(signed_in.elapsed());
        tokio::time::sleep(left).await;
        sync_now(&a).await;
        wait_text(&a, "#sign-in-dialog", |_| true).await;
        wait_text(&a, "#notice", |t| t.contains("sign-in has expired")).await;
        close_dialog(&a, "#sign-in-dialog").await;
        wait_text(&a, "#count-all", |t| t == "1").await;
        wait_text(&a, "#attachments", |t| t.contains("too-big.pdf")).await;
    })
    .await;
}

/// Issue 24, item 9: several libraries in one browser, each kept apart: a new empty one is
/// made and opened, the library in use is named in the header, one is opened from the other,
/// renamed, and deleted after its backup is offered and taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn several_libraries_in_one_browser_are_made_opened_renamed_and_deleted() {
    with_app(|c, app| async move {
        add_reference(&c, "In my library", "Able, A.", "2001").await;
        wait_text(&c, "#library-switcher", |t| t.contains("My Library")).await;
        click(&c, "#library-switcher").await;
        type_into(&c, "#new-library-name", "Thesis").await;
        click(&c, "#new-library-create").await;
        wait_text(&c, "#library-switcher", |t| t.contains("Thesis")).await;
        wait_text(&c, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        add_reference(&c, "Thesis chapter one", "Baker, B.", "2024").await;
        click(&c, "#library-switcher").await;
        wait_text(&c, "#library-list", |t| {
            t.contains("My Library") && t.contains("Thesis")
        })
        .await;
        screenshot(&c, "library-switcher").await;
        click(&c, ".library-item[data-library='My Library'] .open-library").await;
        wait_text(&c, "#library-switcher", |t| t.contains("My Library")).await;
        wait_until(&c, "My Library's rows", || async {
            row_titles(&c).await == ["In my library"]
        })
        .await;

        click(&c, "#library-switcher").await;
        click(&c, ".library-item[data-library='Thesis'] .open-library").await;
        wait_text(&c, "#library-switcher", |t| t.contains("Thesis")).await;
        wait_until(&c, "Thesis's rows", || async {
            row_titles(&c).await == ["Thesis chapter one"]
        })
        .await;
        click(&c, "#library-switcher").await;
        type_into(&c, "#library-rename", CTRL_A).await;
        type_into(&c, "#library-rename", "Thesis 2027").await;
        click(&c, "#library-rename-save").await;
        wait_text(&c, "#library-switcher", |t| t.contains("Thesis 2027")).await;

        click(&c, "#library-switcher").await;
        click(&c, "#delete-library").await;
        let offer = wait_text(&c, "#libraries-dialog .backup-offer", |t| {
            t.contains("Deleting")
        })
        .await;
        assert!(
            offer.contains("its 1 reference from this browser"),
            "{offer}"
        );
        click(&c, "#delete-library-backup").await;
        harness::wait_download(&app.downloads).await;
        click(&c, "#delete-library-confirm").await;
        wait_text(&c, "#library-switcher", |t| t.contains("My Library")).await;
        wait_until(&c, "My Library's rows", || async {
            row_titles(&c).await == ["In my library"]
        })
        .await;
        click(&c, "#library-switcher").await;
        let left = wait_text(&c, "#library-list", |_| true).await;
        assert!(!left.contains("Thesis"), "{left}");
    })
    .await;
}

/// Issue 24, item 6: signing in with a library that holds references offers a backup first
/// (one click, skippable); Settings then says when it was made and Sync Status does not
/// remind; a library with no backup is reminded in Sync Status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_backup_is_offered_before_the_first_link_and_its_date_is_kept() {
    with_app(|a, app| async move {
        add_reference(&a, "Worth keeping", "Able, A.", "2001").await;
        open_sign_in(&a).await;
        let offer = wait_text(&a, "#sign-in-dialog .backup-offer", |t| {
            t.contains("merges")
        })
        .await;
        assert!(
            offer.contains(
                "Signing in merges this browser's 1 reference with the account's online library."
            ),
            "{offer}"
        );
        click(&a, "#backup-offer").await;
        let zip = harness::wait_download(&app.downloads).await;
        let name = zip.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("refsync-backup-") && name.ends_with(".zip"),
            "{name}"
        );
        wait_text(&a, "#sign-in-dialog .backup-offer", |t| t.contains("Saved")).await;
        click(&a, "#tab-create").await;
        type_into(&a, "#account-email-input", EMAIL).await;
        type_into(&a, "#account-password", PASSWORD).await;
        click(&a, "#account-submit").await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        click(&a, "#settings-open").await;
        wait_text(&a, "#last-backup", |t| {
            t.starts_with("Last backup from this browser:")
        })
        .await;
        close_dialog(&a, "#settings-dialog").await;
        click(&a, "#sync-status").await;
        wait_text(&a, "#sync-last", |_| true).await;
        assert!(
            absent(&a, "#backup-reminder").await,
            "a backup was just made"
        );
        close_dialog(&a, "#sync-status-dialog").await;

        // A second browser whose library came by sync has never been backed up: reminded.
        second_device(&app, move |b| async move {
            click(&b, "#sync-status").await;
            let reminder = wait_text(&b, "#backup-reminder", |_| true).await;
            assert!(
                reminder.contains("No backup of this library has been made in this browser yet."),
                "{reminder}"
            );
            click(&b, "#reminder-backup").await;
            wait_text(&b, "#backup-reminder", |t| t.contains("Saved")).await;
        })
        .await;
    })
    .await;
}

/// Issue 24, item 5: a reference's figure (a real PNG, made by Chromium) shows as a preview in
/// the editor with a caption typed key by key, and both the image and the caption reach the
/// other device; a caption edited there comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_figure_and_its_caption_sync_both_ways() {
    const CAPTION: &str = "Figure 1. Sea ice cover, 1979–2020 (September minimum).";
    let scratch = tempfile::tempdir().unwrap();
    let png = scratch.path().join("sea-ice.png");
    with_app(move |a, app| async move {
        add_reference(&a, "With a figure", "Able, A.", "2001").await;
        create_account(&a, EMAIL).await;
        std::fs::write(&png, a.screenshot().await.unwrap()).unwrap();
        a.find(Locator::Css("#attach-figure"))
            .await
            .unwrap()
            .send_keys(&png.display().to_string())
            .await
            .unwrap();
        wait_figure_shown(&a).await;
        click(&a, "#figure-caption").await;
        harness::type_keys(&a, CAPTION).await;
        assert_eq!(field_value(&a, "#figure-caption").await, CAPTION);
        sync_now(&a).await;

        let a2 = a.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            pick_row(&b, "With a figure").await;
            wait_until(&b, "the caption", || async {
                field_value(&b, "#figure-caption").await == CAPTION
            })
            .await;
            wait_figure_shown(&b).await;
            b.execute(
                "document.querySelector('#figure-preview').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await
            .unwrap();
            screenshot(&b, "figure-with-caption").await;
            retype(&b, "#figure-caption", "Figure 1, revised").await;
            sync_now(&b).await;
            sync_now(&a).await;
            wait_until(&a, "the revised caption", || async {
                field_value(&a, "#figure-caption").await == "Figure 1, revised"
            })
            .await;
        })
        .await;
    })
    .await;
}

/// Wait until the editor's figure preview shows a decoded image.
async fn wait_figure_shown(c: &Client) {
    wait_until(c, "the figure's preview", || async {
        c.execute(
            "const i = document.querySelector('#figure-preview'); return !!i && i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .is_ok_and(|v| v == serde_json::json!(true))
    })
    .await;
}

/// Issue 24, item 8: every conflict in Sync Conflicts settled in one pass, after a question
/// that says how many; what was kept reaches the other device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn every_conflict_is_settled_in_one_pass_from_sync_conflicts() {
    with_app(|a, app| async move {
        for title in ["Paper one", "Paper two", "Paper three"] {
            add_reference(&a, title, "Able, A.", "2001").await;
        }
        create_account(&a, EMAIL).await;
        let a2 = a.clone();
        let server = app.server.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            wait_text(&b, "#count-all", |t| t == "3").await;
            server.stop().await;
            retitle_on_both(
                &a,
                &b,
                &[
                    ("Paper one", "One by A", "One by B"),
                    ("Paper two", "Two by A", "Two by B"),
                    ("Paper three", "Three by A", "Three by B"),
                ],
            )
            .await;
            server.restart().await;
            sync_now(&a).await;
            sync_now(&b).await;
            wait_text(&b, "#count-conflicts", |t| t == "3").await;
            click(&b, "#nav-conflicts").await;
            click(&b, "#keep-all-local").await;
            let asked = wait_text(&b, "#confirm-dialog", |t| t.contains("all 3")).await;
            assert!(
                asked
                    .contains("Keep this browser's version of all 3 references in Sync Conflicts?"),
                "{asked}"
            );
            click(&b, "#confirm-keep-all").await;
            wait_text(&b, "#notice", |t| {
                t.starts_with("Kept this browser's version of 3 references")
            })
            .await;
            wait_text(&b, "#list-title", |t| t == "All References").await;
            assert!(absent(&b, "#nav-conflicts").await);
            sync_now(&b).await;
            sync_now(&a).await;
            for c in [&a, &b] {
                assert_eq!(row_titles(c).await, ["One by B", "Three by B", "Two by B"]);
            }
        })
        .await;
    })
    .await;
}

/// Issue 24, items 1, 3 and 4: the online storage in use and its warning from 90% (Sync
/// Status, Settings); a file over the service's largest file is never tried, is marked in
/// the editor and named in Sync Status while the rest syncs; a push over the reference limit
/// says so in words and the browser still receives the other device's edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn storage_in_use_a_file_too_large_and_the_reference_limit_are_shown_in_words() {
    let scratch = tempfile::tempdir().unwrap();
    let (small, _) = write_pdf(scratch.path(), "small.pdf", 10_000);
    let (big, _) = write_pdf(scratch.path(), "big.pdf", 30_000);
    let server = TestServer::start_with(|config| {
        config.limits.storage_limit = 11_000;
        config.limits.max_file_size = 20_000;
        config.limits.reference_limit = Some(1);
    })
    .await;
    with_app_on(server, move |a, app| async move {
        add_reference(&a, "Paper with two files", "Able, A.", "2001").await;
        for file in [&small, &big] {
            a.find(Locator::Css("#attach-file"))
                .await
                .unwrap()
                .send_keys(&file.display().to_string())
                .await
                .unwrap();
        }
        wait_text(&a, "#attachments", |t| {
            t.contains("small.pdf") && t.contains("big.pdf")
        })
        .await;
        open_sign_in(&a).await;
        click(&a, "#tab-create").await;
        type_into(&a, "#account-email-input", EMAIL).await;
        type_into(&a, "#account-password", PASSWORD).await;
        click(&a, "#account-submit").await;
        wait_text(&a, "#notice", |t| {
            t.contains("too large to sync (limit 20 KB)")
        })
        .await;
        let row = wait_text(&a, "#attachments .attachment:has(.too-large)", |_| true).await;
        a.execute(
            "document.querySelector('#attachments').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
        screenshot(&a, "attachment-too-large").await;
        assert!(
            row.contains("big.pdf") && row.contains("too large to sync (limit 20 KB)"),
            "{row}"
        );

        click(&a, "#sync-status").await;
        let last = wait_text(&a, "#sync-last", |t| t.contains("big.pdf")).await;
        assert!(last.contains("is not synced; everything else is"), "{last}");
        let usage = wait_text(&a, "#sync-status-dialog #storage-usage", |t| {
            t.contains("used")
        })
        .await;
        assert!(usage.contains("10 KB of 11 KB used (90%)"), "{usage}");
        assert!(usage.contains("1 of 1 references online"), "{usage}");
        let warning = wait_text(&a, "#storage-warning", |_| true).await;
        assert!(
            warning.starts_with("Your online storage is 90% full."),
            "{warning}"
        );
        screenshot(&a, "sync-status-storage-usage").await;
        close_dialog(&a, "#sync-status-dialog").await;
        click(&a, "#settings-open").await;
        wait_text(&a, "#settings-dialog #storage-usage", |t| {
            t.contains("10 KB of 11 KB used (90%)")
        })
        .await;
        close_dialog(&a, "#settings-dialog").await;

        let a2 = a.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            // Everything but the large file's bytes arrived.
            pick_row(&b, "Paper with two files").await;
            wait_text(&b, "#attachments", |t| {
                t.contains("small.pdf") && t.contains("big.pdf")
            })
            .await;
            retype(&b, "#field-volume", "9").await;
            sync_now(&b).await;

            // The account holds its one reference: A's second is refused in words, and A
            // still receives B's edit.
            add_reference(&a, "One too many", "Baker, B.", "2002").await;
            sync_now(&a).await;
            let told = wait_text(&a, "#notice", |t| t.contains("may hold at most 1")).await;
            assert!(
                told.contains("Changes from your other devices were still received"),
                "{told}"
            );
            pick_row(&a, "Paper with two files").await;
            assert_eq!(
                field_value(&a, "#field-volume").await,
                "9",
                "B's edit arrived"
            );
            assert_eq!(
                row_titles(&a).await.len(),
                2,
                "the refused reference stays here"
            );
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn reset_with_a_wipe_makes_the_other_device_link_again_and_a_second_account_is_refused() {
    with_app(|a, app| async move {
        add_reference(&a, "Kept through the reset", "Able, A.", "2001").await;
        create_account(&a, EMAIL).await;

        // Another account cannot take over a linked library.
        click(&a, "#sign-out").await;
        wait_text(&a, "#sign-in", |_| true).await;
        open_sign_in(&a).await;
        click(&a, "#tab-create").await;
        type_into(&a, "#account-email-input", "someone.else@example.org").await;
        type_into(&a, "#account-password", PASSWORD).await;
        click(&a, "#account-submit").await;
        let refusal = wait_text(&a, "#sign-in-dialog .error", |t| !t.is_empty()).await;
        assert!(
            refusal.contains("can be linked to only one account") && refusal.contains("reset sync"),
            "{refusal}"
        );
        close_dialog(&a, "#sign-in-dialog").await;
        sign_in(&a, EMAIL).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;

        let a2 = a.clone();
        second_device(&app, move |b| async move {
            let a = a2;
            wait_text(&b, "#count-all", |t| t == "1").await;
            add_reference(&b, "Added on B", "Baker, B.", "2002").await;
            sync_now(&b).await;
            // The service's change hint brings B's addition to A.
            wait_text(&a, "#count-all", |t| t == "2").await;

            // Reset on A, emptying the online library, after offering a backup.
            click(&a, "#settings-open").await;
            wait_text(&a, "#settings-dialog", |t| t.contains("Reset sync")).await;
            click(&a, "#reset-wipe").await;
            click(&a, "#reset-sync").await;
            screenshot(&a, "reset-sync").await;
            click(&a, "#reset-confirm").await;
            wait_text(&a, "#notice", |t| t.contains("online library emptied")).await;
            wait_text(&a, "#sign-in", |_| true).await;
            wait_text(&a, "#count-all", |t| t == "2").await;

            // B is told to link again instead of syncing stale data.
            sync_now(&b).await;
            wait_text(&b, "#notice", |t| t.contains("reset on another device")).await;
            click(&b, "#sync-status").await;
            wait_text(&b, "#sync-last", |t| t.contains("no longer linked")).await;
            wait_text(&b, "#count-all", |t| t == "2").await;
            click(&b, "#relink").await;
            wait_text(&b, "#notice", |t| t.starts_with("Synced")).await;

            // A links again to the same account: the two libraries are one again.
            sign_in(&a, EMAIL).await;
            wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
            sync_now(&b).await;
            for c in [&a, &b] {
                wait_text(c, "#count-all", |t| t == "2").await;
                assert_eq!(
                    row_titles(c).await,
                    ["Added on B", "Kept through the reset"]
                );
            }
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn two_tabs_of_one_browser_stay_current_and_sync_in_turn() {
    with_app(|c, app| async move {
        add_reference(&c, "Made in the first tab", "Able, A.", "2001").await;
        let first = c.window().await.unwrap();
        let second = c.new_window(true).await.unwrap();
        c.switch_to_window(second.handle.clone()).await.unwrap();
        c.goto(&app.url).await.unwrap();
        wait_text(&c, "#count-all", |t| t == "1").await;

        // An edit in one tab shows in the other.
        add_reference(&c, "Made in the second tab", "Baker, B.", "2002").await;
        c.switch_to_window(first.clone()).await.unwrap();
        wait_text(&c, "#count-all", |t| t == "2").await;

        // Signing in in one tab signs in both; a sync from each runs in turn, neither fails.
        create_account(&c, EMAIL).await;
        c.switch_to_window(second.handle.clone()).await.unwrap();
        wait_text(&c, "#account-email", |t| t == EMAIL).await;
        click(&c, "#sync-now").await;
        c.switch_to_window(first.clone()).await.unwrap();
        click(&c, "#sync-now").await;
        for tab in [&first, &second.handle] {
            c.switch_to_window(tab.clone()).await.unwrap();
            click(&c, "#sync-status").await;
            wait_text(&c, "#sync-history", |t| t.matches("sent").count() >= 2).await;
            let history = texts(&c, "#sync-history tbody tr").await.join("\n");
            assert!(!history.contains("did not"), "{history}");
            assert!(!history.contains("Could not"), "{history}");
            close_dialog(&c, "#sync-status-dialog").await;
        }
        c.switch_to_window(first.clone()).await.unwrap();
        wait_text(&c, "#count-all", |t| t == "2").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_first_download_cut_by_the_service_going_away_finishes_cleanly_after_it_returns() {
    // Twenty pages: the app asks for the next page while it stores one, and stores a page in
    // a few packs in ~0.1 s, so the service must go away with many pages still to come (at
    // five pages the whole download could finish between the bar's first count and the cut).
    const N: usize = 100_000;
    let refs: Vec<refsync_core::Reference> = (0..N)
        .map(|i| {
            let mut r = refsync_core::Reference::new(
                refsync_core::Key::new(1_600_000_000_000 + i as u64, [(i % 251) as u8; 10]),
                refsync_core::RefType::JournalArticle,
                1_600_000_000_000 + i as u64,
            );
            r.set(refsync_core::Field::Title, format!("Paper number {i}"));
            r
        })
        .collect();
    let server = TestServer::start().await;
    harness::Online::seed(
        &reqwest::Client::new(),
        &server.base_url,
        EMAIL,
        PASSWORD,
        &refs,
    )
    .await;
    with_app_on(server, |c, app| async move {
        sign_in(&c, EMAIL).await;
        // The first page is in (the bar counts it), then the service goes away.
        wait_text(&c, "#sync-progress", |t| t.contains("5,000 of 100,000")).await;
        app.server.stop().await;
        wait_text(&c, "#notice", |t| t.contains("Could not reach")).await;
        // What arrived is kept and shown; nothing is half-written.
        let partial: usize = wait_text(&c, "#count-all", |t| t != "0")
            .await
            .parse()
            .unwrap();
        assert!(
            partial.is_multiple_of(5_000) && partial < N,
            "whole pages only: {partial}"
        );

        app.server.restart().await;
        sync_now(&c).await;
        wait_text(&c, "#notice", |t| t.starts_with("Synced")).await;
        wait_text(&c, "#count-all", |t| t == "100000").await;
        c.refresh().await.unwrap();
        wait_text(&c, "#count-all", |t| t == "100000").await;
        click(&c, "#sync-status").await;
        wait_text(&c, "#sync-history", |t| t.contains("Could not reach")).await;
    })
    .await;
}

/// The sync engine is a part loaded on first use (src/later.rs). A browser that does not hold
/// it and cannot fetch it says so as a connection failure, in words, the library untouched; once
/// the part can be fetched again, Sync now syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_sync_whose_engine_cannot_be_fetched_says_so_and_syncs_once_it_can() {
    let scratch = tempfile::tempdir().unwrap();
    let dist = scratch.path().join("dist");
    harness::copy_dir(&harness::dist_dir(), &dist);
    let engine = harness::lazy_part(&dist, "sync");
    let served = dist.clone();
    let server = TestServer::start_with(move |config| config.dist = served).await;
    with_app_on(server, move |c, _app| async move {
        wait_for_offline_shell(&c).await;
        create_account(&c, "engine@example.org").await;
        add_reference(&c, "Kept while the engine is away", "Moss, Ada", "2024").await;

        // The part gone from this browser and from the service; a new page must fetch it.
        let removed = harness::forget_cached_part(&c, "sync").await;
        assert_eq!(removed, Some(1), "the part was kept once");
        let away = engine.with_extension("away");
        std::fs::rename(&engine, &away).unwrap();
        c.refresh().await.unwrap();
        wait_text(&c, "#storage-status", |t| t.starts_with("1 reference")).await;
        sync_now(&c).await;
        wait_text(&c, "#notice", |t| {
            t.contains("Could not reach the refsync service")
        })
        .await;
        assert_eq!(row_titles(&c).await, ["Kept while the engine is away"]);

        std::fs::rename(&away, &engine).unwrap();
        sync_now(&c).await;
        wait_text(&c, "#notice", |t| t.starts_with("Synced")).await;
    })
    .await;
}
