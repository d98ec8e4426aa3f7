//! The `refsync` binary as a user runs it, on libraries in temp folders: the library
//! commands on a real corpus file, bad input, backups, and sync between two CLI libraries
//! through the real service (in-process, on port 0).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/desk.rs"]
mod desk;
#[path = "support/outage.rs"]
mod outage;

use corpus::{corpus_file, expected_import, CORPUS_RIS};
use desk::Desk;
use refsync_server::{Config, Server};
use std::path::PathBuf;

/// A desktop running this crate's binary (or `REFSYNC_TEST_CLI`, to try another build).
fn desk() -> Desk {
    let bin = std::env::var("REFSYNC_TEST_CLI")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_refsync").to_string());
    Desk::new(PathBuf::from(bin))
}

#[tokio::test]
async fn version_and_help() {
    let d = desk();
    let out = d.ok(&["--version"]).await;
    assert_eq!(out.trim(), format!("refsync {}", env!("CARGO_PKG_VERSION")));
    let help = d.ok(&["--help"]).await;
    assert!(
        help.contains("SQLite") && help.contains("Exit codes"),
        "{help}"
    );
    let sub = d.ok(&["conflicts", "resolve", "--help"]).await;
    assert!(sub.contains("Examples:"), "{sub}");
    let err = d.fails(&["--no-such-flag"], 2).await;
    assert!(err.contains("--no-such-flag"));
}

#[tokio::test]
async fn a_library_is_made_filled_searched_edited_grouped_trashed_and_exported() {
    let d = desk();
    // Nothing yet: every command says how to make one.
    let err = d.fails(&["list"], 3).await;
    assert!(err.contains("refsync init"), "{err}");
    d.ok(&["init"]).await;
    d.fails(&["init"], 10).await;

    let ris = corpus_file(CORPUS_RIS);
    let (n, skipped) = expected_import(&ris);
    let out = d
        .ok(&["import", ris.to_str().unwrap(), "--group", "Gambling"])
        .await;
    assert!(
        out.contains(&format!("imported {n}, skipped {skipped}")),
        "{out}"
    );
    assert_eq!(d.titles(&[]).await.len(), n);
    assert_eq!(d.titles(&["--group", "gambling"]).await.len(), n);

    // A file in no known format, and one that cannot be read: nothing is imported.
    std::fs::write(d.path("paper.pdf"), "%PDF-1.4 not references\n").unwrap();
    let err = d
        .fails(
            &[
                "import",
                ris.to_str().unwrap(),
                d.path("paper.pdf").to_str().unwrap(),
            ],
            4,
        )
        .await;
    assert!(err.contains("nothing was imported"), "{err}");
    d.fails(&["import", "/no/such/file.ris"], 4).await;
    assert_eq!(d.titles(&[]).await.len(), n);

    // Add, search, show, edit.
    let key = d
        .ok(&[
            "add",
            "title=The Structure of Scientific Revolutions",
            "author=Kuhn, Thomas S.",
            "year=1962",
            "type=book",
        ])
        .await
        .trim()
        .to_string();
    assert_eq!(key.len(), 26);
    let found = d.ok(&["search", "kuhn", "1962"]).await;
    assert!(
        found.contains("Structure of Scientific") && found.contains(&key),
        "{found}"
    );
    assert_eq!(found.lines().count(), 2, "a header and one row: {found}");
    // A key by its start or by its last characters (its random part).
    assert_eq!(
        d.ok(&["show", &key[..12]]).await,
        d.ok(&["show", &key[20..]]).await
    );
    let shown = d.ok(&["show", &key[20..].to_lowercase()]).await;
    assert!(
        shown.contains("Kuhn, Thomas S.") && shown.contains("Book"),
        "{shown}"
    );
    d.ok(&["edit", &key, "year=1970", "keywords=paradigm; science"])
        .await;
    let json: serde_json::Value =
        serde_json::from_str(&d.ok(&["show", &key, "--json"]).await).unwrap();
    assert_eq!(json["fields"]["year"], "1970");
    assert_eq!(json["keywords"], serde_json::json!(["paradigm", "science"]));
    let err = d.fails(&["edit", &key, "colour=blue"], 4).await;
    assert!(err.contains("no field called “colour”"), "{err}");
    d.fails(&["show", "ZZZZZZZZ"], 3).await;
    // The documented names work, as do the type's own labels (issue 20: `journal` was refused).
    let article = d
        .ok(&[
            "add",
            "title=Loot boxes",
            "journal=Addiction",
            "Place Published=Oxford",
        ])
        .await
        .trim()
        .to_string();
    d.ok(&["edit", &article, "JOURNAL=Addiction Research"])
        .await;
    let json: serde_json::Value =
        serde_json::from_str(&d.ok(&["show", &article, "--json"]).await).unwrap();
    assert_eq!(json["fields"]["secondary_title"], "Addiction Research");
    assert_eq!(json["fields"]["place"], "Oxford");
    d.ok(&["delete", &article, "--yes"]).await;

    // Groups.
    d.ok(&["group", "create", "Philosophy", "--set", "Reading"])
        .await;
    d.ok(&["group", "add", "Philosophy", &key]).await;
    d.ok(&["group", "rename", "Philosophy", "Philosophy of science"])
        .await;
    let groups = d.ok(&["group", "list"]).await;
    assert!(
        groups.contains("Philosophy of science") && groups.contains("Reading"),
        "{groups}"
    );
    assert_eq!(
        d.titles(&["--group", "Philosophy of science"]).await,
        ["The Structure of Scientific Revolutions"]
    );
    d.ok(&["group", "remove", "Philosophy of science", &key])
        .await;
    assert!(d
        .titles(&["--group", "Philosophy of science"])
        .await
        .is_empty());
    d.ok(&["group", "delete", "Philosophy of science"]).await;
    d.fails(&["group", "add", "Philosophy of science", &key], 3)
        .await;

    // Attach.
    std::fs::write(d.path("kuhn.pdf"), b"%PDF-1.4 not much of a pdf").unwrap();
    let out = d
        .ok(&["attach", &key, d.path("kuhn.pdf").to_str().unwrap()])
        .await;
    assert!(out.contains("Attached kuhn.pdf"), "{out}");
    assert!(d.ok(&["show", &key]).await.contains("kuhn.pdf"));

    // Trash, restore, empty the Trash, delete.
    d.ok(&["trash", &key]).await;
    assert_eq!(d.titles(&[]).await.len(), n);
    assert_eq!(
        d.titles(&["--trash"]).await,
        ["The Structure of Scientific Revolutions"]
    );
    d.ok(&["restore", &key]).await;
    assert_eq!(d.titles(&[]).await.len(), n + 1);
    d.ok(&["trash", &key]).await;
    let err = d.fails(&["empty-trash"], 4).await;
    assert!(err.contains("--yes"), "{err}");
    d.ok(&["empty-trash", "--yes"]).await;
    assert!(d.titles(&["--trash"]).await.is_empty());
    d.fails(&["show", &key], 3).await;
    let first = d.key_of(&d.titles(&[]).await[0]).await;
    d.ok(&["delete", &first, "--yes"]).await;
    assert_eq!(d.titles(&[]).await.len(), n - 1);

    // Export in every format, and the RIS export imports back to the same count.
    for format in ["ris", "bibtex", "endnote-xml", "enw", "csl-json"] {
        let file = d.path(&format!("out.{format}"));
        d.ok(&["export", "--format", format, "-o", file.to_str().unwrap()])
            .await;
        assert!(std::fs::metadata(&file).unwrap().len() > 1000, "{format}");
    }
    let again = desk();
    again.ok(&["init"]).await;
    let out = again
        .ok(&["import", d.path("out.ris").to_str().unwrap()])
        .await;
    assert!(
        out.contains(&format!("imported {}, skipped 0", n - 1)),
        "{out}"
    );
    let stdout = d
        .ok(&["export", "--format", "bibtex", "--group", "Gambling"])
        .await;
    assert_eq!(
        stdout.matches("\n@").count() + usize::from(stdout.starts_with('@')),
        n - 1
    );

    // Duplicates: the same DOI twice.
    d.ok(&["add", "title=One", "doi=10.1000/xyz"]).await;
    d.ok(&["add", "title=One again", "doi=https://doi.org/10.1000/XYZ"])
        .await;
    let dups = d.ok(&["duplicates"]).await;
    assert!(
        dups.contains("same DOI") && dups.contains("One again"),
        "{dups}"
    );
}

#[tokio::test]
async fn a_backup_restores_into_an_empty_library_only() {
    let d = desk();
    d.ok(&["init"]).await;
    let ris = corpus_file(CORPUS_RIS);
    d.ok(&["import", ris.to_str().unwrap(), "--group", "Gambling"])
        .await;
    let key = d.ok(&["add", "title=With a file"]).await.trim().to_string();
    std::fs::write(d.path("f.pdf"), b"%PDF-1.4 bytes").unwrap();
    d.ok(&["attach", &key, d.path("f.pdf").to_str().unwrap()])
        .await;
    d.ok(&["trash", &key]).await;
    let zip = d.path("backup.zip");
    let out = d.ok(&["backup", zip.to_str().unwrap()]).await;
    assert!(out.contains("1 group and 1 attachment"), "{out}");

    // Not into a library that holds something.
    let err = d.fails(&["restore", zip.to_str().unwrap()], 4).await;
    assert!(err.contains("empty library only"), "{err}");

    let other = desk();
    other.ok(&["init"]).await;
    // A damaged file restores nothing.
    std::fs::write(other.path("bad.zip"), b"PK\x03\x04 not really").unwrap();
    let err = other
        .fails(&["restore", other.path("bad.zip").to_str().unwrap()], 4)
        .await;
    assert!(err.contains("nothing was restored"), "{err}");
    other.ok(&["restore", zip.to_str().unwrap()]).await;
    assert_eq!(other.titles(&[]).await, d.titles(&[]).await);
    assert_eq!(other.titles(&["--trash"]).await, ["With a file"]);
    assert_eq!(
        other.titles(&["--group", "Gambling"]).await,
        d.titles(&["--group", "Gambling"]).await
    );
    // The attachment's bytes came too: a backup of the restored library holds them.
    let again = other.path("again.zip");
    let out = other.ok(&["backup", again.to_str().unwrap()]).await;
    assert!(out.contains("1 attachment"), "{out}");
    let (_, files) = refsync_core::backup::read(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(files.values().next().unwrap(), b"%PDF-1.4 bytes");
}

/// The real service on port 0 with its data in a temp folder, until the test ends.
struct Service {
    url: String,
    _data: tempfile::TempDir,
}

async fn service(adjust: impl FnOnce(&mut Config)) -> Service {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(
        ([127, 0, 0, 1], 0).into(),
        data.path().to_path_buf(),
        data.path().join("no-web-app"),
    );
    adjust(&mut config);
    let server = Server::start(&config).await.expect("server starts");
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = server.serve(std::future::pending::<()>()).await;
    });
    Service {
        url: format!("http://{addr}"),
        _data: data,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_desktops_sync_through_the_service() {
    let svc = service(|_| {}).await;
    let (a, b) = (desk(), desk());
    a.ok(&["init"]).await;
    b.ok(&["init"]).await;
    d_sync_first(&a, &b, &svc.url).await;

    // Deleted on B: gone on A. Trashed on A: in B's Trash.
    let gone = b.key_of("Paper two").await;
    b.ok(&["delete", &gone, "--yes"]).await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    assert_eq!(
        a.titles(&[]).await,
        ["Paper one", "Paper three", "With a file"]
    );
    let trashed = a.key_of("Paper three").await;
    a.ok(&["trash", &trashed]).await;
    a.ok(&["sync"]).await;
    b.ok(&["sync"]).await;
    assert_eq!(b.titles(&["--trash"]).await, ["Paper three"]);

    // Different fields of one reference: merged. The same field: a conflict on the second.
    let one = a.key_of("Paper one").await;
    a.ok(&["edit", &one, "pages=1-10", "volume=3"]).await;
    b.ok(&["edit", &one, "year=2002", "volume=4"]).await;
    a.ok(&["sync"]).await;
    let err = b.fails(&["sync"], 9).await;
    assert!(err.contains("conflicts list"), "{err}");
    let list = b.ok(&["conflicts", "list"]).await;
    assert!(
        list.contains("volume") && list.contains("Paper one"),
        "{list}"
    );
    let shown = b.ok(&["conflicts", "show", &one]).await;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("* volume") && l.contains('4') && l.contains('3')),
        "{shown}"
    );
    b.fails(
        &[
            "conflicts",
            "resolve",
            &one,
            "--keep",
            "merged",
            "colour=blue",
        ],
        4,
    )
    .await;
    b.ok(&[
        "conflicts",
        "resolve",
        &one,
        "--keep",
        "merged",
        "volume=34",
    ])
    .await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    for d in [&a, &b] {
        let r: serde_json::Value =
            serde_json::from_str(&d.ok(&["show", &one, "--json"]).await).unwrap();
        assert_eq!(r["fields"]["volume"], "34");
        assert_eq!(r["fields"]["pages"], "1-10");
        assert_eq!(r["fields"]["year"], "2002");
    }

    // Edited on A, deleted for good on B: B keeps it deleted.
    let file_ref = a.key_of("With a file").await;
    a.ok(&["edit", &file_ref, "year=1999"]).await;
    b.ok(&["delete", &file_ref, "--yes"]).await;
    a.ok(&["sync"]).await;
    b.fails(&["sync"], 9).await;
    let shown = b.ok(&["conflicts", "show", &file_ref]).await;
    assert!(
        shown.contains("edited online and deleted permanently here"),
        "{shown}"
    );
    b.ok(&["conflicts", "resolve", &file_ref, "--keep", "local"])
        .await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    assert_eq!(a.titles(&[]).await, b.titles(&[]).await);
    assert_eq!(a.titles(&[]).await, ["Paper one"]);

    let status = b.ok(&["status"]).await;
    assert!(
        status.contains("Linked:") && status.contains("Last sync:"),
        "{status}"
    );

    // A second account is refused while linked.
    let c = desk();
    c.ok(&["init"]).await;
    c.ok(&[
        "link",
        "--create-account",
        "--server",
        &svc.url,
        "--email",
        "other@example.org",
    ])
    .await;
    let err = a.fails(&["link", "--email", "other@example.org"], 6).await;
    assert!(
        err.contains("only one account") && err.contains("refsync reset"),
        "{err}"
    );

    // Reset with a wipe on A: B is asked to link again, and linking again merges.
    a.ok(&["link", "--email", "a@example.org"]).await;
    a.ok(&[
        "reset",
        "--wipe-online",
        "--yes",
        "--backup",
        a.path("before.zip").to_str().unwrap(),
    ])
    .await;
    assert!(a.path("before.zip").is_file());
    // Unlinked: a sync does not link it again by itself.
    let err = a.fails(&["sync"], 6).await;
    assert!(
        err.contains("not linked") && err.contains("refsync link"),
        "{err}"
    );
    let err = b.fails(&["sync"], 8).await;
    assert!(err.contains("refsync link"), "{err}");
    let status = b.ok(&["status"]).await;
    assert!(status.contains("Relink required"), "{status}");
    b.ok(&["link"]).await;
    assert_eq!(b.titles(&[]).await, ["Paper one"]);
}

/// A makes the account and sends its library; B, empty, receives everything, the
/// attachment's bytes too; wrong passwords and expired sessions are told apart.
async fn d_sync_first(a: &Desk, b: &Desk, url: &str) {
    for t in ["Paper one", "Paper two", "Paper three"] {
        a.ok(&["add", &format!("title={t}"), "author=Able, A.", "year=2001"])
            .await;
    }
    let with_file = a.ok(&["add", "title=With a file"]).await.trim().to_string();
    std::fs::write(a.path("f.pdf"), b"%PDF-1.4 the bytes").unwrap();
    a.ok(&["attach", &with_file, a.path("f.pdf").to_str().unwrap()])
        .await;
    a.ok(&["group", "create", "Reading"]).await;
    a.ok(&["group", "add", "Reading", &with_file]).await;
    let out = a
        .ok(&[
            "link",
            "--create-account",
            "--server",
            url,
            "--email",
            "a@example.org",
        ])
        .await;
    assert!(out.contains("Synced: 6 sent"), "{out}");

    let out = b
        .ok(&["link", "--server", url, "--email", "a@example.org"])
        .await;
    assert!(
        out.contains("Synced: 6 received, 1 attachment file."),
        "{out}"
    );
    assert_eq!(
        b.titles(&[]).await,
        ["Paper one", "Paper three", "Paper two", "With a file"]
    );
    assert_eq!(b.titles(&["--group", "Reading"]).await, ["With a file"]);
    let zip = b.path("b.zip");
    b.ok(&["backup", zip.to_str().unwrap()]).await;
    let (_, files) = refsync_core::backup::read(&std::fs::read(&zip).unwrap()).unwrap();
    assert_eq!(
        files.values().next().map(Vec::as_slice),
        Some(&b"%PDF-1.4 the bytes"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_expired_sessions_storage_limits_and_no_service_are_told_apart() {
    let svc = service(|c| {
        c.limits.storage_limit = 1_000;
        c.limits.max_file_size = 10_000;
        c.limits.token_ttl_ms = 3_000;
    })
    .await;
    let a = desk();
    a.ok(&["init"]).await;
    let key = a.ok(&["add", "title=Big file"]).await.trim().to_string();
    std::fs::write(a.path("big.pdf"), vec![b'x'; 5_000]).unwrap();
    a.ok(&["attach", &key, a.path("big.pdf").to_str().unwrap()])
        .await;
    // Over the largest file the service takes: never sent, named, and the rest still syncs.
    std::fs::write(a.path("huge.pdf"), vec![b'y'; 12_000]).unwrap();
    a.ok(&["attach", &key, a.path("huge.pdf").to_str().unwrap()])
        .await;
    // The storage limit: the record syncs, the file stays here and is named.
    let out = a
        .run(&[
            "link",
            "--create-account",
            "--server",
            &svc.url,
            "--email",
            "q@example.org",
        ])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("“big.pdf” (5 KB) did not upload"), "{err}");
    assert!(
        err.contains("“huge.pdf” (12 KB) did not upload: It is too large to sync (limit 10 KB). The file stays in this library and is not synced"),
        "{err}"
    );
    let status = a.ok(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["files_waiting_to_upload"], 2);
    assert_eq!(
        (&status["storage_used"], &status["storage_limit"]),
        (&serde_json::json!(0), &serde_json::json!(1_000))
    );
    let text = a.ok(&["status"]).await;
    assert!(
        text.contains("Storage:  0 bytes of 1 KB used (0%); 1 reference online (at the last sync)"),
        "{text}"
    );

    // A wrong password, on a second library.
    let b = desk();
    b.ok(&["init"]).await;
    let bad = b
        .run_with_password(
            &["link", "--server", &svc.url, "--email", "q@example.org"],
            "not the password at all",
        )
        .await;
    assert_eq!(bad.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("could not sign in"));
    assert!(b.titles(&[]).await.is_empty());

    // The session expires: authentication, the library untouched, and the next sync signs
    // in again by itself with the password.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let before = a.titles(&[]).await;
    a.ok(&["edit", &key, "year=2020"]).await;
    let status_before = a.ok(&["status", "--json"]).await;
    assert!(
        status_before.contains("\"signed_in\": true"),
        "{status_before}"
    );
    let err = a.fails(&["sync"], 6).await;
    assert!(err.contains("sign in"), "{err}");
    assert_eq!(a.titles(&[]).await, before);
    a.ok(&["sync"]).await;

    // No service at all: a connection error, nothing lost.
    let gone = desk();
    gone.ok(&["init"]).await;
    gone.ok(&["add", "title=Kept"]).await;
    let err = gone
        .fails(
            &[
                "link",
                "--server",
                "http://127.0.0.1:9",
                "--email",
                "q@example.org",
            ],
            5,
        )
        .await;
    assert!(
        err.contains("run `refsync sync` again") || err.contains("cannot reach"),
        "{err}"
    );
    assert_eq!(gone.titles(&[]).await, ["Kept"]);
}

/// Issue 20, defect 6: a brief outage during an attachment's upload or download is tried again
/// as the records' requests are (it used to fail the whole sync at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brief_outage_while_files_move_is_retried() {
    let svc = service(|_| {}).await;
    let proxy = outage::Outage::start(svc.url.trim_start_matches("http://").to_string()).await;
    let (a, b) = (desk(), desk());
    for d in [&a, &b] {
        d.ok(&["init"]).await;
    }
    a.ok(&[
        "link",
        "--create-account",
        "--server",
        &proxy.url,
        "--email",
        "files@example.org",
    ])
    .await;
    b.ok(&[
        "link",
        "--server",
        &proxy.url,
        "--email",
        "files@example.org",
    ])
    .await;
    let key = a.ok(&["add", "title=With a file"]).await.trim().to_string();
    std::fs::write(a.path("f.pdf"), b"%PDF-1.4 retried").unwrap();
    a.ok(&["attach", &key, a.path("f.pdf").to_str().unwrap()])
        .await;
    // The upload's connection is cut once: the sync goes on after a pause.
    proxy.cut(1, "/files/");
    let out = a.ok(&["sync"]).await;
    assert_eq!(proxy.left(), 0, "the upload met the outage");
    assert!(out.contains("1 attachment file"), "{out}");
    // So is the download's, on the other desktop.
    proxy.cut(1, "/files/");
    let out = b.ok(&["sync"]).await;
    assert_eq!(proxy.left(), 0, "the download met the outage");
    assert!(out.contains("1 attachment file"), "{out}");
    let zip = b.path("b.zip");
    b.ok(&["backup", zip.to_str().unwrap()]).await;
    let (_, files) = refsync_core::backup::read(&std::fs::read(&zip).unwrap()).unwrap();
    assert_eq!(
        files.values().next().map(Vec::as_slice),
        Some(&b"%PDF-1.4 retried"[..])
    );
}

/// Issue 20, defect 4: a push the service applied but whose answer never arrived. The next
/// sync asks again for that answer (the outbox) instead of sending the library's later edit as
/// if the reference were new, so the service's copy of this library's own push is not taken for
/// the other side: no conflict where only different fields changed, and the later edit stays
/// (it used to come back as a conflict with no base, whose merged start took the online copy
/// whole and dropped the edit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_answer_was_lost_is_not_mistaken_for_the_other_side() {
    let svc = service(|_| {}).await;
    let proxy = outage::Outage::start(svc.url.trim_start_matches("http://").to_string()).await;
    let (a, b) = (desk(), desk());
    for d in [&a, &b] {
        d.ok(&["init"]).await;
    }
    a.ok(&[
        "link",
        "--create-account",
        "--server",
        &proxy.url,
        "--email",
        "lost@example.org",
    ])
    .await;
    b.ok(&["link", "--server", &svc.url, "--email", "lost@example.org"])
        .await;
    let key = a
        .ok(&["add", "title=Lost answer", "year=2000"])
        .await
        .trim()
        .to_string();
    // The batch reaches the service, its answer is lost, and the retries meet a cut network.
    proxy.plan(
        "/batch",
        vec![
            outage::Fault::LoseAnswer,
            outage::Fault::Cut,
            outage::Fault::Cut,
            outage::Fault::Cut,
        ],
    );
    a.fails(&["sync"], 5).await;
    assert_eq!(proxy.left(), 0);
    // The other desktop has the reference (the service applied it) and adds the pages...
    b.ok(&["sync"]).await;
    b.ok(&["edit", &key, "pages=10-20"]).await;
    b.ok(&["sync"]).await;
    // ...while this one, which never heard, corrects the year.
    a.ok(&["edit", &key, "year=2001"]).await;
    let out = a.ok(&["sync"]).await;
    assert!(!out.contains("in conflict"), "{out}");
    b.ok(&["sync"]).await;
    for d in [&a, &b] {
        let r: serde_json::Value =
            serde_json::from_str(&d.ok(&["show", &key, "--json"]).await).unwrap();
        assert_eq!(r["fields"]["year"], "2001");
        assert_eq!(r["fields"]["pages"], "10-20");
    }
}

/// Two desktop libraries linked to one new account on `svc`: `a` made it, with what `a`
/// held already (`a_first` runs on `a` before the link).
async fn linked_pair<F: AsyncFnOnce(&Desk)>(
    svc: &Service,
    email: &str,
    a_first: F,
) -> (Desk, Desk) {
    let (a, b) = (desk(), desk());
    for d in [&a, &b] {
        d.ok(&["init"]).await;
    }
    a_first(&a).await;
    a.ok(&[
        "link",
        "--create-account",
        "--server",
        &svc.url,
        "--email",
        email,
    ])
    .await;
    b.ok(&["link", "--server", &svc.url, "--email", email])
        .await;
    (a, b)
}

/// Two linked desktops through the service with one reference, and a conflict waiting on B (each
/// changed the title). Returns the service (kept alive), the desktops and the key.
async fn a_waiting_conflict() -> (Service, Desk, Desk, String) {
    let svc = service(|_| {}).await;
    let mut key = String::new();
    let (a, b) = linked_pair(&svc, "late@example.org", async |a: &Desk| {
        key = a
            .ok(&["add", "title=Paper", "year=2000"])
            .await
            .trim()
            .to_string();
    })
    .await;
    a.ok(&["edit", &key, "title=Title from A"]).await;
    b.ok(&["edit", &key, "title=Title from B"]).await;
    a.ok(&["sync"]).await;
    b.fails(&["sync"], 9).await;
    (svc, a, b, key)
}

async fn shown(d: &Desk, key: &str) -> serde_json::Value {
    serde_json::from_str(&d.ok(&["show", key, "--json"]).await).unwrap()
}

/// Issue 20, defect 1, at the CLI: a conflict settled after newer versions arrived is based on
/// the newest online copy (settling on the copy captured when it arose kept this library stale
/// for good, and different from every other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_settled_late_is_based_on_the_newest_online_copy() {
    for keep in ["online", "local", "merged"] {
        let (_svc, a, b, key) = a_waiting_conflict().await;
        a.ok(&["edit", &key, "year=2011"]).await;
        a.ok(&["sync"]).await;
        b.fails(&["sync"], 9).await; // the newer copy arrives; the conflict still waits
        b.ok(&["conflicts", "resolve", &key, "--keep", keep]).await;
        b.ok(&["sync"]).await;
        a.ok(&["sync"]).await;
        let (on_a, on_b) = (shown(&a, &key).await, shown(&b, &key).await);
        assert_eq!(on_a, on_b, "--keep {keep}: both libraries equal");
        assert_eq!(on_b["fields"]["year"], "2011", "--keep {keep}");
        let title = if keep == "local" {
            "Title from B"
        } else {
            "Title from A"
        };
        assert_eq!(on_b["fields"]["title"], title, "--keep {keep}");
    }
}

/// Issue 20, defect 2, at the CLI: editing a reference that waits in Sync Conflicts and then
/// syncing into a second conflict keeps the first one's side (it used to be replaced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_conflict_keeps_the_first_ones_side() {
    let (_svc, a, b, key) = a_waiting_conflict().await;
    b.ok(&["edit", &key, "pages=10-20"]).await;
    a.ok(&["edit", &key, "pages=99"]).await;
    a.ok(&["sync"]).await;
    b.fails(&["sync"], 9).await;
    let show = b.ok(&["conflicts", "show", &key]).await;
    let row = |id: &str| {
        show.lines()
            .find(|l| l[2..].starts_with(id))
            .unwrap_or_else(|| panic!("no {id} row in {show}"))
            .to_string()
    };
    assert!(row("title").contains("Title from B"), "{show}");
    assert!(
        row("pages").contains("10-20") && row("pages").contains("99"),
        "{show}"
    );
    b.ok(&["conflicts", "resolve", &key, "--keep", "local"])
        .await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    let on_a = shown(&a, &key).await;
    assert_eq!(on_a["fields"]["title"], "Title from B");
    assert_eq!(on_a["fields"]["pages"], "10-20");
}

/// Issue 24, item 8: every conflict settled in one pass, one side for all, after a question
/// that says how many (`--yes` answers it; without a terminal nothing is settled unasked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conflict_is_settled_in_one_pass() {
    let (_svc, a, b, key) = a_waiting_conflict().await;
    let other = a
        .ok(&["add", "title=Second", "year=2001"])
        .await
        .trim()
        .to_string();
    a.ok(&["sync"]).await;
    b.fails(&["sync"], 9).await;
    a.ok(&["edit", &other, "title=Second from A"]).await;
    b.ok(&["edit", &other, "title=Second from B"]).await;
    a.ok(&["sync"]).await;
    b.fails(&["sync"], 9).await;
    let list = b.ok(&["conflicts", "list", "--json"]).await;
    let waiting: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(waiting.as_array().map(Vec::len), Some(2), "{list}");

    let asked = b
        .fails(&["conflicts", "resolve", "--all", "--keep", "online"], 4)
        .await;
    assert!(
        asked.contains("Keep the online version of all 2 references in Sync Conflicts?"),
        "{asked}"
    );
    let merged = b
        .fails(
            &["conflicts", "resolve", "--all", "--keep", "merged", "--yes"],
            4,
        )
        .await;
    assert!(merged.contains("--keep local or --keep online"), "{merged}");
    let done = b
        .ok(&["conflicts", "resolve", "--all", "--keep", "online", "--yes"])
        .await;
    assert!(
        done.contains("Kept the online version of 2 references"),
        "{done}"
    );
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    for d in [&a, &b] {
        assert_eq!(shown(d, &key).await["fields"]["title"], "Title from A");
        assert_eq!(shown(d, &other).await["fields"]["title"], "Second from A");
    }
}

/// Issue 24, item 6: `refsync link --backup FILE` backs a library that holds references up
/// before its first link merges it, and `refsync status` says when the last backup was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_link_backs_the_library_up_first_when_asked() {
    let svc = service(|_| {}).await;
    let a = desk();
    a.ok(&["init"]).await;
    let status = a.ok(&["status"]).await;
    assert!(
        status.contains("Backup:   none made of this library yet"),
        "{status}"
    );
    a.ok(&["add", "title=Kept safe"]).await;
    let zip = a.path("before-link.zip");
    let out = a
        .ok(&[
            "link",
            "--create-account",
            "--server",
            &svc.url,
            "--email",
            "safe@example.org",
            "--backup",
            zip.to_str().unwrap(),
        ])
        .await;
    assert!(out.contains("Backed up to"), "{out}");
    let (manifest, _) = refsync_core::backup::read(&std::fs::read(&zip).unwrap()).unwrap();
    assert_eq!(manifest.references.len(), 1);
    let status = a.ok(&["status"]).await;
    assert!(status.contains("Backup:   last made"), "{status}");
}

/// Issue 24, item 10: `refsync sync --watch` syncs at once, again when the change hint says
/// another device changed the library (here with an hour between syncs, so only the hint can
/// bring it), one line per sync, and stops cleanly on Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_watch_follows_another_devices_changes_and_stops_on_ctrl_c() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let svc = service(|_| {}).await;
    let (a, b) = linked_pair(&svc, "watch@example.org", async |_: &Desk| {}).await;
    let mut watching = a.spawn(&["sync", "--watch", "--every", "1h"]);
    let mut lines = BufReader::new(watching.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut next_line = async || {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("a line within 30 s")
            .unwrap()
            .expect("still running");
        seen.push(line.clone());
        line
    };
    assert!(next_line().await.starts_with("Syncing every 1 hour"));
    assert!(
        next_line().await.contains("Synced"),
        "the first sync at once"
    );

    b.ok(&["add", "title=Made on B"]).await;
    b.ok(&["sync"]).await;
    let line = next_line().await;
    assert!(
        line.contains("Synced") && line.contains("1 received"),
        "{line}"
    );
    assert_eq!(a.titles(&[]).await, ["Made on B"]);

    let pid = watching.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(next_line().await, "Stopped.");
    let status = watching.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// The sets `duplicates --json` lists: (id, reason, keys).
async fn duplicate_sets(d: &Desk) -> Vec<(String, String, Vec<String>)> {
    let json: serde_json::Value =
        serde_json::from_str(&d.ok(&["duplicates", "--json"]).await).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
                s["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Issue 25 at the desktop: a set merged here arrives merged on the other device (the kept
/// record with both groups and the attachment, the other in the Trash saying where it went);
/// "not duplicates" crosses devices and can be undone; an edit to a merged-away record made
/// elsewhere before its sync becomes a conflict, not a loss; an import is told what is here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_merged_kept_apart_and_caught_at_import_across_devices() {
    let svc = service(|_| {}).await;
    let (mut one, mut two) = (String::new(), String::new());
    let (a, b) = linked_pair(&svc, "dups@example.org", async |a: &Desk| {
        one = a
            .ok(&[
                "add",
                "title=The structure of scientific revolutions",
                "author=Kuhn, Thomas",
                "year=1962",
                "doi=10.1000/ssr",
            ])
            .await
            .trim()
            .to_string();
        two = a
            .ok(&[
                "add",
                "title=The Structure of Scientific Revolutions.",
                "author=Kuhn, T.",
                "year=1962",
                "doi=https://doi.org/10.1000/SSR",
                "pages=1-210",
            ])
            .await
            .trim()
            .to_string();
        for (group, key) in [("Reading", &one), ("Classics", &two)] {
            a.ok(&["group", "create", group]).await;
            a.ok(&["group", "add", group, key]).await;
        }
        let pdf = a.path("kuhn.pdf");
        std::fs::write(&pdf, b"%PDF-1.4 kuhn").unwrap();
        a.ok(&["attach", &two, pdf.to_str().unwrap()]).await;
        // Two works by one author in one year, nearly one title: marked apart later.
        a.ok(&[
            "add",
            "title=Second thoughts on paradigms in science",
            "author=Kuhn, Thomas",
            "year=1974",
        ])
        .await;
        a.ok(&[
            "add",
            "title=Second thoughts on paradigms in science!",
            "author=Kuhn, Thomas",
            "year=1974",
        ])
        .await;
    })
    .await;
    b.ok(&["sync"]).await;
    let sets = duplicate_sets(&b).await;
    assert_eq!(sets.len(), 2, "{sets:?}");
    let (doi_set, reason, keys) = sets[0].clone();
    assert_eq!(reason, "doi");
    assert_eq!(keys.len(), 2);

    // Merged on B, keeping one's record but two's title.
    let out = b
        .ok(&[
            "duplicates",
            "merge",
            &doi_set,
            "--keep",
            &one,
            &format!("title={two}"),
        ])
        .await;
    assert!(out.contains("Merged 1 record into"), "{out}");
    let kept = shown(&b, &one).await;
    assert_eq!(
        kept["fields"]["title"],
        "The Structure of Scientific Revolutions."
    );
    assert_eq!(kept["fields"]["pages"], "1-210");
    assert_eq!(kept["groups"].as_array().unwrap().len(), 2);
    assert_eq!(kept["attachments"].as_array().unwrap().len(), 1);
    b.ok(&["sync"]).await;

    // A sees the merge: one record with both groups and the file; the other in the Trash.
    a.ok(&["sync"]).await;
    let kept = shown(&a, &one).await;
    assert_eq!(kept["groups"].as_array().unwrap().len(), 2, "{kept}");
    assert_eq!(kept["attachments"].as_array().unwrap().len(), 1, "{kept}");
    let away = shown(&a, &two).await;
    assert_eq!(away["trashed"], true);
    assert_eq!(away["merged_into"], one.as_str());
    assert_eq!(duplicate_sets(&a).await.len(), 1);

    // Restoring the merged-away record on A undoes its merge: its file goes back with it.
    a.ok(&["restore", &two]).await;
    assert_eq!(
        shown(&a, &two).await["attachments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(shown(&a, &one).await["attachments"]
        .as_array()
        .unwrap()
        .is_empty());
    a.ok(&["sync"]).await;
    b.ok(&["sync"]).await;
    let sets = duplicate_sets(&b).await;
    assert_eq!(
        sets.len(),
        2,
        "the restored copy is a duplicate again: {sets:?}"
    );

    // Not duplicates, on A: gone from B's list too; undone, it is back.
    let apart = duplicate_sets(&a)
        .await
        .into_iter()
        .find(|s| s.1 == "probable")
        .unwrap();
    let out = a.ok(&["duplicates", "not", &apart.0]).await;
    assert!(out.contains("not duplicates"), "{out}");
    a.ok(&["sync"]).await;
    b.ok(&["sync"]).await;
    assert!(duplicate_sets(&b).await.iter().all(|s| s.1 != "probable"));
    let mut again = vec!["duplicates", "again"];
    again.extend(apart.2.iter().map(String::as_str));
    b.ok(&again).await;
    assert!(duplicate_sets(&b).await.iter().any(|s| s.1 == "probable"));

    // Merged on A while B edits the merged-away copy: B's sync keeps its edit in a conflict.
    let set = duplicate_sets(&a)
        .await
        .into_iter()
        .find(|s| s.1 == "doi")
        .unwrap();
    a.ok(&["duplicates", "merge", &set.0, "--keep", &one]).await;
    a.ok(&["sync"]).await;
    b.ok(&["edit", &two, "pages=3-212"]).await;
    b.fails(&["sync"], 9).await;
    let conflicts = b.ok(&["conflicts", "list"]).await;
    assert!(conflicts.contains(&two[..6]), "{conflicts}");
    b.ok(&["conflicts", "resolve", &two, "--keep", "local"])
        .await;
    b.ok(&["sync"]).await;
    let kept_edit = shown(&b, &two).await;
    assert_eq!(kept_edit["fields"]["pages"], "3-212");
    assert_eq!(kept_edit["trashed"], false);

    // An import of what is here: told, and skipped or merged as asked.
    let ris = a.path("again.ris");
    std::fs::write(
        &ris,
        "TY  - JOUR\nTI  - The structure of scientific revolutions\nAU  - Kuhn, Thomas\nPY  - 1962\nDO  - 10.1000/ssr\nKW  - paradigm\nER  - \n\nTY  - JOUR\nTI  - A new paper\nAU  - Other, Ann\nPY  - 2020\nER  - \n",
    )
    .unwrap();
    let before = a.list(&[]).await.len();
    let out = a
        .ok(&["import", ris.to_str().unwrap(), "--skip-duplicates"])
        .await;
    assert!(
        out.contains("1 imported record was already in the library: left out"),
        "{out}"
    );
    assert_eq!(a.list(&[]).await.len(), before + 1);
    let out = a
        .ok(&["import", ris.to_str().unwrap(), "--merge-duplicates"])
        .await;
    assert!(out.contains("merged into"), "{out}");
    assert_eq!(shown(&a, &one).await["keywords"][0], "paradigm");
    let err = a
        .fails(&["duplicates", "merge", "ffffffff", "--keep", &one], 3)
        .await;
    assert!(err.contains("no set of duplicates"), "{err}");
}

/// Format Paper at the desktop: a Markdown and an RTF manuscript (tests/manuscripts) with
/// EndNote, pandoc and DOI temporary citations come back formatted, with a bibliography, the
/// rest of each file byte for byte; a citation matching nothing is left as typed and named.
#[tokio::test]
async fn manuscripts_are_formatted_with_a_bibliography() {
    let d = desk();
    d.ok(&["init"]).await;
    add_kuhn(&d, &["citation_key=kuhn1962"]).await;
    d.ok(&[
        "add",
        "title=Ice sheets of the north",
        "author=Able, Ann; Müller, Hans",
        "year=2001",
        "journal=Journal of Glaciology",
        "doi=10.1000/ice",
    ])
    .await;
    let manuscripts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/manuscripts");
    // A format-paper that fails (a citation left as typed, a refused file): exit status 4, the
    // words on standard error.
    let format_paper = |input: &std::path::Path, output: &std::path::Path, style: &str| {
        let args: Vec<String> = vec![
            "format-paper".into(),
            input.display().to_string(),
            output.display().to_string(),
            "--style".into(),
            style.into(),
        ];
        let d = &d;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            d.fails(&args, 4).await
        }
    };

    let md = d.path("draft-formatted.md");
    let input = manuscripts.join("draft.md");
    let err = format_paper(&input, &md, "apa").await;
    assert!(
        err.contains("4 of 5 citations formatted; 2 references in the bibliography."),
        "{err}"
    );
    assert!(
        err.contains("line 8: {Nobody, 1999}: no reference matches “Nobody, 1999”"),
        "{err}"
    );
    let out = std::fs::read_to_string(&md).unwrap();
    let original = std::fs::read_to_string(&input).unwrap();
    let expected_text = original
        .replace("[@kuhn1962, p. 10]", "(Kuhn, 1962, p. 10)")
        .replace("{Able, 2001 #7}", "(Able & Müller, 2001)")
        .replace(
            "[@doi:10.1000/ice; @kuhn1962]",
            "(Able & Müller, 2001; Kuhn, 1962)",
        )
        .replace("@kuhn1962 [chap. 9]", "Kuhn (1962, Chapter 9)");
    assert!(out.starts_with(&expected_text), "{out}");
    assert!(out.ends_with(
        "\n## References\n\n\
         Able, A., & Müller, H. (2001). Ice sheets of the north. *Journal of Glaciology*. <https://doi.org/10.1000/ice>\n\n\
         Kuhn, T. S. (1962). *The structure of scientific revolutions*. University of Chicago Press.\n"
    ), "{out}");

    let rtf = d.path("draft-formatted.rtf");
    let input = manuscripts.join("draft.rtf");
    let err = format_paper(&input, &rtf, "ieee").await;
    assert!(
        err.contains("paragraph 3: \\{Nobody, 1999\\}: no reference matches"),
        "{err}"
    );
    let out = std::fs::read_to_string(&rtf).unwrap();
    let original = std::fs::read_to_string(&input).unwrap();
    let expected_text = original
        .replace("\\{Kuhn, 1962 #12@10\\}", "[1, p. 10]")
        .replace("\\{M\\'fcller, 2001\\}", "[2]")
        .replace("agree [@kuhn1962]", "agree [1]");
    let body_end = expected_text.rfind('}').unwrap();
    assert!(out.starts_with(&expected_text[..body_end]), "{out}");
    assert!(out.contains("{\\b References}\\par"), "{out}");
    assert!(
        out.contains("[1] T. S. Kuhn, {\\i The structure of scientific revolutions}."),
        "{out}"
    );
    assert!(out.ends_with("\\par}\n}\r\n"), "{out:?}");

    // Word and OpenDocument: the same citations (split over runs in Word), the rest of the
    // file as it was.
    for name in ["draft.docx", "draft.odt"] {
        let input = manuscripts.join(name);
        let output = d.path(&format!("formatted-{name}"));
        let err = format_paper(&input, &output, "apa").await;
        assert!(
            err.contains("3 of 4 citations formatted; 2 references in the bibliography."),
            "{name}: {err}"
        );
        assert!(
            err.contains("paragraph 3: {Nobody, 1999}: no reference matches “Nobody, 1999”"),
            "{name}: {err}"
        );
        let before = refsync_core::zip::entries(&std::fs::read(&input).unwrap()).unwrap();
        let after = refsync_core::zip::entries(&std::fs::read(&output).unwrap()).unwrap();
        assert_eq!(before.len(), after.len(), "{name}");
        let mut text = String::new();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.name, a.name, "{name}");
            if a.name == "word/document.xml" || a.name == "content.xml" {
                text = words_of(&String::from_utf8(a.data.clone()).unwrap());
            } else {
                assert_eq!(b.data, a.data, "{name}: {}", a.name);
            }
        }
        assert!(
            text.contains("inside a paradigm (Kuhn, 1962, p. 10). Ice records from Müller’s team (Able & Müller, 2001) agree (Kuhn, 1962)."),
            "{name}: {text}"
        );
        assert!(
            text.contains("An unknown work {Nobody, 1999} stays as typed."),
            "{name}: {text}"
        );
        assert!(
            text.ends_with("ReferencesAble, A., & Müller, H. (2001). Ice sheets of the north. Journal of Glaciology. https://doi.org/10.1000/iceKuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press."),
            "{name}: {text}"
        );
    }

    // Nothing found: the manuscript comes back as it was, and says so.
    let plain = d.path("plain.md");
    std::fs::write(&plain, "No citations here.\n").unwrap();
    let same = d.path("plain-out.md");
    let done = d
        .run(&[
            "format-paper",
            plain.to_str().unwrap(),
            same.to_str().unwrap(),
        ])
        .await;
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(err.contains("No temporary citations were found"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&same).unwrap(),
        "No citations here.\n"
    );
    let err = format_paper(&plain, &plain, "apa").await;
    assert!(err.contains("another file than the one read"), "{err}");
    let pdf = d.path("paper.pdf");
    std::fs::write(&pdf, b"%PDF-1.7").unwrap();
    let err = format_paper(&pdf, &same, "apa").await;
    assert!(
        err.contains("is not a manuscript Format Paper reads"),
        "{err}"
    );
    let docx = d.path("paper.docx");
    std::fs::write(&docx, b"PK").unwrap();
    let err = format_paper(&docx, &same, "apa").await;
    assert!(
        err.contains("This is not a Word (.docx) file that can be read"),
        "{err}"
    );
}

/// Kuhn's book, the reference the citation tests cite, with `more` fields; its key.
async fn add_kuhn(d: &Desk, more: &[&str]) -> String {
    let mut args = vec![
        "add",
        "type=book",
        "title=The structure of scientific revolutions",
        "author=Kuhn, Thomas S.",
        "year=1962",
        "publisher=University of Chicago Press",
    ];
    args.extend_from_slice(more);
    d.ok(&args).await.trim().to_string()
}

/// The text of an XML part, tags dropped and the usual entities read.
fn words_of(xml: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in xml.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Issue 26 at the desktop: a citation and a bibliography in built-in styles and in a journal's
/// own .csl file, written as text, HTML and RTF; a style that cannot be used says why.
#[tokio::test]
async fn references_are_cited_and_listed_in_csl_styles() {
    let d = desk();
    d.ok(&["init"]).await;
    let kuhn = add_kuhn(&d, &[]).await;
    let ice = d
        .ok(&[
            "add",
            "title=Ice <sheets> of the north",
            "author=Able, Ann; Baker, Bob",
            "year=2001",
            "journal=Journal of Glaciology",
            "volume=47",
            "pages=101-120",
        ])
        .await
        .trim()
        .to_string();
    d.ok(&["group", "create", "Thesis"]).await;
    d.ok(&["group", "add", "Thesis", &ice]).await;

    let out = d
        .ok(&["cite", &format!("{ice}:12"), &kuhn, "--style", "apa"])
        .await;
    assert_eq!(
        out,
        "(Able & Baker, 2001, p. 12; Kuhn, 1962)\n\n\
         Able, A., & Baker, B. (2001). Ice <sheets> of the north. Journal of Glaciology, 47, 101–120.\n\
         Kuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press.\n"
    );
    let out = d.ok(&["cite", &kuhn, "--style", "ieee"]).await;
    assert!(out.starts_with("[1]\n\n[1] T. S. Kuhn,"), "{out}");
    let html = d
        .ok(&[
            "cite",
            &ice,
            "--style",
            "chicago-author-date",
            "--format",
            "html",
        ])
        .await;
    assert!(
        html.contains("“Ice &lt;sheets&gt; of the North.” <i>Journal of Glaciology</i> 47"),
        "{html}"
    );

    // The group's bibliography as an RTF document.
    let rtf = d.path("thesis.rtf");
    d.ok(&[
        "bibliography",
        "--group",
        "Thesis",
        "--style",
        "harvard-cite-them-right",
        "--format",
        "rtf",
        "-o",
        rtf.to_str().unwrap(),
    ])
    .await;
    let doc = std::fs::read_to_string(&rtf).unwrap();
    assert!(doc.starts_with("{\\rtf1"), "{doc}");
    assert!(doc.contains("{\\i Journal of Glaciology}"), "{doc}");
    assert!(!doc.contains("Kuhn"), "only the group: {doc}");

    // A journal's own style file that follows APA's rules.
    let csl = d.path("glaciology.csl");
    std::fs::write(
        &csl,
        r#"<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" default-locale="en-US">
  <info>
    <title>Journal of Glaciology</title>
    <id>http://www.zotero.org/styles/journal-of-glaciology</id>
    <link href="http://www.zotero.org/styles/apa" rel="independent-parent"/>
    <updated>2024-01-01T00:00:00+00:00</updated>
  </info>
</style>"#,
    )
    .unwrap();
    let out = d
        .ok(&["bibliography", "--style", csl.to_str().unwrap()])
        .await;
    assert!(out.starts_with("Able, A., & Baker, B. (2001)."), "{out}");

    // A year in words ("in press") is cited as undated, not refused.
    let pressed = d
        .ok(&[
            "add",
            "title=Forthcoming",
            "author=Able, Ann",
            "year=in press",
        ])
        .await
        .trim()
        .to_string();
    let out = d.ok(&["cite", &pressed, "--style", "apa"]).await;
    assert!(out.starts_with("(Able, n.d.)"), "{out}");

    let styles = d.ok(&["styles", "vancouver"]).await;
    assert!(styles.contains("vancouver"), "{styles}");
    let err = d
        .fails(&["cite", &kuhn, "--style", "no-such-style"], 4)
        .await;
    assert!(err.contains("not a built-in style"), "{err}");
    let err = d.fails(&["cite", &kuhn, "--format", "pdf"], 4).await;
    assert!(err.contains("not an output"), "{err}");
}

/// Issue 26, a defect: the bibliography of a real EndNote library (102 references) in MLA made
/// the citation processor panic (hayagriva indexed a name the item did not have while
/// disambiguating), so `refsync bibliography` crashed; fixed in the vendored processor
/// (vendor/hayagriva/PATCHES.md). Every reference is listed, and it exits cleanly.
#[tokio::test]
async fn a_real_library_is_listed_in_mla_without_a_crash() {
    let d = desk();
    d.ok(&["init"]).await;
    let xml = corpus_file("endnote-xml/reflib/blue-light.xml");
    d.ok(&["import", xml.to_str().unwrap()]).await;
    for style in ["mla", "apa", "chicago-author-date"] {
        let out = d.ok(&["bibliography", "--style", style]).await;
        assert_eq!(out.lines().count(), 102, "{style}: {out}");
    }
}

/// Issue 26: a journal's own `.csl` file added on one desktop is kept in the library and synced:
/// the other desktop cites with it by its title or file name (no network needed once synced),
/// a backup carries it, and removing it on either side removes it on both. A file that is not
/// CSL is refused before anything is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_style_added_on_one_desktop_formats_on_the_other() {
    let svc = service(|_| {}).await;
    let mut kuhn = String::new();
    let (a, b) = linked_pair(&svc, "styles@example.org", async |a: &Desk| {
        kuhn = add_kuhn(a, &[]).await;
    })
    .await;
    // A journal's own style (its parent is APA: it formats as APA under its own title).
    let csl = a.path("annals-of-examples.csl");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/styles/annals-of-example-studies.csl"),
        &csl,
    )
    .unwrap();
    let junk = a.path("notes.csl");
    std::fs::write(&junk, "these are my notes, not a style").unwrap();
    let err = a
        .fails(&["styles", "--add", junk.to_str().unwrap()], 4)
        .await;
    assert!(err.contains("is not a CSL style"), "{err}");
    let out = a.ok(&["styles", "--add", csl.to_str().unwrap()]).await;
    assert!(out.contains("Added “Annals of Example Studies”"), "{out}");
    let out = a.ok(&["styles", "--add", csl.to_str().unwrap()]).await;
    assert!(out.contains("already in the library"), "{out}");
    a.ok(&["sync"]).await;
    b.ok(&["sync"]).await;

    let listed = b.ok(&["styles", "annals"]).await;
    assert!(
        listed.contains("Annals of Example Studies (in this library: annals-of-examples.csl)"),
        "{listed}"
    );
    let apa = "(Kuhn, 1962)\n\nKuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press.\n";
    for name in [
        "Annals of Example Studies",
        "annals-of-examples",
        "annals-of-examples.csl",
    ] {
        assert_eq!(b.ok(&["cite", &kuhn, "--style", name]).await, apa, "{name}");
    }

    // A backup carries the library's styles.
    let zip = b.path("with-style.zip");
    let saved = b.ok(&["backup", zip.to_str().unwrap()]).await;
    assert!(saved.contains("1 citation style"), "{saved}");
    let c = desk();
    c.ok(&["init"]).await;
    c.ok(&["restore", zip.to_str().unwrap()]).await;
    assert!(c
        .ok(&["styles"])
        .await
        .contains("Annals of Example Studies"));

    // Removed on B, gone from A at its next sync.
    b.ok(&["styles", "--remove", "annals of example studies"])
        .await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    assert!(!a.ok(&["styles"]).await.contains("Annals"));
    let err = a
        .fails(&["cite", &kuhn, "--style", "Annals of Example Studies"], 4)
        .await;
    assert!(err.contains("not a built-in style"), "{err}");
    let err = a.fails(&["styles", "--remove", "Annals"], 3).await;
    assert!(err.contains("no style “Annals”"), "{err}");
}

/// Issue 27's desktop side: two accounts on three desktops share a library. Ada makes it and
/// invites Bob as an editor; Bob accepts (and has it at once); both edit, a conflict is settled
/// on Bob's side; Ada's second desktop follows; the activity says who did what; Bob demoted to
/// viewer has his stale edit refused by the service and his next one by his own desktop; Bob
/// removed keeps a copy aside and is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_library_between_two_accounts_on_three_desktops() {
    let svc = service(|_| {}).await;
    let (a1, a2, b) = (desk(), desk(), desk());
    for d in [&a1, &a2, &b] {
        d.ok(&["init"]).await;
    }
    for (d, email, create) in [
        (&a1, "ada@example.org", true),
        (&a2, "ada@example.org", false),
        (&b, "bob@example.org", true),
    ] {
        let mut args = vec!["link", "--server", &svc.url, "--email", email];
        if create {
            args.push("--create-account");
        }
        d.ok(&args).await;
    }
    a1.ok(&["add", "title=Ada's own", "year=2001"]).await;
    let made = a1.ok(&["share", "create", "Lab"]).await;
    assert!(made.contains("Made the shared library “Lab”"), "{made}");
    let invited = a1
        .ok(&[
            "share",
            "invite",
            "lab",
            "Bob@Example.org",
            "--role",
            "editor",
        ])
        .await;
    assert!(
        invited.contains("Invited bob@example.org to “Lab” as an editor"),
        "{invited}"
    );
    a1.fails(
        &["share", "invite", "Lab", "x@example.org", "--role", "owner"],
        2,
    )
    .await;

    let waiting = b.ok(&["share", "invitations"]).await;
    assert!(
        waiting.contains("Lab") && waiting.contains("ada@example.org"),
        "{waiting}"
    );
    let joined = b.ok(&["share", "accept", "Lab"]).await;
    assert!(
        joined.contains("You are an editor of “Lab” now"),
        "{joined}"
    );
    let listed = b.ok(&["share", "list"]).await;
    assert!(
        listed.contains("(your library)") && listed.contains("editor"),
        "{listed}"
    );

    // Ada's first sync makes her copy; the personal library is untouched by the shared one.
    a1.ok(&["sync"]).await;
    let key = a1
        .ok(&["--shared", "Lab", "add", "title=Shared paper", "year=2020"])
        .await
        .trim()
        .to_string();
    a1.ok(&["sync"]).await;
    assert_eq!(a1.titles(&[]).await, ["Ada's own"]);
    b.ok(&["sync"]).await;
    assert_eq!(b.titles(&["--shared", "Lab"]).await, ["Shared paper"]);
    assert!(
        b.titles(&[]).await.is_empty(),
        "Bob's own library stays his"
    );

    // Ada copies her own reference, with its file, into the shared library; Bob copies it
    // on into his own library. Each copy is new and remembers where it came from.
    let own = a1.key_of("Ada's own").await;
    std::fs::write(a1.path("notes.pdf"), b"%PDF-1.4 Ada's notes").unwrap();
    a1.ok(&["attach", &own, a1.path("notes.pdf").to_str().unwrap()])
        .await;
    let copied = a1.ok(&["copy", &own, "--to", "Lab"]).await;
    assert!(copied.contains("Copied 1 reference into “Lab”"), "{copied}");
    a1.fails(&["copy", &own, "--to", "mine"], 4).await;
    a1.ok(&["sync"]).await;
    b.ok(&["sync"]).await;
    let in_lab = b.key_of_in(&["--shared", "Lab"], "Ada's own").await;
    assert_ne!(in_lab, own);
    let copied = b
        .ok(&["--shared", "Lab", "copy", &in_lab, "--to", "mine"])
        .await;
    assert!(
        copied.contains("into your library") && !copied.contains("not on this computer"),
        "the file came along from the service: {copied}"
    );
    let mine = b.list(&[]).await;
    assert_eq!(mine.len(), 1);
    assert!(
        mine[0]["extra"]["refsync:copied_from"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{in_lab}")),
        "{}",
        mine[0]
    );
    assert_eq!(mine[0]["attachments"].as_array().unwrap().len(), 1);
    b.ok(&["sync"]).await;
    b.ok(&["--shared", "Lab", "trash", &in_lab]).await;
    b.ok(&["sync"]).await;
    a1.ok(&["sync"]).await;
    assert_eq!(a1.titles(&["--shared", "Lab"]).await, ["Shared paper"]);

    // The same field edited on both sides: a conflict, settled on Bob's desktop.
    a1.ok(&["--shared", "Lab", "edit", &key, "title=From Ada"])
        .await;
    b.ok(&["--shared", "Lab", "edit", &key, "title=From Bob"])
        .await;
    a1.ok(&["sync"]).await;
    let err = b.fails(&["sync"], 9).await;
    assert!(err.contains("conflicts list"), "{err}");
    let conflicts = b.ok(&["--shared", "Lab", "conflicts", "list"]).await;
    assert!(conflicts.contains("title"), "{conflicts}");
    b.ok(&[
        "--shared",
        "Lab",
        "conflicts",
        "resolve",
        &key,
        "--keep",
        "local",
    ])
    .await;
    b.ok(&["sync"]).await;
    for d in [&a1, &a2] {
        d.ok(&["sync"]).await;
        assert_eq!(d.titles(&["--shared", "Lab"]).await, ["From Bob"]);
    }
    let members = a2.ok(&["share", "members", "Lab"]).await;
    assert!(
        members.contains("ada@example.org") && members.contains("bob@example.org"),
        "{members}"
    );
    let activity = a2.ok(&["share", "activity", "Lab"]).await;
    assert!(
        activity.contains("bob@example.org") && activity.contains("From Bob"),
        "{activity}"
    );

    // Demoted to viewer: the edit Bob made before hearing of it is refused by the service (and
    // stays on his desktop); the next one his desktop refuses itself, naming the role.
    a1.ok(&["share", "role", "Lab", "bob@example.org", "viewer"])
        .await;
    // Meanwhile Ada attaches a file to the shared paper.
    std::fs::write(a1.path("data.csv"), b"year,count\n2020,7\n").unwrap();
    a1.ok(&[
        "--shared",
        "Lab",
        "attach",
        &key,
        a1.path("data.csv").to_str().unwrap(),
    ])
    .await;
    a1.ok(&["sync"]).await;
    b.ok(&["--shared", "Lab", "edit", &key, "year=1999"]).await;
    let err = b.fails(&["sync"], 11).await;
    assert!(err.contains("viewer"), "{err}");
    // The refused push did not stop Ada's file from arriving whole, its bytes too: Bob can
    // copy the paper into his own library with it.
    let copied = b
        .ok(&["--shared", "Lab", "copy", &key, "--to", "mine"])
        .await;
    assert!(
        copied.contains("into your library") && !copied.contains("not on this computer"),
        "the file's bytes came with the refused sync: {copied}"
    );
    // The refused edit waits in Sync Conflicts (the online copy is back meanwhile): kept
    // there, not sent again and again; dropping it lets the library sync again.
    let refused = b.ok(&["--shared", "Lab", "conflicts", "list"]).await;
    assert!(refused.contains("refused"), "{refused}");
    let held: Vec<serde_json::Value> = b.list(&["--shared", "Lab"]).await;
    assert_eq!(held[0]["fields"]["year"], "2020");
    b.ok(&[
        "--shared",
        "Lab",
        "conflicts",
        "resolve",
        &key,
        "--keep",
        "online",
    ])
    .await;
    b.ok(&["sync"]).await;
    let err = b
        .fails(&["--shared", "Lab", "edit", &key, "year=1998"], 11)
        .await;
    assert!(err.contains("read-only") && err.contains("viewer"), "{err}");
    a1.ok(&["sync"]).await;
    let shared: Vec<serde_json::Value> = a1.list(&["--shared", "Lab"]).await;
    assert_eq!(
        shared[0]["fields"]["year"], "2020",
        "the viewer's edit never landed"
    );

    // Removed: Bob's copy is set aside, readable, and he is told why.
    a1.ok(&["share", "remove", "Lab", "bob@example.org"]).await;
    let out = b.ok(&["sync"]).await;
    assert!(
        out.contains("You no longer belong to “Lab”") && out.contains("into your own library"),
        "{out}"
    );
    b.fails(&["--shared", "Lab", "list"], 3).await;
    let aside = std::fs::read_dir(b.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.to_string_lossy().contains(".left-") && p.extension().is_some_and(|e| e == "refsync")
        })
        .expect("the copy set aside");
    let kept = b
        .ok(&["--library", aside.to_str().unwrap(), "list", "--json"])
        .await;
    assert!(kept.contains("From Bob"), "{kept}");
    // It keeps the references, not the session: nothing there signs in or syncs.
    let err = b
        .fails(&["--library", aside.to_str().unwrap(), "sync"], 6)
        .await;
    assert!(err.contains("not linked"), "{err}");
}
