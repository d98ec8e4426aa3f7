//! End-to-end harness: the real server in-process on a free port with a fresh data dir,
//! ChromeDriver, and headless Chromium with a fresh profile.
//!
//! Invariant: the browser is always closed, even when a test step panics, so no Chromium
//! outlives a failed test; the panic is then re-raised with the page's JS errors attached.

pub use crate::corpus::corpus_file;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use refsync_core::{Key, Reference};
use refsync_server::{Config, Server};
use serde_json::json;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
    // `gc()` in the page, so the benchmark's memory figure is what the page holds, not
    // garbage not yet collected.
    "--js-flags=--expose-gc",
];

/// How long the app may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(20);

pub fn dist_dir() -> PathBuf {
    std::env::var_os("REFSYNC_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist"))
}

pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots")
}

/// A running server with its own data dir; it runs until stopped or dropped.
pub struct TestServer {
    pub base_url: String,
    control: ServerControl,
    _data: tempfile::TempDir,
}

/// What stops a running server: its shutdown signal and its task.
type Running = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// Stops and starts a test's server (shared, so the steps can do it while the harness owns
/// it). A restart keeps the address and the data, as a service coming back would.
#[derive(Clone)]
pub struct ServerControl {
    running: Arc<tokio::sync::Mutex<Option<Running>>>,
    config: Arc<std::sync::Mutex<Config>>,
}

impl ServerControl {
    /// Stop answering, as if the network were gone: connections to the port are refused.
    pub async fn stop(&self) {
        if let Some((stop, task)) = self.running.lock().await.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Start again (after [`ServerControl::stop`]) on the same address with the same data.
    pub async fn restart(&self) {
        let mut running = self.running.lock().await;
        if running.is_none() {
            let config = self.config.lock().expect("config").clone();
            *running = Some(serve(&config).await.1);
        }
    }
}

/// Start a server as `config` says; its address and what stops it.
async fn serve(config: &Config) -> (std::net::SocketAddr, Running) {
    let server = Server::start(config).await.expect("server starts");
    let addr = server.local_addr().expect("bound address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Ends when stopped, or with the test's runtime.
    let task = tokio::spawn(async move {
        let _ = server
            .serve(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, (stop, task))
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes first (a tiny storage limit, short sign-ins).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dist = dist_dir();
        assert!(
            dist.join("index.html").is_file(),
            "no built web app in {}: run `cargo xtask test`, which builds it first",
            dist.display()
        );
        let data = tempfile::tempdir().expect("temp data dir");
        let mut config = Config::new(([127, 0, 0, 1], 0).into(), data.path().to_path_buf(), dist);
        // The CSL repository's styles, as `cargo xtask test` installs them.
        config.styles = std::env::var_os("REFSYNC_CSL_STYLES").map(PathBuf::from);
        adjust(&mut config);
        let (addr, running) = serve(&config).await;
        // A restart must come back where the browsers look for it.
        config.addr = addr;
        TestServer {
            base_url: format!("http://{addr}"),
            control: ServerControl {
                running: Arc::new(tokio::sync::Mutex::new(Some(running))),
                config: Arc::new(std::sync::Mutex::new(config)),
            },
            _data: data,
        }
    }
}

/// What a test's steps get besides the browser.
pub struct App {
    pub url: String,
    pub server: ServerControl,
    /// Where the browser saves downloads.
    pub downloads: PathBuf,
}

/// The corpus of real files (`REFSYNC_CORPUS`, else `shared/corpus` beside the checkout or
/// a folder above it, else this machine's `/work/shared/corpus`). Missing fails the test.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Run `steps` against a fresh headless Chromium (downloads saved in `downloads`); always
/// close it afterwards.
pub async fn with_browser<F, Fut>(downloads: &std::path::Path, steps: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let driver_bin =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let _driver = tokio::process::Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {driver_bin}: {e} (cargo xtask test installs it)")
        });
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let profile = tempfile::tempdir().expect("profile dir");
    let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": args,
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    // A script may wait as long as the work it measures (PouchDB replicating 50,000
    // documents takes over the default 30 s on a slow machine); page loads keep the default.
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(600)),
            Some(Duration::from_secs(300)),
            // Looking for an element waits for it a while, as a person does: a dialog or the
            // editor appears once its code has arrived (loaded on first use, src/later.rs).
            // Whether something is gone is asked with `absent`, which does not wait.
            Some(FIND_WAIT),
        ))
        .await
        .expect("WebDriver timeouts");

    // Steps run in their own task so that a panic comes back here as an error and the
    // browser still gets closed.
    let outcome = tokio::spawn(steps(client.clone())).await;
    let js_errors = client
        .execute("return window.__errors || []", vec![])
        .await
        .ok();
    client.close().await.ok();
    if let Err(e) = outcome {
        eprintln!("JS errors on the page: {js_errors:?}");
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A fresh server and a fresh browser with the app open and its library loaded; `steps` get
/// the browser and the app (its URL, its server, its downloads folder).
pub async fn with_app<F, Fut>(steps: F)
where
    F: FnOnce(Client, App) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_app_on(TestServer::start().await, steps).await;
}

/// [`with_app`] on a server the test set up.
pub async fn with_app_on<F, Fut>(server: TestServer, steps: F)
where
    F: FnOnce(Client, App) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = server.base_url.clone();
    let downloads = tempfile::tempdir().expect("downloads dir");
    let app = App {
        url: url.clone(),
        server: server.control.clone(),
        downloads: downloads.path().to_path_buf(),
    };
    with_browser(downloads.path(), move |c| async move {
        c.goto(&url).await.expect("open the app");
        wait_text(&c, "#storage-status", |t| {
            t.ends_with("stored in this browser")
        })
        .await;
        steps(c, app).await;
    })
    .await;
    // The server lives until here, whatever the steps kept.
    drop(server);
}

/// Reload until the service worker controls the page, i.e. it holds the app shell and the
/// app can open with the network gone.
pub async fn wait_for_offline_shell(c: &Client) {
    let start = Instant::now();
    loop {
        c.refresh().await.expect("reload");
        let controlled = c
            .execute("return !!navigator.serviceWorker.controller", vec![])
            .await
            .expect("ask the page");
        if controlled.as_bool() == Some(true) {
            return;
        }
        assert!(start.elapsed() < WAIT, "no service worker took the page");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every element matching `css`, as text.
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(el.text().await.unwrap_or_default());
    }
    out
}

/// Wait until a download in `dir` is complete (no partial file left, its size settled);
/// its path.
pub async fn wait_download(dir: &std::path::Path) -> PathBuf {
    let start = Instant::now();
    let mut last: Option<(PathBuf, u64)> = None;
    loop {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let partial = entries.iter().any(|p| {
            p.extension()
                .is_some_and(|x| x == "crdownload" || x == "tmp")
        });
        let done = entries.into_iter().find(|p| {
            !p.extension()
                .is_some_and(|x| x == "crdownload" || x == "tmp")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        });
        if let (false, Some(path)) = (partial, done) {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > 0 && last.as_ref() == Some(&(path.clone(), size)) {
                return path;
            }
            last = Some((path, size));
        }
        assert!(
            start.elapsed() < WAIT,
            "no complete download in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Choose `value` in the `<select>` matching `css`.
pub async fn select(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose {value} in {css}: {e}"));
}
/// The text of the first element matching `css`, once `pred` holds for it.
pub async fn wait_text(c: &Client, css: &str, pred: impl Fn(&str) -> bool) -> String {
    wait_text_within(c, css, WAIT, pred).await
}

/// [`wait_text`] with a longer patience, for work that takes long on purpose (benchmarks).
pub async fn wait_text_within(
    c: &Client,
    css: &str,
    wait: Duration,
    pred: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let text = match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if pred(&text) {
            return text;
        }
        if start.elapsed() > wait {
            let errors = c.execute("return window.__errors || []", vec![]).await.ok();
            let body = c.source().await.unwrap_or_default();
            panic!("waited {wait:?} on {css}; last text: {text:?}\nJS errors: {errors:?}\npage:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The file of the part `name` loaded on first use (src/later.rs) in the built app at `dist`:
/// `split_{name}.wasm` in its `lazy-*` folder (xtask/src/split.rs).
pub fn lazy_part(dist: &std::path::Path, name: &str) -> PathBuf {
    let part = std::fs::read_dir(dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("lazy-")
        })
        .expect("the built app has its parts loaded on first use")
        .join(format!("split_{name}.wasm"));
    assert!(part.is_file(), "{} is missing", part.display());
    part
}

/// Deletes the part `name` from every cache of the page's origin (the service worker keeps
/// the parts there); how many copies went.
pub async fn forget_cached_part(c: &Client, name: &str) -> Option<u64> {
    c.execute_async(
        r#"const [name, done] = arguments;
        (async () => {
            let n = 0;
            for (const cacheName of await caches.keys()) {
                const cache = await caches.open(cacheName);
                for (const request of await cache.keys()) {
                    if (request.url.includes("/lazy-") && request.url.endsWith(`/split_${name}.wasm`)) {
                        await cache.delete(request);
                        n += 1;
                    }
                }
            }
            return n;
        })().then(done, (e) => done(String(e)));"#,
        vec![name.into()],
    )
    .await
    .unwrap()
    .as_u64()
}

/// Copy a folder and everything in it (the built app has folders: the parts loaded on first use).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// How long looking for an element waits for it to appear.
const FIND_WAIT: Duration = Duration::from_secs(5);

/// Whether nothing on the page matches `css` now. Asked of the page itself: looking for an
/// element that is not there would wait `FIND_WAIT` for it.
pub async fn absent(c: &Client, css: &str) -> bool {
    c.execute(
        "return document.querySelector(arguments[0]) === null",
        vec![css.into()],
    )
    .await
    .unwrap_or_else(|e| panic!("cannot look for {css}: {e}"))
        == serde_json::Value::Bool(true)
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} to click: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

pub async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} to type into: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

/// Type `text` one key at a time to whatever has the focus, as a keyboard does: if the page
/// moves the focus mid-word, the rest of the word goes where the focus went, as it would for a
/// person (WebDriver's element typing would keep aiming at the element).
pub async fn type_keys(c: &Client, text: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    for ch in text.chars() {
        let key = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
        c.perform_actions(key)
            .await
            .unwrap_or_else(|e| panic!("cannot type {ch:?}: {e}"));
    }
}

/// Click `css` and type `text` in one go, as a quick person does: the keys follow the click
/// with no wait between, so whatever the click puts in focus must be there by the first key.
pub async fn click_and_type(c: &Client, css: &str, text: &str) {
    use fantoccini::actions::{
        Actions, InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT,
    };
    let element = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} to click: {e}"));
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
        vec![serde_json::json!(css)],
    )
    .await
    .unwrap_or_else(|e| panic!("cannot show {css}: {e}"));
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    // The keyboard waits out the mouse's three steps, then types.
    let mut keys = KeyActions::new("keyboard".into());
    for _ in 0..3 {
        keys = keys.then(KeyAction::Pause {
            duration: std::time::Duration::ZERO,
        });
    }
    for ch in text.chars() {
        keys = keys
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    c.perform_actions(Actions::from(mouse).and(keys))
        .await
        .unwrap_or_else(|e| panic!("cannot click {css} and type {text:?}: {e}"));
}

/// A WebDriver extension command: a POST of `body` to `path` under the session.
#[derive(Debug)]
struct SessionPost {
    path: &'static str,
    body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Let the page read and write the clipboard (a test reads what a Copy put there), through
/// WebDriver's Permissions extension, as a person's "Allow" would.
pub async fn allow_clipboard(c: &Client) {
    for name in ["clipboard-read", "clipboard-write"] {
        let grant = json!({ "descriptor": { "name": name }, "state": "granted" });
        c.issue_cmd(SessionPost {
            path: "permissions",
            body: grant,
        })
        .await
        .unwrap_or_else(|e| panic!("cannot grant {name}: {e}"));
    }
}

/// What the clipboard holds: its types, its HTML and its plain text.
pub async fn clipboard(c: &Client) -> (Vec<String>, String, String) {
    let got = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const items = await navigator.clipboard.read();
              const out = { types: [], html: "", text: "" };
              for (const item of items) {
                for (const type of item.types) {
                  out.types.push(type);
                  const body = await (await item.getType(type)).text();
                  if (type === "text/html") out.html = body;
                  if (type === "text/plain") out.text = body;
                }
              }
              return out;
            })().then(done, (e) => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .expect("read the clipboard");
    assert!(
        got.get("error").is_none(),
        "the clipboard could not be read: {got}"
    );
    let types = got["types"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let text = |k: &str| got[k].as_str().unwrap_or_default().to_string();
    (types, text("html"), text("text"))
}

/// Take the browser off the network, or back on: ChromeDriver's network conditions, as a
/// person's laptop would be (navigator.onLine false, the `offline` event, every request
/// failing), unlike stopping the service.
pub async fn set_offline(c: &Client, offline: bool) {
    let conditions = json!({
        "network_conditions": {
            "offline": offline,
            "latency": 0,
            "download_throughput": -1,
            "upload_throughput": -1,
        }
    });
    c.issue_cmd(SessionPost {
        path: "chromium/network_conditions",
        body: conditions,
    })
    .await
    .unwrap_or_else(|e| panic!("cannot set the network conditions: {e}"));
}

/// A Chrome DevTools Protocol command through ChromeDriver (`goog/cdp/execute`): what the
/// browser's developer tools can do to the page, such as slowing its CPU.
pub async fn cdp(c: &Client, command: &str, params: serde_json::Value) {
    c.issue_cmd(SessionPost {
        path: "goog/cdp/execute",
        body: json!({ "cmd": command, "params": params }),
    })
    .await
    .unwrap_or_else(|e| panic!("{command}: {e}"));
}

/// axe-core's browser script: `cargo xtask test` installs it from npm and names it in
/// `REFSYNC_AXE`. Without it the accessibility checks fail, never skip.
fn axe_script() -> String {
    let path = std::env::var_os("REFSYNC_AXE").unwrap_or_else(|| {
        panic!("REFSYNC_AXE is not set: run the end-to-end tests with `cargo xtask test`, which installs axe-core")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read axe-core at {}: {e}",
            PathBuf::from(path).display()
        )
    })
}

/// Check the page as it is now with axe-core (WCAG 2.x A and AA rules and best practices):
/// no serious or critical violation. `what` names the view in the failure.
pub async fn axe_check(c: &Client, what: &str) {
    let loaded = c
        .execute("return typeof window.axe === 'object'", vec![])
        .await
        .expect("ask for axe");
    if loaded.as_bool() != Some(true) {
        c.execute(&axe_script(), vec![])
            .await
            .expect("load axe-core");
    }
    let found = c
        .execute_async(
            "const done = arguments[0];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(' | ')}`)))
               .catch(e => done([`axe did not run: ${e}`]));",
            vec![],
        )
        .await
        .expect("run axe");
    let found: Vec<String> = found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_else(|| vec![format!("axe answered {found}")]);
    assert!(
        found.is_empty(),
        "axe found serious or critical problems in {what}:\n{}",
        found.join("\n")
    );
}

/// Save a PNG of the page under target/e2e-screenshots/ and print where.
pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let png = c.screenshot().await.expect("screenshot");
    assert_eq!(&png[1..4], b"PNG");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png).expect("write screenshot");
    println!("screenshot: {}", path.display());
    path
}

/// The online copy: an account holding the library, pushed as another device would.
pub struct Online {
    pub base: String,
    pub token: String,
    pub library: String,
    pub epoch: u64,
    /// Each reference's version online, for edits made "on another device".
    pub versions: HashMap<Key, u64>,
}

/// The JSON the service answers `request` with.
async fn answer(request: reqwest::RequestBuilder) -> serde_json::Value {
    request
        .send()
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("a JSON answer")
}

impl Online {
    /// Make the account `email` and push `refs` into its library.
    pub async fn seed(
        http: &reqwest::Client,
        base: &str,
        email: &str,
        password: &str,
        refs: &[Reference],
    ) -> Online {
        let session = answer(
            http.post(format!("{base}/api/v1/account"))
                .json(&json!({"email": email, "password": password})),
        )
        .await;
        let token = session["token"].as_str().unwrap().to_string();
        let me = answer(http.get(format!("{base}/api/v1/me")).bearer_auth(&token)).await;
        let library = me["library"]["id"].as_str().unwrap().to_string();
        let link = answer(
            http.post(format!("{base}/api/v1/libraries/{library}/link"))
                .bearer_auth(&token)
                .json(&json!({"device_id": "another-device", "device_name": "test"})),
        )
        .await;
        let mut online = Online {
            base: base.to_string(),
            token,
            library,
            epoch: link["epoch"].as_u64().unwrap(),
            versions: HashMap::new(),
        };
        for chunk in refs.chunks(5_000) {
            online.push(http, chunk).await;
        }
        online
    }

    /// Write `refs` online on top of the versions seen; the time (Unix ms) the service said yes.
    pub async fn push(&mut self, http: &reqwest::Client, refs: &[Reference]) -> f64 {
        let writes: Vec<serde_json::Value> = refs
            .iter()
            .map(|r| {
                json!({
                    "kind": "reference",
                    "key": r.key,
                    "base_version": self.versions.get(&r.key).copied().unwrap_or(0),
                    "data": r,
                })
            })
            .collect();
        let result = answer(
            http.post(format!(
                "{}/api/v1/libraries/{}/batch",
                self.base, self.library
            ))
            .bearer_auth(&self.token)
            .header("x-refsync-epoch", self.epoch.to_string())
            .json(&json!({
                "idempotency_key": format!("push-{}-{}", refs[0].key, unix_ms()),
                "writes": writes,
            })),
        )
        .await;
        let done = unix_ms();
        for (r, result) in refs.iter().zip(result["results"].as_array().unwrap()) {
            assert!(
                result["status"] == "ok" || result["status"] == "unchanged",
                "{result}"
            );
            self.versions
                .insert(r.key, result["version"].as_u64().unwrap());
        }
        done
    }
}

pub fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}
