//! End-to-end: the real server serving the real app to headless Chromium, driven like a
//! person would drive it. Every test starts from a fresh browser profile.
//!
//! These tests need the built app (`dist/`), so a plain `cargo test` lists them as ignored;
//! `cargo xtask test` builds the app and then runs them with `--ignored` as its end-to-end
//! suite.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

// The crate root of an integration test resolves modules from tests/, hence the path.
#[path = "e2e/cite.rs"]
mod cite;
#[path = "e2e/desktop.rs"]
mod desktop;
#[path = "e2e/duplicates.rs"]
mod duplicates;
#[path = "e2e/everyday.rs"]
mod everyday;
// The CLI driver the CLI's own tests use: the desktop side of the pair tests (which need
// only part of it).
#[path = "../crates/cli/tests/support/corpus.rs"]
mod corpus;
#[path = "../crates/cli/tests/support/desk.rs"]
#[allow(dead_code)]
mod desk;
#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/sharing.rs"]
mod sharing;
#[path = "e2e/sync.rs"]
mod sync;

use corpus::{expected_import, CORPUS_RIS};
use fantoccini::{Client, Locator};
use harness::{
    absent, click, corpus_file, screenshot, select, texts, type_into, wait_download,
    wait_for_offline_shell, wait_text, with_app,
};
use std::path::Path;
use std::time::Duration;
use sync::{open_sign_in, wait_until};

const DELETE: &str = "\u{E017}";
const DOWN: &str = "\u{E015}";

/// Import `path` through the dialog (into a new group when `group` is given); the report.
async fn import(c: &Client, path: &Path, group: Option<&str>) -> String {
    click(c, "#import-button").await;
    c.find(Locator::Css("#import-file"))
        .await
        .expect("file input")
        .send_keys(&path.display().to_string())
        .await
        .expect("choose the file");
    if let Some(name) = group {
        select(c, "#import-group", "new").await;
        type_into(c, "#import-new-group", name).await;
    }
    click(c, "#import-start").await;
    wait_until(c, "the import's report, or its question", || async {
        c.find(Locator::Css("#import-report, #import-existing"))
            .await
            .is_ok()
    })
    .await;
    // Asked without waiting: one of the two is there now.
    if absent(c, "#import-existing").await {
        wait_text(c, "#import-report", |t| t.contains("imported")).await
    } else {
        // Records already here: the caller answers the question.
        wait_text(c, "#import-existing", |_| true).await
    }
}

/// Import `path` into no group and wait until the list shows its `count` references.
async fn import_all(c: &Client, path: &Path, count: usize) {
    import(c, path, None).await;
    close_dialog(c, "#import-dialog").await;
    wait_count(c, count).await;
}

async fn close_dialog(c: &Client, dialog: &str) {
    click(c, &format!("{dialog} [aria-label=Close]")).await;
}

async fn wait_count(c: &Client, n: usize) {
    let want = format!("{n} ");
    let want_thousands = format!("{} ", thousands(n));
    wait_text(c, "#list-count", |t| {
        t.starts_with(&want) || t.starts_with(&want_thousands)
    })
    .await;
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

async fn add_reference(c: &Client, title: &str, authors: &str, year: &str) {
    click(c, "#new-reference").await;
    wait_text(c, "#reference-form", |t| t.contains("New reference")).await;
    type_into(c, "#ref-title", title).await;
    type_into(c, "#ref-authors", authors).await;
    type_into(c, "#ref-year", year).await;
    click(c, "#ref-save").await;
    // The new reference's editor (with its attachment and Trash buttons) replaces the form.
    let start = std::time::Instant::now();
    loop {
        let shown = match c.find(Locator::Css("#reference-editor #field-title")).await {
            Ok(e) => e.prop("value").await.ok().flatten().as_deref() == Some(title),
            Err(_) => false,
        };
        if shown && c.find(Locator::Css("#attach-file")).await.is_ok() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the editor of “{title}” never showed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A file that starts like a PDF, `body` bytes after the header, in `dir`: its path and bytes.
fn write_pdf(dir: &Path, name: &str, body: u32) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join(name);
    let bytes: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..body).map(|i| (i % 251) as u8))
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// Choose the first group in a group menu (`#add-to-group` above the list, `#editor-add-group`
/// in the editor): files the selection, or the reference, into it.
async fn choose_first_group(c: &Client, menu: &str) {
    let group_key = c
        .find(Locator::Css(&format!("{menu} option:nth-child(2)")))
        .await
        .unwrap_or_else(|e| panic!("no group in {menu}: {e}"))
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    select(c, menu, &group_key).await;
}

async fn field_value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_reference_added_in_the_browser_is_still_there_after_a_reload() {
    with_app(|c, _app| async move {
        wait_text(&c, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        wait_text(&c, "#connection", |t| t.contains("Online")).await;

        click(&c, "#new-reference").await;
        wait_text(&c, "#reference-form", |t| t.contains("New reference")).await;
        select(&c, "#ref-type", "book").await;
        type_into(&c, "#ref-title", "The Structure of Scientific Revolutions").await;
        type_into(&c, "#ref-authors", "Kuhn, Thomas S.").await;
        type_into(&c, "#ref-year", "1962").await;
        click(&c, "#ref-save").await;

        expect_kuhn_row(&c).await;
        wait_text(&c, "#count-all", |t| t == "1").await;
        wait_text(&c, "#reference-editor", |_| true).await;
        assert_eq!(
            field_value(&c, "#field-title").await,
            "The Structure of Scientific Revolutions"
        );
        assert_eq!(field_value(&c, "#creators .creator-family").await, "Kuhn");
        assert_eq!(
            field_value(&c, "#creators .creator-given").await,
            "Thomas S."
        );
        screenshot(&c, "reference-added").await;

        c.refresh().await.expect("reload");
        expect_kuhn_row(&c).await;
        wait_text(&c, "#storage-status", |t| {
            t == "1 reference stored in this browser"
        })
        .await;
        let rows = texts(&c, "#reference-list .ref-row").await;
        assert_eq!(rows.len(), 1, "the reload shows the one reference, once");
        screenshot(&c, "after-reload").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn an_empty_reference_is_refused_with_a_message_and_nothing_saved() {
    with_app(|c, _app| async move {
        click(&c, "#new-reference").await;
        click(&c, "#ref-save").await;
        wait_text(&c, "#reference-form .error", |t| {
            t == "Give the reference a title or at least one author."
        })
        .await;
        screenshot(&c, "new-reference-form-error").await;
        c.refresh().await.expect("reload");
        wait_text(&c, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        wait_text(&c, ".empty-state", |t| t.contains("Your library is empty")).await;
    })
    .await;
}

/// The list shows the reference the first test adds, with every column filled in.
async fn expect_kuhn_row(c: &Client) {
    let row = wait_text(c, "#reference-list .ref-row", |t| {
        t.contains("The Structure of Scientific Revolutions")
    })
    .await;
    assert!(
        row.contains("Kuhn") && row.contains("1962") && row.contains("Book"),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_real_corpus_file_imports_with_a_report_and_every_row() {
    let path = corpus_file(CORPUS_RIS);
    let (imported, skipped) = expected_import(&path);
    assert!(imported > 100, "a file worth importing: {imported}");
    with_app(move |c, _app| async move {
        let report = import(&c, &path, Some("Scopus search")).await;
        assert!(
            report.contains(&format!("imported {imported}, skipped {skipped}")),
            "{report}"
        );
        screenshot(&c, "import-report").await;
        close_dialog(&c, "#import-dialog").await;
        // The import opens its new group, which holds every reference.
        wait_text(&c, "#list-title", |t| t == "Scopus search").await;
        wait_count(&c, imported).await;
        click(&c, "#nav-all").await;
        wait_count(&c, imported).await;
        wait_text(&c, "#count-all", |t| t == imported.to_string()).await;
        // Only a window of rows is in the page, however long the list.
        let rows = texts(&c, "#reference-list .ref-row").await;
        assert!(!rows.is_empty() && rows.len() <= imported, "{}", rows.len());
        screenshot(&c, "library-after-import").await;

        // A tablet's width: the reference pane goes under the list, and all of it still works.
        c.set_window_size(820, 1100).await.expect("resize");
        click(&c, "#reference-list .ref-row").await;
        wait_text(&c, "#reference-editor", |_| true).await;
        screenshot(&c, "tablet-width").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn an_edited_field_is_saved_as_typed_and_survives_a_reload() {
    with_app(|c, _app| async move {
        add_reference(&c, "Glacier retreat", "Smith, Jane", "2021").await;
        type_into(&c, "#field-secondary_title", "Journal of Glaciology").await;
        type_into(&c, "#field-volume", "67").await;
        wait_text(&c, "#save-state", |t| t == "Saved").await;
        // The list follows the edit.
        wait_text(&c, "#reference-list .ref-row", |t| {
            t.contains("Journal of Glaciology")
        })
        .await;
        screenshot(&c, "editor").await;

        c.refresh().await.expect("reload");
        wait_text(&c, "#reference-list .ref-row", |t| {
            t.contains("Glacier retreat")
        })
        .await;
        click(&c, "#reference-list .ref-row").await;
        wait_text(&c, "#reference-editor", |_| true).await;
        assert_eq!(
            field_value(&c, "#field-secondary_title").await,
            "Journal of Glaciology"
        );
        assert_eq!(field_value(&c, "#field-volume").await, "67");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_group_is_made_filled_renamed_and_deleted_and_its_references_stay() {
    let path = corpus_file(CORPUS_RIS);
    let (imported, _) = expected_import(&path);
    with_app(move |c, _app| async move {
        import_all(&c, &path, imported).await;

        click(&c, "#new-group").await;
        type_into(&c, "#name-input", "To read").await;
        click(&c, "#name-save").await;
        wait_text(&c, "#list-title", |t| t == "To read").await;
        wait_count(&c, 0).await;

        // Select three references in All References and add them to the group.
        click(&c, "#nav-all").await;
        wait_count(&c, imported).await;
        click(&c, "#reference-list .ref-row").await;
        type_into(&c, "#reference-list", DOWN).await;
        type_into(&c, "#reference-list", "\u{E008}\u{E015}").await;
        wait_text(&c, "#selection-summary", |t| {
            t.contains("2 references selected")
        })
        .await;
        type_into(&c, "#reference-list", "\u{E008}\u{E015}").await;
        wait_text(&c, "#selection-summary", |t| {
            t.contains("3 references selected")
        })
        .await;
        choose_first_group(&c, "#add-to-group").await;
        wait_text(&c, ".group-item[data-group='To read'] .count", |t| t == "3").await;
        wait_text(&c, "#count-unfiled", |t| t == (imported - 3).to_string()).await;

        click(&c, ".group-item[data-group='To read']").await;
        wait_count(&c, 3).await;
        screenshot(&c, "group").await;

        click(
            &c,
            ".group-item[data-group='To read'] [aria-label='Rename group']",
        )
        .await;
        let input = c.find(Locator::Css("#name-input")).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys("Read next").await.unwrap();
        click(&c, "#name-save").await;
        wait_text(&c, "#list-title", |t| t == "Read next").await;
        wait_count(&c, 3).await;

        // Group sets are folders: make one and move the group into it.
        click(&c, "#new-group-set").await;
        type_into(&c, "#name-input", "Projects").await;
        click(&c, "#name-save").await;
        wait_text(&c, ".nav-set", |t| t.contains("Projects")).await;
        click(
            &c,
            ".group-item[data-group='Read next'] [aria-label='Rename group']",
        )
        .await;
        c.find(Locator::Css("#group-set"))
            .await
            .unwrap()
            .select_by_label("Projects")
            .await
            .unwrap();
        click(&c, "#name-save").await;
        wait_text(&c, ".nav-set", |t| {
            t.contains("Projects") && t.contains("Read next")
        })
        .await;
        screenshot(&c, "group-set").await;

        click(
            &c,
            ".group-item[data-group='Read next'] [aria-label='Delete group']",
        )
        .await;
        wait_text(&c, "#confirm-dialog", |t| {
            t.contains("stay in your library")
        })
        .await;
        click(&c, "#confirm-delete").await;
        wait_text(&c, "#list-title", |t| t == "All References").await;
        wait_count(&c, imported).await;
        assert!(texts(&c, ".group-item").await.is_empty());
        wait_text(&c, "#count-unfiled", |t| t == imported.to_string()).await;

        c.refresh().await.expect("reload");
        wait_text(&c, "#count-all", |t| t == imported.to_string()).await;
        assert!(
            texts(&c, ".group-item").await.is_empty(),
            "still gone after a reload"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn trash_restore_and_empty_trash() {
    with_app(|c, _app| async move {
        add_reference(&c, "First paper", "Able, A.", "2001").await;
        add_reference(&c, "Second paper", "Baker, B.", "2002").await;
        add_reference(&c, "Third paper", "Carter, C.", "2003").await;
        wait_text(&c, "#count-all", |t| t == "3").await;

        // Delete key on the list moves the selected reference to the Trash.
        click(&c, "#reference-list .ref-row").await;
        type_into(&c, "#reference-list", DELETE).await;
        wait_text(&c, "#count-trash", |t| t == "1").await;
        wait_text(&c, "#count-all", |t| t == "2").await;

        click(&c, "#nav-trash").await;
        wait_count(&c, 1).await;
        let trashed = texts(&c, "#reference-list .ref-row").await.join("\n");
        assert!(trashed.contains("Third paper"), "newest first: {trashed}");
        click(&c, "#reference-list .ref-row").await;
        click(&c, "#restore-selected").await;
        wait_text(&c, "#count-trash", |t| t == "0").await;
        wait_text(&c, "#count-all", |t| t == "3").await;

        // Trash two, empty the Trash: asked first, then gone for good.
        click(&c, "#nav-all").await;
        click(&c, "#reference-list .ref-row").await;
        type_into(&c, "#reference-list", "\u{E008}\u{E015}").await;
        click(&c, "#trash-selected").await;
        wait_text(&c, "#count-trash", |t| t == "2").await;
        click(&c, "#nav-trash").await;
        click(&c, "#empty-trash").await;
        wait_text(&c, "#confirm-dialog", |t| t.contains("cannot be undone")).await;
        screenshot(&c, "empty-trash-confirm").await;
        click(&c, "#confirm-delete").await;
        wait_text(&c, "#count-trash", |t| t == "0").await;
        wait_text(&c, "#storage-status", |t| {
            t == "1 reference stored in this browser"
        })
        .await;
        c.refresh().await.expect("reload");
        wait_text(&c, "#storage-status", |t| {
            t == "1 reference stored in this browser"
        })
        .await;
        wait_text(&c, "#count-trash", |t| t == "0").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn quick_search_and_a_smart_group_find_references() {
    with_app(|c, _app| async move {
        add_reference(&c, "Ice cores from Greenland", "Anders, Bo", "2019").await;
        add_reference(&c, "Glacier retreat in the Alps", "Smith, Jane", "2021").await;
        add_reference(&c, "Über Gletscher", "Müller, Hans", "2021").await;
        wait_count(&c, 3).await;

        type_into(&c, "#quick-search", "glac").await;
        wait_count(&c, 1).await;
        type_into(
            &c,
            "#quick-search",
            "\u{E003}\u{E003}\u{E003}\u{E003}muller",
        )
        .await;
        wait_count(&c, 1).await;
        let rows = texts(&c, "#reference-list .ref-row").await.join("\n");
        assert!(rows.contains("Gletscher"), "{rows}");
        screenshot(&c, "quick-search").await;
        c.find(Locator::Css("#quick-search"))
            .await
            .unwrap()
            .clear()
            .await
            .unwrap();
        // Clearing the box fires no input event in WebDriver; Escape clears it too.
        type_into(&c, "#quick-search", "\u{E00C}").await;
        wait_count(&c, 3).await;

        click(&c, "#new-smart-group").await;
        type_into(&c, "#smart-name", "Published 2021").await;
        select(&c, "#smart-group-dialog .criterion-field", "year").await;
        select(&c, "#smart-group-dialog .criterion-op", "is").await;
        type_into(&c, "#smart-group-dialog .criterion-value", "2021\u{E004}").await;
        wait_text(&c, "#smart-matches", |t| t == "2 matching now").await;
        screenshot(&c, "smart-group-editor").await;
        click(&c, "#smart-save").await;
        wait_text(&c, "#list-title", |t| t == "Published 2021").await;
        wait_count(&c, 2).await;

        // The smart group follows the library: a new 2021 reference joins it.
        add_reference(&c, "Sea ice", "Olsen, Ole", "2021").await;
        wait_text(&c, ".group-item[data-group='Published 2021'] .count", |t| {
            t == "3"
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn an_export_imports_again_as_the_same_library() {
    let path = corpus_file(CORPUS_RIS);
    let (imported, _) = expected_import(&path);
    with_app(move |c, app| async move {
        import_all(&c, &path, imported).await;

        click(&c, "#export-button").await;
        click(&c, "#export-library").await;
        select(&c, "#export-format", "ris").await;
        click(&c, "#export-start").await;
        let exported = wait_download(&app.downloads).await;
        let (again, skipped) = expected_import(&exported);
        assert_eq!((again, skipped), (imported, 0), "{}", exported.display());

        // Imported back into a group of its own: the same references, once more.
        // Every record is here already: the dialog asks first (issue 25), then imports all.
        let asked = import(&c, &exported, Some("Round trip")).await;
        assert!(
            asked.contains(&format!(
                "{imported} of the {imported} records read are already"
            )),
            "{asked}"
        );
        click(&c, "#import-everything").await;
        let report = wait_text(&c, "#import-report", |t| t.contains("imported")).await;
        assert!(
            report.contains(&format!("imported {imported}, skipped 0")),
            "{report}"
        );
        close_dialog(&c, "#import-dialog").await;
        wait_count(&c, imported).await;
        // Every reference now has its twin: the left pane counts them (issue 24, item 11)...
        let twins = (2 * imported).to_string();
        wait_text(&c, "#count-duplicates", |t| t == twins).await;
        click(&c, "#nav-duplicates").await;
        // ...as many as the view lists.
        wait_count(&c, 2 * imported).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn with_the_network_gone_the_app_opens_and_edits_still_save() {
    with_app(|c, app| async move {
        add_reference(&c, "Written before going offline", "Online, Olga", "2020").await;
        wait_for_offline_shell(&c).await;

        app.server.stop().await;
        c.refresh().await.expect("reload with the server gone");
        wait_text(&c, "#storage-status", |t| {
            t == "1 reference stored in this browser"
        })
        .await;
        wait_text(&c, "#offline-banner", |t| t.contains("You are offline")).await;
        add_reference(&c, "Written offline", "Offline, Otto", "2024").await;
        wait_text(&c, "#count-all", |t| t == "2").await;
        screenshot(&c, "offline").await;

        c.refresh().await.expect("reload, still offline");
        wait_text(&c, "#storage-status", |t| {
            t == "2 references stored in this browser"
        })
        .await;
        let rows = texts(&c, "#reference-list .ref-row").await.join("\n");
        assert!(rows.contains("Written offline"), "{rows}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_title_made_of_html_shows_as_text() {
    with_app(|c, _app| async move {
        let evil = "<img src=x onerror=\"window.__xss=1\">";
        add_reference(&c, evil, "Mallory,", "2020").await;
        let row = wait_text(&c, "#reference-list .ref-row", |t| t.contains("<img")).await;
        assert!(row.contains(evil), "{row}");
        let injected = c
            .execute(
                "return document.querySelectorAll('#reference-list img, #reference-editor img').length + (window.__xss || 0)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(injected.as_u64(), Some(0), "no element made from the title");
        c.refresh().await.expect("reload");
        let row = wait_text(&c, "#reference-list .ref-row", |t| t.contains("<img")).await;
        assert!(row.contains(evil), "{row}");
        screenshot(&c, "xss-title-as-text").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_backup_restores_into_a_fresh_browser_with_its_attachments() {
    let scratch = tempfile::tempdir().unwrap();
    let (pdf, pdf_bytes) = write_pdf(scratch.path(), "kuhn-1962.pdf", 50_000);
    with_app(move |c, app| async move {
        add_reference(
            &c,
            "The Structure of Scientific Revolutions",
            "Kuhn, Thomas S.",
            "1962",
        )
        .await;
        c.find(Locator::Css("#attach-file"))
            .await
            .unwrap()
            .send_keys(&pdf.display().to_string())
            .await
            .unwrap();
        wait_text(&c, "#attachments", |t| t.contains("kuhn-1962.pdf")).await;
        add_reference(&c, "A paper for the Trash", "Gone, G.", "2000").await;
        click(&c, "#trash-reference").await;
        wait_text(&c, "#count-trash", |t| t == "1").await;
        click(&c, "#new-group").await;
        type_into(&c, "#name-input", "Classics").await;
        click(&c, "#name-save").await;
        click(&c, "#nav-all").await;
        click(&c, "#reference-list .ref-row").await;
        choose_first_group(&c, "#add-to-group").await;
        wait_text(&c, ".group-item[data-group='Classics'] .count", |t| {
            t == "1"
        })
        .await;

        click(&c, "#backup-button").await;
        click(&c, "#backup-start").await;
        wait_text(&c, "#work-done", |t| t.contains("Saved")).await;
        let zip = wait_download(&app.downloads).await;
        assert!(
            zip.display().to_string().ends_with(".zip"),
            "{}",
            zip.display()
        );

        // A fresh profile: an empty library, restored from the file.
        restore_in_fresh_browser(
            &app.url,
            zip,
            "Restored 2 references, 1 group and 1 attachment",
            move |b, fresh_downloads| async move {
                wait_text(&b, "#count-all", |t| t == "1").await;
                wait_text(&b, "#count-trash", |t| t == "1").await;
                wait_text(&b, ".group-item[data-group='Classics'] .count", |t| {
                    t == "1"
                })
                .await;
                click(&b, "#reference-list .ref-row").await;
                wait_text(&b, "#attachments", |t| t.contains("kuhn-1962.pdf")).await;
                screenshot(&b, "restored").await;
                click(&b, "#attachments .attachment .link-btn:nth-of-type(2)").await;
                let saved = wait_download(&fresh_downloads).await;
                assert_eq!(
                    std::fs::read(saved).unwrap(),
                    pdf_bytes,
                    "the attachment, byte for byte"
                );
            },
        )
        .await;
    })
    .await;
}

/// Restore the backup `zip` through the Restore dialog, wait for its report to say `restored`
/// and close it.
async fn restore_file(c: &Client, zip: &Path, restored: &str) {
    click(c, "#restore-button").await;
    c.find(Locator::Css("#restore-file"))
        .await
        .unwrap()
        .send_keys(&zip.display().to_string())
        .await
        .unwrap();
    wait_text(c, "#work-done", |t| t.contains(restored)).await;
    close_dialog(c, "#restore-dialog").await;
}

/// Open a fresh browser profile (an empty library) on `url`, restore the backup `zip` through
/// the Restore dialog, wait for its report to say `restored` and close it; then `steps`, with
/// the folder that browser downloads to.
async fn restore_in_fresh_browser<F, Fut>(
    url: &str,
    zip: std::path::PathBuf,
    restored: &str,
    steps: F,
) where
    F: FnOnce(Client, std::path::PathBuf) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let downloads = tempfile::tempdir().unwrap();
    let fresh_downloads = downloads.path().to_path_buf();
    let (url, restored) = (url.to_string(), restored.to_string());
    harness::with_browser(downloads.path(), move |b| async move {
        b.goto(&url).await.unwrap();
        wait_text(&b, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        restore_file(&b, &zip, &restored).await;
        steps(b, fresh_downloads).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_library_made_in_one_browser_arrives_in_another_through_the_account() {
    with_app(|a, app| async move {
        add_reference(&a, "Sent from the first browser", "Able, Anna", "2020").await;
        add_reference(&a, "Also sent", "Baker, Bo", "2021").await;
        open_sign_in(&a).await;
        click(&a, "#tab-create").await;
        type_into(&a, "#account-email-input", "researcher@example.org").await;
        type_into(&a, "#account-password", "correct horse battery").await;
        click(&a, "#account-submit").await;
        wait_text(&a, "#account-email", |t| t == "researcher@example.org").await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        screenshot(&a, "signed-in-and-synced").await;

        // A second browser, a new device with an empty library: everything arrives.
        let downloads = tempfile::tempdir().unwrap();
        let url = app.url.clone();
        harness::with_browser(downloads.path(), move |b| async move {
            b.goto(&url).await.unwrap();
            wait_text(&b, "#storage-status", |t| {
                t == "0 references stored in this browser"
            })
            .await;
            open_sign_in(&b).await;
            type_into(&b, "#account-email-input", "researcher@example.org").await;
            type_into(&b, "#account-password", "correct horse battery").await;
            click(&b, "#account-submit").await;
            wait_text(&b, "#count-all", |t| t == "2").await;
            let rows = texts(&b, "#reference-list .ref-row").await.join("\n");
            assert!(rows.contains("Sent from the first browser"), "{rows}");

            // An edit here goes back to the first browser (by itself: a sync follows an
            // edit, and the service's change hint makes the other browser sync).
            b.find(Locator::Css("#reference-list .ref-row"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            type_into(&b, "#field-volume", "42").await;
            wait_text(&b, "#save-state", |t| t == "Saved").await;
            click(&b, "#sync-status").await;
            wait_text(&b, "#sync-history", |t| t.contains("1 sent")).await;
        })
        .await;

        click(&a, "#reference-list .ref-row").await;
        let start = std::time::Instant::now();
        loop {
            let volume = a
                .execute(
                    "const f = document.querySelector('#field-volume'); return f ? f.value : '';",
                    vec![],
                )
                .await
                .unwrap();
            if volume.as_str() == Some("42") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the edit made in the other browser never arrived"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        click(&a, "#sync-status").await;
        wait_text(&a, "#sync-history", |t| t.contains("received")).await;
        screenshot(&a, "sync-status").await;
        close_dialog(&a, "#sync-status-dialog").await;

        // A wrong password is refused with a message, the library untouched.
        click(&a, "#sign-out").await;
        wait_text(&a, "#sign-in", |_| true).await;
        open_sign_in(&a).await;
        type_into(&a, "#account-email-input", "researcher@example.org").await;
        type_into(&a, "#account-password", "not the password").await;
        click(&a, "#account-submit").await;
        wait_text(&a, "#sign-in-dialog .error", |t| !t.is_empty()).await;
        wait_text(&a, "#count-all", |t| t == "2").await;
    })
    .await;
}
