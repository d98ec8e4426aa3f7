//! The server scenarios of `cargo xtask bench`: pull 50,000 references from version 0, push
//! them in batches, and no-op "anything new?" polls per second, against our server on SQLite
//! and on PostgreSQL and against pouchdb-server (npm) holding the same documents
//! (`_changes?include_docs=true`, `_bulk_docs`).
//!
//! Then issue 27's sharing figures (a library of 10,000 shared with 50 members: a member's
//! first sync, one edit's hint reaching every member's stream, the role check's cost per
//! request) on a SQLite server of their own.
//!
//! Then issue 29's scale: a fleet of 1,000 devices holding change-hint streams while 100 of
//! them sync small edits (`bench_server/fleet.rs`), on one instance on SQLite, on PostgreSQL,
//! and on two instances sharing one PostgreSQL, each killed and restarted once; and push and
//! pull of 250,000 references against pouchdb-server.
//!
//! `bench_server CORPUS_DIR RUNS COUNT` with `REFSYNC_SERVER_BIN` (a release build of
//! refsync-server) and `POUCHDB_SERVER` (its script). Servers run pinned to core 0 (`taskset`),
//! this load generator should run on core 1. Runs are interleaved (ours, ours, peer, ...),
//! each on a fresh store. Prints `BENCH place\tscenario\tcount\tmedian\tmin\tmax` lines (ms)
//! and `RATIO place\tscenario\tmedian\tmin\tmax` lines (peer time ÷ our time, run by run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "bench_server/fleet.rs"]
mod fleet;
#[allow(dead_code)]
#[path = "../../core/tests/bench/queries.rs"]
mod queries;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BATCH: usize = 5_000;
const PAGE: usize = 5_000;
const POLL_FOR: Duration = Duration::from_secs(2);
const POLLERS: usize = 4;
/// Any free port.
const ANY: &str = "127.0.0.1:0";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn pinned(program: &Path) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"]).arg(program);
    cmd
}

/// Our server on `addr` (port 0: any free one), with its data in `dir` (and its database at
/// `database_url`, else SQLite there); its process and address.
fn start_ours(bin: &Path, dir: &Path, database_url: Option<&str>, addr: &str) -> (Proc, String) {
    let mut cmd = pinned(bin);
    cmd.args(["--addr", addr, "--data-dir"])
        .arg(dir)
        .arg("--dist")
        .arg(dir.join("dist"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let mut child = cmd.spawn().expect("refsync-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address")
        .trim_end_matches('/')
        .to_string();
    (Proc(child), base)
}

fn start_pouch(script: &Path, dir: &Path) -> (Proc, String) {
    let port = free_port();
    let child = Proc(
        pinned(Path::new("node"))
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            // pouchdb-server writes its log.txt into the working directory.
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pouchdb-server starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, base);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("pouchdb-server did not start");
}

/// One side of the comparison, seen from the client.
#[derive(Clone)]
enum Target {
    Ours {
        base: String,
        token: String,
        library: String,
        epoch: u64,
    },
    Pouch {
        db: String,
    },
}

async fn sign_up(http: &reqwest::Client, base: &str) -> Target {
    let (token, library) = new_account(http, base, "bench@example.org").await;
    let epoch = link(http, base, &token, &library, "bench").await;
    Target::Ours {
        base: base.to_string(),
        token,
        library,
        epoch,
    }
}

/// Links `device` to `library`; the link's epoch.
async fn link(http: &reqwest::Client, base: &str, token: &str, library: &str, device: &str) -> u64 {
    let link: Value = http
        .post(format!("{base}/api/v1/libraries/{library}/link"))
        .bearer_auth(token)
        .json(&json!({ "device_id": device }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    link["epoch"].as_u64().unwrap()
}

/// A new account on `base`: its session token and its personal library's id.
async fn new_account(http: &reqwest::Client, base: &str, email: &str) -> (String, String) {
    let session: Value = http
        .post(format!("{base}/api/v1/account"))
        .json(&json!({"email": email, "password": "a benchmark password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().expect("signed up").to_string();
    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let library = me["library"]["id"].as_str().unwrap().to_string();
    (token, library)
}

/// The request bodies of a push, made before the clock starts: the load generator should
/// measure the server, not its own JSON encoding.
fn push_bodies(t: &Target, docs: &[Value]) -> Vec<Vec<u8>> {
    docs.chunks(BATCH)
        .enumerate()
        .map(|(i, chunk)| {
            let body = match t {
                Target::Ours { .. } => {
                    let writes: Vec<Value> = chunk
                        .iter()
                        .map(|d| json!({"kind": "reference", "key": d["key"], "base_version": 0, "data": d}))
                        .collect();
                    json!({"idempotency_key": format!("push-{i}"), "writes": writes})
                }
                Target::Pouch { .. } => {
                    let docs: Vec<Value> = chunk
                        .iter()
                        .map(|d| {
                            let mut d = d.clone();
                            d["_id"] = d["key"].clone();
                            d
                        })
                        .collect();
                    json!({ "docs": docs })
                }
            };
            serde_json::to_vec(&body).unwrap()
        })
        .collect()
}

async fn push(http: &reqwest::Client, t: &Target, bodies: Vec<Vec<u8>>) {
    for body in bodies {
        let t0 = Instant::now();
        let len = body.len();
        let req = match t {
            Target::Ours {
                base,
                token,
                library,
                epoch,
            } => http
                .post(format!("{base}/api/v1/libraries/{library}/batch"))
                .bearer_auth(token)
                .header("x-refsync-epoch", epoch.to_string()),
            Target::Pouch { db } => http.post(format!("{db}/_bulk_docs")),
        };
        let resp = req
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "push: {}", resp.status());
        resp.bytes().await.unwrap();
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("  batch of {len} bytes: {:?}", t0.elapsed());
        }
    }
}

/// What the load generator reads of a page: how many documents, and where to go on from.
/// `IgnoredAny` checks the JSON without building it, as a client that streams it would.
#[derive(serde::Deserialize)]
struct OurPage {
    library_version: u64,
    objects: Vec<serde::de::IgnoredAny>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct PouchPage {
    results: Vec<serde::de::IgnoredAny>,
    last_seq: Value,
}

/// Pulls everything from the start; returns how many documents arrived and where the feed
/// ended (the version, or pouch's last_seq).
async fn pull(http: &reqwest::Client, t: &Target) -> (usize, Value) {
    let mut n = 0;
    match t {
        Target::Ours {
            base,
            token,
            library,
            epoch,
        } => {
            let mut cursor = String::new();
            loop {
                let bytes = http
                    .get(format!(
                        "{base}/api/v1/libraries/{library}/changes?since=0&limit={PAGE}&cursor={cursor}"
                    ))
                    .bearer_auth(token)
                    .header("x-refsync-epoch", epoch.to_string())
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let page: OurPage = serde_json::from_slice(&bytes).unwrap();
                n += page.objects.len();
                match page.next {
                    Some(next) => cursor = next,
                    None => return (n, json!(page.library_version)),
                }
            }
        }
        Target::Pouch { db } => {
            let mut since = json!(0);
            loop {
                let bytes = http
                    .get(format!(
                        "{db}/_changes?include_docs=true&since={since}&limit={PAGE}"
                    ))
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let page: PouchPage = serde_json::from_slice(&bytes).unwrap();
                let got = page.results.len();
                n += got;
                since = page.last_seq;
                if got < PAGE {
                    return (n, since);
                }
            }
        }
    }
}

/// Core's engine over HTTP: a new device's first sync of the whole library, a sync bringing
/// 100 edits made elsewhere, and a sync with nothing new (ms each); then the same first sync
/// and idle sync into the `refsync` CLI's SQLite library file (the desktop side as it runs).
async fn engine_scenarios(target: &Target, docs: &[Value]) -> [f64; 5] {
    use refsync_client::remote::HttpRemote;
    use refsync_core::sync::{sync, MemoryStore};
    let Target::Ours {
        base,
        token,
        library,
        ..
    } = target
    else {
        unreachable!()
    };
    let device = |name: &str| HttpRemote::new(base, token, library, name, name).unwrap();
    let mut n = 0u64;
    let mut key = || {
        n += 1;
        format!("engine-{n}-{}", std::process::id())
    };
    let (one, other) = (MemoryStore::default(), MemoryStore::default());
    let (one_remote, other_remote) = (device("one"), device("other"));
    let t0 = Instant::now();
    let first = sync(&one, &one_remote, &mut key).await.unwrap();
    let first_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(first.received as usize, docs.len());
    sync(&other, &other_remote, &mut key).await.unwrap();
    for o in other.live().into_values().take(100) {
        let refsync_core::protocol::Object::Reference(mut r) = o else {
            continue;
        };
        r.set(refsync_core::Field::Notes, "edited elsewhere".to_string());
        other.edit(refsync_core::protocol::Object::Reference(r));
    }
    sync(&other, &other_remote, &mut key).await.unwrap();
    let t0 = Instant::now();
    let got = sync(&one, &one_remote, &mut key).await.unwrap();
    let hundred_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(got.received, 100);
    let t0 = Instant::now();
    sync(&one, &one_remote, &mut key).await.unwrap();
    let nothing_ms = t0.elapsed().as_secs_f64() * 1000.0;

    let dir = tempfile::tempdir().unwrap();
    let desk = refsync_client::store::LibraryFile::create(&dir.path().join("desk.refsync"), "desk")
        .await
        .unwrap();
    let desk_remote = device("desk");
    let t0 = Instant::now();
    let got = sync(&desk, &desk_remote, &mut key).await.unwrap();
    let desk_first_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(got.received as usize, docs.len());
    let t0 = Instant::now();
    sync(&desk, &desk_remote, &mut key).await.unwrap();
    let desk_nothing_ms = t0.elapsed().as_secs_f64() * 1000.0;
    desk.close().await;
    [
        first_ms,
        hundred_ms,
        nothing_ms,
        desk_first_ms,
        desk_nothing_ms,
    ]
}

/// Members of the shared library in the sharing scenarios, and its references.
const MEMBERS: usize = 50;
const SHARED: usize = 10_000;

async fn json_of(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// Issue 27's figures, on a server of their own: an owner shares a library of [`SHARED`]
/// references with [`MEMBERS`] members (each invited and accepting). A member's first sync of
/// it (core's engine, in-memory store); one edit's hint reaching every member's open change-hint
/// stream (time to the last); and "anything new?" polls per second on the shared library as a
/// member (the role read on every request) beside the owner's polls of their personal library.
async fn sharing_scenarios(http: &reqwest::Client, base: &str, docs: &[Value]) -> [f64; 4] {
    use refsync_client::remote::HttpRemote;
    use refsync_core::sync::{sync, MemoryStore};
    let Target::Ours {
        token: owner,
        library: personal,
        epoch: personal_epoch,
        ..
    } = sign_up(http, base).await
    else {
        unreachable!()
    };
    let lib = json_of(
        http.post(format!("{base}/api/v1/libraries"))
            .bearer_auth(&owner)
            .json(&json!({"name": "Bench lab"}))
            .send()
            .await
            .unwrap(),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shared = Target::Ours {
        base: base.to_string(),
        token: owner.clone(),
        library: lib.clone(),
        epoch: 1,
    };
    push(
        http,
        &shared,
        push_bodies(&shared, &docs[..SHARED.min(docs.len())]),
    )
    .await;
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let email = format!("member{i}@example.org");
        json_of(
            http.post(format!("{base}/api/v1/libraries/{lib}/invitations"))
                .bearer_auth(&owner)
                .json(
                    &json!({"email": email, "role": if i % 2 == 0 { "editor" } else { "viewer" }}),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        let session = json_of(
            http.post(format!("{base}/api/v1/account"))
                .json(&json!({"email": email, "password": "a benchmark password"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let token = session["token"].as_str().unwrap().to_string();
        let invitations = json_of(
            http.get(format!("{base}/api/v1/invitations"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let id = invitations["invitations"][0]["id"].as_str().unwrap();
        json_of(
            http.post(format!("{base}/api/v1/invitations/{id}/accept"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        members.push(token);
    }

    let mut n = 0u64;
    let mut key = || {
        n += 1;
        format!("share-{n}-{}", std::process::id())
    };
    let store = MemoryStore::default();
    let remote = HttpRemote::new(base, &members[0], &lib, "member", "member").unwrap();
    let t0 = Instant::now();
    let got = sync(&store, &remote, &mut key).await.unwrap();
    let first_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(got.received as usize, SHARED.min(docs.len()));

    // Every member's stream open and past its first event (the current version).
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(MEMBERS);
    let (got_tx, mut got_rx) = tokio::sync::mpsc::channel::<Instant>(MEMBERS);
    let mut streams = Vec::new();
    for token in &members {
        let resp = http
            .get(format!("{base}/api/v1/libraries/{lib}/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let (ready, got) = (ready_tx.clone(), got_tx.clone());
        streams.push(tokio::spawn(async move {
            let mut resp = resp;
            let mut text = String::new();
            let mut events = 0;
            while let Ok(Some(chunk)) = resp.chunk().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(at) = text.find("\n\n") {
                    let event: String = text.drain(..at + 2).collect();
                    if !event.contains("data:") {
                        continue;
                    }
                    events += 1;
                    if events == 1 {
                        let _ = ready.send(()).await;
                    } else {
                        let _ = got.send(Instant::now()).await;
                        return;
                    }
                }
            }
        }));
    }
    for _ in 0..MEMBERS {
        ready_rx.recv().await.unwrap();
    }
    let first = docs[0]["key"].as_str().unwrap();
    let versions = json_of(
        http.get(format!("{base}/api/v1/libraries/{lib}/versions"))
            .bearer_auth(&owner)
            .header("x-refsync-epoch", "1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let base_version = versions["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == first)
        .map(|o| o["version"].as_u64().unwrap())
        .unwrap();
    let mut edited = docs[0].clone();
    edited["fields"]["notes"] = json!("edited by the owner");
    let t0 = Instant::now();
    json_of(
        http.post(format!("{base}/api/v1/libraries/{lib}/batch"))
            .bearer_auth(&owner)
            .header("x-refsync-epoch", "1")
            .json(&json!({"idempotency_key": "hint", "writes": [
                {"kind": "reference", "key": first, "base_version": base_version, "data": edited}
            ]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut last = t0;
    for _ in 0..MEMBERS {
        last = last.max(got_rx.recv().await.unwrap());
    }
    let hint_ms = (last - t0).as_secs_f64() * 1000.0;
    for s in streams {
        s.abort();
    }

    let version = versions["library_version"].as_u64().unwrap() + 1;
    let as_member = Target::Ours {
        base: base.to_string(),
        token: members[1].clone(),
        library: lib,
        epoch: 1,
    };
    let member_polls = polls_per_second(http, &as_member, &json!(version)).await;
    let as_owner = Target::Ours {
        base: base.to_string(),
        token: owner,
        library: personal,
        epoch: personal_epoch,
    };
    let owner_polls = polls_per_second(http, &as_owner, &json!(0)).await;
    [
        first_ms,
        hint_ms,
        1000.0 / member_polls,
        1000.0 / owner_polls,
    ]
}

/// "Anything new?" requests answered per second, with [`POLLERS`] clients at once.
async fn polls_per_second(http: &reqwest::Client, t: &Target, at: &Value) -> f64 {
    let url = match t {
        Target::Ours { base, library, .. } => {
            format!("{base}/api/v1/libraries/{library}/changes?since={at}")
        }
        Target::Pouch { db } => format!("{db}/_changes?since={at}"),
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..POLLERS {
        let http = http.clone();
        let url = url.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < POLL_FOR {
                let mut req = http.get(&url);
                if let Target::Ours { token, epoch, .. } = &t {
                    req = req
                        .bearer_auth(token)
                        .header("x-refsync-epoch", epoch.to_string());
                }
                let resp = req.send().await.unwrap();
                assert!(resp.status().is_success());
                resp.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

async fn fresh_postgres(admin: &str, round: usize) -> Option<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{admin}/postgres"))
        .await
        .ok()?;
    let name = format!("refsync_bench_{}_{round}", std::process::id());
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP DATABASE IF EXISTS {name}").as_str(),
    )
    .await
    .ok()?;
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .ok()?;
    CREATED.lock().unwrap().push(name.clone());
    Some(format!("{admin}/{name}"))
}

/// The databases [`fresh_postgres`] made, dropped at the end (a run of 250,000 leaves ~300 MB).
static CREATED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn drop_made(admin: &str) {
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(&format!("{admin}/postgres")).await else {
        return;
    };
    let made: Vec<String> = CREATED.lock().unwrap().drain(..).collect();
    for name in made {
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = sqlx::Executor::execute(&mut conn, drop.as_str()).await {
            eprintln!("could not drop the bench database {name}: {e}");
        }
    }
}

struct Series {
    place: &'static str,
    scenario: String,
    count: usize,
    ms: Vec<f64>,
}

fn stats(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let count: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(50_000);
    let bin = PathBuf::from(std::env::var("REFSYNC_SERVER_BIN").expect("REFSYNC_SERVER_BIN"));
    let pouch = PathBuf::from(std::env::var("POUCHDB_SERVER").expect("POUCHDB_SERVER"));
    let postgres = std::env::var("REFSYNC_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());

    let set: Vec<(&str, Vec<u8>)> = refsync_core::sample::BIBTEX_41K
        .iter()
        .map(|p| (*p, std::fs::read(corpus.join(p)).expect("corpus file")))
        .collect();
    let borrowed: Vec<(&str, &[u8])> = set.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let fifty = queries::fifty_thousand(&borrowed);
    let mut refs = fifty.clone();
    refs.truncate(count);
    let docs: Vec<Value> = refs
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let n = docs.len();
    let k = format!("{}k", n / 1000);

    let http = reqwest::Client::builder()
        .gzip(true)
        .pool_max_idle_per_host(POLLERS)
        .build()
        .unwrap();
    let places: [&'static str; 3] = ["server (SQLite)", "server (PostgreSQL)", "pouchdb-server"];
    let scenarios = [
        format!("push {k} in batches of 5,000"),
        format!("pull {k} from version 0"),
        "no-op poll (4 clients)".to_string(),
    ];
    let mut series: Vec<Series> = Vec::new();
    for place in places {
        for (i, s) in scenarios.iter().enumerate() {
            series.push(Series {
                place,
                scenario: s.clone(),
                count: if i == 2 { 1 } else { n },
                ms: Vec::new(),
            });
        }
    }
    // The native sync engine (core) with an in-memory store, against the SQLite server.
    let mut engine: [Vec<f64>; 5] = Default::default();
    // Issue 27: a shared library with 50 members, on a SQLite server of its own.
    let mut sharing: [Vec<f64>; 4] = Default::default();
    let mut postgres_ok = true;
    for round in 0..runs {
        for (p, place) in places.iter().enumerate() {
            // BENCH_ONLY=postgres (or sqlite, pouch) narrows a run while investigating.
            if let Ok(only) = std::env::var("BENCH_ONLY") {
                if !place.to_lowercase().contains(&only.to_lowercase()) {
                    continue;
                }
            }
            let dir = tempfile::tempdir().unwrap();
            let (proc_, target) = match p {
                0 => {
                    let (proc_, base) = start_ours(&bin, dir.path(), None, ANY);
                    let t = sign_up(&http, &base).await;
                    (proc_, t)
                }
                1 => {
                    let Some(url) = fresh_postgres(&postgres, round).await else {
                        if postgres_ok {
                            eprintln!("no PostgreSQL at {postgres}: its figures are left out");
                        }
                        postgres_ok = false;
                        continue;
                    };
                    let (proc_, base) = start_ours(&bin, dir.path(), Some(&url), ANY);
                    let t = sign_up(&http, &base).await;
                    (proc_, t)
                }
                _ => {
                    let (proc_, base) = start_pouch(&pouch, dir.path());
                    let db = format!("{base}/bench");
                    http.put(&db).send().await.unwrap();
                    (proc_, Target::Pouch { db })
                }
            };
            let bodies = push_bodies(&target, &docs);
            let t0 = Instant::now();
            push(&http, &target, bodies).await;
            let push_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let t0 = Instant::now();
            let (got, at) = pull(&http, &target).await;
            let pull_ms = t0.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(got, n, "{place}: pulled {got} of {n}");
            let per_s = polls_per_second(&http, &target, &at).await;
            let base = p * 3;
            series[base].ms.push(push_ms);
            series[base + 1].ms.push(pull_ms);
            series[base + 2].ms.push(1000.0 / per_s);
            if p == 0 {
                for (series, ms) in engine
                    .iter_mut()
                    .zip(engine_scenarios(&target, &docs).await)
                {
                    series.push(ms);
                }
            }
            eprintln!(
                "round {round} {place}: push {push_ms:.0} ms, pull {pull_ms:.0} ms, {per_s:.0} polls/s"
            );
            drop(proc_);
            if p == 0 {
                let dir = tempfile::tempdir().unwrap();
                let (proc_, base) = start_ours(&bin, dir.path(), None, ANY);
                for (series, ms) in sharing
                    .iter_mut()
                    .zip(sharing_scenarios(&http, &base, &docs).await)
                {
                    series.push(ms);
                }
                drop(proc_);
            }
        }
    }
    for s in &series {
        if s.ms.is_empty() {
            continue;
        }
        let (median, min, max) = stats(&s.ms);
        println!(
            "BENCH {}\t{}\t{}\t{median:.2}\t{min:.2}\t{max:.2}",
            s.place, s.scenario, s.count
        );
    }
    for (i, scenario) in [
        format!("engine: first sync of {k} into a new device"),
        "engine: sync 100 edits made on another device".to_string(),
        "engine: sync with nothing new".to_string(),
    ]
    .iter()
    .enumerate()
    {
        if engine[i].is_empty() {
            continue;
        }
        let (median, min, max) = stats(&engine[i]);
        let count = [n, 100, 0][i];
        println!("BENCH engine (native) + server (SQLite)\t{scenario}\t{count}\t{median:.2}\t{min:.2}\t{max:.2}");
    }
    for (i, scenario) in [
        format!("first sync of {k} into a new desktop library"),
        "sync with nothing new".to_string(),
    ]
    .iter()
    .enumerate()
    {
        if engine[3 + i].is_empty() {
            continue;
        }
        let (median, min, max) = stats(&engine[3 + i]);
        let count = [n, 0][i];
        println!("BENCH refsync CLI (SQLite file) + server (SQLite)\t{scenario}\t{count}\t{median:.2}\t{min:.2}\t{max:.2}");
    }
    let shared_k = format!("{}k", SHARED.min(n) / 1000);
    for (i, (scenario, count)) in [
        (
            format!("a member's first sync of a shared library of {shared_k} ({MEMBERS} members)"),
            SHARED.min(n),
        ),
        (
            format!("one edit's hint reaching all {MEMBERS} members' streams (to the last)"),
            MEMBERS,
        ),
        (
            "no-op poll of a shared library as a member (4 clients; role read per request)"
                .to_string(),
            1,
        ),
        (
            "no-op poll of one's own library (4 clients; same run, for the role's cost)"
                .to_string(),
            1,
        ),
    ]
    .iter()
    .enumerate()
    {
        if sharing[i].is_empty() {
            continue;
        }
        let (median, min, max) = stats(&sharing[i]);
        println!(
            "BENCH sharing + server (SQLite)\t{scenario}\t{count}\t{median:.2}\t{min:.2}\t{max:.2}"
        );
    }
    // Peer time ÷ our time, round by round (so a slow moment hits both sides of a pair).
    for p in 0..2 {
        for i in 0..3 {
            let ours = &series[p * 3 + i];
            let peer = &series[6 + i];
            if ours.ms.is_empty() || ours.ms.len() != peer.ms.len() {
                continue;
            }
            let ratios: Vec<f64> = ours
                .ms
                .iter()
                .zip(&peer.ms)
                .map(|(o, q)| q / o.max(1e-9))
                .collect();
            let (median, min, max) = stats(&ratios);
            println!(
                "RATIO {}\t{}\t{median:.2}\t{min:.2}\t{max:.2}",
                ours.place, ours.scenario
            );
        }
    }

    // Issue 29's scale: the fleet, then push and pull of 250,000 (BENCH_ONLY=fleet or =large
    // runs one alone; REFSYNC_FLEET_SECS, REFSYNC_FLEET_RUNS and REFSYNC_LARGE, a count or 0,
    // size them).
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_default()
        .to_lowercase();
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if only.is_empty() || only == "fleet" {
        let secs = env("REFSYNC_FLEET_SECS", 60) as u64;
        fleet_scenarios(
            &bin,
            &postgres,
            &docs,
            env("REFSYNC_FLEET_RUNS", runs.min(3)),
            secs,
        )
        .await;
    }
    let large = env("REFSYNC_LARGE", 250_000);
    if (only.is_empty() || only == "large") && large > 0 {
        drop(docs);
        let docs: Vec<Value> = refsync_core::sample::library(&fifty, large)
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        large_push_pull(
            &http,
            &bin,
            &pouch,
            &postgres,
            &docs,
            env("REFSYNC_LARGE_RUNS", 1),
        )
        .await;
    }
    drop_made(&postgres).await;
}

/// Figures of one place, run by run, printed as `BENCH` lines in the order first reported.
#[derive(Default)]
struct Rows(Vec<(String, String, usize, Vec<f64>)>);

impl Rows {
    fn add(&mut self, place: &str, scenario: &str, count: usize, value: f64) {
        match self
            .0
            .iter_mut()
            .find(|(p, s, _, _)| p == place && s == scenario)
        {
            Some(row) => {
                row.2 = row.2.max(count);
                row.3.push(value);
            }
            None => self
                .0
                .push((place.into(), scenario.into(), count, vec![value])),
        }
    }

    fn print(&self) {
        for (place, scenario, count, values) in &self.0 {
            let (median, min, max) = stats(values);
            println!("BENCH {place}\t{scenario}\t{count}\t{median:.2}\t{min:.2}\t{max:.2}");
        }
    }
}

/// Issue 29: the fleet (`fleet.rs`) on one instance on SQLite, on PostgreSQL, and on two
/// instances sharing one PostgreSQL, each restarted once; `runs` runs of `secs` seconds.
async fn fleet_scenarios(bin: &Path, postgres: &str, docs: &[Value], runs: usize, secs: u64) {
    use fleet::{percentile, ACCOUNTS, DEVICES, SYNC_EVERY};
    use std::sync::{Arc, Mutex};
    let streams = ACCOUNTS * DEVICES;
    let load = format!(
        "{streams} streams open, {ACCOUNTS} devices syncing every {} ms, {secs} s",
        SYNC_EVERY.as_millis()
    );
    let mut rows = Rows::default();
    for round in 0..runs {
        for setup in ["SQLite", "PostgreSQL", "2 instances on one PostgreSQL"] {
            let two = setup.starts_with('2');
            let url = if setup == "SQLite" {
                None
            } else {
                match fresh_postgres(postgres, 100 * (1 + usize::from(two)) + round).await {
                    Some(url) => Some(url),
                    None => {
                        eprintln!("no PostgreSQL at {postgres}: the fleet on it is left out");
                        continue;
                    }
                }
            };
            let dirs: Vec<tempfile::TempDir> = (0..1 + usize::from(two))
                .map(|_| tempfile::tempdir().unwrap())
                .collect();
            let addrs: Vec<String> = dirs
                .iter()
                .map(|_| format!("127.0.0.1:{}", free_port()))
                .collect();
            let procs: Arc<Mutex<Vec<Proc>>> = Arc::new(Mutex::new(Vec::new()));
            let mut instances = Vec::new();
            for (dir, addr) in dirs.iter().zip(&addrs) {
                let (proc_, base) = start_ours(bin, dir.path(), url.as_deref(), addr);
                instances.push(fleet::Instance {
                    base,
                    pid: proc_.0.id(),
                });
                procs.lock().unwrap().push(proc_);
            }
            let restart = {
                let (procs, bin) = (procs.clone(), bin.to_path_buf());
                let paths: Vec<PathBuf> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
                let (url, addrs) = (url.clone(), addrs.clone());
                Arc::new(move |which: usize| {
                    let mut procs = procs.lock().unwrap();
                    // Killed, not asked to stop: the harder case.
                    let _ = procs[which].0.kill();
                    let _ = procs[which].0.wait();
                    let (proc_, _) = start_ours(&bin, &paths[which], url.as_deref(), &addrs[which]);
                    procs[which] = proc_;
                })
            };
            let out = fleet::run(&instances, docs, secs, restart).await;
            drop(procs);
            let place = format!("service fleet ({setup})");
            let writes = out.hint_ms.len();
            eprintln!(
                "round {round} fleet on {setup}: {:.0} writes/s, {} errors, {} refused while restarting, {} lost, {} doubled, {} reconnects",
                out.writes_per_s, out.errors, out.down_errors, out.lost, out.doubled, out.reconnects
            );
            for (what, xs) in [
                ("batch write of a small edit", &out.batch_ms),
                ("changes since the device's last sync", &out.changes_ms),
                (
                    "a write's hint reaching the last of the account's 10 streams",
                    &out.hint_ms,
                ),
            ] {
                for p in [50.0, 99.0] {
                    rows.add(
                        &place,
                        &format!("{what}, p{p:.0} ({load})"),
                        xs.len(),
                        percentile(xs, p),
                    );
                }
            }
            if two {
                for p in [50.0, 99.0] {
                    rows.add(
                        &place,
                        &format!("a write's hint reaching the last stream on the other instance, p{p:.0} ({load})"),
                        out.across_ms.len(),
                        percentile(&out.across_ms, p),
                    );
                }
                rows.add(
                    &place,
                    "writes some device never heard of, each instance killed and restarted once (count, not ms)",
                    writes,
                    out.lost as f64,
                );
                rows.add(
                    &place,
                    "hints repeated on one stream, each instance killed and restarted once (count, not ms)",
                    writes,
                    out.doubled as f64,
                );
            }
            rows.add(
                &place,
                "memory per open change-hint stream, resident (KB, not ms)",
                streams,
                out.kb_per_stream,
            );
            rows.add(
                &place,
                &format!(
                    "failed requests{} (count, not ms)",
                    if two {
                        ", but those to an instance while it restarted"
                    } else {
                        ""
                    }
                ),
                out.batch_ms.len() + out.changes_ms.len(),
                out.errors as f64,
            );
        }
    }
    rows.print();
}

/// Issue 29: push and pull of `docs` (250,000) on SQLite, PostgreSQL and pouchdb-server, once
/// each per run, with the peer ratio run by run.
async fn large_push_pull(
    http: &reqwest::Client,
    bin: &Path,
    pouch: &Path,
    postgres: &str,
    docs: &[Value],
    runs: usize,
) {
    let k = format!("{}k", docs.len() / 1000);
    let places = ["server (SQLite)", "server (PostgreSQL)", "pouchdb-server"];
    let mut times: Vec<[Vec<f64>; 2]> = vec![Default::default(); 3];
    for round in 0..runs {
        for (p, place) in places.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let (proc_, target) = match p {
                0 => {
                    let (proc_, base) = start_ours(bin, dir.path(), None, ANY);
                    (proc_, sign_up(http, &base).await)
                }
                1 => {
                    let Some(url) = fresh_postgres(postgres, 300 + round).await else {
                        continue;
                    };
                    let (proc_, base) = start_ours(bin, dir.path(), Some(&url), ANY);
                    (proc_, sign_up(http, &base).await)
                }
                _ => {
                    let (proc_, base) = start_pouch(pouch, dir.path());
                    let db = format!("{base}/bench");
                    http.put(&db).send().await.unwrap();
                    (proc_, Target::Pouch { db })
                }
            };
            let bodies = push_bodies(&target, docs);
            let t0 = Instant::now();
            push(http, &target, bodies).await;
            let push_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let t0 = Instant::now();
            let (got, _) = pull(http, &target).await;
            let pull_ms = t0.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(got, docs.len(), "{place}: pulled {got}");
            eprintln!("round {round} {place}, {k}: push {push_ms:.0} ms, pull {pull_ms:.0} ms");
            times[p][0].push(push_ms);
            times[p][1].push(pull_ms);
            drop(proc_);
        }
    }
    let scenarios = [
        format!("push {k} in batches of 5,000"),
        format!("pull {k} from version 0"),
    ];
    for (p, place) in places.iter().enumerate() {
        for (i, scenario) in scenarios.iter().enumerate() {
            let ms = &times[p][i];
            if ms.is_empty() {
                continue;
            }
            let (median, min, max) = stats(ms);
            println!(
                "BENCH {place}\t{scenario}\t{}\t{median:.2}\t{min:.2}\t{max:.2}",
                docs.len()
            );
            let peer = &times[2][i];
            if p < 2 && peer.len() == ms.len() {
                let ratios: Vec<f64> = ms.iter().zip(peer).map(|(o, q)| q / o.max(1e-9)).collect();
                let (median, min, max) = stats(&ratios);
                println!("RATIO {place}\t{scenario}\t{median:.2}\t{min:.2}\t{max:.2}");
            }
        }
    }
}
