//! The sync service's API over real HTTP, each test on a real SQLite file and on a real
//! PostgreSQL database (see `api/support.rs` for which PostgreSQL).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[macro_use]
#[path = "api/support.rs"]
mod support;
#[path = "api/bodies.rs"]
mod bodies;
#[path = "api/concurrency.rs"]
mod concurrency;
#[path = "api/sharing.rs"]
mod sharing;
#[path = "api/tokens.rs"]
mod tokens;

use refsync_core::protocol::{BatchResult, WriteResult, EPOCH_HEADER};
use refsync_core::ObjectKind;
use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

both!(
    accounts_sign_in_and_out,
    changing_the_password_signs_out_other_sessions,
    an_expired_token_is_refused,
    repeated_failed_sign_ins_are_refused_for_a_while,
    the_second_writer_of_an_object_gets_a_conflict_with_the_first_ones_data,
    a_retried_batch_is_applied_once,
    deletes_leave_tombstones_that_later_pulls_deliver,
    a_large_library_pulls_in_a_few_compressed_pages,
    one_account_cannot_reach_another_accounts_library,
    bad_input_gets_a_clear_4xx_never_a_500,
    the_reference_limit_refuses_a_batch_whole,
    reset_with_wipe_keeps_shared_groups_and_tells_other_devices_to_relink,
    files_are_stored_once_by_hash_and_served_with_etag_and_range,
    an_upload_over_quota_is_refused_and_nothing_is_stored,
    the_sync_log_keeps_the_latest_syncs_per_device,
    change_hints_arrive_on_the_event_stream,
    a_file_no_attachment_names_stops_counting_at_once_and_goes_after_the_grace,
    a_concurrent_upload_of_a_freed_file_is_never_lost_to_the_collector,
);

/// The version a batch's one write was given (it must have been taken).
fn written(result: &BatchResult) -> u64 {
    match result.results.as_slice() {
        [WriteResult::Ok { version, .. }] => *version,
        other => panic!("not taken: {other:?}"),
    }
}

/// Issue 24, item 2: the room a file takes is given back as soon as no attachment of the
/// library (Trash included) names it, and its bytes go once the grace period has passed; a
/// write naming it again before then counts it again and keeps it.
async fn a_file_no_attachment_names_stops_counting_at_once_and_goes_after_the_grace(b: Backend) {
    use refsync_server::collect::collect_files;
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let bytes = vec![7u8; 40_000];
    let sha = sha256_hex(&bytes);
    upload(&c, &sha, bytes.clone()).await;
    let paper = key(1);
    c.batch(vec![
        upsert(paper, 0, reference(paper, "Paper")),
        attachment(key(2), paper, &sha, 40_000),
    ])
    .await;
    let used = async || c.me().await["library"]["storage_used"].as_u64().unwrap();
    assert_eq!(used().await, 40_000);
    // The reference in the Trash keeps its attachment, and so the file.
    let mut trashed = reference(paper, "Paper");
    trashed["trashed"] = json!(true);
    c.batch(vec![upsert(paper, 1, trashed)]).await;
    assert_eq!(used().await, 40_000, "the Trash still names it");

    // Deleted for good: the room comes back at once, the bytes stay for the grace period.
    c.batch(vec![delete(ObjectKind::Attachment, key(2), 1)])
        .await;
    assert_eq!(used().await, 0, "given back at once");
    let now = refsync_server::auth::now_millis();
    assert_eq!(
        collect_files(&server.state, now).await.unwrap(),
        0,
        "within the grace"
    );
    let url = c.lib_url(&format!("files/{sha}"));
    let got = c.http.get(&url).bearer_auth(&c.token).send().await.unwrap();
    assert_eq!(
        got.status(),
        StatusCode::OK,
        "still there for a backup in progress"
    );

    // Named again before the grace ends (an undo, another device): counted again, kept.
    let v = written(&c.batch(vec![attachment(key(3), paper, &sha, 40_000)]).await);
    assert_eq!(used().await, 40_000);
    let day = 24 * 3600 * 1000;
    assert_eq!(
        collect_files(&server.state, now + 2 * day).await.unwrap(),
        0,
        "named: kept"
    );

    // Unnamed again, and past the grace: the row and the bytes go.
    c.batch(vec![delete(ObjectKind::Attachment, key(3), v)])
        .await;
    assert_eq!(used().await, 0);
    assert_eq!(
        collect_files(&server.state, now + 2 * day).await.unwrap(),
        1
    );
    let gone = c.http.get(&url).bearer_auth(&c.token).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    // The same bytes can be uploaded and counted again afterwards.
    assert_eq!(upload(&c, &sha, bytes).await.status(), StatusCode::CREATED);
    assert_eq!(used().await, 40_000);
    server.stop().await;
}

/// Issue 24, item 2: an upload of the very bytes the collector is removing either comes first
/// (the file counts again and stays) or after (its bytes are stored anew); the file is never
/// left recorded without its bytes.
async fn a_concurrent_upload_of_a_freed_file_is_never_lost_to_the_collector(b: Backend) {
    use refsync_server::collect::collect_files;
    let store = Store::new(b).await;
    let limits = Limits {
        file_grace_ms: 0,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let sha = sha256_hex(&bytes);
    let paper = key(1);
    c.batch(vec![upsert(paper, 0, reference(paper, "Paper"))])
        .await;
    let url = c.lib_url(&format!("files/{sha}"));
    for round in 0..20u64 {
        assert!(upload(&c, &sha, bytes.clone()).await.status().is_success());
        let a = key(100 + 2 * round);
        let v = written(&c.batch(vec![attachment(a, paper, &sha, 200_000)]).await);
        written(&c.batch(vec![delete(ObjectKind::Attachment, a, v)]).await);
        // Freed: a device uploads the same bytes again while the collector runs.
        let (uploaded, _) = tokio::join!(
            upload(&c, &sha, bytes.clone()),
            collect_files(&server.state, refsync_server::auth::now_millis() + 1),
        );
        assert!(uploaded.status().is_success(), "round {round}");
        let again = key(101 + 2 * round);
        let v = written(&c.batch(vec![attachment(again, paper, &sha, 200_000)]).await);
        let got = c.http.get(&url).bearer_auth(&c.token).send().await.unwrap();
        assert_eq!(
            got.status(),
            StatusCode::OK,
            "round {round}: the bytes are there"
        );
        assert_eq!(got.bytes().await.unwrap().len(), 200_000);
        assert_eq!(
            c.me().await["library"]["storage_used"],
            200_000,
            "round {round}"
        );
        written(
            &c.batch(vec![delete(ObjectKind::Attachment, again, v)])
                .await,
        );
    }
    server.stop().await;
}

async fn accounts_sign_in_and_out(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "  Ada@Example.org ").await;
    let me = c.me().await;
    assert_eq!(
        me["account"]["email"], "ada@example.org",
        "email normalised"
    );
    assert_eq!(me["library"]["version"], 0);
    assert_eq!(me["library"]["epoch"], 1);
    assert_eq!(me["library"]["storage_limit"], 2_000_000_000u64);
    assert_eq!(me["library"]["storage_used"], 0);

    let http = reqwest::Client::new();
    let again = post_anon(
        &server.base,
        "/api/v1/account",
        json!({"email": "ada@example.org", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "conflict")
    );
    let short = post_anon(
        &server.base,
        "/api/v1/account",
        json!({"email": "bob@example.org", "password": "short"}),
    )
    .await;
    assert_eq!(
        (short.status, short.code()),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    assert!(short.body["message"].as_str().unwrap().contains("at least"));

    let wrong = post_anon(
        &server.base,
        "/api/v1/session",
        json!({"email": "ada@example.org", "password": "not the password"}),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "auth")
    );

    let second = sign_in(&server.base, "ADA@example.org").await;
    assert_eq!(second.library, c.library, "one library per account");
    let out = c
        .call(
            Method::DELETE,
            &format!("{}/api/v1/session", server.base),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = c
        .call(Method::GET, &format!("{}/api/v1/me", server.base), None)
        .await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "auth")
    );
    second.me().await; // the other session still works
    let none = send(
        &http,
        Method::GET,
        &format!("{}/api/v1/me", server.base),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::UNAUTHORIZED, "auth")
    );
    server.stop().await;
}

async fn changing_the_password_signs_out_other_sessions(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let a = register(&server.base, "ada@example.org").await;
    let other = sign_in(&server.base, "ada@example.org").await;
    let url = format!("{}/api/v1/account/password", server.base);
    let wrong = a
        .call(
            Method::POST,
            &url,
            Some(json!({"current_password": "nope nope nope", "new_password": "a new long password"})),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "auth")
    );
    let ok = a
        .call(
            Method::POST,
            &url,
            Some(json!({"current_password": PASSWORD, "new_password": "a new long password"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    a.me().await;
    let gone = other
        .call(Method::GET, &format!("{}/api/v1/me", server.base), None)
        .await;
    assert_eq!(gone.code(), "auth", "the other session was signed out");
    let old = send(
        &reqwest::Client::new(),
        Method::POST,
        &format!("{}/api/v1/session", server.base),
        None,
        None,
        Some(json!({"email": "ada@example.org", "password": PASSWORD})),
    )
    .await;
    assert_eq!(old.code(), "auth", "the old password no longer signs in");
    server.stop().await;
}

async fn an_expired_token_is_refused(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        token_ttl_ms: 300,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let a = c.call(Method::GET, &c.lib_url("changes"), None).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "auth"));
    assert!(a.body["message"]
        .as_str()
        .unwrap()
        .contains("Sign in again"));
    server.stop().await;
}

async fn repeated_failed_sign_ins_are_refused_for_a_while(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    register(&server.base, "ada@example.org").await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/session", server.base);
    let attempt = |password: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            send(
                &http,
                Method::POST,
                &url,
                None,
                None,
                Some(json!({"email": "ada@example.org", "password": password})),
            )
            .await
        }
    };
    let mut codes = Vec::new();
    for _ in 0..9 {
        codes.push(attempt("wrong password!").await.code().to_string());
    }
    assert_eq!(codes[..8], ["auth"; 8]);
    assert_eq!(codes[8], "rate_limited");
    let locked = attempt(PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60, "Retry-After {retry}");
    server.stop().await;
}

async fn the_second_writer_of_an_object_gets_a_conflict_with_the_first_ones_data(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let a = register(&server.base, "ada@example.org").await;
    let b2 = sign_in(&server.base, "ada@example.org").await;
    let k = key(1);
    let first = a.batch(vec![upsert(k, 0, reference(k, "From A"))]).await;
    assert_eq!(first.library_version, 1);
    assert_eq!(first.results, vec![WriteResult::Ok { key: k, version: 1 }]);

    let second = b2.batch(vec![upsert(k, 0, reference(k, "From B"))]).await;
    let WriteResult::Conflict { current, .. } = &second.results[0] else {
        panic!("expected a conflict: {second:?}")
    };
    assert_eq!(current.version, 1);
    assert_eq!(
        json_of(current.data.as_ref().unwrap())["fields"]["title"],
        "From A"
    );
    assert_eq!(second.library_version, 1, "nothing changed");

    let same = b2.batch(vec![upsert(k, 0, reference(k, "From A"))]).await;
    assert_eq!(
        same.results,
        vec![WriteResult::Unchanged { key: k, version: 1 }],
        "an identical change is not a conflict"
    );
    let merged = b2.batch(vec![upsert(k, 1, reference(k, "Merged"))]).await;
    assert_eq!(merged.results, vec![WriteResult::Ok { key: k, version: 2 }]);
    let (v, objects, _) = a.pull(1, 100).await;
    assert_eq!(v, 2);
    assert_eq!(objects.len(), 1);
    assert_eq!(
        json_of(objects[0].data.as_ref().unwrap())["fields"]["title"],
        "Merged"
    );
    server.stop().await;
}

async fn a_retried_batch_is_applied_once(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let writes = vec![upsert(key(1), 0, reference(key(1), "One"))];
    let first = c.batch_raw("retry-me", writes.clone()).await;
    let again = c.batch_raw("retry-me", writes).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "the retry gets the first answer");
    assert_eq!(c.me().await["library"]["version"], 1, "applied once");
    let other = c
        .batch_raw(
            "retry-me",
            vec![upsert(key(2), 0, reference(key(2), "Two"))],
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    assert_eq!(c.me().await["library"]["version"], 1);
    server.stop().await;
}

async fn deletes_leave_tombstones_that_later_pulls_deliver(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let writes = (1..=3)
        .map(|n| upsert(key(n), 0, reference(key(n), "x")))
        .collect();
    c.batch(writes).await;
    let gone = c
        .batch(vec![delete(ObjectKind::Reference, key(2), 1)])
        .await;
    assert_eq!(
        gone.results,
        vec![WriteResult::Ok {
            key: key(2),
            version: 2
        }]
    );
    let (v, since_1, _) = c.pull(1, 100).await;
    assert_eq!(v, 2);
    assert_eq!(since_1.len(), 1);
    assert_eq!(since_1[0].key, key(2));
    assert!(since_1[0].is_deleted(), "a tombstone");
    let (_, all, _) = c.pull(0, 100).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|o| o.is_deleted()).count(), 1);
    let again = c
        .batch(vec![delete(ObjectKind::Reference, key(2), 1)])
        .await;
    assert!(
        matches!(again.results[0], WriteResult::Unchanged { .. }),
        "deleting twice changes nothing"
    );
    let edit_deleted = c
        .batch(vec![upsert(key(2), 1, reference(key(2), "edited"))])
        .await;
    let WriteResult::Conflict { current, .. } = &edit_deleted.results[0] else {
        panic!("an edit of a deleted object is a conflict: {edit_deleted:?}")
    };
    assert!(current.is_deleted());
    let versions = c.call(Method::GET, &c.lib_url("versions"), None).await;
    assert_eq!(versions.body["objects"].as_array().unwrap().len(), 3);
    server.stop().await;
}

async fn a_large_library_pulls_in_a_few_compressed_pages(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let n = 2_500u64;
    let writes: Vec<_> = (1..=n)
        .map(|i| upsert(key(i), 0, reference(key(i), &format!("Title {i}"))))
        .collect();
    c.batch(writes).await;
    c.batch(vec![upsert(key(7), 1, reference(key(7), "Edited"))])
        .await;
    let (v, objects, pages) = c.pull(0, 1000).await;
    assert_eq!(v, 2);
    assert_eq!(pages, 3);
    assert_eq!(objects.len() as u64, n, "every object once");
    assert_eq!(objects.last().unwrap().key, key(7), "in version order");
    let mut keys: Vec<_> = objects.iter().map(|o| o.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len() as u64, n);

    // A client that leaves the body as it came, to see the encoding.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let resp = raw
        .get(format!("{}?since=0", c.lib_url("changes")))
        .bearer_auth(&c.token)
        .header("x-refsync-epoch", c.epoch.to_string())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    server.stop().await;
}

async fn one_account_cannot_reach_another_accounts_library(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let a = register(&server.base, "ada@example.org").await;
    let bob = register(&server.base, "bob@example.org").await;
    a.batch(vec![upsert(key(1), 0, reference(key(1), "Ada's"))])
        .await;
    let bytes = b"Ada's file".to_vec();
    let sha = sha256_hex(&bytes);
    let put = upload(&a, &sha, bytes.clone()).await;
    assert_eq!(put.status(), StatusCode::CREATED);

    // Bob, with his own token and epoch, aims at Ada's library.
    let as_bob = Client {
        token: bob.token.clone(),
        ..a.clone()
    };
    for (method, path, body) in [
        (Method::GET, "changes?since=0", None),
        (Method::GET, "versions", None),
        (
            Method::POST,
            "batch",
            Some(json!({"idempotency_key": "x", "writes": []})),
        ),
        (Method::POST, "reset", Some(json!({"wipe": true}))),
        (Method::POST, "link", Some(json!({"device_id": "d"}))),
        (Method::GET, "sync-log", None),
        (Method::GET, &format!("files/{sha}"), None),
    ] {
        let answer = as_bob
            .call(method.clone(), &as_bob.lib_url(path), body)
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }
    let put = upload(&as_bob, &sha, bytes).await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
    let (_, objects, _) = a.pull(0, 100).await;
    assert_eq!(objects.len(), 1, "Ada's library is untouched");
    assert_eq!(bob.me().await["library"]["version"], 0);
    server.stop().await;
}

async fn bad_input_gets_a_clear_4xx_never_a_500(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let raw = |path: String, body: &'static str| {
        let c = c.clone();
        async move {
            let resp = c
                .http
                .post(path)
                .bearer_auth(&c.token)
                .header("x-refsync-epoch", c.epoch.to_string())
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.expect("errors are JSON");
            (status, body)
        }
    };
    let (s, body) = raw(c.lib_url("batch"), "{not json").await;
    assert_eq!(
        (s, body["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    let (s, body) = raw(
        c.lib_url("batch"),
        r#"{"idempotency_key": 5, "writes": []}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("idempotency_key"),
        "{body}"
    );
    let (s, body) = raw(
        c.lib_url("batch"),
        r#"{"idempotency_key": "k", "writes": [{"kind": "reference", "key": "not-a-key", "base_version": 0}]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a valid key"),
        "{body}"
    );
    let (s, body) = raw(
        c.lib_url("batch"),
        r#"{"idempotency_key": "k", "writes": [{"kind": "reference", "key": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "base_version": 0, "data": {"key": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "type": 12}}]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Write 1 (reference"),
        "{body}"
    );

    let too_many: Vec<_> = (0..5_001)
        .map(|i| delete(ObjectKind::Reference, key(i), 0))
        .collect();
    let a = c.batch_raw("many", too_many).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    // Bodies over a route's limit are refused before they are read.
    let huge = "x".repeat(100 * 1024);
    let resp = c
        .http
        .post(format!("{}/api/v1/account", c.base))
        .header("content-type", "application/json")
        .body(format!(r#"{{"email": "{huge}", "password": "x"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_large");

    let page = c
        .call(
            Method::GET,
            &format!("{}?limit=0", c.lib_url("changes")),
            None,
        )
        .await;
    assert_eq!(
        (page.status, page.code()),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    let page = c
        .call(
            Method::GET,
            &format!("{}?since=-1", c.lib_url("changes")),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = c
        .call(
            Method::GET,
            &format!("{}?cursor=junk", c.lib_url("changes")),
            None,
        )
        .await;
    assert_eq!(page.code(), "invalid");
    let no_epoch = send(
        &c.http,
        Method::GET,
        &c.lib_url("changes"),
        Some(&c.token),
        None,
        None,
    )
    .await;
    assert_eq!(no_epoch.code(), "invalid");
    assert!(no_epoch.body["message"]
        .as_str()
        .unwrap()
        .contains("x-refsync-epoch"));
    let nowhere = c
        .call(Method::GET, &format!("{}/api/v1/nowhere", c.base), None)
        .await;
    assert_eq!(
        (nowhere.status, nowhere.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(c.me().await["library"]["version"], 0, "nothing was written");
    server.stop().await;
}

async fn the_reference_limit_refuses_a_batch_whole(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        reference_limit: Some(3),
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    c.batch(
        (1..=2)
            .map(|n| upsert(key(n), 0, reference(key(n), "x")))
            .collect(),
    )
    .await;
    let over = c
        .batch_raw(
            "over",
            (3..=4)
                .map(|n| upsert(key(n), 0, reference(key(n), "x")))
                .collect(),
        )
        .await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::FORBIDDEN, "reference_limit")
    );
    assert_eq!(
        c.me().await["library"]["references"],
        2,
        "none of the batch applied"
    );
    c.batch(vec![upsert(key(3), 0, reference(key(3), "x"))])
        .await;
    server.stop().await;
}

fn group(k: refsync_core::Key, name: &str, shared: bool) -> refsync_core::protocol::Write {
    refsync_core::protocol::Write {
        kind: ObjectKind::Group,
        key: k,
        base_version: 0,
        data: Some(
            refsync_core::protocol::Data::of(
                &json!({"key": k.as_str(), "name": name, "shared": shared}),
            )
            .unwrap(),
        ),
    }
}

async fn reset_with_wipe_keeps_shared_groups_and_tells_other_devices_to_relink(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let a = register(&server.base, "ada@example.org").await;
    let mut other = sign_in(&server.base, "ada@example.org").await;
    let mut trashed = reference(key(2), "In the trash");
    trashed["trashed"] = json!(true);
    a.batch(vec![
        upsert(key(1), 0, reference(key(1), "Kept nowhere")),
        upsert(key(2), 0, trashed),
        group(key(10), "Mine", false),
        group(key(11), "Shared with the lab", true),
    ])
    .await;
    let bytes = b"figure bytes".to_vec();
    upload(&a, &sha256_hex(&bytes), bytes).await;
    assert_eq!(a.me().await["library"]["storage_used"], 12);

    let reset = a
        .call(
            Method::POST,
            &a.lib_url("reset"),
            Some(json!({"wipe": true})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["epoch"], 2);
    assert_eq!(reset.body["deleted"], 3);

    let stale = other
        .batch_raw("late", vec![upsert(key(3), 0, reference(key(3), "stale"))])
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::CONFLICT, "relink_required")
    );
    let stale_pull = other
        .call(Method::GET, &other.lib_url("changes"), None)
        .await;
    assert_eq!(stale_pull.code(), "relink_required");

    other.link().await;
    assert_eq!(other.epoch, 2);
    let (_, objects, _) = other.pull(0, 100).await;
    let live: Vec<_> = objects.iter().filter(|o| !o.is_deleted()).collect();
    assert_eq!(live.len(), 1, "only the shared group is left: {objects:?}");
    assert_eq!(live[0].key, key(11));
    let me = other.me().await;
    assert_eq!(
        me["library"]["storage_used"], 0,
        "the online files went too"
    );
    assert_eq!(me["library"]["references"], 0);

    let plain = other
        .call(
            Method::POST,
            &other.lib_url("reset"),
            Some(json!({"wipe": false})),
        )
        .await;
    assert_eq!(plain.body["epoch"], 3);
    assert_eq!(
        plain.body["deleted"], 0,
        "a reset without wipe deletes nothing"
    );
    server.stop().await;
}

async fn files_are_stored_once_by_hash_and_served_with_etag_and_range(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let sha = sha256_hex(&bytes);
    let first = upload(&c, &sha, bytes.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = upload(&c, &sha, bytes.clone()).await;
    assert_eq!(second.status(), StatusCode::OK);
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["stored"], false, "held already: not stored twice");
    assert_eq!(c.me().await["library"]["storage_used"], 100_000);

    let wrong = upload(&c, &sha256_hex(b"something else"), bytes.clone()).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("SHA-256"),
        "{body}"
    );
    assert_eq!(
        c.me().await["library"]["storage_used"],
        100_000,
        "nothing stored"
    );
    let missing = c
        .call(
            Method::GET,
            &c.lib_url(&format!("files/{}", sha256_hex(b"something else"))),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let url = c.lib_url(&format!("files/{sha}"));
    let whole = c.http.get(&url).bearer_auth(&c.token).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{sha}\""));
    assert_eq!(whole.bytes().await.unwrap().to_vec(), bytes);
    let cached = c
        .http
        .get(&url)
        .bearer_auth(&c.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let part = c
        .http
        .get(&url)
        .bearer_auth(&c.token)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/100000");
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        bytes[1000..2000].to_vec()
    );
    let beyond = c
        .http
        .get(&url)
        .bearer_auth(&c.token)
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    server.stop().await;
}

async fn an_upload_over_quota_is_refused_and_nothing_is_stored(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        storage_limit: 1_000,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    let small = vec![1u8; 600];
    assert_eq!(
        upload(&c, &sha256_hex(&small), small).await.status(),
        StatusCode::CREATED
    );
    let big = vec![2u8; 600];
    let refused = upload(&c, &sha256_hex(&big), big.clone()).await;
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "storage_limit");
    assert!(
        body["message"].as_str().unwrap().contains("storage limit"),
        "{body}"
    );
    assert_eq!(c.me().await["library"]["storage_used"], 600);
    let get = c
        .call(
            Method::GET,
            &c.lib_url(&format!("files/{}", sha256_hex(&big))),
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::NOT_FOUND, "nothing stored");
    let files = store.dir.path().join("data").join("files").join(&c.library);
    assert_eq!(
        std::fs::read_dir(files).unwrap().count(),
        1,
        "one blob on disk"
    );
    server.stop().await;
}

async fn the_sync_log_keeps_the_latest_syncs_per_device(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    for i in 0..25u64 {
        let mut report = json!({
            "device_id": "laptop", "device_name": "Laptop", "started_at": 1_000 + i,
            "duration_ms": 40, "sent": i, "received": 2, "deleted": 0, "conflicts": 0
        });
        if i == 24 {
            report["error"] = json!({"code": "storage_limit", "message": "figure.png did not fit"});
        }
        let a = c
            .call(Method::POST, &c.lib_url("sync-log"), Some(report))
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    }
    c.call(
        Method::POST,
        &c.lib_url("sync-log"),
        Some(json!({"device_id": "phone", "started_at": 500, "duration_ms": 1})),
    )
    .await;
    let log = c.call(Method::GET, &c.lib_url("sync-log"), None).await;
    let entries = log.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 21, "20 for the laptop, 1 for the phone");
    assert_eq!(entries[0]["sent"], 24, "newest first");
    assert_eq!(entries[0]["error"]["code"], "storage_limit");
    assert_eq!(entries[19]["sent"], 5);
    assert_eq!(entries[20]["device_id"], "phone");
    server.stop().await;
}

async fn change_hints_arrive_on_the_event_stream(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    // EventSource cannot send headers: it opens the stream with a one-use ticket.
    let mut resp = open_stream(&c).await;
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    assert_eq!(
        next_hint(&mut resp, &mut buf).await,
        0,
        "the current version first"
    );
    let other = sign_in(&server.base, "ada@example.org").await;
    let r: BatchResult = other
        .batch(vec![upsert(key(1), 0, reference(key(1), "x"))])
        .await;
    assert_eq!(next_hint(&mut resp, &mut buf).await, r.library_version);
    server.stop().await;
}

/// Two instances over one PostgreSQL: a write through one reaches the other's stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_hints_cross_server_instances_on_postgres() {
    let store = Store::new(Backend::Postgres).await;
    let one = Running::start(&store, Limits::default()).await;
    let two = Running::start(&store, Limits::default()).await;
    let on_one = register(&one.base, "ada@example.org").await;
    let on_two = sign_in(&two.base, "ada@example.org").await;
    let mut resp = on_two
        .http
        .get(on_two.lib_url("events"))
        .bearer_auth(&on_two.token)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    assert_eq!(next_hint(&mut resp, &mut buf).await, 0);
    // The listener of instance two may still be connecting: write until a hint arrives.
    let mut version = 0;
    for n in 1..=5 {
        version = on_one
            .batch(vec![upsert(key(n), 0, reference(key(n), "x"))])
            .await
            .library_version;
        if let Ok(v) = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            next_hint(&mut resp, &mut buf),
        )
        .await
        {
            assert!(v <= version && v >= 1);
            drop(resp);
            one.stop().await;
            two.stop().await;
            return;
        }
    }
    panic!("no hint reached the second instance after {version} writes");
}

/// Attachment bytes in a real S3-compatible store (moto): stored once, served with Range,
/// and gone from the bucket after a wiping reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_on_an_s3_compatible_store() {
    let s3 = S3Server::start().await;
    // Only the S3 client reads these; moto accepts any credentials.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let store = Store::new(Backend::Sqlite).await;
    let mut config = store.config(Limits::default());
    config.s3_url = Some(format!("s3://{}/attachments", s3.bucket));
    config.s3_endpoint = Some(s3.endpoint.clone());
    let server = refsync_server::Server::start(&config)
        .await
        .expect("starts");
    let base = format!("http://{}", server.local_addr().unwrap());
    tokio::spawn(server.serve(std::future::pending()));

    let c = register(&base, "ada@example.org").await;
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let sha = sha256_hex(&bytes);
    assert_eq!(
        upload(&c, &sha, bytes.clone()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        upload(&c, &sha, bytes.clone()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        s3.keys().await,
        vec![format!("attachments/{}/{sha}", c.library)],
        "one object, under the library"
    );
    let url = c.lib_url(&format!("files/{sha}"));
    let whole = c.http.get(&url).bearer_auth(&c.token).send().await.unwrap();
    assert_eq!(whole.bytes().await.unwrap().to_vec(), bytes);
    let part = c
        .http
        .get(&url)
        .bearer_auth(&c.token)
        .header("range", "bytes=-100")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        bytes[299_900..].to_vec()
    );
    let bad = upload(&c, &sha256_hex(b"other"), bytes).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        s3.keys().await.len(),
        1,
        "a refused upload leaves nothing in the bucket"
    );

    let reset = c
        .call(
            Method::POST,
            &c.lib_url("reset"),
            Some(json!({"wipe": true})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert!(s3.keys().await.is_empty(), "the wipe removed the bytes");
}

/// Shutting down (SIGTERM, Ctrl-C) lets a batch in flight finish and answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_finishes_the_batch_in_flight() {
    let store = Store::new(Backend::Sqlite).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let writes: Vec<_> = (1..=3_000u64)
        .map(|i| {
            upsert(
                key(i),
                0,
                reference(key(i), &"A title of some length ".repeat(20)),
            )
        })
        .collect();
    // Over one connection, by hand, so the batch is surely in flight when the shutdown comes:
    // a first request proves the server is serving the connection, then the batch's head and
    // half its body go before the shutdown and the rest after it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let me = format!(
        "GET /api/v1/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
        c.token
    );
    tcp.write_all(me.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    tcp.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // The rest of that answer is read below, before the batch's.
    let body =
        serde_json::to_vec(&json!({"idempotency_key": "in-flight", "writes": writes})).unwrap();
    let path = c.lib_url("batch").replacen(&server.base, "", 1);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{EPOCH_HEADER}: {}\r\nConnection: close\r\n\r\n",
        c.token,
        body.len(),
        c.epoch
    );
    let half = body.len() / 2;
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body[..half]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    tcp.write_all(&body[half..]).await.unwrap();
    let mut answers = Vec::new();
    tcp.read_to_end(&mut answers).await.unwrap();
    let answers = String::from_utf8_lossy(&answers);
    let batch = answers
        .split("HTTP/1.1 ")
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(batch.starts_with("200"), "the batch answer: {answers}");
    stopping.await.unwrap();
    let again = Running::start(&store, Limits::default()).await;
    let mut c = c;
    c.base = again.base.clone();
    assert_eq!(c.me().await["library"]["references"], 3_000);
    again.stop().await;
}

/// `/metrics` speaks Prometheus' text format and counts what this instance did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_batches_objects_and_answers() {
    let store = Store::new(Backend::Sqlite).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    c.batch(
        (1..=3)
            .map(|n| upsert(key(n), 0, reference(key(n), "x")))
            .collect(),
    )
    .await;
    c.pull(0, 100).await;
    let wrong = c
        .call(
            Method::GET,
            &format!("{}/api/v1/nowhere", server.base),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let resp = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(value("refsync_batches_total "), 1);
    assert_eq!(value("refsync_objects_written_total "), 3);
    assert_eq!(value("refsync_objects_pulled_total "), 3);
    assert!(value("refsync_http_responses_total{class=\"2xx\"} ") >= 4);
    assert_eq!(value("refsync_http_responses_total{class=\"4xx\"} "), 1);
    assert!(text.contains("# TYPE refsync_batches_total counter"));
    server.stop().await;
}

/// A first push of many references on PostgreSQL keeps the planner's statistics of `objects`
/// fresh: planned as the empty table it was, each batch's lookup of its keys scanned the whole
/// library, and a push of 250,000 slowed batch by batch to 19 s (docs/server.md, "Databases").
/// What a person would see is the time; what is checked is that the service refreshed the
/// statistics itself, long before autovacuum's minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_push_on_postgres_refreshes_the_planners_statistics() {
    use sqlx::Connection;
    let store = Store::new(Backend::Postgres).await;
    let server = Running::start(&store, Limits::default()).await;
    let client = register(&server.base, "ada@example.org").await;
    let mut conn = sqlx::PgConnection::connect(store.database_url().unwrap())
        .await
        .unwrap();
    async fn analyzed(conn: &mut sqlx::PgConnection) -> i64 {
        sqlx::query_scalar(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'objects'",
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }
    assert_eq!(analyzed(&mut conn).await, 0);
    for batch in 0..5u64 {
        let writes = (0..5_000u64)
            .map(|i| {
                let k = key(batch * 5_000 + i + 1);
                upsert(k, 0, reference(k, "A reference"))
            })
            .collect();
        client.batch(writes).await;
    }
    // The refresh runs beside the batches, and the statistics' counters follow it.
    let start = std::time::Instant::now();
    while analyzed(&mut conn).await == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the statistics of objects were never refreshed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    server.stop().await;
}

/// The count of references `/me` and the list of libraries give is kept by the batches, not
/// counted at each request (issue 29): it follows adds, edits, deletes, deletes of what is
/// already gone, and a reference written again after its delete, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_count_follows_every_kind_of_write() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let store = Store::new(backend).await;
        let server = Running::start(&store, Limits::default()).await;
        let c = register(&server.base, "ada@example.org").await;
        async fn count(c: &Client) -> (Option<u64>, Option<u64>) {
            let listed = c
                .call(Method::GET, &format!("{}/api/v1/libraries", c.base), None)
                .await;
            let me = c.me().await["library"]["references"].as_u64();
            (me, listed.body["libraries"][0]["references"].as_u64())
        }
        let r = c
            .batch(
                (1..=5)
                    .map(|n| upsert(key(n), 0, reference(key(n), "x")))
                    .collect(),
            )
            .await;
        let v = r.library_version;
        assert_eq!(count(&c).await, (Some(5), Some(5)), "{backend:?}");
        // An edit, two deletes, and a group (not a reference).
        c.batch(vec![
            upsert(key(1), v, reference(key(1), "edited")),
            delete(ObjectKind::Reference, key(2), v),
            delete(ObjectKind::Reference, key(3), v),
            refsync_core::protocol::Write {
                kind: ObjectKind::Group,
                key: key(20),
                base_version: 0,
                data: Some(
                    refsync_core::protocol::Data::of(&json!({"key": key(20), "name": "A group"}))
                        .unwrap(),
                ),
            },
        ])
        .await;
        assert_eq!(count(&c).await, (Some(3), Some(3)), "{backend:?}");
        // Deleting what is gone changes nothing; writing it again brings it back.
        let r = c
            .batch(vec![delete(ObjectKind::Reference, key(2), v + 1)])
            .await;
        assert!(
            matches!(r.results[0], WriteResult::Unchanged { .. }),
            "{r:?}"
        );
        c.batch(vec![upsert(key(3), v + 1, reference(key(3), "back"))])
            .await;
        assert_eq!(count(&c).await, (Some(4), Some(4)), "{backend:?}");
        let (_, objects, _) = c.pull(0, 100).await;
        let live = objects
            .iter()
            .filter(|o| o.kind == ObjectKind::Reference && !o.is_deleted())
            .count();
        assert_eq!(live, 4, "{backend:?}");
        server.stop().await;
    }
}
