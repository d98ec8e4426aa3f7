//! The OpenAPI document: it lists exactly the API's routes, every one of them answers, and
//! schemathesis (PyPI) finds no 500s and no answer that breaks the document's schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[macro_use]
#[path = "api/support.rs"]
mod support;

use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;
use std::path::PathBuf;
use support::*;

const OPERATIONS: &[(&str, &str)] = &[
    ("post", "/api/v1/account"),
    ("delete", "/api/v1/account"),
    ("post", "/api/v1/account/password"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/libraries/{library_id}/link"),
    ("get", "/api/v1/libraries/{library_id}/changes"),
    ("get", "/api/v1/libraries/{library_id}/versions"),
    ("post", "/api/v1/libraries/{library_id}/batch"),
    ("post", "/api/v1/libraries/{library_id}/reset"),
    ("get", "/api/v1/libraries/{library_id}/sync-log"),
    ("post", "/api/v1/libraries/{library_id}/sync-log"),
    ("get", "/api/v1/libraries/{library_id}/events"),
    ("post", "/api/v1/libraries/{library_id}/events/ticket"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/events/ticket"),
    ("put", "/api/v1/libraries/{library_id}/files/{sha256}"),
    ("get", "/api/v1/libraries/{library_id}/files/{sha256}"),
    ("get", "/api/v1/libraries"),
    ("post", "/api/v1/libraries"),
    ("patch", "/api/v1/libraries/{library_id}"),
    ("delete", "/api/v1/libraries/{library_id}"),
    ("get", "/api/v1/libraries/{library_id}/members"),
    ("put", "/api/v1/libraries/{library_id}/members/{account_id}"),
    (
        "delete",
        "/api/v1/libraries/{library_id}/members/{account_id}",
    ),
    ("post", "/api/v1/libraries/{library_id}/transfer"),
    ("get", "/api/v1/libraries/{library_id}/invitations"),
    ("post", "/api/v1/libraries/{library_id}/invitations"),
    (
        "delete",
        "/api/v1/libraries/{library_id}/invitations/{invitation_id}",
    ),
    ("get", "/api/v1/libraries/{library_id}/activity"),
    ("get", "/api/v1/invitations"),
    ("post", "/api/v1/invitations/{invitation_id}/accept"),
    ("post", "/api/v1/invitations/{invitation_id}/decline"),
    ("get", "/api/v1/styles"),
    ("get", "/api/v1/styles/{id}"),
];

async fn document(base: &str) -> serde_json::Value {
    let resp = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_route_and_every_listed_route_answers() {
    let store = Store::new(Backend::Sqlite).await;
    let server = Running::start(&store, Limits::default()).await;
    let doc = document(&server.base).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut listed = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<_> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(listed, expected);
    // Every link (which answer feeds which request) names an operation the document has.
    let mut ids = BTreeSet::new();
    let mut targets = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            ids.insert(op["operationId"].as_str().unwrap().to_string());
            for response in op["responses"].as_object().unwrap().values() {
                if let Some(links) = response["links"].as_object() {
                    targets.extend(links.values().map(|l| l["operationId"].to_string()));
                }
            }
        }
    }
    assert!(targets.len() >= 6, "links: {targets:?}");
    for t in &targets {
        assert!(ids.contains(t.trim_matches('"')), "a link to {t}");
    }

    // Each listed operation reaches a handler: not the "no such path" fallback, not 405.
    let c = register(&server.base, "ada@example.org").await;
    let sha = "0".repeat(64);
    for (method, path) in OPERATIONS {
        if *path == "/api/v1/session" && *method == "delete" {
            continue; // would sign this client out
        }
        let url = format!(
            "{}{}",
            server.base,
            path.replace("{library_id}", &c.library)
                .replace("{sha256}", &sha)
                .replace("{account_id}", "someone")
                .replace("{invitation_id}", "something")
        );
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = c
            .http
            .request(method.clone(), &url)
            .bearer_auth(&c.token)
            .header("x-refsync-epoch", c.epoch.to_string())
            .header("content-type", "application/json")
            .body("{}")
            // A change-hint stream answers and then stays open: its wait is cut short. Any
            // other route must answer, however loaded the machine (the styles index, read on
            // its first request, took over 2 s on CI while schemathesis ran beside it).
            .timeout(std::time::Duration::from_secs(
                if path.ends_with("/events") { 2 } else { 60 },
            ))
            .send()
            .await;
        let Ok(resp) = resp else {
            assert!(path.ends_with("/events"), "{method} {path} did not answer");
            continue;
        };
        assert_ne!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if resp.status() == StatusCode::NOT_FOUND {
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_ne!(body["message"], "No such API path.", "{method} {path}");
        }
    }
    let unknown = c
        .call(
            Method::GET,
            &format!("{}/api/v1/nowhere", server.base),
            None,
        )
        .await;
    assert_eq!(unknown.body["message"], "No such API path.");
    server.stop().await;
}

/// schemathesis from `target/tools/python` (where `cargo xtask test` installs it), or PATH.
fn schemathesis() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join("target/tools/python/bin/schemathesis");
    if venv.is_file() {
        return venv;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("schemathesis"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "schemathesis is not installed: `cargo xtask test` installs it into \
                 target/tools/python (or: pip install schemathesis==4.32.5)"
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    let program = schemathesis();
    let store = Store::new(Backend::Sqlite).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let config = store.dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\"path.library_id\" = \"{}\"\n\"header.x-refsync-epoch\" = \"{}\"\n",
            c.library, c.epoch
        ),
    )
    .unwrap();
    let base = server.base.clone();
    let token = c.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(program)
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{base}/api/openapi.json"))
            .args(["--url", &base])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            // Every check but `positive_data_acceptance`: the document gives shapes, not every
            // rule a handler keeps (a key's form, a reference's fields), so valid-looking
            // requests are rightly refused. `negative_data_rejection` is the one that matters:
            // a request the document calls wrong must never be accepted.
            .args(["--checks", "all"])
            .args(["--exclude-checks", "positive_data_acceptance"])
            // The event stream never ends, and signing out would end the run's session.
            .args(["--exclude-path-regex", "/events$"])
            .args(["--exclude-operation-id", "sign_out"])
            .args(["--max-examples", "30", "--seed", "1", "--workers", "1"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .env("NO_COLOR", "1")
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    eprintln!("{stdout}");
    // A run that tested nothing would also succeed.
    assert!(stdout.contains("passed"), "{stdout}");
    server.stop().await;
}
