//! The `refsync-server` binary itself: killed with SIGKILL in the middle of a batch (on SQLite
//! and on PostgreSQL), and its admin subcommands.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[macro_use]
#[path = "api/support.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_refsync-server");

struct Process {
    child: Child,
    base: String,
}

fn server_command(store: &Store) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(store.dir.path().join("data"))
        .arg("--dist")
        .arg(store.dir.path().join("dist"))
        .env_remove("REFSYNC_DATABASE_URL")
        .env("RUST_LOG", "warn");
    if let Some(url) = store.database_url() {
        cmd.arg("--database-url").arg(url);
    }
    cmd
}

fn start(store: &Store) -> Process {
    let mut child = server_command(store)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Process { child, base }
}

impl Process {
    fn kill(mut self) {
        // SIGKILL: no graceful shutdown, no destructors.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn big_batch(from: u64, n: u64) -> Vec<refsync_core::protocol::Write> {
    let abstract_text = "A long abstract that makes every reference a realistic size. ".repeat(20);
    (from..from + n)
        .map(|i| {
            let mut data = reference(key(i), &format!("Reference {i}"));
            data["fields"]["abstract"] = json!(abstract_text);
            upsert(key(i), 0, data)
        })
        .collect()
}

async fn count_of(c: &Client, from: u64, n: u64) -> usize {
    let (_, objects, _) = c.pull(0, 10_000).await;
    let keys: std::collections::HashSet<_> = (from..from + n).map(key).collect();
    objects.iter().filter(|o| keys.contains(&o.key)).count()
}

both!(a_sigkill_in_the_middle_of_a_batch_leaves_all_of_it_or_none);

async fn a_sigkill_in_the_middle_of_a_batch_leaves_all_of_it_or_none(b: Backend) {
    let store = Store::new(b).await;
    let n = 3_000;
    let server = start(&store);
    let mut c = register(&server.base, "ada@example.org").await;
    // How long a whole batch takes here, to aim the kills inside it.
    let t0 = Instant::now();
    c.batch(big_batch(0, n)).await;
    let whole = t0.elapsed();
    assert_eq!(count_of(&c, 0, n).await, n as usize);

    let mut server = server;
    for (round, fraction) in [0.2, 0.5, 0.8].into_iter().enumerate() {
        let from = (round as u64 + 1) * 10_000;
        let before = c.me().await["library"]["version"].as_u64().unwrap();
        let sender = c.clone();
        let writes = big_batch(from, n);
        let flight = tokio::spawn(async move {
            sender
                .http
                .post(sender.lib_url("batch"))
                .bearer_auth(&sender.token)
                .header("x-refsync-epoch", sender.epoch.to_string())
                .json(&json!({"idempotency_key": format!("round-{round}"), "writes": writes}))
                .send()
                .await
        });
        tokio::time::sleep(whole.mul_f64(fraction)).await;
        server.kill();
        let _ = flight.await; // an error (cut off) or an answer, if it finished first
        server = start(&store);
        c.base = server.base.clone();
        let found = count_of(&c, from, n).await;
        let after = c.me().await["library"]["version"].as_u64().unwrap();
        eprintln!(
            "round {round}: killed after {:?}: {found} of {n} kept",
            whole.mul_f64(fraction)
        );
        assert!(
            found == 0 || found == n as usize,
            "round {round}: {found} of {n} writes survived the kill"
        );
        assert_eq!(
            after,
            before + u64::from(found > 0),
            "the version matches what was kept"
        );
        // The client retries with the same idempotency key: applied exactly once in the end.
        let retry = c
            .batch_raw(&format!("round-{round}"), big_batch(from, n))
            .await;
        assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
        assert_eq!(count_of(&c, from, n).await, n as usize);
    }
    server.kill();
}

fn admin(store: &Store, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = server_command(store)
        .arg("account")
        .args(args)
        .env_remove("REFSYNC_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_subcommands_make_list_and_change_accounts() {
    let store = Store::new(Backend::Sqlite).await;
    let (ok, out, err) = admin(
        &store,
        &["create", "Grace@Example.org"],
        "a long enough password\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("created account grace@example.org"), "{out}");
    let (ok, _, err) = admin(
        &store,
        &["create", "grace@example.org"],
        "another long password\n",
    );
    assert!(!ok);
    assert!(err.contains("exists already"), "{err}");
    let (ok, _, err) = admin(&store, &["create", "hopper@example.org"], "short\n");
    assert!(!ok);
    assert!(err.contains("at least"), "{err}");
    let (ok, _, err) = admin(&store, &["set-quota", "nobody@example.org", "5"], "");
    assert!(!ok);
    assert!(err.contains("no account for nobody@example.org"), "{err}");
    let (ok, out, err) = admin(&store, &["set-quota", "grace@example.org", "123456"], "");
    assert!(ok, "{err}");
    assert!(out.contains("123456"), "{out}");

    let server = start(&store);
    let http = reqwest::Client::new();
    let session = post_anon(
        &server.base,
        "/api/v1/session",
        json!({"email": "grace@example.org", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let token = session.body["token"].as_str().unwrap();
    let me = send(
        &http,
        Method::GET,
        &format!("{}/api/v1/me", server.base),
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(me.body["library"]["storage_limit"], 123456);
    server.kill();

    let (ok, _, err) = admin(
        &store,
        &["reset-password", "grace@example.org"],
        "a brand new password\n",
    );
    assert!(ok, "{err}");
    let (ok, out, _) = admin(&store, &["list"], "");
    assert!(ok);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with("grace@example.org"), "{out}");
    assert!(lines[1].trim_end().ends_with("123456"), "{out}");
    let server = start(&store);
    let old = post_anon(
        &server.base,
        "/api/v1/session",
        json!({"email": "grace@example.org", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(old.code(), "auth", "the old password no longer works");
    let gone = send(
        &http,
        Method::GET,
        &format!("{}/api/v1/me", server.base),
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(
        gone.code(),
        "auth",
        "a password reset signs out every session"
    );
    server.kill();
}
