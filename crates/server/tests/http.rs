//! The server over real HTTP: a real SQLite file in a temp data dir, a real TCP port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use refsync_server::{Config, Server};
use std::net::SocketAddr;
use std::path::Path;
use tokio::sync::oneshot;

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(data_dir: &Path, dist: &Path) -> Running {
        let config = Config::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir.to_path_buf(),
            dist.to_path_buf(),
        );
        let server = Server::start(&config).await.expect("server starts");
        let addr = server.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        Running {
            base: format!("http://{addr}"),
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task)
            .await
            .expect("server task")
            .expect("server ends cleanly");
    }
}

fn dist_with_app(dir: &Path) {
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>refsync app</title>",
    )
    .unwrap();
    std::fs::write(dir.join("app-1234.js"), "console.log('app');").unwrap();
}

#[tokio::test]
async fn healthz_reports_ok_with_a_fresh_database_file() {
    let data = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("nested").join("data");
    let server = Running::start(&data_dir, dist.path()).await;

    assert!(
        data_dir.join("refsync.db").is_file(),
        "the SQLite database is created on first start"
    );
    let resp = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    server.stop().await;
}

#[tokio::test]
async fn serves_the_app_with_a_fallback_for_page_paths_only() {
    let data = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    dist_with_app(dist.path());
    let server = Running::start(data.path(), dist.path()).await;

    for page in ["/", "/library/groups/123"] {
        let resp = reqwest::get(format!("{}{page}", server.base))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{page}");
        assert_eq!(resp.headers()["cache-control"], "no-cache", "{page}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(resp.text().await.unwrap().contains("refsync app"), "{page}");
    }

    let js = reqwest::get(format!("{}/app-1234.js", server.base))
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));

    let missing = reqwest::get(format!("{}/missing-asset.wasm", server.base))
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "a missing asset is not answered with HTML"
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_api_paths_answer_json_not_html() {
    let data = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    dist_with_app(dist.path());
    let server = Running::start(data.path(), dist.path()).await;

    let resp = reqwest::get(format!("{}/api/v1/nothing-here", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert!(body["message"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn without_a_built_app_pages_say_how_to_build_it() {
    let data = tempfile::tempdir().unwrap();
    let empty_dist = tempfile::tempdir().unwrap();
    let server = Running::start(data.path(), empty_dist.path()).await;

    let resp = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.text().await.unwrap().contains("cargo xtask serve"));
    server.stop().await;
}

#[tokio::test]
async fn the_database_survives_a_graceful_restart() {
    let data = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();

    let first = refsync_server::db::Db::open(data.path(), None)
        .await
        .unwrap();
    let created = first.created_at().await.unwrap();
    first.close().await;

    let server = Running::start(data.path(), dist.path()).await;
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;

    let again = refsync_server::db::Db::open(data.path(), None)
        .await
        .unwrap();
    assert_eq!(
        again.created_at().await.unwrap(),
        created,
        "reopening keeps the same database instead of making a new one"
    );
    again.close().await;
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_start_error() {
    let data = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = Config::new(
        taken.local_addr().unwrap(),
        data.path().to_path_buf(),
        data.path().join("dist"),
    );
    let err = Server::start(&config).await.err().expect("bind must fail");
    assert!(
        err.to_string().starts_with("cannot listen on 127.0.0.1:"),
        "{err}"
    );
}

/// The citation styles: the index lists every `.csl` file of the folder by title, with the
/// licence; a style's XML comes by its id; no sign-in is needed (they are nobody's data); an id
/// that is no style, or tries to name a path, is a JSON 404; a server without styles says 404.
#[tokio::test]
async fn citation_styles_are_served_by_id_to_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let styles = dir.path().join("styles");
    std::fs::create_dir(&styles).unwrap();
    let style = |title: &str, format: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">
  <info><title>{title}</title><id>x</id>
    <category citation-format="{format}"/><category field="geology"/></info>
  <citation><layout><text variable="title"/></layout></citation>
</style>"#
        )
    };
    let glaciology = style("Journal of Glaciology", "author-date");
    std::fs::write(styles.join("journal-of-glaciology.csl"), &glaciology).unwrap();
    std::fs::write(
        styles.join("arctic.csl"),
        style("Arctic &amp; Alpine", "numeric"),
    )
    .unwrap();
    std::fs::write(styles.join("README.md"), "not a style").unwrap();
    std::fs::write(styles.join("broken.csl"), "<style><info></info></style>").unwrap();

    let mut config = Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path().join("data"),
        dir.path().join("dist"),
    );
    config.styles = Some(styles.clone());
    let server = Server::start(&config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    let base = format!("http://{addr}/api/v1/styles");

    // The first requests, at once, all start the index's one reading: each gets it whole.
    let first: Vec<_> = (0..8)
        .map(|_| tokio::spawn(reqwest::get(base.clone())))
        .collect();
    let mut bodies = std::collections::BTreeSet::new();
    for answer in first {
        let answer = answer.await.unwrap().unwrap();
        assert_eq!(answer.status(), 200);
        bodies.insert(answer.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "one index for every early request");

    let index = reqwest::get(&base).await.unwrap();
    assert_eq!(index.status(), 200);
    let index: serde_json::Value = index.json().await.unwrap();
    assert!(
        index["attribution"].as_str().unwrap().contains("CC")
            || index["attribution"]
                .as_str()
                .unwrap()
                .contains("Creative Commons")
    );
    let listed: Vec<(&str, &str, &str)> = index["styles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                s["title"].as_str().unwrap(),
                s["format"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("arctic", "Arctic & Alpine", "numeric"),
            (
                "journal-of-glaciology",
                "Journal of Glaciology",
                "author-date"
            )
        ]
    );

    let xml = reqwest::get(format!("{base}/journal-of-glaciology"))
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    assert_eq!(
        xml.headers()["content-type"],
        "application/vnd.citationstyles.style+xml"
    );
    assert_eq!(xml.text().await.unwrap(), glaciology);

    for missing in [
        "nature",
        "broken",
        "README.md",
        "..%2F..%2Fetc%2Fpasswd",
        "Journal-Of-Glaciology",
    ] {
        let answer = reqwest::get(format!("{base}/{missing}")).await.unwrap();
        assert_eq!(answer.status(), 404, "{missing}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{missing}");
    }
    let _ = tx.send(());
    let _ = task.await;

    // A service without styles: the app keeps its built-in ones.
    let bare = Running::start(&dir.path().join("bare"), &dir.path().join("dist")).await;
    let answer = reqwest::get(format!("{}/api/v1/styles", bare.base))
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    bare.stop().await;
}
