//! The web app's speed in headless Chromium, as a person meets it (issue 7's targets): the
//! real server, the real release build, the real corpus. Run by `cargo xtask bench` (it
//! prints `BENCH` lines); a plain `cargo test` lists it as ignored. It asserts no time.
//!
//! - import of the ~41,000-entry BibTeX set through the import dialog into IndexedDB, a fresh
//!   profile each run (the app's own `import-start`/`import-done` marks);
//! - opening the app with 50,000 references and the network gone: the `first-rows` mark
//!   (the frame after the first rows are in the page), from navigation start;
//! - quick search on those 50,000: from a keystroke's input event until the list is updated
//!   and laid out (a task after the event; the DOM is current by then).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use fantoccini::{Client, Locator};
use harness::{click, corpus_file, wait_for_offline_shell, wait_text_within, with_app};
use refsync_core::backup::{self, Manifest};
use refsync_core::formats::{self, Format, Source};
use refsync_core::{Field, Key};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

const SET: [&str; 5] = [
    "bibtex/glottolog/ozbib.bib",
    "bibtex/glottolog/sala.bib",
    "bibtex/glottolog/zurich.bib",
    "bibtex/rfc-bib/rfc.bib",
    "bibtex/kwarc/kwarc.bib",
];

const LONG: Duration = Duration::from_secs(300);

fn runs() -> usize {
    std::env::var("REFSYNC_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

fn library_size() -> usize {
    std::env::var("REFSYNC_BENCH_REFS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50_000)
}

fn report(place: &str, scenario: &str, count: usize, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "BENCH {place}\t{scenario}\t{count}\t{median:.1}\t{:.1}\t{:.1}",
        times[0],
        times[times.len() - 1]
    );
}

async fn js_f64(c: &Client, script: &str) -> f64 {
    c.execute(script, vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or_else(|| panic!("no number from {script}"))
}

fn the_41k_set() -> Vec<PathBuf> {
    SET.iter().map(|p| corpus_file(p)).collect()
}

/// A backup of `n` references: the 41k set, then copies of it with new keys and titles.
fn backup_of(n: usize) -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = the_41k_set()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    let set = formats::import_with_sequential_keys(Format::Bibtex, &sources).references;
    let mut manifest = Manifest::new(1_700_000_000_000);
    for i in 0..n {
        let mut r = set[i % set.len()].clone();
        r.key = Key::new(1_600_000_000_000 + i as u64, [(i % 251) as u8; 10]);
        r.date_added = 1_600_000_000_000 + i as u64 * 1000;
        r.date_modified = r.date_added;
        if i >= set.len() {
            let title = format!("{} (copy {})", r.title(), i / set.len() + 1);
            r.set(Field::Title, title);
        }
        manifest.references.push(r);
    }
    backup::write(&manifest, &HashMap::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench`"]
async fn app_speed() {
    let runs = runs();
    let n = library_size();

    // Import of the 41k set, a fresh browser each run.
    let paths: Vec<String> = the_41k_set()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut import_ms = Vec::new();
    let mut imported = 0usize;
    for _ in 0..runs {
        let paths = paths.join("\n");
        let out = std::sync::Arc::new(std::sync::Mutex::new((0.0, 0usize)));
        let seen = out.clone();
        with_app(move |c, _app| async move {
            click(&c, "#import-button").await;
            c.find(Locator::Css("#import-file"))
                .await
                .unwrap()
                .send_keys(&paths)
                .await
                .unwrap();
            click(&c, "#import-start").await;
            let report =
                wait_text_within(&c, "#import-report", LONG, |t| t.contains("imported")).await;
            let count: usize = report
                .split("imported ")
                .nth(1)
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            let ms = js_f64(
                &c,
                "const e = n => performance.getEntriesByName(n).slice(-1)[0].startTime; \
                 return e('import-done') - e('import-start');",
            )
            .await;
            *seen.lock().unwrap() = (ms, count);
        })
        .await;
        let (ms, count) = *out.lock().unwrap();
        import_ms.push(ms);
        imported = count;
    }
    report(
        "app",
        "import BibTeX 41k set into IndexedDB",
        imported,
        import_ms,
    );

    // Open with n references offline, then quick search on them.
    let zip = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(zip.path(), backup_of(n)).unwrap();
    let zip_path = zip.path().display().to_string();
    with_app(move |c, app| async move {
        click(&c, "#restore-button").await;
        c.find(Locator::Css("#restore-file"))
            .await
            .unwrap()
            .send_keys(&zip_path)
            .await
            .unwrap();
        wait_text_within(&c, "#work-done", LONG, |t| t.contains("Restored")).await;
        // The service worker must hold the shell before the network goes.
        wait_for_offline_shell(&c).await;
        app.server.stop().await;

        let mut open_ms = Vec::new();
        for _ in 0..runs.max(3) {
            c.refresh().await.unwrap();
            let start = std::time::Instant::now();
            loop {
                let got = c
                    .execute(
                        "const m = performance.getEntriesByName('first-rows'); \
                         return m.length ? m[0].startTime : null;",
                        vec![],
                    )
                    .await
                    .unwrap();
                if let Some(ms) = got.as_f64() {
                    open_ms.push(ms);
                    break;
                }
                assert!(start.elapsed() < LONG, "the rows never appeared");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        report(
            "app",
            &format!("open with {}k references offline, first rows painted", n / 1000),
            n,
            open_ms,
        );
        let phases = c
            .execute(
                "const t = n => (performance.getEntriesByName(n)[0] || {}).startTime; \
                 return [t('library-open-start'), t('library-read'), t('library-ready'), t('first-rows')];",
                vec![],
            )
            .await
            .unwrap();
        println!("open phases (ms from navigation: start, read, indexed, painted): {phases}");

        // Typing starts once the whole library is loaded and indexed.
        wait_text_within(&c, "#storage-status", LONG, |t| {
            t.ends_with("stored in this browser")
        })
        .await;
        let keystrokes = c
            .execute_async(
                r#"
                const done = arguments[arguments.length - 1];
                (async () => {
                  const input = document.querySelector('#quick-search');
                  const list = document.querySelector('#reference-list');
                  const times = [];
                  for (const word of ['language', 'grammar', 'network', 'kwarc']) {
                    for (let i = 1; i <= word.length; i++) {
                      const t0 = performance.now();
                      input.value = word.slice(0, i);
                      input.dispatchEvent(new Event('input', { bubbles: true }));
                      await new Promise(r => setTimeout(r, 0));
                      void list.offsetHeight;
                      times.push(performance.now() - t0);
                    }
                    input.value = '';
                    input.dispatchEvent(new Event('input', { bubbles: true }));
                    await new Promise(r => setTimeout(r, 50));
                  }
                  done(times);
                })();
                "#,
                vec![],
            )
            .await
            .unwrap();
        let times: Vec<f64> = keystrokes
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        report(
            "app",
            &format!(
                "quick-search keystroke to updated list, {}k references",
                n / 1000
            ),
            n,
            times,
        );
    })
    .await;
}
