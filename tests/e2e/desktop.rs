//! The pair, end to end: the `refsync` CLI (the desktop side, a library in SQLite) and the
//! web app in headless Chromium (the online side) on one account through the real service.
//! Additions and deletions cross both ways, a same-field edit becomes a conflict settled in
//! the web UI, and both sides end equal; a backup made by either restores in the other.

use super::*;
use crate::desk::Desk;
use crate::sync::{create_account, pick_row, retype, row_titles, sign_in, sync_now, wait_until};
use std::path::PathBuf;

const EMAIL: &str = "desktop@example.org";

/// The CLI binary: `REFSYNC_CLI` (set by `cargo xtask test`, which builds it), else the
/// workspace's debug build.
pub(crate) fn cli_binary() -> PathBuf {
    let path = std::env::var_os("REFSYNC_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/refsync"));
    assert!(
        path.is_file(),
        "no refsync CLI at {}: run `cargo xtask test` (it builds it), or set REFSYNC_CLI",
        path.display()
    );
    path
}

/// The desktop links its library to a new account on the service at `url`: what it says.
pub(crate) async fn make_account(desk: &Desk, url: &str, email: &str) -> String {
    desk.ok(&[
        "link",
        "--create-account",
        "--server",
        url,
        "--email",
        email,
    ])
    .await
}

/// A desktop: the CLI with a library and a config of its own.
fn desktop() -> Desk {
    Desk::new(cli_binary())
}

async fn wait_rows(c: &Client, want: &[&str]) {
    wait_until(c, &format!("the rows {want:?}"), || async {
        row_titles(c).await == want
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn the_desktop_cli_and_the_browser_share_one_library_through_the_service() {
    with_app(|a, app| async move {
        // The desktop library comes first and makes the account.
        let desk = desktop();
        desk.ok(&["init"]).await;
        for title in ["Desk one", "Desk two"] {
            desk.ok(&[
                "add",
                &format!("title={title}"),
                "author=Able, A.",
                "year=2001",
            ])
            .await;
        }
        desk.ok(&["group", "create", "Desk group"]).await;
        let one = desk.key_of("Desk one").await;
        desk.ok(&["group", "add", "Desk group", &one]).await;
        let out = make_account(&desk, &app.url, EMAIL).await;
        assert!(out.contains("Synced: 3 sent"), "{out}");

        // The browser signs in and receives it.
        sign_in(&a, EMAIL).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        wait_text(&a, "#count-all", |t| t == "2").await;
        wait_text(&a, ".group-item[data-group='Desk group'] .count", |t| {
            t == "1"
        })
        .await;

        // Added and deleted in the browser: the desktop follows.
        add_reference(&a, "Web one", "Web, W.", "2003").await;
        pick_row(&a, "Desk two").await;
        type_into(&a, "#reference-list", DELETE).await;
        click(&a, "#nav-trash").await;
        pick_row(&a, "Desk two").await;
        click(&a, "#delete-selected").await;
        click(&a, "#confirm-delete").await;
        wait_text(&a, "#count-trash", |t| t == "0").await;
        click(&a, "#nav-all").await;
        sync_now(&a).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        desk.ok(&["sync"]).await;
        assert_eq!(desk.titles(&[]).await, ["Desk one", "Web one"]);

        // Added and deleted on the desktop: the browser follows.
        desk.ok(&["add", "title=Desk three", "year=2004"]).await;
        let web_one = desk.key_of("Web one").await;
        desk.ok(&["delete", &web_one, "--yes"]).await;
        desk.ok(&["sync"]).await;
        sync_now(&a).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        wait_rows(&a, &["Desk one", "Desk three"]).await;

        // The same field edited on both sides while the service is away; the desktop syncs
        // first, so the browser holds the conflict, and settles it in its UI.
        app.server.stop().await;
        desk.ok(&["edit", &one, "title=Desk one as the desktop wrote it"])
            .await;
        pick_row(&a, "Desk one").await;
        retype(&a, "#field-title", "Desk one as the browser wrote it").await;
        app.server.restart().await;
        desk.ok(&["sync"]).await;
        sync_now(&a).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        wait_text(&a, "#count-conflicts", |t| t == "1").await;
        click(&a, "#nav-conflicts").await;
        pick_row(&a, "Desk one as the browser").await;
        click(&a, "#resolve-conflict").await;
        wait_text(&a, "#conflict-dialog", |t| {
            t.contains("Desk one as the desktop wrote it")
        })
        .await;
        click(&a, "#keep-local").await;
        wait_until(&a, "the Sync Conflicts group to go", || async {
            absent(&a, "#nav-conflicts").await
        })
        .await;
        click(&a, "#nav-all").await;
        sync_now(&a).await;
        wait_text(&a, "#notice", |t| t.starts_with("Synced")).await;
        desk.ok(&["sync"]).await;

        // Both sides end equal.
        let want = ["Desk one as the browser wrote it", "Desk three"];
        assert_eq!(desk.titles(&[]).await, want);
        wait_rows(&a, &want).await;
        assert_eq!(desk.titles(&["--group", "Desk group"]).await, want[..1]);
        let status = desk.ok(&["status"]).await;
        assert!(status.contains("0 in Sync Conflicts"), "{status}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_web_backup_restores_in_the_cli_and_a_cli_backup_in_the_browser() {
    let scratch = tempfile::tempdir().unwrap();
    let (pdf, pdf_bytes) = write_pdf(scratch.path(), "web.pdf", 20_000);
    with_app(move |c, app| async move {
        // A browser backup, restored by the CLI.
        add_reference(&c, "Backed up in the browser", "Web, W.", "2001").await;
        c.find(Locator::Css("#attach-file"))
            .await
            .unwrap()
            .send_keys(&pdf.display().to_string())
            .await
            .unwrap();
        wait_text(&c, "#attachments", |t| t.contains("web.pdf")).await;
        add_reference(&c, "Trashed in the browser", "Gone, G.", "2000").await;
        pick_row(&c, "Trashed in the browser").await;
        wait_until(&c, "the editor's Trash button", || async {
            c.find(Locator::Css("#trash-reference")).await.is_ok()
        })
        .await;
        click(&c, "#trash-reference").await;
        wait_text(&c, "#count-trash", |t| t == "1").await;
        click(&c, "#backup-button").await;
        click(&c, "#backup-start").await;
        wait_text(&c, "#work-done", |t| t.contains("Saved")).await;
        let zip = wait_download(&app.downloads).await;

        let desk = desktop();
        desk.ok(&["init"]).await;
        let out = desk.ok(&["restore", zip.to_str().unwrap()]).await;
        assert!(
            out.contains("Restored 2 references, 0 groups and 1 attachment"),
            "{out}"
        );
        assert_eq!(desk.titles(&[]).await, ["Backed up in the browser"]);
        assert_eq!(desk.titles(&["--trash"]).await, ["Trashed in the browser"]);
        let again = desk.path("again.zip");
        desk.ok(&["backup", again.to_str().unwrap()]).await;
        let (_, files) = refsync_core::backup::read(&std::fs::read(&again).unwrap()).unwrap();
        assert_eq!(files.into_values().collect::<Vec<_>>(), [pdf_bytes]);

        // A CLI backup, restored in a fresh browser.
        let other = desktop();
        other.ok(&["init"]).await;
        let key = other
            .ok(&[
                "add",
                "title=Backed up on the desktop",
                "author=Desk, D.",
                "year=1999",
            ])
            .await
            .trim()
            .to_string();
        std::fs::write(other.path("desk.pdf"), b"%PDF-1.4 from the desktop").unwrap();
        other
            .ok(&["attach", &key, other.path("desk.pdf").to_str().unwrap()])
            .await;
        other.ok(&["group", "create", "Desk group"]).await;
        other.ok(&["group", "add", "Desk group", &key]).await;
        let desk_zip = other.path("desk.zip");
        other.ok(&["backup", desk_zip.to_str().unwrap()]).await;

        restore_in_fresh_browser(
            &app.url,
            desk_zip,
            "Restored 1 reference, 1 group and 1 attachment",
            |b, _| async move {
                wait_text(&b, "#count-all", |t| t == "1").await;
                wait_text(&b, ".group-item[data-group='Desk group'] .count", |t| {
                    t == "1"
                })
                .await;
                click(&b, "#reference-list .ref-row").await;
                wait_text(&b, "#attachments", |t| t.contains("desk.pdf")).await;
                assert_eq!(row_titles(&b).await, ["Backed up on the desktop"]);
            },
        )
        .await;
    })
    .await;
}

/// Issue 24, item 7: a group set, a smart group and a combination group made in one browser
/// reach the other browser and the desktop CLI, each kind kept and its members evaluated the
/// same everywhere; the combination dialog makes one and edits it (all → any).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn every_kind_of_group_made_in_a_browser_reaches_another_and_the_desktop() {
    with_app(|a, app| async move {
        for (title, year) in [("Ice A", "2021"), ("Ice B", "2020"), ("Ice C", "2021")] {
            add_reference(&a, title, "Able, A.", year).await;
        }
        click(&a, "#new-group-set").await;
        type_into(&a, "#name-input", "Projects").await;
        click(&a, "#name-save").await;
        click(&a, "#new-group").await;
        type_into(&a, "#name-input", "Reading").await;
        click(&a, "#name-save").await;
        // The new group's row is drawn again as the save lands: press Rename once it stays.
        wait_until(&a, "the rename dialog", || async {
            if let Ok(b) = a
                .find(Locator::Css(
                    ".group-item[data-group='Reading'] [aria-label='Rename group']",
                ))
                .await
            {
                let _ = b.click().await;
            }
            a.find(Locator::Css("#group-set")).await.is_ok()
        })
        .await;
        a.find(Locator::Css("#group-set"))
            .await
            .unwrap()
            .select_by_label("Projects")
            .await
            .unwrap();
        click(&a, "#name-save").await;
        wait_text(&a, ".nav-set", |t| {
            t.contains("Projects") && t.contains("Reading")
        })
        .await;
        click(&a, "#nav-all").await;
        for title in ["Ice A", "Ice B"] {
            pick_row(&a, title).await;
            choose_first_group(&a, "#editor-add-group").await;
        }
        wait_text(&a, ".group-item[data-group='Reading'] .count", |t| t == "2").await;

        click(&a, "#new-smart-group").await;
        type_into(&a, "#smart-name", "Published 2021").await;
        select(&a, "#smart-group-dialog .criterion-field", "year").await;
        select(&a, "#smart-group-dialog .criterion-op", "is").await;
        type_into(&a, "#smart-group-dialog .criterion-value", "2021\u{E004}").await;
        wait_text(&a, "#smart-matches", |t| t == "2 matching now").await;
        click(&a, "#smart-save").await;
        wait_text(&a, "#list-title", |t| t == "Published 2021").await;

        // The combination dialog: Reading and Published 2021 (Ice A), then either (all three).
        click(&a, "#new-combination-group").await;
        type_into(&a, "#combination-name", "Reading from 2021").await;
        click(&a, ".combo-include[data-group='Reading']").await;
        click(&a, ".combo-include[data-group='Published 2021']").await;
        screenshot(&a, "combination-group").await;
        click(&a, "#combination-save").await;
        wait_text(&a, "#list-title", |t| t == "Reading from 2021").await;
        wait_rows(&a, &["Ice A"]).await;
        click(
            &a,
            ".group-item[data-group='Reading from 2021'] [aria-label='Edit group']",
        )
        .await;
        select(&a, "#combination-dialog [aria-label='All or any']", "any").await;
        click(&a, "#combination-save").await;
        wait_rows(&a, &["Ice A", "Ice B", "Ice C"]).await;
        create_account(&a, EMAIL).await;

        let want = [
            ("Published 2021", "smart", "", 2),
            ("Reading from 2021", "combination", "", 3),
            ("Reading", "custom", "Projects", 2),
        ];
        crate::sync::second_device_as(&app, EMAIL, move |b| async move {
            wait_text(&b, ".nav-set", |t| {
                t.contains("Projects") && t.contains("Reading")
            })
            .await;
            for (name, _, _, n) in want {
                let css = format!(".group-item[data-group='{name}'] .count");
                wait_text(&b, &css, |t| t == n.to_string()).await;
            }
            // A reference added on B joins the smart group, and so the combination, on B.
            add_reference(&b, "Ice D", "Dahl, D.", "2021").await;
            wait_text(&b, ".group-item[data-group='Published 2021'] .count", |t| {
                t == "3"
            })
            .await;
            sync_now(&b).await;
        })
        .await;

        let desk = desktop();
        desk.ok(&["init"]).await;
        desk.ok(&["link", "--server", &app.url, "--email", EMAIL])
            .await;
        let listed: serde_json::Value =
            serde_json::from_str(&desk.ok(&["group", "list", "--json"]).await).unwrap();
        let got: Vec<(String, String, String, u64)> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().unwrap().to_string(),
                    g["kind"].as_str().unwrap().to_string(),
                    g["set"].as_str().unwrap().to_string(),
                    g["references"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Published 2021".into(), "smart".into(), String::new(), 3),
                (
                    "Reading from 2021".into(),
                    "combination".into(),
                    String::new(),
                    4
                ),
                ("Reading".into(), "custom".into(), "Projects".into(), 2),
            ],
            "the desktop evaluates each kind as the browsers do"
        );
    })
    .await;
}
