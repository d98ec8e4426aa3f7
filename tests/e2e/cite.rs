//! Citing end to end (issue 26): a style of the service's CSL repository, used once online,
//! formats offline after; with the network gone, the Cite dialog previews a citation
//! and a bibliography, a style is found by typing its name, the bibliography is copied as rich
//! text and plain text at once and downloaded as RTF; Ctrl+Shift+C copies the selection's in
//! the last style; Format Paper formats a Markdown, an RTF and a Word manuscript
//! (`tests/manuscripts`) and names the citation it could not match; a journal's `.csl` file
//! added on one device formats on another with the network gone.

use super::*;
use crate::harness::{allow_clipboard, clipboard, set_offline, type_keys};
use crate::sync::{create_account, second_device_as, sync_now, CTRL_A};

const BIBTEX: &str = r#"@book{kuhn1962,
  author = {Kuhn, Thomas S.},
  title = {The structure of scientific revolutions},
  publisher = {University of Chicago Press},
  year = {1962}
}
@article{able2001,
  author = {Able, Ann and M{\"u}ller, Hans},
  title = {Ice sheets of the north},
  journal = {Journal of Glaciology},
  year = {2001},
  doi = {10.1000/ice}
}
"#;

/// The two references cited together in the Journal of Glaciology's style (from the CSL
/// repository the service serves), which keeps the list's order (either may be first: they
/// were imported together).
const GLACIOLOGY_CITATION: [&str; 2] = [
    "(Kuhn, 1962; Able and Müller, 2001)",
    "(Able and Müller, 2001; Kuhn, 1962)",
];

/// The one file downloaded since the folder was last emptied: its bytes (the folder is emptied
/// again).
async fn take_download(dir: &Path) -> (String, Vec<u8>) {
    let path = wait_download(dir).await;
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, bytes)
}

/// Ctrl+Shift+`key`, the three held together.
async fn press_ctrl_shift(c: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let (ctrl, shift) = ('\u{E009}', '\u{E008}');
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: ctrl })
        .then(KeyAction::Down { value: shift })
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key })
        .then(KeyAction::Up { value: shift })
        .then(KeyAction::Up { value: ctrl });
    c.perform_actions(keys).await.expect("press Ctrl+Shift+key");
}

/// Pick `tests/manuscripts/NAME` in the Format paper dialog.
async fn choose_manuscript(c: &Client, name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/manuscripts")
        .join(name);
    c.find(Locator::Css("#paper-file"))
        .await
        .unwrap()
        .send_keys(&path.display().to_string())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn bibliographies_are_copied_and_manuscripts_formatted_with_the_network_gone() {
    let scratch = tempfile::tempdir().unwrap();
    let bib = scratch.path().join("two.bib");
    std::fs::write(&bib, BIBTEX).unwrap();
    with_app(move |c, app| async move {
        import_all(&c, &bib, 2).await;
        allow_clipboard(&c).await;

        // Online: a style of the service's (the CSL repository's, not built in) found by
        // typing its name; fetched once, it is kept for offline use.
        click(&c, "#cite-button").await;
        wait_text(&c, "#cite-bibliography", |t| t.contains("Kuhn")).await;
        // Typed at once, before the service's list has arrived: Enter takes the first found as
        // soon as it has.
        click(&c, "#cite-style-search").await;
        type_keys(&c, "journal of glaciology\u{E007}").await;
        wait_text(&c, ".cite-heading", |t| t.contains("Journal of Glaciology")).await;
        let glaciology = wait_text(&c, "#cite-citation", |t| !t.is_empty()).await;
        assert!(GLACIOLOGY_CITATION.contains(&glaciology.as_str()), "{glaciology}");
        close_dialog(&c, "#cite-dialog").await;

        // Offline from here: the citations worker comes from the service worker's copy, the
        // repository style from the browser's.
        wait_for_offline_shell(&c).await;
        wait_text(&c, "#storage-status", |t| t.ends_with("stored in this browser")).await;
        app.server.stop().await;
        set_offline(&c, true).await;

        // The repository style used online is the recent one, and still formats.
        click(&c, "#cite-button").await;
        wait_text(&c, "#cite-citation", |t| GLACIOLOGY_CITATION.contains(&t)).await;
        click(&c, "#cite-style-search").await;
        type_keys(&c, "APA\u{E007}").await;
        // The list shown, in APA.
        let bibliography = wait_text(&c, "#cite-bibliography", |t| t.contains("Kuhn")).await;
        assert_eq!(
            bibliography,
            "Able, A., & Müller, H. (2001). Ice sheets of the north. Journal of Glaciology. https://doi.org/10.1000/ice\n\
             Kuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press."
        );
        let citation = wait_text(&c, "#cite-citation", |t| !t.is_empty()).await;
        assert_eq!(citation, "(Able & Müller, 2001; Kuhn, 1962)");
        // The titles in italics, as they will paste.
        let italic = texts(&c, "#cite-bibliography i").await;
        assert_eq!(italic, ["Journal of Glaciology", "The structure of scientific revolutions"]);

        // A style found by typing part of its name, key by key; Enter takes the first found.
        type_into(&c, "#cite-style-search", CTRL_A).await;
        type_keys(&c, "ieee\u{E007}").await;
        wait_text(&c, "#cite-citation", |t| t == "[1], [2]").await;
        // Numbered in the order cited: the list's (two references imported together, so
        // either may be first).
        let bibliography = wait_text(&c, "#cite-bibliography", |t| t.starts_with("[1]")).await;
        let mut entries: Vec<&str> = bibliography.lines().collect();
        assert_eq!(entries.len(), 2, "{bibliography}");
        assert!(entries[0].starts_with("[1] ") && entries[1].starts_with("[2] "), "{bibliography}");
        entries = entries.iter().map(|e| &e[4..]).collect();
        entries.sort();
        assert_eq!(
            entries,
            [
                "A. Able and H. Müller, “Ice sheets of the north,” Journal of Glaciology, 2001, doi: 10.1000/ice.",
                "T. S. Kuhn, The structure of scientific revolutions. University of Chicago Press, 1962.",
            ]
        );
        screenshot(&c, "cite-dialog").await;

        // Copied as rich text and plain text together.
        click(&c, "#cite-copy-bibliography").await;
        wait_text(&c, "#cite-status", |t| t.starts_with("Copied the bibliography")).await;
        let (types, html, text) = clipboard(&c).await;
        assert!(types.contains(&"text/html".to_string()), "{types:?}");
        assert!(types.contains(&"text/plain".to_string()), "{types:?}");
        assert!(
            html.contains("] T. S. Kuhn, <i>The structure of scientific revolutions</i>. University of Chicago Press, 1962.</div>"),
            "{html}"
        );
        assert!(html.starts_with("<div class=\"csl-bib-body\"><div class=\"csl-entry\">[1] "), "{html}");
        assert_eq!(text, bibliography);

        // Downloaded as RTF.
        click(&c, "#cite-download-rtf").await;
        let (name, rtf) = take_download(&app.downloads).await;
        let rtf = String::from_utf8(rtf).unwrap();
        assert!(name.starts_with("bibliography") && name.ends_with(".rtf"), "{name}");
        assert!(rtf.starts_with("{\\rtf1"), "{rtf}");
        assert!(rtf.contains("{\\i The structure of scientific revolutions}"), "{rtf}");
        close_dialog(&c, "#cite-dialog").await;

        // Ctrl+Shift+C on the list: the selected reference's bibliography, in IEEE (used last).
        click(&c, "#reference-list .ref-row").await;
        press_ctrl_shift(&c, 'c').await;
        wait_text(&c, "#notice", |t| t.starts_with("Copied the bibliography of 1 reference")).await;
        let (_, html, text) = clipboard(&c).await;
        assert!(text.starts_with("[1] "), "{text}");
        assert!(!text.contains("\n"), "one reference: {text}");
        assert!(html.contains("<i>"), "{html}");

        // Format Paper: Markdown, then RTF.
        click(&c, "#format-paper-button").await;
        choose_manuscript(&c, "draft.md").await;
        click(&c, "#cite-style-search").await;
        type_keys(&c, "APA\u{E007}").await;
        click(&c, "#paper-start").await;
        let report = wait_text(&c, "#paper-report", |t| t.contains("formatted")).await;
        assert!(
            report.contains("4 of 5 citations formatted; 2 references in the bibliography."),
            "{report}"
        );
        assert!(report.contains("line 8: {Nobody, 1999}: no reference matches “Nobody, 1999”"), "{report}");
        screenshot(&c, "format-paper-report").await;
        let (name, md) = take_download(&app.downloads).await;
        assert_eq!(name, "draft-formatted.md");
        let md = String::from_utf8(md).unwrap();
        assert!(
            md.contains("inside a paradigm (Kuhn, 1962, p. 10). Ice records show the same\npattern (Able & Müller, 2001);"),
            "{md}"
        );
        assert!(md.contains("```text\n[@kuhn1962] in a code block is code.\n```\n"), "{md}");
        assert!(md.contains("\n## References\n\nAble, A., & Müller, H. (2001)."), "{md}");

        choose_manuscript(&c, "draft.rtf").await;
        click(&c, "#paper-start").await;
        wait_text(&c, "#paper-report", |t| t.contains("draft-formatted.rtf")).await;
        let (name, rtf) = take_download(&app.downloads).await;
        assert_eq!(name, "draft-formatted.rtf");
        let rtf = String::from_utf8(rtf).unwrap();
        assert!(
            rtf.contains("inside a paradigm (Kuhn, 1962, p. 10). Ice records from M\\'fcller's team (Able & M\\u252?ller, 2001) agree (Kuhn, 1962)."),
            "{rtf}"
        );
        assert!(rtf.contains("An unknown work \\{Nobody, 1999\\} stays as typed."), "{rtf}");
        assert!(rtf.contains("{\\b References}"), "{rtf}");

        // A Word manuscript, its citations split over runs.
        choose_manuscript(&c, "draft.docx").await;
        click(&c, "#paper-start").await;
        let report = wait_text(&c, "#paper-report", |t| t.contains("draft-formatted.docx")).await;
        assert!(report.contains("3 of 4 citations formatted"), "{report}");
        let (name, docx) = take_download(&app.downloads).await;
        assert_eq!(name, "draft-formatted.docx");
        let parts = refsync_core::zip::entries(&docx).unwrap();
        let body = parts.iter().find(|p| p.name == "word/document.xml").unwrap();
        let xml = String::from_utf8(body.data.clone()).unwrap();
        assert!(xml.contains(">(Kuhn, 1962, p. 10)</w:t>"), "{xml}");
        assert!(xml.contains("<w:t>References</w:t>"), "{xml}");
    })
    .await;
}

/// A style kept for offline use outlives an update of the app: the new service worker, as it
/// takes over, clears the old app shell only, never the styles kept beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_style_kept_for_offline_use_outlives_an_update_of_the_app() {
    let scratch = tempfile::tempdir().unwrap();
    let bib = scratch.path().join("two.bib");
    std::fs::write(&bib, BIBTEX).unwrap();
    // The app served from a copy, so that the test can publish a new version of it.
    let dist = scratch.path().join("dist");
    crate::harness::copy_dir(&crate::harness::dist_dir(), &dist);
    let served = dist.clone();
    let server = crate::harness::TestServer::start_with(move |config| config.dist = served).await;
    crate::harness::with_app_on(server, move |c, app| async move {
        import_all(&c, &bib, 2).await;
        wait_for_offline_shell(&c).await;
        click(&c, "#cite-button").await;
        wait_text(&c, "#cite-bibliography", |t| t.contains("Kuhn")).await;
        click(&c, "#cite-style-search").await;
        type_keys(&c, "journal of glaciology\u{E007}").await;
        wait_text(&c, ".cite-heading", |t| t.contains("Journal of Glaciology")).await;
        close_dialog(&c, "#cite-dialog").await;

        // A new version of the app: its service worker installs and takes over the page.
        let sw = dist.join("sw.js");
        let mut script = std::fs::read_to_string(&sw).unwrap();
        script.push_str("\n// a new version\n");
        std::fs::write(&sw, script).unwrap();
        let took_over = c
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                navigator.serviceWorker.addEventListener("controllerchange", () => done(true));
                navigator.serviceWorker.getRegistration().then((r) => r.update());
                setTimeout(() => done(false), 30000);"#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            took_over.as_bool(),
            Some(true),
            "the new service worker never took over"
        );

        // Offline, the style used before the update still formats.
        app.server.stop().await;
        set_offline(&c, true).await;
        c.refresh().await.unwrap();
        wait_text(&c, "#storage-status", |t| {
            t.ends_with("stored in this browser")
        })
        .await;
        click(&c, "#cite-button").await;
        wait_text(&c, ".cite-heading", |t| t.contains("Journal of Glaciology")).await;
        let citation = wait_text(&c, "#cite-citation", |t| !t.is_empty()).await;
        assert!(
            GLACIOLOGY_CITATION.contains(&citation.as_str()),
            "{citation}"
        );
    })
    .await;
}

/// Issue 26: a `.csl` file added in the Cite dialog is kept in the library and synced: a
/// second device (a fresh browser, signed in) cites with it with the network gone, having never
/// seen the file; a file that is not CSL is refused with a reason and nothing is kept; the style
/// can be removed from the library again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_style_added_as_a_csl_file_formats_on_another_device_offline() {
    const EMAIL: &str = "styles@example.org";
    let scratch = tempfile::tempdir().unwrap();
    let bib = scratch.path().join("two.bib");
    std::fs::write(&bib, BIBTEX).unwrap();
    // A journal's own style (its parent is APA: it formats as APA under its own title).
    let csl = scratch.path().join("annals-of-examples.csl");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/styles/annals-of-example-studies.csl"),
        &csl,
    )
    .unwrap();
    let junk = scratch.path().join("notes.csl");
    std::fs::write(&junk, "my notes on styles, not a style").unwrap();
    with_app(move |c, app| async move {
        import_all(&c, &bib, 2).await;
        create_account(&c, EMAIL).await;
        click(&c, "#cite-button").await;
        wait_text(&c, "#cite-bibliography", |t| t.contains("Kuhn")).await;
        let add_file = |path: std::path::PathBuf| {
            let c = c.clone();
            async move {
                c.find(Locator::Css("#cite-style-file"))
                    .await
                    .unwrap()
                    .send_keys(&path.display().to_string())
                    .await
                    .unwrap();
            }
        };
        add_file(junk).await;
        let note = wait_text(&c, "#cite-style-note", |t| !t.is_empty()).await;
        assert!(note.starts_with("notes.csl is not a CSL style"), "{note}");
        add_file(csl).await;
        let note = wait_text(&c, "#cite-style-note", |t| t.contains("in your library")).await;
        assert!(note.starts_with("“Annals of Example Studies” is in your library"), "{note}");
        wait_text(&c, ".cite-heading", |t| t.contains("Annals of Example Studies")).await;
        assert_eq!(
            texts(&c, "#cite-style optgroup[label^='In your library'] option").await,
            ["Annals of Example Studies"]
        );
        screenshot(&c, "cite-library-style").await;
        close_dialog(&c, "#cite-dialog").await;
        sync_now(&c).await;

        second_device_as(&app, EMAIL, |b| async move {
            wait_text(&b, "#storage-status", |t| t == "2 references stored in this browser").await;
            wait_for_offline_shell(&b).await;
            set_offline(&b, true).await;
            click(&b, "#cite-button").await;
            wait_text(&b, "#cite-bibliography", |t| t.contains("Kuhn")).await;
            click(&b, "#cite-style-search").await;
            type_keys(&b, "annals\u{E007}").await;
            wait_text(&b, ".cite-heading", |t| t.contains("Annals of Example Studies")).await;
            let bibliography = wait_text(&b, "#cite-bibliography", |t| t.contains("Kuhn")).await;
            assert_eq!(
                bibliography,
                "Able, A., & Müller, H. (2001). Ice sheets of the north. Journal of Glaciology. https://doi.org/10.1000/ice\n\
                 Kuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press."
            );
        })
        .await;

        // Removed from the library: the dialog falls back to the default style.
        click(&c, "#cite-button").await;
        wait_text(&c, ".cite-heading", |t| t.contains("Annals of Example Studies")).await;
        click(&c, "#cite-style-remove").await;
        let note = wait_text(&c, "#cite-style-note", |t| t.starts_with("Removed")).await;
        assert!(note.contains("“Annals of Example Studies”"), "{note}");
        wait_text(&c, ".cite-heading", |t| t.contains("APA Style")).await;
        assert!(texts(&c, "#cite-style optgroup[label^='In your library'] option").await.is_empty());
    })
    .await;
}
