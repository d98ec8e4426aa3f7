//! Shared libraries in the browser, end to end: three accounts in three fresh browser
//! profiles on the real service. The owner shares a group's references and invites an editor
//! and a viewer; both accept from the invitation notice (the viewer while a sync is under
//! way); the editor's edit (made offline, sent when the network is back) and attachment reach
//! the owner and the viewer; the viewer's editor is read-only, and an edit made after
//! tampering with the page's idea of the role is refused by the service and kept aside as a
//! conflict, then copied into the viewer's own library; a same-field edit by the owner and
//! the editor is settled in the owner's Sync Conflicts, and reaches the viewer's copy by its
//! change hint while the viewer's window shows their own library (their Sync Status names it);
//! "Last changed by" names the editor; the owner's Activity says who changed what; the owner
//! removes the editor, whose copy turns read-only and is removed after the offer to export it.

use super::*;
use crate::sync::{
    create_account, held, hold_requests, live, notices, pick_row, retype, row_titles, sync_now,
    wait_until,
};
use harness::with_browser;
use serde_json::json;

const OWNER: &str = "owner@example.org";
const EDITOR: &str = "editor@example.org";
const VIEWER: &str = "viewer@example.org";
const SHARED: &str = "Review 2027";

/// A fresh browser (its own profile) making its own account, then `steps`.
async fn member<F, Fut>(url: &str, email: &'static str, steps: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let downloads = tempfile::tempdir().unwrap();
    let url = url.to_string();
    with_browser(downloads.path(), move |b| async move {
        b.goto(&url).await.unwrap();
        wait_text(&b, "#storage-status", |t| {
            t.ends_with("stored in this browser")
        })
        .await;
        create_account(&b, email).await;
        steps(b).await;
    })
    .await;
}

/// The left pane's item for the shared library.
fn item(section: &str) -> String {
    format!("#{section}-list .shared-item[data-library='{SHARED}']")
}

/// Wait for the sync that an action started (after its own message, `before` counted the
/// messages until then) to say it is done.
async fn wait_synced_after(c: &Client, before: u64) {
    wait_until(c, "the sync after it", || async {
        notices(c).await > before + 1
            && field_text(c, "#notice").await.starts_with("Synced")
            && c.find(Locator::Css("#sync-now:not([disabled])"))
                .await
                .is_ok()
    })
    .await;
}

async fn field_text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Accept the invitation to the shared library (a sync downloads it) and open it.
async fn accept_and_open(c: &Client) {
    wait_text(c, &format!(".invitation[data-library='{SHARED}']"), |t| {
        t.contains(OWNER)
    })
    .await;
    let before = notices(c).await;
    click(
        c,
        &format!(".invitation[data-library='{SHARED}'] .invite-accept"),
    )
    .await;
    wait_synced_after(c, before).await;
    open_shared(c, "shared-with-me").await;
}

/// The owner (`owner`, the members dialog open) sends the invitation to `email` again: a
/// pending one is renewed.
async fn invite_again(owner: &Client, email: &str, role: &str) {
    type_into(owner, "#invite-email", email).await;
    select(owner, "#invite-role", role).await;
    click(owner, "#invite-send").await;
    wait_text(owner, "#pending-invitations", |t| t.contains(email)).await;
}

/// Accept the invitation while a sync of this browser is under way, after it asked for the
/// account's libraries (its request for the invitations, asked beside it, is held back until
/// the answer is in): the library is still listed as shared with the person, never as gone,
/// and arrives with its file by itself, without another Sync now. The sync is one the
/// service's change stream starts by itself when the owner sends the invitation again: the
/// browser asks for its lists when the stream says they changed, and only then.
async fn accept_during_a_sync(c: &Client, owner: &Client) {
    wait_text(c, &format!(".invitation[data-library='{SHARED}']"), |t| {
        t.contains(OWNER)
    })
    .await;
    wait_until(c, "the account's change stream open", || async {
        live(c).await
    })
    .await;
    hold_requests(c, "/invitations", true).await;
    invite_again(owner, VIEWER, "viewer").await;
    wait_until(c, "the sync's request for the invitations held", || async {
        held(c).await > 0
    })
    .await;
    click(
        c,
        &format!(".invitation[data-library='{SHARED}'] .invite-accept"),
    )
    .await;
    wait_text(c, "#notice", |t| t.contains("You joined")).await;
    hold_requests(c, "/invitations", false).await;
    wait_text(c, "#notice", |t| {
        t.contains(&format!("“{SHARED}”: Synced:")) && t.contains("1 attachment file")
    })
    .await;
    assert!(absent(c, &item("shared-gone")).await);
    open_shared(c, "shared-with-me").await;
}

/// Open the shared library from its section of the left pane (the window reloads into it).
async fn open_shared(c: &Client, section: &str) {
    click(c, &format!("{} .shared-open", item(section))).await;
    wait_text(c, &format!("{} .shared-name", item(section)), |t| {
        t == SHARED
    })
    .await;
    wait_text(c, "#storage-status", |t| {
        t.ends_with("stored in this browser")
    })
    .await;
}

/// Whether the element matches `:disabled` (fields in a disabled fieldset do).
async fn disabled(c: &Client, css: &str) -> bool {
    // There first (the editor appears once its part is here), then asked.
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    c.execute(
        "return document.querySelector(arguments[0]).matches(':disabled')",
        vec![json!(css)],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

/// Tamper with what this browser believes its role in the shared libraries is (kept in the
/// personal library's database), then reload: the page's own checks then let a viewer edit,
/// and only the service stands in the way.
async fn forge_role(c: &Client, role: &str) {
    let script = c.execute_async(
        r#"const [role, done] = arguments;
        const open = indexedDB.open('refsync');
        open.onsuccess = () => {
            try {
                const tx = open.result.transaction('meta', 'readwrite');
                const meta = tx.objectStore('meta');
                const get = meta.get('shared_libraries');
                get.onsuccess = () => {
                    const list = JSON.parse(get.result);
                    list.forEach(k => { k.summary.role = role; });
                    meta.put(JSON.stringify(list), 'shared_libraries');
                    tx.oncomplete = () => { open.result.close(); done('ok'); };
                };
            } catch (e) { done('failed: ' + e); }
        };"#,
        vec![json!(role)],
    );
    let done = tokio::time::timeout(Duration::from_secs(30), script)
        .await
        .expect("the script answers within 30 s")
        .unwrap();
    assert_eq!(done, json!("ok"));
    c.refresh().await.unwrap();
    wait_text(c, "#storage-status", |t| {
        t.ends_with("stored in this browser")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_library_shared_with_an_editor_and_a_viewer_in_three_browsers() {
    let scratch = tempfile::tempdir().unwrap();
    let (pdf, _) = write_pdf(scratch.path(), "paper.pdf", 20_000);
    with_app(|a, app| async move {
        // The owner files two of three references in a group, and shares the group's.
        add_reference(&a, "Shared one", "Able, A.", "2001").await;
        add_reference(&a, "Shared two", "Baker, B.", "2002").await;
        add_reference(&a, "Kept private", "Carter, C.", "2003").await;
        click(&a, "#new-group").await;
        type_into(&a, "#name-input", "For the review").await;
        click(&a, "#name-save").await;
        click(&a, "#nav-all").await;
        for title in ["Shared one", "Shared two"] {
            pick_row(&a, title).await;
            choose_first_group(&a, "#add-to-group").await;
        }
        wait_text(&a, ".group-item[data-group='For the review'] .count", |t| {
            t == "2"
        })
        .await;
        create_account(&a, OWNER).await;

        click(&a, "#new-shared-library").await;
        type_into(&a, "#new-shared-name", SHARED).await;
        click(&a, "#new-shared-group").await;
        let before = notices(&a).await;
        click(&a, "#new-shared-create").await;
        wait_synced_after(&a, before).await;
        wait_text(&a, &format!("{} .role-badge", item("shared-by-me")), |t| {
            t == "owner"
        })
        .await;
        open_shared(&a, "shared-by-me").await;
        wait_text(&a, "#count-all", |t| t == "2").await;
        assert_eq!(row_titles(&a).await, ["Shared one", "Shared two"]);

        // Invitations: an editor and a viewer.
        click(&a, ".members-open").await;
        for (email, role) in [(EDITOR, "editor"), (VIEWER, "viewer")] {
            type_into(&a, "#invite-email", email).await;
            select(&a, "#invite-role", role).await;
            click(&a, "#invite-send").await;
            wait_text(&a, "#pending-invitations", |t| t.contains(email)).await;
        }
        screenshot(&a, "shared-invite-dialog").await;
        click(&a, "#members-close").await;

        let a2 = a.clone();
        let url = app.url.clone();
        member(&app.url, EDITOR, move |b| async move {
            let a = a2;
            accept_and_open(&b).await;
            wait_text(&b, "#count-all", |t| t == "2").await;
            wait_text(
                &b,
                &format!("{} .role-badge", item("shared-with-me")),
                |t| t == "editor",
            )
            .await;

            // The editor edits offline; the edit goes when the network is back.
            harness::set_offline(&b, true).await;
            pick_row(&b, "Shared one").await;
            retype(&b, "#field-title", "Shared one, edited by the editor").await;
            click(&b, "#sync-now").await;
            wait_text(&b, "#notice", |t| t.contains("offline")).await;
            harness::set_offline(&b, false).await;
            sync_now(&b).await;
            // ...and attaches a file to it, which goes to the others with its bytes.
            b.find(Locator::Css("#attach-file"))
                .await
                .unwrap()
                .send_keys(&pdf.display().to_string())
                .await
                .unwrap();
            wait_text(&b, "#attachments", |t| t.contains("paper.pdf")).await;
            sync_now(&b).await;
            wait_text(&b, "#last-changed", |t| t.starts_with("Last changed by you")).await;

            let (a3, b3) = (a.clone(), b.clone());
            member(&url, VIEWER, move |c| async move {
                let (a, b) = (a3, b3);
                click(&a, ".members-open").await;
                accept_during_a_sync(&c, &a).await;
                click(&a, "#members-close").await;
                wait_text(&c, "#count-all", |t| t == "2").await;
                assert_eq!(
                    row_titles(&c).await,
                    ["Shared one, edited by the editor", "Shared two"]
                );
                wait_text(
                    &c,
                    &format!("{} .role-badge", item("shared-with-me")),
                    |t| t == "viewer",
                )
                .await;
                screenshot(&c, "shared-pane-viewer").await;

                // A viewer reads: nothing to change, and a change is refused with the reason.
                pick_row(&c, "Shared two").await;
                wait_text(&c, "#read-only-banner", |t| t.contains("viewer")).await;
                assert!(
                    disabled(&c, "#field-title").await,
                    "the title cannot be typed into"
                );
                assert!(absent(&c, "#new-reference").await);
                assert!(absent(&c, "#trash-selected").await);
                screenshot(&c, "shared-viewer-read-only").await;
                type_into(&c, "#reference-list", DELETE).await;
                wait_text(&c, "#notice", |t| t.contains("You are a viewer")).await;
                wait_text(&c, "#count-trash", |t| t == "0").await;
                wait_text(&c, "#read-only-banner", |t| t.contains("viewer")).await;

                // A change that gets past the window (its role tampered with) is refused by
                // the service and kept aside, and the window is read-only again.
                // (Offline, so that no sync puts the role right before the edit is made.)
                harness::wait_for_offline_shell(&c).await;
                harness::set_offline(&c, true).await;
                forge_role(&c, "editor").await;
                pick_row(&c, "Shared two").await;
                assert!(
                    !disabled(&c, "#field-title").await,
                    "the tampered page lets it be typed"
                );
                retype(&c, "#field-title", "Forged by the viewer").await;
                harness::set_offline(&c, false).await;
                wait_text(&c, "#count-conflicts", |t| t == "1").await;
                click(&c, "#nav-conflicts").await;
                pick_row(&c, "Forged by the viewer").await;
                wait_text(&c, "#conflict-card", |t| t.contains("refused")).await;
                click(&c, "#conflict-copy-mine").await;
                wait_text(&c, "#notice", |t| t.contains("your own library")).await;
                wait_until(&c, "the conflict settled", || async {
                    absent(&c, "#nav-conflicts").await
                })
                .await;
                // And a reference copied into the viewer's own library, with Copy to….
                click(&c, "#nav-all").await;
                pick_row(&c, "Shared one, edited by the editor").await;
                // The sync put the role right: read-only again.
                wait_text(&c, "#read-only-banner", |t| t.contains("viewer")).await;
                click(&c, "#copy-to").await;
                click(&c, "#copy-to-confirm").await;
                // The dialog closes once the copy is committed (a sync's message may follow
                // the "Copied" one at once).
                wait_until(&c, "the copy made", || async {
                    absent(&c, "#copy-to-dialog").await
                })
                .await;
                click(&c, "#personal-library").await;
                wait_text(&c, "#storage-status", |t| {
                    t.ends_with("stored in this browser")
                })
                .await;
                wait_text(&c, "#count-all", |t| t == "2").await;
                assert_eq!(
                    row_titles(&c).await,
                    ["Forged by the viewer", "Shared one, edited by the editor"]
                );
                // The copy kept the editor's attachment, bytes and all.
                pick_row(&c, "Shared one, edited by the editor").await;
                wait_text(&c, "#attachments", |t| t.contains("paper.pdf")).await;
                let sizes = c
                    .execute_async(
                        r#"const done = arguments[0];
                        const open = indexedDB.open('refsync');
                        open.onsuccess = () => {
                            const all = open.result.transaction('blobs').objectStore('blobs').getAll();
                            all.onsuccess = () => { done(all.result.map(b => b.size)); open.result.close(); };
                        };"#,
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(sizes, json!([20_009]), "the file's bytes are in the viewer's own library");
                sync_now(&c).await;

                // The owner sees the editor's edit and file, the viewer's refused change
                // nowhere.
                sync_now(&a).await;
                assert_eq!(
                    row_titles(&a).await,
                    ["Shared one, edited by the editor", "Shared two"]
                );
                pick_row(&a, "Shared one, edited by the editor").await;
                wait_text(&a, "#attachments", |t| t.contains("paper.pdf")).await;
                wait_text(&a, "#last-changed", |t| {
                    t.starts_with(&format!("Last changed by {EDITOR}"))
                })
                .await;
                click(&a, ".activity-open").await;
                wait_text(&a, "#activity", |t| {
                    t.contains(&format!(
                        "{EDITOR} changed the reference “Shared one, edited by the editor”"
                    ))
                })
                .await;
                screenshot(&a, "shared-activity").await;
                click(&a, "#activity-close").await;

                // The owner and the editor change one field of one reference between syncs:
                // a conflict, settled in the owner's window (keeping the editor's).
                pick_row(&a, "Shared two").await;
                retype(&a, "#field-year", "2010").await;
                pick_row(&b, "Shared two").await;
                retype(&b, "#field-year", "2011").await;
                sync_now(&b).await;
                sync_now(&a).await;
                wait_text(&a, "#count-conflicts", |t| t == "1").await;
                click(&a, "#nav-conflicts").await;
                pick_row(&a, "Shared two").await;
                click(&a, "#resolve-conflict").await;
                wait_text(&a, "#conflict-dialog", |t| t.contains("2011")).await;
                click(&a, "#keep-online").await;
                wait_until(&a, "the conflict settled", || async {
                    absent(&a, "#nav-conflicts").await
                })
                .await;
                click(&a, "#nav-all").await;
                pick_row(&a, "Shared two").await;
                assert_eq!(field_value(&a, "#field-year").await, "2011");
                sync_now(&a).await;
                sync_now(&b).await;
                assert_eq!(field_value(&b, "#field-year").await, "2011");
                // The viewer's window shows their own library: the shared library's change
                // hint brought the change into their copy of it, without a click.
                wait_text(&c, "#notice", |t| {
                    t.contains(&format!("“{SHARED}”: Synced: 1 received"))
                })
                .await;
                // Its Sync Status names the shared library's last sync too.
                click(&c, "#sync-status").await;
                wait_text(&c, "#sync-others", |t| {
                    t.contains(SHARED) && t.contains("1 received")
                })
                .await;
                c.execute(
                    "document.querySelector('#sync-others').scrollIntoView()",
                    vec![],
                )
                .await
                .unwrap();
                screenshot(&c, "shared-sync-status").await;
                close_dialog(&c, "#sync-status-dialog").await;

                // The owner removes the editor: the editor's copy turns read-only, then goes.
                click(&a, ".members-open").await;
                wait_text(&a, "#members", |t| t.contains(EDITOR) && t.contains(VIEWER)).await;
                screenshot(&a, "shared-members").await;
                click(
                    &a,
                    &format!(".member[data-email='{EDITOR}'] .member-remove"),
                )
                .await;
                click(&a, "#sharing-confirm").await;
                wait_text(&a, "#notice", |t| t.contains("was removed")).await;
                sync_now(&b).await;
                wait_text(&b, "#notice", |t| t.contains("no longer")).await;
                wait_text(&b, &item("shared-gone"), |t| t.contains(SHARED)).await;
                pick_row(&b, "Shared two").await;
                wait_text(&b, "#read-only-banner", |t| {
                    t.contains("no longer a member")
                })
                .await;
                click(&b, &format!("{} .remove-copy", item("shared-gone"))).await;
                wait_text(&b, "#remove-copy-dialog", |t| {
                    t.contains("Download a backup first")
                })
                .await;
                click(&b, "#remove-copy-confirm").await;
                wait_text(&b, "#storage-status", |t| {
                    t.ends_with("stored in this browser")
                })
                .await;
                wait_until(&b, "the copy gone from the left pane", || async {
                    absent(&b, &item("shared-gone")).await
                        && b.find(Locator::Css("h2#personal-library")).await.is_ok()
                })
                .await;
            })
            .await;
        })
        .await;
    })
    .await;
}
