//! Requests at the same moment, on both databases: every route that reads and then writes
//! (quota, sign-in throttling, idempotency keys, conflicting writes, the reference limit,
//! link epochs and resets, registration, the sync log, stream tickets) gets dozens of the same
//! or conflicting requests at once, and each test checks the invariant the route keeps, not
//! only the status codes.

use crate::support::*;
use futures_util::future::join_all;
use refsync_core::protocol::{BatchResult, WriteResult};
use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

both!(
    uploads_of_one_new_file_at_once_are_all_kept,
    uploads_of_different_files_at_once_never_pass_the_quota,
    wrong_passwords_at_once_still_lock_sign_in,
    one_batch_sent_many_times_at_once_is_applied_once,
    one_key_for_different_batches_at_once_applies_one_of_them,
    writes_of_one_object_at_once_have_one_winner,
    new_references_at_once_never_pass_the_reference_limit,
    batches_racing_a_wipe_leave_nothing_from_before_it,
    resets_at_once_each_move_the_epoch,
    one_email_registered_at_once_makes_one_account,
    sync_reports_at_once_keep_the_latest_twenty,
    one_stream_ticket_used_at_once_opens_one_stream,
);

/// How many requests go at once.
const AT_ONCE: usize = 24;

fn tally(statuses: impl IntoIterator<Item = StatusCode>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for s in statuses {
        *counts.entry(s.as_u16()).or_default() += 1;
    }
    counts
}

/// Defect: the quota was checked before "already held", so a twin upload was refused for the
/// room its twin took, and the refusal deleted the bytes the twin had stored and recorded.
async fn uploads_of_one_new_file_at_once_are_all_kept(b: Backend) {
    let store = Store::new(b).await;
    let size = 2_000_000;
    let limits = Limits {
        storage_limit: size + size / 2,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    let sha = sha256_hex(&bytes);
    let answers = join_all((0..12).map(|_| upload(&c, &sha, bytes.clone()))).await;
    let mut stored = 0;
    for a in answers {
        let status = a.status();
        let body: serde_json::Value = a.json().await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "every upload of bytes held is accepted: {status} {body}"
        );
        if body["stored"] == true {
            stored += 1;
        }
    }
    assert_eq!(stored, 1, "stored once");
    assert_eq!(
        c.me().await["library"]["storage_used"],
        size,
        "counted once"
    );
    let got = c
        .http
        .get(c.lib_url(&format!("files/{sha}")))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(
        got.bytes().await.unwrap().to_vec(),
        bytes,
        "the bytes are there"
    );
    server.stop().await;
}

async fn uploads_of_different_files_at_once_never_pass_the_quota(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        storage_limit: 1_000,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    let files: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 600]).collect();
    let answers = join_all(files.iter().map(|f| {
        let c = c.clone();
        let f = f.clone();
        async move { upload(&c, &sha256_hex(&f), f).await }
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status()).collect();
    let counts = tally(statuses.iter().copied());
    assert_eq!(counts.get(&201), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&507), Some(&11), "{counts:?}");
    assert_eq!(c.me().await["library"]["storage_used"], 600);
    let kept = statuses
        .iter()
        .position(|s| *s == StatusCode::CREATED)
        .unwrap();
    for (i, f) in files.iter().enumerate() {
        let got = c
            .http
            .get(c.lib_url(&format!("files/{}", sha256_hex(f))))
            .bearer_auth(&c.token)
            .send()
            .await
            .unwrap();
        if i == kept {
            assert_eq!(got.status(), StatusCode::OK);
            assert_eq!(got.bytes().await.unwrap().to_vec(), *f);
        } else {
            assert_eq!(got.status(), StatusCode::NOT_FOUND, "file {i}");
        }
    }
    let dir = store.dir.path().join("data").join("files").join(&c.library);
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1, "one blob kept");
    server.stop().await;
}

/// Defect: the failure count was read, the password checked and count+1 written, so attempts
/// made together overwrote each other's count and never reached the lock.
async fn wrong_passwords_at_once_still_lock_sign_in(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    register(&server.base, "ada@example.org").await;
    let attempt = |password: &'static str| {
        post_anon(
            &server.base,
            "/api/v1/session",
            json!({"email": "ada@example.org", "password": password}),
        )
    };
    let answers = join_all((0..AT_ONCE).map(|_| attempt("wrong password!"))).await;
    let counts = tally(answers.iter().map(|a| a.status));
    // The lock comes after 8 failures, however they arrive.
    assert_eq!(counts.get(&401), Some(&8), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&(AT_ONCE - 8)), "{counts:?}");
    let right = attempt(PASSWORD).await;
    assert_eq!(
        (right.status, right.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "even the right password waits"
    );
    server.stop().await;
}

async fn one_batch_sent_many_times_at_once_is_applied_once(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let writes = vec![
        upsert(key(1), 0, reference(key(1), "Once")),
        upsert(key(2), 0, reference(key(2), "Only once")),
    ];
    let answers = join_all((0..AT_ONCE).map(|_| c.batch_raw("the-same-key", writes.clone()))).await;
    let first = &answers[0];
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body, first.body, "every retry gets the first answer");
    }
    let result: BatchResult = serde_json::from_value(first.body.clone()).unwrap();
    assert!(result
        .results
        .iter()
        .all(|r| matches!(r, WriteResult::Ok { .. })));
    let (version, objects, _) = c.pull(0, 100).await;
    assert_eq!(version, result.library_version, "applied once");
    assert_eq!(objects.len(), 2);
    server.stop().await;
}

async fn one_key_for_different_batches_at_once_applies_one_of_them(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let answers = join_all((0..AT_ONCE as u64).map(|i| {
        c.batch_raw(
            "reused-key",
            vec![upsert(
                key(100 + i),
                0,
                reference(key(100 + i), "one of many"),
            )],
        )
    }))
    .await;
    let counts = tally(answers.iter().map(|a| a.status));
    assert_eq!(counts.get(&200), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&400), Some(&(AT_ONCE - 1)), "{counts:?}");
    let (version, objects, _) = c.pull(0, 100).await;
    assert_eq!((version, objects.len()), (1, 1), "one batch applied");
    server.stop().await;
}

async fn writes_of_one_object_at_once_have_one_winner(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let answers = join_all((0..AT_ONCE).map(|i| {
        let title = format!("Version {i}");
        let c = c.clone();
        async move {
            c.batch(vec![upsert(key(1), 0, reference(key(1), &title))])
                .await
        }
    }))
    .await;
    let winners: Vec<usize> = (0..AT_ONCE)
        .filter(|i| matches!(answers[*i].results[0], WriteResult::Ok { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "one write wins: {answers:?}");
    let winning_title = format!("Version {}", winners[0]);
    for a in &answers {
        if let WriteResult::Conflict { current, .. } = &a.results[0] {
            let data = json_of(current.data.as_ref().unwrap());
            assert_eq!(
                data["fields"]["title"], winning_title,
                "each loser is shown the winner"
            );
        }
    }
    let (version, objects, _) = c.pull(0, 100).await;
    assert_eq!(version, 1);
    assert_eq!(
        json_of(objects[0].data.as_ref().unwrap())["fields"]["title"],
        winning_title
    );
    server.stop().await;
}

async fn new_references_at_once_never_pass_the_reference_limit(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        reference_limit: Some(10),
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let c = register(&server.base, "ada@example.org").await;
    let answers = join_all((0..AT_ONCE as u64).map(|i| {
        let c = c.clone();
        async move {
            c.batch_raw(
                &format!("batch-{i}"),
                vec![upsert(key(i), 0, reference(key(i), "one more"))],
            )
            .await
        }
    }))
    .await;
    let counts = tally(answers.iter().map(|a| a.status));
    assert_eq!(counts.get(&200), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&403), Some(&(AT_ONCE - 10)), "{counts:?}");
    assert_eq!(c.me().await["library"]["references"], 10);
    server.stop().await;
}

/// A batch either lands before the wipe (and goes with it) or is told to relink: nothing
/// written in the old link survives into the new one.
async fn batches_racing_a_wipe_leave_nothing_from_before_it(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let mut c = register(&server.base, "ada@example.org").await;
    let batches = (0..AT_ONCE as u64).map(|i| {
        let c = c.clone();
        async move {
            c.batch_raw(
                &format!("racing-{i}"),
                vec![upsert(key(i), 0, reference(key(i), "racing the wipe"))],
            )
            .await
        }
    });
    let reset = c.lib_url("reset");
    let wipe = c.call(Method::POST, &reset, Some(json!({"wipe": true})));
    let (answers, wiped) = tokio::join!(join_all(batches), wipe);
    assert_eq!(wiped.status, StatusCode::OK, "{}", wiped.body);
    for a in &answers {
        assert!(
            a.status == StatusCode::OK || a.code() == "relink_required",
            "{} {}",
            a.status,
            a.body
        );
    }
    c.link().await;
    assert_eq!(c.epoch, 2);
    let (_, objects, _) = c.pull(0, 100).await;
    assert!(
        objects.iter().all(|o| o.is_deleted()),
        "nothing from before the wipe is left: {objects:?}"
    );
    assert_eq!(c.me().await["library"]["references"], 0);
    server.stop().await;
}

async fn resets_at_once_each_move_the_epoch(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let reset = c.lib_url("reset");
    let answers =
        join_all((0..12).map(|_| c.call(Method::POST, &reset, Some(json!({"wipe": false}))))).await;
    let mut epochs: Vec<u64> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            a.body["epoch"].as_u64().unwrap()
        })
        .collect();
    epochs.sort_unstable();
    assert_eq!(
        epochs,
        (2..14).collect::<Vec<u64>>(),
        "each reset its own epoch"
    );
    assert_eq!(c.me().await["library"]["epoch"], 13);
    server.stop().await;
}

async fn one_email_registered_at_once_makes_one_account(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let answers = join_all((0..12).map(|_| {
        post_anon(
            &server.base,
            "/api/v1/account",
            json!({"email": "ada@example.org", "password": PASSWORD}),
        )
    }))
    .await;
    let counts = tally(answers.iter().map(|a| a.status));
    assert_eq!(counts.get(&201), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&409), Some(&11), "{counts:?}");
    let winner = answers
        .iter()
        .find(|a| a.status == StatusCode::CREATED)
        .unwrap();
    let signed_in = sign_in(&server.base, "ada@example.org").await;
    let as_winner = send(
        &signed_in.http,
        Method::GET,
        &format!("{}/api/v1/me", server.base),
        Some(winner.body["token"].as_str().unwrap()),
        None,
        None,
    )
    .await;
    assert_eq!(
        as_winner.body["library"]["id"].as_str().unwrap(),
        signed_in.library,
        "one account, one library"
    );
    server.stop().await;
}

async fn sync_reports_at_once_keep_the_latest_twenty(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let log = c.lib_url("sync-log");
    let answers = join_all((0..40u64).map(|i| {
        let report =
            json!({"device_id": "laptop", "started_at": 1_000 + i, "duration_ms": 5, "sent": i});
        c.call(Method::POST, &log, Some(report))
    }))
    .await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    }
    let log = c.call(Method::GET, &c.lib_url("sync-log"), None).await;
    let sent: Vec<u64> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sent"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sent,
        (20..40).rev().collect::<Vec<u64>>(),
        "the latest twenty"
    );
    server.stop().await;
}

async fn one_stream_ticket_used_at_once_opens_one_stream(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    let ticket = stream_ticket(&c).await;
    let url = format!("{}?ticket={ticket}", c.lib_url("events"));
    let answers = join_all((0..12).map(|_| reqwest::get(url.clone()))).await;
    let counts = tally(answers.iter().map(|a| a.as_ref().unwrap().status()));
    assert_eq!(counts.get(&200), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&401), Some(&11), "{counts:?}");
    drop(answers);
    server.stop().await;
}
