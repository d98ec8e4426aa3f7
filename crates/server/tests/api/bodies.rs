//! What the service takes at the door, on both databases: every body is a JSON object of the
//! documented shape (never positional, never an array, nothing after it), nested at most 32
//! deep, within its size; and every refusal, including those made before a handler runs, is
//! `{code, message}` JSON. What slipped past an older door is skipped by clients, not fatal
//! (see `engine.rs`).

use crate::support::*;
use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::Write as _;

both!(
    bodies_of_the_wrong_shape_are_refused_and_change_nothing,
    deep_nesting_is_refused_at_the_door,
    an_object_too_large_is_refused_whole,
    refusals_before_a_handler_are_json_too,
);

/// A body sent as raw bytes with the JSON content type; the answer, which must be JSON.
async fn post_raw(c: Option<&Client>, base: &str, path: &str, body: Vec<u8>) -> Answer {
    let http = reqwest::Client::new();
    let mut req = http
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(c) = c {
        req = req
            .bearer_auth(&c.token)
            .header("x-refsync-epoch", c.epoch.to_string());
    }
    answer(req.send().await.expect("request sent")).await
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{status}: the answer is not JSON: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert!(!status.is_server_error(), "{status}: {body}");
    Answer {
        status,
        headers,
        body,
    }
}

fn assert_refused(a: &Answer, what: &str) {
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid"),
        "{what}: {}",
        a.body
    );
    assert!(
        !a.body["message"].as_str().unwrap_or("").is_empty(),
        "{what}: says why"
    );
}

/// Defect: serde read a struct from an array of its fields, so `["a@b.org", "password"]`
/// made an account and `[true]` (or `[]`, or `{}`) wiped the online library.
async fn bodies_of_the_wrong_shape_are_refused_and_change_nothing(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let base = server.base.clone();
    let c = register(&base, "ada@example.org").await;
    c.batch(vec![upsert(key(1), 0, reference(key(1), "Kept"))])
        .await;

    let positional = json!(["eve@example.org", PASSWORD]).to_string();
    let a = post_raw(None, &base, "/api/v1/account", positional.into_bytes()).await;
    assert_refused(&a, "an account from an array");
    let no_account = post_anon(
        &base,
        "/api/v1/session",
        json!({"email": "eve@example.org", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        no_account.status,
        StatusCode::UNAUTHORIZED,
        "no account made"
    );

    let reset = "/api/v1/libraries/{id}/reset".replace("{id}", &c.library);
    for body in [
        "[true]",
        "[]",
        "{}",
        "[false]",
        "true",
        "null",
        r#"{"wipe": 1}"#,
        r#"{"wipe": "true"}"#,
        r#"{"wipe": true, "also": 1}"#,
        r#"{"wipe": true} {"wipe": true}"#,
        r#"{"wipe": true}]"#,
    ] {
        let a = post_raw(Some(&c), &base, &reset, body.as_bytes().to_vec()).await;
        assert_refused(&a, &format!("a reset of {body}"));
    }
    let me = c.me().await;
    assert_eq!(me["library"]["epoch"], 1, "never reset");
    assert_eq!(me["library"]["references"], 1, "nothing wiped");

    let lib = |p: &str| format!("/api/v1/libraries/{}/{p}", c.library);
    let wrong = [
        (
            "/api/v1/session".to_string(),
            json!(["ada@example.org", PASSWORD]),
        ),
        (
            "/api/v1/account/password".to_string(),
            json!([PASSWORD, "a brand new password"]),
        ),
        (lib("link"), json!(["device-9", "name"])),
        (lib("sync-log"), json!(["laptop", "Laptop", 1, 2])),
        (
            lib("sync-log"),
            json!({"device_id": "laptop", "started_at": 1, "duration_ms": 1,
                   "error": ["storage_limit", "full"]}),
        ),
        (
            lib("sync-log"),
            json!({"device_id": "laptop", "started_at": 1, "duration_ms": 1,
                   "error": {"code": "no_such_code", "message": "kept as unknown before"}}),
        ),
        (
            lib("sync-log"),
            json!({"device_id": "laptop", "started_at": 1, "duration_ms": 1u64 << 63}),
        ),
        (
            lib("batch"),
            json!({"idempotency_key": "positional", "writes": [
                ["reference", key(2).as_str(), 0, reference(key(2), "positional")]
            ]}),
        ),
        (
            lib("batch"),
            json!(["positional", [{"kind": "reference", "key": key(2).as_str(),
                    "base_version": 0, "data": reference(key(2), "positional")}]]),
        ),
    ];
    for (path, body) in wrong {
        let signed_in = if path.ends_with("/session") {
            None
        } else {
            Some(&c)
        };
        let a = post_raw(signed_in, &base, &path, body.to_string().into_bytes()).await;
        assert_refused(&a, &format!("{path} with {body}"));
    }
    let (_, objects, _) = c.pull(0, 100).await;
    assert_eq!(objects.len(), 1, "no batch applied");
    sign_in(&base, "ada@example.org").await; // the password is unchanged
    let log = c.call(Method::GET, &c.lib_url("sync-log"), None).await;
    assert_eq!(log.body["entries"], json!([]), "nothing logged");

    // The documented shapes still work.
    let wiped = post_raw(Some(&c), &base, &reset, br#"{"wipe": true}"#.to_vec()).await;
    assert_eq!(wiped.status, StatusCode::OK, "{}", wiped.body);
    assert_eq!(wiped.body["deleted"], 1);
    server.stop().await;
}

/// `depth` arrays, one inside the other.
fn nested(depth: usize) -> Value {
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn nested_text(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Defect: an unknown field nested 100,000 deep was stored and served, and every client that
/// pulled its page failed to read it: the whole library stopped syncing.
async fn deep_nesting_is_refused_at_the_door(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let base = server.base.clone();
    let c = register(&base, "ada@example.org").await;
    let batch_path = format!("/api/v1/libraries/{}/batch", c.library);
    let batch_with = |extra: &str, n: u64| {
        format!(
            r#"{{"idempotency_key": "deep-{n}", "writes": [{{"kind": "reference", "key": "{k}",
                "base_version": 0, "data": {{"key": "{k}", "type": "journal_article",
                "fields": {{"title": "Deep"}}, "from_a_newer_version": {extra}}}}}]}}"#,
            k = key(n).as_str()
        )
    };
    for (n, depth) in [(1u64, 100_000usize), (2, 40)] {
        let a = post_raw(
            Some(&c),
            &base,
            &batch_path,
            batch_with(&nested_text(depth), n).into_bytes(),
        )
        .await;
        assert_refused(&a, &format!("an object {depth} deep"));
        assert!(
            a.body["message"]
                .as_str()
                .unwrap()
                .contains("deeper than 32"),
            "{}",
            a.body
        );
    }
    // Every route reads its body the same way (30,000 deep fits their 64 KiB).
    let deep = nested_text(30_000).into_bytes();
    for path in [
        "/api/v1/account".to_string(),
        "/api/v1/session".to_string(),
        "/api/v1/account/password".to_string(),
        format!("/api/v1/libraries/{}/link", c.library),
        format!("/api/v1/libraries/{}/reset", c.library),
        format!("/api/v1/libraries/{}/sync-log", c.library),
    ] {
        let signed_in = if path.ends_with("/session") || path.ends_with("/account") {
            None
        } else {
            Some(&c)
        };
        let a = post_raw(signed_in, &base, &path, deep.clone()).await;
        assert_refused(&a, &format!("{path}, 30,000 deep"));
    }
    let (version, objects, _) = c.pull(0, 100).await;
    assert_eq!((version, objects.len()), (0, 0), "nothing stored");

    // What newer versions add, nested as data is, still comes through whole.
    let a = post_raw(
        Some(&c),
        &base,
        &batch_path,
        batch_with(&nested(12).to_string(), 3).into_bytes(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (_, objects, _) = c.pull(0, 100).await;
    assert_eq!(
        json_of(objects[0].data.as_ref().unwrap())["from_a_newer_version"],
        nested(12)
    );
    server.stop().await;
}

async fn an_object_too_large_is_refused_whole(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let mut big = reference(key(1), "Big");
    big["from_a_newer_version"] = json!("x".repeat(2_100_000));
    let a = c
        .batch_raw(
            "too-large",
            vec![
                upsert(key(2), 0, reference(key(2), "Small")),
                upsert(key(1), 0, big),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        "{}",
        a.body
    );
    assert!(a.body["message"].as_str().unwrap().contains("at most"));
    let (_, objects, _) = c.pull(0, 100).await;
    assert!(objects.is_empty(), "the batch was refused whole");
    server.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Send `body` signed in as `c`, with `headers`; the answer, which must be JSON.
async fn send_as(
    c: &Client,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut req = c.http.request(method, url).bearer_auth(&c.token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    answer(req.body(body).send().await.expect("request sent")).await
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// Defect: a body in an encoding not accepted got a 415 with no body, advertising `gzip,br`.
async fn refusals_before_a_handler_are_json_too(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let link = c.lib_url("link");
    let link_body = json!({"device_id": "device-2"}).to_string().into_bytes();
    for encoding in ["br", "deflate", "compress"] {
        let a = send_as(
            &c,
            Method::POST,
            &link,
            &[JSON, ("content-encoding", encoding)],
            link_body.clone(),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid"),
            "{encoding}: {}",
            a.body
        );
        assert_eq!(
            a.headers["accept-encoding"], "gzip",
            "only what is accepted"
        );
        assert!(a.body["message"].as_str().unwrap().contains("gzip"));
    }
    let gzipped = send_as(
        &c,
        Method::POST,
        &link,
        &[JSON, ("content-encoding", "gzip")],
        gzip(&link_body),
    )
    .await;
    assert_eq!(
        gzipped.status,
        StatusCode::OK,
        "gzip is taken: {}",
        gzipped.body
    );

    // A small gzip that inflates past the limit is stopped as it inflates.
    let bomb = gzip(&vec![b' '; 80 * 1024 * 1024]);
    assert!(bomb.len() < 200_000);
    let epoch = c.epoch.to_string();
    let a = send_as(
        &c,
        Method::POST,
        &c.lib_url("batch"),
        &[
            JSON,
            ("content-encoding", "gzip"),
            ("x-refsync-epoch", &epoch),
        ],
        bomb,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        "{}",
        a.body
    );
    let over = send_as(&c, Method::POST, &link, &[JSON], vec![b' '; 100 * 1024]).await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    let me = format!("{}/api/v1/me", c.base);
    let wrong_method = send_as(&c, Method::PATCH, &me, &[], Vec::new()).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let nowhere = send_as(&c, Method::GET, &c.lib_url("nowhere"), &[], Vec::new()).await;
    assert_eq!(
        (nowhere.status, nowhere.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let plain = ("content-type", "text/plain");
    let not_json = send_as(&c, Method::POST, &link, &[plain], link_body).await;
    assert_eq!(
        (not_json.status, not_json.code()),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    server.stop().await;
}
