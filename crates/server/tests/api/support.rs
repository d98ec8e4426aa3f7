//! The suite's harness: a real server on port 0 over a real database (a SQLite file in a temp
//! dir, or a fresh PostgreSQL database created for the test and dropped after it), and a
//! small HTTP client that speaks the protocol.
//!
//! PostgreSQL is, in order: `REFSYNC_TEST_POSTGRES_URL`; the server on 127.0.0.1:5432 if one
//! answers; else a private throwaway cluster started here (initdb + postgres in a temp dir,
//! stopped when the test process ends). Which one is printed once to stderr; the suite never
//! skips for want of one.

// Each test crate that includes this uses part of it.
#![allow(dead_code)]

use refsync_core::protocol::*;
use refsync_core::{Key, ObjectKind};
use refsync_server::{Config, Limits, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server (as an admin URL without a database) the suite uses.
fn postgres_admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("REFSYNC_TEST_POSTGRES_URL") {
            eprintln!("PostgreSQL for the server suite: REFSYNC_TEST_POSTGRES_URL");
            return url;
        }
        let local = "postgres://postgres@127.0.0.1:5432";
        // REFSYNC_TEST_POSTGRES=private tries the last resort even when a server runs.
        let forced_private = std::env::var("REFSYNC_TEST_POSTGRES").is_ok_and(|v| v == "private");
        if !forced_private
            && std::net::TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], 5432)),
                Duration::from_secs(2),
            )
            .is_ok()
        {
            eprintln!("PostgreSQL for the server suite: the server on 127.0.0.1:5432");
            return local.to_string();
        }
        let url = start_private_cluster();
        eprintln!("PostgreSQL for the server suite: a private throwaway cluster at {url}");
        url
    })
}

/// initdb and postgres from Debian's packages (or PATH), in a temp dir, on a free port. As
/// root they run as the `postgres` user, because PostgreSQL refuses to run as root.
fn start_private_cluster() -> String {
    use std::process::Command;
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").is_file())
                .max()
        })
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("refsync-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster dir");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let run_as = |program: &str| {
        let path = bin.join(program);
        let path = if path.is_file() {
            path
        } else {
            PathBuf::from(program)
        };
        if is_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    };
    if is_root {
        let ok = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot hand {} to the postgres user", dir.display());
    }
    let data = dir.join("data");
    let out = run_as("initdb")
        .args(["-U", "postgres", "--auth=trust", "-D"])
        .arg(&data)
        .output()
        .expect("initdb runs (install Debian's postgresql package)");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // Left running on purpose: the watchdog below stops it when this process ends.
    #[allow(clippy::zombie_processes)]
    let postgres = run_as("postgres")
        .arg("-D")
        .arg(&data)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-k",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("postgres starts");
    // Stopped when this test process ends, however it ends.
    let me = std::process::id();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid}; sleep 3; rm -rf '{dir}'",
            pid = postgres.id(),
            dir = dir.display()
        ))
        .spawn();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return format!("postgres://postgres@127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the private PostgreSQL cluster did not start on port {port}");
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let name = format!("refsync_test_{}", hex(rand_bytes()));
        let mut conn = sqlx::PgConnection::connect(&format!("{admin}/postgres"))
            .await
            .expect("connect to PostgreSQL");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        TestDatabase {
            url: format!("{admin}/{name}"),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = format!("{}/postgres", postgres_admin_url());
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a thread of its own may block on another.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::Executor::execute(
                        &mut conn,
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                    )
                    .await;
                }
            });
        })
        .join();
    }
}

fn rand_bytes() -> [u8; 8] {
    rand::random()
}

fn hex(bytes: [u8; 8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a test's servers keep their data: a temp dir, and a database when on PostgreSQL.
pub struct Store {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database: Option<TestDatabase>,
}

impl Store {
    pub async fn new(backend: Backend) -> Store {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        Store {
            backend,
            dir: tempfile::tempdir().expect("temp dir"),
            database,
        }
    }

    pub fn config(&self, limits: Limits) -> Config {
        let mut config = Config::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            self.dir.path().join("data"),
            self.dir.path().join("dist"),
        );
        config.database_url = self.database.as_ref().map(|d| d.url.clone());
        config.limits = limits;
        // The CSL repository's styles when `cargo xtask test` installed them (schemathesis
        // then exercises the style routes with real answers).
        config.styles = std::env::var_os("REFSYNC_CSL_STYLES").map(std::path::PathBuf::from);
        config
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.url.as_str())
    }
}

/// A server running in this process.
pub struct Running {
    pub base: String,
    /// The running service's state (to run its collector at a chosen moment).
    pub state: refsync_server::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub async fn start(store: &Store, limits: Limits) -> Running {
        // A failing test shows the server's errors with its own output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("refsync_server=warn")
            .try_init();
        let server = Server::start(&store.config(limits))
            .await
            .expect("server starts");
        let addr = server.local_addr().expect("bound");
        let state = server.state();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        Running {
            base: format!("http://{addr}"),
            state,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ends cleanly");
        }
    }
}

/// One signed-in client of the protocol (a device).
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub library: String,
    pub epoch: u64,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    epoch: Option<u64>,
    body: Option<Value>,
) -> Answer {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(e) = epoch {
        req = req.header(EPOCH_HEADER, e.to_string());
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{status}: the answer is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    if status.is_server_error() {
        panic!("server error {status}: {body}");
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// A POST without a token (registering, signing in).
pub async fn post_anon(base: &str, path: &str, body: Value) -> Answer {
    let http = reqwest::Client::new();
    send(
        &http,
        Method::POST,
        &format!("{base}{path}"),
        None,
        None,
        Some(body),
    )
    .await
}

pub const PASSWORD: &str = "correct horse battery";

/// Register `email` and link a device; returns the client.
pub async fn register(base: &str, email: &str) -> Client {
    let http = reqwest::Client::new();
    let a = send(
        &http,
        Method::POST,
        &format!("{base}/api/v1/account"),
        None,
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let token = a.body["token"].as_str().expect("token").to_string();
    client_for(base, token).await
}

/// Sign in again as `email` (another device of the same account) and link.
pub async fn sign_in(base: &str, email: &str) -> Client {
    let http = reqwest::Client::new();
    let a = send(
        &http,
        Method::POST,
        &format!("{base}/api/v1/session"),
        None,
        None,
        Some(json!({"email": email, "password": PASSWORD, "device_name": "test"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    client_for(base, a.body["token"].as_str().expect("token").to_string()).await
}

async fn client_for(base: &str, token: String) -> Client {
    let http = reqwest::Client::new();
    let me = send(
        &http,
        Method::GET,
        &format!("{base}/api/v1/me"),
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let library = me.body["library"]["id"]
        .as_str()
        .expect("library")
        .to_string();
    let mut c = Client {
        http,
        base: base.to_string(),
        token,
        library,
        epoch: 0,
    };
    c.link().await;
    c
}

impl Client {
    pub fn lib_url(&self, path: &str) -> String {
        format!("{}/api/v1/libraries/{}/{path}", self.base, self.library)
    }

    pub async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Answer {
        send(
            &self.http,
            method,
            url,
            Some(&self.token),
            Some(self.epoch),
            body,
        )
        .await
    }

    pub async fn link(&mut self) {
        let a = self
            .call(
                Method::POST,
                &self.lib_url("link"),
                Some(json!({"device_id": "device-1", "device_name": "test"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        self.epoch = a.body["epoch"].as_u64().expect("epoch");
    }

    pub async fn me(&self) -> Value {
        let a = self
            .call(Method::GET, &format!("{}/api/v1/me", self.base), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body
    }

    /// Send a batch; the raw answer.
    pub async fn batch_raw(&self, idempotency_key: &str, writes: Vec<Write>) -> Answer {
        self.call(
            Method::POST,
            &self.lib_url("batch"),
            Some(json!({"idempotency_key": idempotency_key, "writes": writes})),
        )
        .await
    }

    /// Send a batch that must be accepted; its result.
    pub async fn batch(&self, writes: Vec<Write>) -> BatchResult {
        let key = format!("batch-{}", hex(rand_bytes()));
        let a = self.batch_raw(&key, writes).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        serde_json::from_value(a.body).expect("a batch result")
    }

    /// Every change since `since`, page by page.
    pub async fn pull(&self, since: u64, limit: usize) -> (u64, Vec<RemoteObject>, usize) {
        let mut cursor: Option<String> = None;
        let mut objects = Vec::new();
        let mut pages = 0;
        loop {
            let mut url = format!("{}?since={since}&limit={limit}", self.lib_url("changes"));
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let a = self.call(Method::GET, &url, None).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let page: ChangesPage = serde_json::from_value(a.body).expect("a page");
            pages += 1;
            objects.extend(page.objects);
            match page.next {
                Some(n) => cursor = Some(n),
                None => return (page.library_version, objects, pages),
            }
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Upload an attachment's bytes under `sha`; the raw response.
pub async fn upload(c: &Client, sha: &str, bytes: Vec<u8>) -> reqwest::Response {
    c.http
        .put(c.lib_url(&format!("files/{sha}")))
        .bearer_auth(&c.token)
        .body(bytes)
        .send()
        .await
        .expect("upload sent")
}

/// Ask for a one-use ticket to the library's change-hint stream.
pub async fn stream_ticket(c: &Client) -> String {
    let a = c
        .call(Method::POST, &c.lib_url("events/ticket"), None)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["ticket"].as_str().expect("ticket").to_string()
}

/// Open the library's change-hint stream with a fresh ticket, as a browser does.
pub async fn open_stream(c: &Client) -> reqwest::Response {
    let ticket = stream_ticket(c).await;
    let resp = reqwest::Client::new()
        .get(format!("{}?ticket={ticket}", c.lib_url("events")))
        .send()
        .await
        .expect("stream opened");
    assert_eq!(resp.status(), StatusCode::OK);
    resp
}

/// Reads server-sent events of a stream as `version` numbers.
pub async fn next_hint(resp: &mut reqwest::Response, buffer: &mut String) -> u64 {
    next_hint_data(resp, buffer).await["library_version"]
        .as_u64()
        .expect("a version")
}

/// Reads server-sent events of a stream: the next hint as sent (other events read past).
pub async fn next_hint_data(resp: &mut reqwest::Response, buffer: &mut String) -> Value {
    loop {
        let (name, data) = next_event(resp, buffer).await;
        if name == "version" {
            return data;
        }
    }
}

/// Reads server-sent events of a stream: the next event's name and data (keep-alive comments
/// read past).
pub async fn next_event(resp: &mut reqwest::Response, buffer: &mut String) -> (String, Value) {
    loop {
        if let Some(at) = buffer.find("\n\n") {
            let event: String = buffer.drain(..at + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                let name = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .unwrap_or("message");
                return (
                    name.to_string(),
                    serde_json::from_str(data).expect("JSON data"),
                );
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("a hint within 10 s")
            .expect("the stream reads")
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Whether the stream ends within `within` (keep-alive comments and hints are read past).
pub async fn stream_ends(resp: &mut reqwest::Response, within: Duration) -> bool {
    let until = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(until, resp.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None) | Err(_)) => return true,
        }
    }
}

pub fn key(n: u64) -> Key {
    Key::new(1_700_000_000_000 + n, [n as u8; 10])
}

pub fn reference(k: Key, title: &str) -> Value {
    json!({"key": k.as_str(), "type": "journal_article", "fields": {"title": title}})
}

/// An object's data as a JSON tree, to look into.
pub fn json_of(data: &refsync_core::protocol::Data) -> Value {
    serde_json::from_str(data.get()).unwrap()
}

pub fn upsert(k: Key, base: u64, data: Value) -> Write {
    Write {
        kind: ObjectKind::Reference,
        key: k,
        base_version: base,
        data: Some(refsync_core::protocol::Data::of(&data).unwrap()),
    }
}

/// An attachment of reference `parent` naming the file `sha`.
pub fn attachment(k: Key, parent: Key, sha: &str, size: u64) -> Write {
    let data = json!({"key": k.as_str(), "parent": parent.as_str(), "file_name": "a.pdf",
        "media_type": "application/pdf", "size": size, "sha256": sha});
    Write {
        kind: ObjectKind::Attachment,
        key: k,
        base_version: 0,
        data: Some(refsync_core::protocol::Data::of(&data).unwrap()),
    }
}

pub fn delete(kind: ObjectKind, k: Key, base: u64) -> Write {
    Write {
        kind,
        key: k,
        base_version: base,
        data: None,
    }
}

/// Run a test body on both databases: `both!(name)` for `async fn name(b: Backend)`.
#[allow(unused_macros)]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A real S3-compatible server (moto's server mode, from PyPI) on a free port, with one empty
/// bucket; stopped when dropped.
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    child: std::process::Child,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let program = root.join("target/tools/python/bin/moto_server");
        assert!(
            program.is_file(),
            "moto is not installed: `cargo xtask test` installs it into target/tools/python"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = std::process::Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        // Owned (and so stopped) from here on, even if the bucket cannot be made.
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "refsync-test".to_string(),
            child,
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http
                .put(format!("{}/{}", server.endpoint, server.bucket))
                .send()
                .await
            {
                assert!(
                    r.status().is_success(),
                    "creating the bucket: {}",
                    r.status()
                );
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start on port {port}");
    }

    /// The keys of every object in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let xml = reqwest::get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .await
            .expect("list the bucket")
            .text()
            .await
            .expect("listing");
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
