//! End-to-end: the real server serving the real app to headless Chromium, driven like a
//! person would drive it.
//!
//! These tests need the built app (`dist/`), so a plain `cargo test` lists them as ignored;
//! `cargo xtask test` builds the app and then runs them with `--ignored` as its end-to-end
//! suite.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

// The crate root of an integration test resolves modules from tests/, hence the path.
#[path = "e2e/harness.rs"]
mod harness;

use fantoccini::Locator;
use harness::{click, screenshot, type_into, wait_text, with_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn a_reference_added_in_the_browser_is_still_there_after_a_reload() {
    with_app(|c, _url| async move {
        wait_text(&c, "#storage-status", |t| {
            t == "0 references stored in this browser"
        })
        .await;
        wait_text(&c, "#connection", |t| t.contains("Online")).await;

        click(&c, "#new-reference").await;
        wait_text(&c, "#reference-form", |t| t.contains("New reference")).await;
        c.find(Locator::Css("#ref-type"))
            .await
            .expect("type picker")
            .select_by_value("book")
            .await
            .expect("choose Book");
        type_into(&c, "#ref-title", "The Structure of Scientific Revolutions").await;
        type_into(&c, "#ref-authors", "Kuhn, Thomas S.").await;
        type_into(&c, "#ref-year", "1962").await;
        click(&c, "#ref-save").await;

        expect_kuhn_row(&c).await;
        wait_text(&c, "#count-all", |t| t == "1").await;
        let detail = wait_text(&c, "#reference-detail", |t| t.contains("Kuhn, Thomas S.")).await;
        assert!(
            detail.contains("The Structure of Scientific Revolutions"),
            "{detail}"
        );
        screenshot(&c, "reference-added").await;

        c.refresh().await.expect("reload");
        expect_kuhn_row(&c).await;
        wait_text(&c, "#storage-status", |t| {
            t == "1 reference stored in this browser"
        })
        .await;
        let rows = c
            .find_all(Locator::Css("#reference-list tbody tr"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1, "the reload shows the one reference, once");
        screenshot(&c, "after-reload").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the built app; run by `cargo xtask test`"]
async fn an_empty_reference_is_refused_with_a_message_and_nothing_saved() {
    with_app(|c, _url| async move {
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
async fn expect_kuhn_row(c: &fantoccini::Client) {
    let row = wait_text(c, "#reference-list tbody tr", |t| {
        t.contains("The Structure of Scientific Revolutions")
    })
    .await;
    assert!(
        row.contains("Kuhn") && row.contains("1962") && row.contains("Book"),
        "{row}"
    );
}
