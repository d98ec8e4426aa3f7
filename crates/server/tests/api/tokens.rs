//! Where a session may be presented, and how long what it opened lasts, on both databases:
//! a token is taken from the `Authorization` header only (a URL lands in proxies' logs), the
//! change-hint stream opens with a one-use ticket for one library, and every way a session
//! ends (signing out, a password change, the admin's reset, expiry) ends its streams too.

use crate::support::*;
use refsync_server::db::Db;
use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

both!(
    a_token_in_the_query_is_refused_on_every_route,
    a_stream_ticket_opens_one_stream_of_its_library_once,
    signing_out_ends_the_sessions_streams,
    a_password_change_ends_the_other_sessions_streams,
    an_admin_password_reset_ends_every_stream,
    a_stream_ends_when_its_session_expires,
);

/// A body each route would accept, so that only the missing header can refuse it.
fn body_for(method: &str, path: &str) -> Option<Value> {
    if method != "post" {
        return None;
    }
    Some(match path.rsplit('/').next().unwrap_or("") {
        "password" => json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
        "link" => json!({"device_id": "device-2", "device_name": "sneaky"}),
        "batch" => json!({"idempotency_key": "via-query", "writes": [
            {"kind": "reference", "key": key(9).as_str(), "base_version": 0,
             "data": reference(key(9), "via the query")}
        ]}),
        "reset" => json!({"wipe": true}),
        "sync-log" => json!({"device_id": "sneaky", "started_at": 1, "duration_ms": 1}),
        _ => json!({}),
    })
}

/// Defect: `?access_token=` signed a request in on every route.
async fn a_token_in_the_query_is_refused_on_every_route(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let c = register(&server.base, "ada@example.org").await;
    c.batch(vec![upsert(key(1), 0, reference(key(1), "Kept"))])
        .await;
    let held = b"held bytes".to_vec();
    let sha = sha256_hex(&held);
    assert_eq!(upload(&c, &sha, held).await.status(), StatusCode::CREATED);
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = op["security"].as_array().is_none_or(Vec::is_empty);
            if public {
                continue;
            }
            let url = format!(
                "{}{}?access_token={}&since=0",
                server.base,
                path.replace("{library_id}", &c.library)
                    .replace("{sha256}", &sha),
                c.token
            );
            let mut req = c
                .http
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &url,
                )
                .header("x-refsync-epoch", c.epoch.to_string())
                .timeout(Duration::from_secs(5));
            if let Some(body) = body_for(method, path) {
                req = req.json(&body);
            } else if method == "put" {
                req = req.body(b"new bytes".to_vec());
            }
            let resp = req.send().await.unwrap_or_else(|e| {
                panic!("{method} {path} with the token in the query did not answer: {e}")
            });
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("auth")),
                "{method} {path} with the token in the query: {body}"
            );
            tried += 1;
        }
    }
    assert!(tried >= 12, "only {tried} routes tried");
    // Nothing any of them would have done was done.
    let me = c.me().await;
    assert_eq!(me["library"]["epoch"], 1, "not reset");
    assert_eq!(me["library"]["references"], 1, "nothing wiped or added");
    assert_eq!(me["library"]["storage_used"], 10);
    sign_in(&server.base, "ada@example.org").await; // the password is unchanged
    server.stop().await;
}

async fn a_stream_ticket_opens_one_stream_of_its_library_once(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let ada = register(&server.base, "ada@example.org").await;
    let bob = register(&server.base, "bob@example.org").await;
    let get = |url: String| async move { reqwest::get(url).await.unwrap() };

    let ticket = stream_ticket(&ada).await;
    let url = format!("{}?ticket={ticket}", ada.lib_url("events"));
    let mut stream = get(url.clone()).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(next_hint(&mut stream, &mut String::new()).await, 0);
    let again = get(url).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "one use only");
    let body: Value = again.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("ticket"),
        "{body}"
    );

    // A ticket opens its own library's stream and no other.
    let ticket = stream_ticket(&ada).await;
    let elsewhere = get(format!("{}?ticket={ticket}", bob.lib_url("events"))).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    // Nor can anyone get a ticket for a library not theirs.
    let theirs = bob
        .call(
            Method::POST,
            &format!(
                "{}/api/v1/libraries/{}/events/ticket",
                bob.base, ada.library
            ),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // A made-up ticket, and one whose session has ended, open nothing.
    let made_up = get(format!("{}?ticket=0123456789abcdef", ada.lib_url("events"))).await;
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
    let ticket = stream_ticket(&ada).await;
    let out = ada
        .call(
            Method::DELETE,
            &format!("{}/api/v1/session", ada.base),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = get(format!("{}?ticket={ticket}", ada.lib_url("events"))).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    // And the session token never opens it from the URL.
    let by_token = get(format!(
        "{}?access_token={}",
        bob.lib_url("events"),
        bob.token
    ))
    .await;
    assert_eq!(by_token.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

/// A stream opened with the header (the CLI, a server-side client).
async fn header_stream(c: &Client) -> reqwest::Response {
    let resp = c
        .http
        .get(c.lib_url("events"))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp
}

const ENDS_WITHIN: Duration = Duration::from_secs(5);
/// Long enough to tell a stream that stays open from one that ends.
const STAYS_FOR: Duration = Duration::from_millis(1500);

/// Defect: a stream kept receiving hints after its session was signed out.
async fn signing_out_ends_the_sessions_streams(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let ada = register(&server.base, "ada@example.org").await;
    let other = sign_in(&server.base, "ada@example.org").await;
    let mut by_ticket = open_stream(&ada).await;
    let mut by_header = header_stream(&ada).await;
    let mut others = open_stream(&other).await;
    let mut buf = String::new();
    assert_eq!(next_hint(&mut others, &mut buf).await, 0);
    assert!(
        !stream_ends(&mut by_ticket, STAYS_FOR).await,
        "open while signed in"
    );

    let out = ada
        .call(
            Method::DELETE,
            &format!("{}/api/v1/session", ada.base),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        stream_ends(&mut by_ticket, ENDS_WITHIN).await,
        "the ticket's stream ends"
    );
    assert!(
        stream_ends(&mut by_header, ENDS_WITHIN).await,
        "the header's stream ends"
    );
    let r = other
        .batch(vec![upsert(key(1), 0, reference(key(1), "still here"))])
        .await;
    assert_eq!(
        next_hint(&mut others, &mut buf).await,
        r.library_version,
        "the other session's stream goes on"
    );
    server.stop().await;
}

async fn a_password_change_ends_the_other_sessions_streams(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let ada = register(&server.base, "ada@example.org").await;
    let laptop = sign_in(&server.base, "ada@example.org").await;
    let mut mine = open_stream(&ada).await;
    let mut laptops = open_stream(&laptop).await;
    let mut buf = String::new();
    assert_eq!(next_hint(&mut mine, &mut buf).await, 0);
    assert!(!stream_ends(&mut laptops, STAYS_FOR).await, "open before");

    let changed = ada
        .call(
            Method::POST,
            &format!("{}/api/v1/account/password", ada.base),
            Some(json!({"current_password": PASSWORD, "new_password": "a brand new password"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert!(
        stream_ends(&mut laptops, ENDS_WITHIN).await,
        "the laptop's ends"
    );
    let r = ada
        .batch(vec![upsert(key(1), 0, reference(key(1), "after"))])
        .await;
    assert_eq!(
        next_hint(&mut mine, &mut buf).await,
        r.library_version,
        "the session that changed it goes on"
    );
    server.stop().await;
}

/// The admin's reset runs in another process: the stream finds out by its periodic check.
async fn an_admin_password_reset_ends_every_stream(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        stream_check_ms: 200,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let ada = register(&server.base, "ada@example.org").await;
    let mut stream = open_stream(&ada).await;
    assert!(!stream_ends(&mut stream, STAYS_FOR).await, "open before");
    let account = ada.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db = Db::open(&store.dir.path().join("data"), store.database_url())
        .await
        .unwrap();
    let hash = refsync_server::auth::hash_password("an admin's new password".into())
        .await
        .unwrap();
    db.set_password(&account, &hash, None).await.unwrap();
    db.close().await;
    assert!(
        stream_ends(&mut stream, ENDS_WITHIN).await,
        "ended by the reset"
    );
    server.stop().await;
}

async fn a_stream_ends_when_its_session_expires(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        token_ttl_ms: 2_500,
        stream_check_ms: 200,
        ..Limits::default()
    };
    let server = Running::start(&store, limits).await;
    let ada = register(&server.base, "ada@example.org").await;
    let mut stream = header_stream(&ada).await;
    assert!(
        stream_ends(&mut stream, ENDS_WITHIN).await,
        "ended at expiry"
    );
    server.stop().await;
}
