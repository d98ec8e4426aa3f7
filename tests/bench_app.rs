//! The web app's speed in headless Chromium, as a person meets it (issue 7's targets): the
//! real server, the real release build, the real corpus. Run by `cargo xtask bench` (it
//! prints `BENCH` lines), which builds this test in release, so that the service it starts in
//! its own process is a release build as deployed; a plain `cargo test` lists it as ignored.
//! It asserts no time.
//!
//! - import of the ~41,000-entry BibTeX set through the import dialog into IndexedDB, a fresh
//!   profile each run (the app's own `import-start`/`import-done` marks);
//! - opening the app with 50,000 references and the network gone: the `first-rows` mark
//!   (the frame after the first rows are in the page), from navigation start;
//! - quick search on those 50,000: from a keystroke's input event until the list is updated
//!   and laid out (a task after the event; the DOM is current by then);
//! - issue 8's sync: the first sync of 50,000 references into a fresh profile (the app's
//!   `sync-start`/`sync-done` marks; the list is loaded and indexed at `sync-done`) against
//!   PouchDB (npm `pouchdb`'s browser build) replicating the same documents from
//!   pouchdb-server into the same Chromium, interleaved, with the ratio run by run; a sync
//!   with nothing new; 100 edits pushed by another device until the browser has them (its
//!   `sync-done` after the service's change hint, on the same clock);
//! - issue 28's shared libraries: a member's first sync of a shared library of 10,000 into a
//!   fresh browser, and opening the app with the personal library and three shared libraries
//!   of 10,000 beside it (the personal library's first rows, then a shared library's);
//! - issue 29's large library (250,000): opening offline, the tab's memory, keystrokes, a
//!   smart group shown, Possible Duplicates counted; and `sync_speed` at 250,000
//!   (`REFSYNC_BENCH_REFS`), beside PouchDB.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "../crates/cli/tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use fantoccini::{Client, Locator};
use harness::{click, corpus_file, wait_for_offline_shell, wait_text_within, with_app};
use refsync_core::backup::{self, Manifest};
use refsync_core::formats::{self, Format, Source};
use refsync_core::{Connector, Criterion, Field, Group, GroupKind, Key, Op, Reference};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

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
    refsync_core::sample::BIBTEX_41K
        .iter()
        .map(|p| corpus_file(p))
        .collect()
}

/// A backup of `n` references: the 41k set, then varied copies of it.
/// Restore the backup at `zip_path` into the app's (empty) library.
async fn restore(c: &Client, zip_path: &str) {
    click(c, "#restore-button").await;
    c.find(Locator::Css("#restore-file"))
        .await
        .unwrap()
        .send_keys(zip_path)
        .await
        .unwrap();
    wait_text_within(c, "#work-done", LONG, |t| t.contains("Restored")).await;
}

fn backup_of(n: usize) -> Vec<u8> {
    let mut manifest = Manifest::new(1_700_000_000_000);
    manifest.references = library_of(n);
    backup::write(&manifest, &HashMap::new()).unwrap()
}

/// `n` references: the 41k set, then varied copies of it (`refsync_core::sample`).
fn library_of(n: usize) -> Vec<Reference> {
    let files: Vec<(String, Vec<u8>)> = the_41k_set()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    let records = formats::import_with_sequential_keys(Format::Bibtex, &sources).references;
    refsync_core::sample::library(&records, n)
}

/// Citing in the browser (issue 26), on a 50-reference list: the Cite dialog's first preview
/// (the citations worker loaded), a switch between built-in styles, and a switch to a CSL
/// repository style not yet in this browser (fetched from the service on loopback, then
/// formatted). Times are the app's own marks, from asking to the preview shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench`"]
async fn cite_speed() {
    const BUILT_IN: [&str; 2] = ["IEEE Reference Guide", "APA Style 7th edition"];
    // Repository styles, each new to the browser when picked.
    const REPOSITORY: [&str; 5] = [
        "Journal of Glaciology",
        "Arctic, Antarctic, and Alpine Research",
        "Archiv für Geschichte der Philosophie",
        "Asia Pacific Journal of Human Resources",
        "Archeologia e Calcolatori",
    ];
    let runs = runs().min(REPOSITORY.len());
    let zip = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(zip.path(), backup_of(50)).unwrap();
    let zip_path = zip.path().display().to_string();
    with_app(move |c, _app| async move {
        restore(&c, &zip_path).await;
        click(&c, "#restore-dialog [aria-label=Close]").await;
        click(&c, "#cite-button").await;
        let shown = "const t = n => performance.getEntriesByName(n).slice(-1)[0].startTime; \
                     return t('cite-shown') - t('cite-asked');";
        wait_text_within(&c, ".cite-heading", LONG, |t| t.contains("—")).await;
        report(
            "app",
            "Cite: first preview of 50 references (worker loaded)",
            50,
            vec![js_f64(&c, shown).await],
        );
        let switch = |title: &'static str| {
            let c = c.clone();
            async move {
                harness::type_into(&c, "#cite-style-search", "\u{E009}a\u{E009}").await;
                harness::type_into(&c, "#cite-style-search", &format!("{title}\u{E007}")).await;
                wait_text_within(&c, ".cite-heading", LONG, |t| t.contains(title)).await;
                js_f64(&c, shown).await
            }
        };
        let mut built_in = Vec::new();
        let mut repository = Vec::new();
        for new_style in REPOSITORY.into_iter().take(runs) {
            for title in BUILT_IN {
                built_in.push(switch(title).await);
            }
            repository.push(switch(new_style).await);
        }
        report(
            "app",
            "Cite: switch the style of 50 references (built in)",
            50,
            built_in,
        );
        report(
            "app",
            "Cite: switch 50 references to a CSL repository style not yet in this browser",
            50,
            repository,
        );
    })
    .await;
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
            let phases = c
                .execute(
                    "const d = n => Math.round((performance.getEntriesByName(n).slice(-1)[0] || {}).duration); \
                     return ['import-files', 'import-read', 'import-worker-start', 'import-worker', 'import-parse', 'import-check', 'bulk-write', 'bulk-show'].map(n => n + ' ' + d(n)).join(', ');",
                    vec![],
                )
                .await
                .unwrap();
            println!("import phases (ms): {}", phases.as_str().unwrap_or_default());
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
        let open_ms = restored_then_opened_offline(&c, &app, &zip_path, runs).await;
        report(
            "app",
            &format!(
                "open with {}k references offline, first rows painted",
                n / 1000
            ),
            n,
            open_ms,
        );
        let times = keystroke_times(&c).await;
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

/// Restores the backup at `zip_path`, takes the service away once the service worker holds
/// the shell, then opens the app at least three times offline ([`open_times`]).
async fn restored_then_opened_offline(
    c: &Client,
    app: &harness::App,
    zip_path: &str,
    runs: usize,
) -> Vec<f64> {
    restore(c, zip_path).await;
    // The service worker must hold the shell before the network goes.
    wait_for_offline_shell(c).await;
    app.server.stop().await;
    open_times(c, runs.max(3)).await
}

/// Reloads the page `runs` times: the `first-rows` mark of each (ms from navigation). Each
/// reload waits until the page before it has read and indexed the whole library: a reload in
/// the middle of that read waits in the browser for the old page's read to end (IndexedDB
/// finishes a request already running), which is not what opening the app costs.
async fn open_times(c: &Client, runs: usize) -> Vec<f64> {
    let mut open_ms = Vec::new();
    for _ in 0..runs {
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
        wait_text_within(c, "#storage-status", LONG, |t| {
            t.ends_with("stored in this browser")
        })
        .await;
    }
    let phases = c
        .execute(
            "const t = n => (performance.getEntriesByName(n)[0] || {}).startTime; \
             return [t('library-open-start'), t('library-first-screen'), t('library-read'), t('library-ready'), t('first-rows')];",
            vec![],
        )
        .await
        .unwrap();
    println!(
        "open phases (ms from navigation: start, first screen, read, indexed, painted): {phases}"
    );
    open_ms
}

/// The tab's memory once the library is open (JS heap + wasm memory, MB), printed with its
/// parts. Garbage is collected first, so the figure is what the library holds, not what was
/// let go.
async fn memory_mb(c: &Client, what: &str) -> f64 {
    let memory = c
        .execute(
            "if (!window.gc) throw new Error('no gc(): Chromium needs --js-flags=--expose-gc'); \
             gc(); \
             const at = n => (performance.getEntriesByName(n).slice(-1)[0] || {detail: 0}).detail; \
             return [performance.memory.usedJSHeapSize, at('wasm-memory'), at('wasm-memory-read')];",
            vec![],
        )
        .await
        .unwrap();
    let mb = |i: usize| memory[i].as_f64().unwrap_or(0.0) / 1_048_576.0;
    println!(
        "memory after opening {what}: JS heap {:.0} MB, wasm {:.0} MB ({:.0} MB once read, before the index)",
        mb(0),
        mb(1),
        mb(2)
    );
    mb(0) + mb(1)
}

/// Quick search typed a letter at a time (four words): from each input event until the list
/// is updated and laid out.
async fn keystroke_times(c: &Client) -> Vec<f64> {
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
    keystrokes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect()
}

/// The name of the smart group in [`large_library_speed`]'s backup.
const SMART: &str = "Language since 1990";

/// Issue 29's large library in the browser (`REFSYNC_BENCH_LARGE`, 250,000 by default),
/// restored from a backup that also holds a smart group of three criteria (the native
/// bench's): opening it offline, the memory the tab holds then (JS heap and the wasm
/// memory), quick-search keystrokes, the smart group shown (from the click until its rows are
/// laid out), and the count of Possible Duplicates made after opening (the app's own
/// `duplicates-count` measure) with the window's longest task while the worker makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench`"]
async fn large_library_speed() {
    let runs = runs();
    let n: usize = std::env::var("REFSYNC_BENCH_LARGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250_000);
    let k = format!("{}k", n / 1000);
    let mut manifest = Manifest::new(1_700_000_000_000);
    manifest.references = library_of(n);
    manifest.groups.push(Group {
        key: Key::new(1_700_000_000_000, [7; 10]),
        name: SMART.into(),
        set: None,
        kind: GroupKind::Smart {
            criteria: vec![
                criterion(Connector::And, "title", Op::Contains, "language"),
                criterion(Connector::And, "year", Op::GreaterThan, "1990"),
                criterion(Connector::Not, "keywords", Op::Contains, "dictionary"),
            ],
        },
        shared: false,
        date_modified: 1_700_000_000_000,
    });
    let zip = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        zip.path(),
        backup::write(&manifest, &HashMap::new()).unwrap(),
    )
    .unwrap();
    drop(manifest);
    let zip_path = zip.path().display().to_string();
    with_app(move |c, app| async move {
        let open_ms = restored_then_opened_offline(&c, &app, &zip_path, runs).await;
        report(
            "app",
            &format!("open with {k} references offline, first rows painted"),
            n,
            open_ms,
        );
        let memory = memory_mb(&c, &k).await;
        report(
            "app",
            &format!("memory after opening {k}: JS heap + wasm memory (MB, not ms)"),
            n,
            vec![memory],
        );

        report(
            "app",
            &format!("quick-search keystroke to updated list, {k} references"),
            n,
            keystroke_times(&c).await,
        );

        let smart = c
            .execute_async(
                r#"const [name, done] = arguments;
                (async () => {
                  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
                  const title = () => document.querySelector('#list-title').textContent;
                  const times = [];
                  for (let i = 0; i < 5; i++) {
                    document.querySelector('#nav-all').click();
                    while (title() === name) await frame();
                    await frame();
                    const item = document.querySelector(`.group-item[data-group='${name}']`);
                    const t0 = performance.now();
                    item.click();
                    while (title() !== name) await new Promise(r => setTimeout(r, 0));
                    void document.querySelector('#reference-list').offsetHeight;
                    times.push(performance.now() - t0);
                  }
                  done(times);
                })().catch(e => done(String(e)));"#,
                vec![SMART.into()],
            )
            .await
            .unwrap();
        let times: Vec<f64> = smart
            .as_array()
            .unwrap_or_else(|| panic!("smart group: {smart}"))
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        report(
            "app",
            &format!("smart group re-evaluation (3 criteria) to its rows laid out, {k} references"),
            n,
            times,
        );

        // Opened once more, with nothing else going on, for the count the duplicates worker
        // makes of the whole library once it is read: from the window's first message to the
        // sets it answers, and the window's longest task meanwhile (a long task is one over
        // 50 ms; none is reported as 0).
        c.refresh().await.unwrap();
        c.execute(
            "window.__long = []; \
             new PerformanceObserver(l => window.__long.push(...l.getEntries().map(e => [e.startTime, e.duration]))) \
               .observe({ type: 'longtask', buffered: true });",
            vec![],
        )
        .await
        .unwrap();
        let start = std::time::Instant::now();
        let (counted, longest) = loop {
            let got = c
                .execute(
                    "const m = performance.getEntriesByName('duplicates-count')[0]; \
                     if (!m) return null; \
                     const during = window.__long.filter(([t, d]) => t + d > m.startTime && t < m.startTime + m.duration); \
                     return [m.duration, Math.max(0, ...during.map(([_, d]) => d))];",
                    vec![],
                )
                .await
                .unwrap();
            if let Some(pair) = got.as_array() {
                let ms = |i: usize| pair[i].as_f64().unwrap_or(f64::NAN);
                break (ms(0), ms(1));
            }
            assert!(start.elapsed() < LONG, "Possible Duplicates was never counted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let sets = wait_text_within(&c, "#count-duplicates", LONG, |t| !t.is_empty()).await;
        println!("Possible Duplicates after opening {k}: {sets} references");
        report(
            "app",
            &format!(
                "duplicate detection over {k} references (the duplicates worker's first count after opening)"
            ),
            n,
            vec![counted],
        );
        report(
            "app",
            &format!(
                "longest window task while the duplicates worker counts {k} references (0: none over 50 ms)"
            ),
            n,
            vec![longest],
        );
    })
    .await;
}

fn criterion(connector: Connector, field: &str, op: Op, value: &str) -> Criterion {
    Criterion {
        connector,
        field: field.into(),
        op,
        value: value.into(),
    }
}

const EMAIL: &str = "bench@example.org";
const PASSWORD: &str = "correct horse battery";
use harness::Online;

/// pouchdb-server (npm) holding the same references as documents, on a free port.
struct PouchServer {
    base: String,
    _process: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl PouchServer {
    async fn start(http: &reqwest::Client, refs: &[Reference]) -> PouchServer {
        let script = std::env::var("POUCHDB_SERVER")
            .expect("POUCHDB_SERVER: pouchdb-server's script (cargo xtask bench installs it)");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new("node")
            .arg(&script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            // It writes its log.txt into the working directory.
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("pouchdb-server starts");
        let base = format!("http://127.0.0.1:{port}");
        let start = std::time::Instant::now();
        while http.get(&base).send().await.is_err() {
            assert!(start.elapsed() < LONG, "pouchdb-server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        http.put(format!("{base}/bench")).send().await.unwrap();
        for chunk in refs.chunks(5_000) {
            let docs: Vec<serde_json::Value> = chunk
                .iter()
                .map(|r| {
                    let mut d = serde_json::to_value(r).unwrap();
                    d["_id"] = serde_json::Value::String(r.key.to_string());
                    d
                })
                .collect();
            let status = http
                .post(format!("{base}/bench/_bulk_docs"))
                .json(&serde_json::json!({ "docs": docs }))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "pouchdb-server took the documents");
        }
        PouchServer {
            base,
            _process: process,
            _dir: dir,
        }
    }
}

/// The time between the last two entries of the marks `from` and `to`, once `to` has
/// appeared `count` times.
async fn wait_mark(c: &Client, name: &str, count: usize) -> f64 {
    let start = std::time::Instant::now();
    loop {
        let got = c
            .execute(
                "const m = performance.getEntriesByName(arguments[0]); \
                 return m.length >= arguments[1] ? m[m.length - 1].startTime : null;",
                vec![name.into(), count.into()],
            )
            .await
            .unwrap();
        if let Some(at) = got.as_f64() {
            return at;
        }
        assert!(start.elapsed() < LONG, "no mark {name} #{count}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many marks `name` the page has made.
async fn marks(c: &Client, name: &str) -> usize {
    js_f64(
        c,
        &format!("return performance.getEntriesByName('{name}').length;"),
    )
    .await as usize
}

async fn last_mark(c: &Client, name: &str) -> f64 {
    js_f64(
        c,
        &format!(
            "const m = performance.getEntriesByName('{name}'); return m[m.length - 1].startTime;"
        ),
    )
    .await
}

/// Issue 8's targets: the first sync of a large library into a fresh browser (against
/// PouchDB replicating the same documents from pouchdb-server into the same Chromium, run
/// interleaved), a sync with nothing new, and 100 edits from another device arriving by
/// themselves (the service's change hint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench`"]
async fn sync_speed() {
    let runs = runs();
    let n = library_size();
    let refs = library_of(n);
    let pouch_js = std::fs::read_to_string(
        std::env::var("POUCHDB_JS")
            .expect("POUCHDB_JS: pouchdb.min.js (cargo xtask bench installs it)"),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let server = harness::TestServer::start().await;
    let online = Online::seed(&http, &server.base_url, EMAIL, PASSWORD, &refs).await;
    let pouch = PouchServer::start(&http, &refs).await;
    let online = std::sync::Arc::new(tokio::sync::Mutex::new(online));

    let (mut ours, mut theirs, mut noop, mut arrivals) = (vec![], vec![], vec![], vec![]);
    let (mut floor, mut reopened, mut memories) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs {
        // Ours: sign in on a fresh profile; the first sync runs until the list is usable.
        let downloads = tempfile::tempdir().unwrap();
        let url = server.base_url.clone();
        let shared = online.clone();
        let refs_here = refs[..100].to_vec();
        let http_here = http.clone();
        let out = std::sync::Arc::new(std::sync::Mutex::new((
            0.0,
            Vec::new(),
            0.0,
            Vec::new(),
            0.0,
        )));
        let seen = out.clone();
        harness::with_browser(downloads.path(), move |c| async move {
            open_empty(&c, &url).await;
            sign_in(&c, EMAIL).await;
            if round == 0 && std::env::var_os("REFSYNC_BENCH_SCREENSHOTS").is_some() {
                // To look at the progress bar (it costs the first run some time).
                wait_text_within(&c, "#sync-progress", LONG, |t| t.contains(" of ")).await;
                harness::screenshot(&c, "first-sync-progress").await;
            }
            let done = wait_mark(&c, "sync-done", 1).await;
            let first = done - last_mark(&c, "sync-start").await;
            let phases = c
                .execute(
                    "const sum = {}; for (const m of performance.getEntriesByType('measure')) \
                     { if (m.name.startsWith('sync-')) sum[m.name] = Math.round((sum[m.name] || 0) + m.duration); } \
                     return sum;",
                    vec![],
                )
                .await
                .unwrap();
            println!("first sync phases (ms, summed over pages): {phases}");
            let shown = n.to_string();
            wait_text_within(&c, "#count-all", LONG, |t| t.replace(',', "") == shown).await;
            // Let the change hint's own no-op sync (after this browser's link) go by.
            tokio::time::sleep(Duration::from_millis(1500)).await;

            let mut quiet = Vec::new();
            let quiet_from = js_f64(&c, "return performance.now();").await;
            for _ in 0..10 {
                let before = marks(&c, "sync-done").await;
                click(&c, "#sync-now").await;
                let done = wait_mark(&c, "sync-done", before + 1).await;
                quiet.push(done - last_mark(&c, "sync-start").await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let phases = c
                .execute(
                    "const sum = {}; for (const m of performance.getEntriesByType('measure')) \
                     { if (m.name.startsWith('sync-') && m.startTime >= arguments[0]) \
                     sum[m.name] = Math.round(((sum[m.name] || 0) + m.duration) * 10) / 10; } \
                     return sum;",
                    vec![quiet_from.into()],
                )
                .await
                .unwrap();
            println!("no-op sync phases (ms, summed over 10 syncs): {phases}");

            // 100 edits made on another device, arriving with no click.
            let before = marks(&c, "sync-done").await;
            let edited: Vec<Reference> = refs_here
                .into_iter()
                .map(|mut r| {
                    r.set(Field::Notes, format!("edited on another device, round {round}"));
                    r
                })
                .collect();
            let pushed_at = shared.lock().await.push(&http_here, &edited).await;
            let done = wait_mark(&c, "sync-done", before + 1).await;
            let origin = js_f64(&c, "return performance.timeOrigin;").await;
            let arrival = origin + done - pushed_at;

            // Opening again: a library that came by sync is stored in packs, read whole.
            let mut opens = Vec::new();
            for _ in 0..2 {
                c.refresh().await.unwrap();
                opens.push(wait_mark(&c, "first-rows", 1).await);
            }
            wait_mark(&c, "library-ready", 1).await;
            let memory = memory_mb(&c, &format!("{}k that came by sync", n / 1000)).await;
            *seen.lock().unwrap() = (first, quiet, arrival, opens, memory);
        })
        .await;
        let (first, quiet, arrival, opens, memory) = out.lock().unwrap().clone();
        ours.push(first);
        noop.extend(quiet);
        arrivals.push(arrival);
        reopened.extend(opens);
        memories.push(memory);

        // PouchDB: the same documents from pouchdb-server into a fresh profile.
        let downloads = tempfile::tempdir().unwrap();
        let base = pouch.base.clone();
        let script = pouch_js.clone();
        let out = std::sync::Arc::new(std::sync::Mutex::new(0.0));
        let seen = out.clone();
        harness::with_browser(downloads.path(), move |c| async move {
            // Its own origin, so replication needs no CORS.
            c.goto(&base).await.unwrap();
            c.execute(
                "const s = document.createElement('script'); s.textContent = arguments[0]; \
                 document.documentElement.appendChild(s); return typeof PouchDB;",
                vec![script.into()],
            )
            .await
            .unwrap();
            let result = c
                .execute_async(
                    r#"const done = arguments[arguments.length - 1];
                    const db = new PouchDB('bench');
                    const t0 = performance.now();
                    db.replicate.from(location.origin + '/bench', { batch_size: 1000, batches_limit: 5 })
                      .on('complete', async () => {
                        const ms = performance.now() - t0;
                        const info = await db.info();
                        done([ms, info.doc_count]);
                      })
                      .on('error', e => done(['error', String(e)]));"#,
                    vec![],
                )
                .await
                .unwrap();
            let ms = result[0].as_f64().unwrap_or_else(|| panic!("PouchDB: {result}"));
            assert_eq!(result[1].as_u64(), Some(n as u64), "PouchDB replicated everything");
            *seen.lock().unwrap() = ms;
        })
        .await;
        theirs.push(*out.lock().unwrap());

        // The per-record floor: the same pages fetched and put into one IndexedDB
        // transaction, one record per object, from plain JS, in a fresh profile: what no
        // client storing a record per object can beat (refsync packs, so it can).
        let downloads = tempfile::tempdir().unwrap();
        let url = server.base_url.clone();
        let (token, library, epoch) = {
            let o = online.lock().await;
            (o.token.clone(), o.library.clone(), o.epoch)
        };
        let out = std::sync::Arc::new(std::sync::Mutex::new(0.0));
        let seen = out.clone();
        harness::with_browser(downloads.path(), move |c| async move {
            c.goto(&format!("{url}/healthz")).await.unwrap();
            let result = c
                .execute_async(
                    r#"const [token, library, epoch, done] = arguments;
                    (async () => {
                      const t0 = performance.now();
                      const db = await new Promise((ok, fail) => {
                        const r = indexedDB.open('floor', 1);
                        r.onupgradeneeded = () => r.result.createObjectStore('objects');
                        r.onsuccess = () => ok(r.result);
                        r.onerror = () => fail(r.error);
                      });
                      const objects = [];
                      let cursor = null;
                      for (;;) {
                        const url = `/api/v1/libraries/${library}/changes?since=0`
                          + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
                        const answer = await fetch(url, { headers: {
                          'Authorization': 'Bearer ' + token, 'x-refsync-epoch': String(epoch) } });
                        const page = await answer.json();
                        objects.push(...page.objects);
                        cursor = page.next;
                        if (!cursor) break;
                      }
                      const tx = db.transaction('objects', 'readwrite');
                      const store = tx.objectStore('objects');
                      for (const o of objects) store.put(JSON.stringify(o.data), o.key);
                      await new Promise(ok => { tx.oncomplete = ok; });
                      done([performance.now() - t0, objects.length]);
                    })().catch(e => done(['error', String(e)]));"#,
                    vec![token.into(), library.into(), epoch.into()],
                )
                .await
                .unwrap();
            let ms = result[0]
                .as_f64()
                .unwrap_or_else(|| panic!("floor: {result}"));
            assert!(result[1].as_u64().unwrap_or(0) >= n as u64, "{result}");
            *seen.lock().unwrap() = ms;
        })
        .await;
        floor.push(*out.lock().unwrap());
    }
    let scenario = format!(
        "first sync of {}k references into a fresh browser, to a usable list",
        n / 1000
    );
    let mut ratios: Vec<f64> = theirs.iter().zip(&ours).map(|(t, o)| t / o).collect();
    ratios.sort_by(f64::total_cmp);
    report("app", &scenario, n, ours);
    report("pouchdb-browser", &scenario, n, theirs);
    println!(
        "RATIO app\t{scenario}\t{:.2}\t{:.2}\t{:.2}",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    report(
        "floor, one record per object (fetch + one IndexedDB transaction, plain JS)",
        &scenario,
        n,
        floor,
    );
    report(
        "app",
        &format!("sync with nothing new, {}k references", n / 1000),
        n,
        noop,
    );
    report(
        "app",
        "100 edits made on another device arriving (change hint, no click)",
        100,
        arrivals,
    );
    report(
        "app",
        &format!(
            "open with {}k references that came by sync (packed), first rows painted",
            n / 1000
        ),
        n,
        reopened,
    );
    report(
        "app",
        &format!(
            "memory after opening {}k that came by sync: JS heap + wasm memory (MB, not ms)",
            n / 1000
        ),
        n,
        memories,
    );
    drop(pouch);
    drop(server);
}

/// The JSON the service answers a signed request with (a failure ends the benchmark).
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let mut req = http.request(method, url).json(&body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("the service answers");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap_or(serde_json::Value::Null)
}

/// A shared library of the owner `owner`, named `name`, holding `refs`; its id.
async fn shared_library(
    http: &reqwest::Client,
    owner: &Online,
    name: &str,
    refs: &[Reference],
) -> String {
    let base = &owner.base;
    let made = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/libraries"),
        &owner.token,
        serde_json::json!({ "name": name }),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let link = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/libraries/{id}/link"),
        &owner.token,
        serde_json::json!({"device_id": "owner-device", "device_name": "bench"}),
    )
    .await;
    let mut online = Online {
        base: base.clone(),
        token: owner.token.clone(),
        library: id.clone(),
        epoch: link["epoch"].as_u64().unwrap(),
        versions: HashMap::new(),
    };
    for chunk in refs.chunks(5_000) {
        online.push(http, chunk).await;
    }
    id
}

/// Make the account `email` a member (editor) of each of `libraries`, invited by `owner`.
async fn join(http: &reqwest::Client, owner: &Online, email: &str, libraries: &[String]) {
    let base = &owner.base;
    let session = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/account"),
        "",
        serde_json::json!({"email": email, "password": PASSWORD}),
    )
    .await;
    let token = session["token"].as_str().unwrap().to_string();
    for id in libraries {
        let invitation = call(
            http,
            reqwest::Method::POST,
            format!("{base}/api/v1/libraries/{id}/invitations"),
            &owner.token,
            serde_json::json!({"email": email, "role": "editor"}),
        )
        .await;
        let invitation = invitation["id"].as_str().unwrap();
        call(
            http,
            reqwest::Method::POST,
            format!("{base}/api/v1/invitations/{invitation}/accept"),
            &token,
            serde_json::json!({}),
        )
        .await;
    }
}

/// Open the app at `url` in a fresh profile (its library empty).
async fn open_empty(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    wait_text_within(c, "#storage-status", LONG, |t| {
        t == "0 references stored in this browser"
    })
    .await;
}

/// Sign in to `email` from the account bar (the first sync starts at once).
async fn sign_in(c: &Client, email: &str) {
    click(c, "#sign-in").await;
    harness::type_into(c, "#account-email-input", email).await;
    harness::type_into(c, "#account-password", PASSWORD).await;
    click(c, "#account-submit").await;
}

/// Sign in to `email` in the open page; the time (ms) from the first sync's start to its end
/// (the window's library, then every shared one: `sync-done`).
async fn sign_in_and_sync(c: &Client, email: &str) -> f64 {
    sign_in(c, email).await;
    let done = wait_mark(c, "sync-done", 1).await;
    done - last_mark(c, "sync-start").await
}

/// Shared libraries in the browser (issue 28): a member's first sync of a shared library of
/// 10,000 into a fresh browser (its own library empty: the sync is the shared library's
/// download), and opening the app with a personal library of `library_size()` and three
/// shared libraries of 10,000 beside it: the personal library's first rows, and a shared
/// library's when the window shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench`"]
async fn sharing_speed() {
    let runs = runs();
    let n = library_size();
    let shared_n = 10_000.min(n);
    let http = reqwest::Client::new();
    let server = harness::TestServer::start().await;
    let owner = Online::seed(
        &http,
        &server.base_url,
        "owner@bench.example",
        PASSWORD,
        &[],
    )
    .await;
    let refs = library_of(shared_n * 3);
    let mut libraries = Vec::new();
    for (i, part) in refs.chunks(shared_n).enumerate() {
        libraries.push(shared_library(&http, &owner, &format!("Shared {}", i + 1), part).await);
    }

    // A member's first sync of one shared library, a fresh browser each run (and a fresh
    // member: the service's answer does not depend on it).
    let mut first = Vec::new();
    for round in 0..runs {
        let email = format!("member{round}@bench.example");
        join(&http, &owner, &email, &libraries[..1]).await;
        let downloads = tempfile::tempdir().unwrap();
        let url = server.base_url.clone();
        let out = std::sync::Arc::new(std::sync::Mutex::new(0.0));
        let seen = out.clone();
        harness::with_browser(downloads.path(), move |c| async move {
            open_empty(&c, &url).await;
            let ms = sign_in_and_sync(&c, &email).await;
            let count = shared_n.to_string();
            wait_text_within(&c, "#shared-with-me-list .shared-count", LONG, |t| {
                t.replace(',', "") == count
            })
            .await;
            *seen.lock().unwrap() = ms;
        })
        .await;
        first.push(*out.lock().unwrap());
    }
    report(
        "app",
        &format!(
            "a member's first sync of a shared library of {}k into a fresh browser",
            shared_n / 1000
        ),
        shared_n,
        first,
    );

    // Opening with the personal library of n and the three shared libraries beside it.
    join(&http, &owner, "reader@bench.example", &libraries).await;
    let zip = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(zip.path(), backup_of(n)).unwrap();
    let zip_path = zip.path().display().to_string();
    let out = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Vec::new(), Vec::new())));
    let seen = out.clone();
    harness::with_app_on(server, move |c, _app| async move {
        restore(&c, &zip_path).await;
        // The same library before any shared library is beside it (and before signing in):
        // the figure to compare with, in the same browser.
        let mut alone = Vec::new();
        for _ in 0..runs.max(3) {
            c.refresh().await.unwrap();
            alone.push(wait_mark(&c, "first-rows", 1).await);
        }
        wait_text_within(&c, "#storage-status", LONG, |t| {
            t.ends_with("stored in this browser")
        })
        .await;
        sign_in_and_sync(&c, "reader@bench.example").await;
        wait_text_within(&c, "#shared-with-me", LONG, |t| t.ends_with('3')).await;
        let mut personal = Vec::new();
        for _ in 0..runs.max(3) {
            c.refresh().await.unwrap();
            personal.push(wait_mark(&c, "first-rows", 1).await);
        }
        // A shared library in the window: its own 10,000, the personal library closed.
        let first_shared = "#shared-with-me-list .shared-item:first-child .shared-open";
        wait_text_within(&c, first_shared, LONG, |t| t.starts_with("Shared")).await;
        click(&c, first_shared).await;
        wait_text_within(&c, ".shared-item.current .shared-name", LONG, |t| {
            t.starts_with("Shared")
        })
        .await;
        let mut shared = Vec::new();
        for _ in 0..runs.max(3) {
            c.refresh().await.unwrap();
            shared.push(wait_mark(&c, "first-rows", 1).await);
        }
        *seen.lock().unwrap() = (alone, personal, shared);
    })
    .await;
    let (alone, personal, shared) = out.lock().unwrap().clone();
    report(
        "app",
        &format!(
            "open with {}k references, no shared library, first rows painted (same browser, before)",
            n / 1000
        ),
        n,
        alone,
    );
    report(
        "app",
        &format!(
            "open with {}k references and three shared libraries of {}k beside them, first rows painted",
            n / 1000,
            shared_n / 1000
        ),
        n,
        personal,
    );
    report(
        "app",
        &format!(
            "open a shared library of {}k (personal {}k beside it), first rows painted",
            shared_n / 1000,
            n / 1000
        ),
        shared_n,
        shared,
    );
}
