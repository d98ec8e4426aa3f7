//! Shared libraries over HTTP (issue 27, docs/sharing.md), on both databases: the role matrix
//! enforced on every route, invitations, removal ending access at once (streams too),
//! attribution and activity, the owner's quota, handing over and deleting, and role changes
//! racing writes.

use crate::support::*;
use refsync_core::protocol::{Activity, Libraries, LibrarySummary, Members, RemoteObject};
use refsync_server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

both!(
    a_shared_library_is_made_joined_and_synced_with_who_changed_what,
    a_non_member_gets_404_on_every_route_of_a_shared_library,
    a_viewer_reads_but_every_write_is_refused_and_nothing_is_stored,
    an_editor_writes_but_cannot_manage_hand_over_or_delete,
    a_removed_member_loses_the_library_at_once_even_an_open_stream,
    an_invitation_is_for_its_email_only_and_ends_when_revoked_declined_or_expired,
    a_shared_librarys_files_count_against_its_owners_storage,
    handing_over_and_deleting_a_shared_library,
    a_wiping_reset_of_the_personal_library_leaves_shared_libraries_alone,
    writes_racing_a_removal_or_a_demotion_never_land_after_it,
    deleting_an_account_hands_its_shared_libraries_over_or_deletes_them,
    the_accounts_one_stream_hints_every_library_it_belongs_to_and_ends_when_they_change,
    the_accounts_stream_says_when_its_lists_change,
);

/// `path` under `/api/v1`, as this client.
async fn api(c: &Client, method: Method, path: &str, body: Option<Value>) -> Answer {
    c.call(method, &format!("{}/api/v1/{path}", c.base), body)
        .await
}

/// A new shared library of `owner`'s; its id.
async fn make_shared(owner: &Client, name: &str) -> String {
    let a = api(
        owner,
        Method::POST,
        "libraries",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let lib: LibrarySummary = serde_json::from_value(a.body).unwrap();
    assert_eq!(
        (lib.name.as_deref(), lib.role.as_str()),
        (Some(name), "owner")
    );
    lib.id
}

/// `owner` invites `email` as `role`; the invitation's id.
async fn invite(owner: &Client, library: &str, email: &str, role: &str) -> String {
    let a = api(
        owner,
        Method::POST,
        &format!("libraries/{library}/invitations"),
        Some(json!({"email": email, "role": role})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_str().unwrap().to_string()
}

/// `c` accepts the invitation and links the shared library: a client of it.
async fn join(c: &Client, invitation: &str) -> Client {
    let a = api(
        c,
        Method::POST,
        &format!("invitations/{invitation}/accept"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    open(c, a.body["id"].as_str().unwrap()).await
}

/// The same account's client of another library it belongs to, linked.
async fn open(c: &Client, library: &str) -> Client {
    let mut other = Client {
        library: library.to_string(),
        epoch: 0,
        ..c.clone()
    };
    other.link().await;
    other
}

/// An owner with a shared library "Lab", an editor and a viewer in it (each linked to it).
struct Lab {
    server: Running,
    owner: Client,
    editor: Client,
    viewer: Client,
}

async fn lab(store: &Store, limits: Limits) -> Lab {
    let server = Running::start(store, limits).await;
    let ada = register(&server.base, "ada@example.org").await;
    let bob = register(&server.base, "bob@example.org").await;
    let cy = register(&server.base, "cy@example.org").await;
    let id = make_shared(&ada, "Lab").await;
    let to_bob = invite(&ada, &id, "Bob@Example.org", "editor").await;
    let to_cy = invite(&ada, &id, "cy@example.org", "viewer").await;
    Lab {
        owner: open(&ada, &id).await,
        editor: join(&bob, &to_bob).await,
        viewer: join(&cy, &to_cy).await,
        server,
    }
}

async fn libraries(c: &Client) -> Vec<LibrarySummary> {
    let a = api(c, Method::GET, "libraries", None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    serde_json::from_value::<Libraries>(a.body)
        .unwrap()
        .libraries
}

async fn a_shared_library_is_made_joined_and_synced_with_who_changed_what(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;

    let listed = libraries(&editor).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].is_personal(), "the personal library first");
    assert_eq!(listed[1].name.as_deref(), Some("Lab"));
    assert_eq!(listed[1].role.as_str(), "editor");
    assert_eq!(
        (listed[1].owner.as_str(), listed[1].members),
        ("ada@example.org", 3)
    );

    let a = api(
        &viewer,
        Method::GET,
        &format!("libraries/{}/members", owner.library),
        None,
    )
    .await;
    let members: Members = serde_json::from_value(a.body).unwrap();
    let roles: Vec<(&str, &str)> = members
        .members
        .iter()
        .map(|m| (m.email.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("ada@example.org", "owner"),
            ("bob@example.org", "editor"),
            ("cy@example.org", "viewer")
        ]
    );

    // The editor adds a reference; the owner edits it; every member's pull says who did what.
    editor
        .batch(vec![upsert(key(1), 0, reference(key(1), "Bob's paper"))])
        .await;
    let (_, objects, _) = viewer.pull(0, 100).await;
    let by = |o: &RemoteObject| o.changed_by.clone();
    assert_eq!(by(&objects[0]).as_deref(), Some("bob@example.org"));
    assert!(objects[0].changed_at.is_some_and(|t| t > 1_700_000_000_000));
    owner
        .batch(vec![upsert(
            key(1),
            objects[0].version,
            reference(key(1), "Ada's title"),
        )])
        .await;
    owner
        .batch(vec![upsert(key(2), 0, reference(key(2), "Second"))])
        .await;
    let (_, objects, _) = editor.pull(0, 100).await;
    assert_eq!(
        objects.iter().map(by).collect::<Vec<_>>(),
        [
            Some("ada@example.org".to_string()),
            Some("ada@example.org".to_string())
        ]
    );

    // The personal library's feed carries no attribution (always its owner).
    let personal = Client {
        library: libraries(&owner).await[0].id.clone(),
        ..owner.clone()
    };
    let mut personal = personal;
    personal.link().await;
    personal
        .batch(vec![upsert(key(3), 0, reference(key(3), "Mine"))])
        .await;
    let (_, mine, _) = personal.pull(0, 100).await;
    assert_eq!(mine[0].changed_by, None);

    // The activity, newest first, paged.
    let url = format!("libraries/{}/activity?limit=1", owner.library);
    let a = api(&viewer, Method::GET, &url, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let first: Activity = serde_json::from_value(a.body).unwrap();
    assert_eq!(first.entries[0].title.as_deref(), Some("Second"));
    assert_eq!(
        first.entries[0].changed_by.as_deref(),
        Some("ada@example.org")
    );
    let next = first.next.expect("a second page");
    let a = api(&viewer, Method::GET, &format!("{url}&before={next}"), None).await;
    let second: Activity = serde_json::from_value(a.body).unwrap();
    assert_eq!(second.entries[0].title.as_deref(), Some("Ada's title"));
    assert_ne!(second.entries[0].key, first.entries[0].key);
    let a = api(&viewer, Method::GET, &format!("{url}&before=junk"), None).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid"));
    server.stop().await;
}

async fn a_non_member_gets_404_on_every_route_of_a_shared_library(b: Backend) {
    let store = Store::new(b).await;
    let Lab { server, owner, .. } = lab(&store, Limits::default()).await;
    owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "In the lab"))])
        .await;
    let bytes = b"lab notes".to_vec();
    let sha = sha256_hex(&bytes);
    assert_eq!(
        upload(&owner, &sha, bytes.clone()).await.status(),
        StatusCode::CREATED
    );
    let dan = register(&server.base, "dan@example.org").await;
    let as_dan = Client {
        token: dan.token.clone(),
        ..owner.clone()
    };
    let lib = &owner.library;
    let someone = libraries(&owner).await.len().to_string();
    for (method, path, body) in [
        (
            Method::GET,
            format!("libraries/{lib}/changes?since=0"),
            None,
        ),
        (Method::GET, format!("libraries/{lib}/versions"), None),
        (
            Method::POST,
            format!("libraries/{lib}/batch"),
            Some(json!({"idempotency_key": "x", "writes": []})),
        ),
        (
            Method::POST,
            format!("libraries/{lib}/reset"),
            Some(json!({"wipe": true})),
        ),
        (
            Method::POST,
            format!("libraries/{lib}/link"),
            Some(json!({"device_id": "d"})),
        ),
        (Method::GET, format!("libraries/{lib}/sync-log"), None),
        (Method::GET, format!("libraries/{lib}/files/{sha}"), None),
        (Method::POST, format!("libraries/{lib}/events/ticket"), None),
        (Method::GET, format!("libraries/{lib}/events"), None),
        (Method::GET, format!("libraries/{lib}/members"), None),
        (
            Method::PUT,
            format!("libraries/{lib}/members/{someone}"),
            Some(json!({"role": "editor"})),
        ),
        (
            Method::DELETE,
            format!("libraries/{lib}/members/{someone}"),
            None,
        ),
        (Method::GET, format!("libraries/{lib}/invitations"), None),
        (
            Method::POST,
            format!("libraries/{lib}/invitations"),
            Some(json!({"email": "dan@example.org", "role": "editor"})),
        ),
        (Method::GET, format!("libraries/{lib}/activity"), None),
        (
            Method::PATCH,
            format!("libraries/{lib}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("libraries/{lib}"), None),
        (
            Method::POST,
            format!("libraries/{lib}/transfer"),
            Some(json!({"account_id": "x"})),
        ),
    ] {
        let answer = api(&as_dan, method.clone(), &path, body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }
    assert_eq!(
        upload(&as_dan, &sha, bytes).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(libraries(&dan).await.len(), 1, "only his own library");
    let (_, objects, _) = owner.pull(0, 100).await;
    assert_eq!(objects.len(), 1, "the shared library is untouched");
    assert_eq!(libraries(&owner).await[1].members, 3);
    server.stop().await;
}

async fn a_viewer_reads_but_every_write_is_refused_and_nothing_is_stored(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        viewer,
        ..
    } = lab(&store, Limits::default()).await;
    owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "Read me"))])
        .await;
    let (version, objects, _) = viewer.pull(0, 100).await;
    assert_eq!(objects.len(), 1, "a viewer reads");

    let write = viewer
        .batch_raw(
            "v-1",
            vec![upsert(
                key(1),
                objects[0].version,
                reference(key(1), "Vandal"),
            )],
        )
        .await;
    assert_eq!(
        (write.status, write.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert!(
        write.body["message"].as_str().unwrap().contains("viewer"),
        "{}",
        write.body
    );
    let trash = viewer
        .batch_raw(
            "v-2",
            vec![delete(
                refsync_core::ObjectKind::Reference,
                key(1),
                objects[0].version,
            )],
        )
        .await;
    assert_eq!(trash.status, StatusCode::FORBIDDEN);
    let bytes = b"a viewer's file".to_vec();
    let sha = sha256_hex(&bytes);
    let put = upload(&viewer, &sha, bytes).await;
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    let lib = &owner.library;
    for (method, path, body) in [
        (
            Method::POST,
            format!("libraries/{lib}/reset"),
            Some(json!({"wipe": true})),
        ),
        (
            Method::POST,
            format!("libraries/{lib}/invitations"),
            Some(json!({"email": "eve@example.org", "role": "editor"})),
        ),
        (
            Method::PATCH,
            format!("libraries/{lib}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("libraries/{lib}"), None),
    ] {
        let a = api(&viewer, method.clone(), &path, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }

    let (after, objects, _) = owner.pull(0, 100).await;
    assert_eq!(after, version, "nothing was written");
    assert_eq!(
        json_of(objects[0].data.as_ref().unwrap())["fields"]["title"],
        "Read me"
    );
    let get = owner
        .call(Method::GET, &owner.lib_url(&format!("files/{sha}")), None)
        .await;
    assert_eq!(
        get.status,
        StatusCode::NOT_FOUND,
        "the viewer's file was not kept"
    );
    assert_eq!(owner.me().await["library"]["storage_used"], 0);
    server.stop().await;
}

async fn an_editor_writes_but_cannot_manage_hand_over_or_delete(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;
    editor
        .batch(vec![upsert(key(1), 0, reference(key(1), "Bob's"))])
        .await;
    let bytes = b"bob's figure".to_vec();
    assert_eq!(
        upload(&editor, &sha256_hex(&bytes), bytes).await.status(),
        StatusCode::CREATED
    );
    let lib = &owner.library;
    let cy = libraries(&viewer).await;
    let cy_id = {
        let a = api(
            &owner,
            Method::GET,
            &format!("libraries/{lib}/members"),
            None,
        )
        .await;
        let m: Members = serde_json::from_value(a.body).unwrap();
        m.members[2].account_id.clone()
    };
    assert_eq!(cy[1].role.as_str(), "viewer");
    for (method, path, body) in [
        (
            Method::POST,
            format!("libraries/{lib}/invitations"),
            Some(json!({"email": "eve@example.org", "role": "viewer"})),
        ),
        (Method::GET, format!("libraries/{lib}/invitations"), None),
        (
            Method::PUT,
            format!("libraries/{lib}/members/{cy_id}"),
            Some(json!({"role": "editor"})),
        ),
        (
            Method::DELETE,
            format!("libraries/{lib}/members/{cy_id}"),
            None,
        ),
        (
            Method::POST,
            format!("libraries/{lib}/transfer"),
            Some(json!({"account_id": cy_id})),
        ),
        (
            Method::PATCH,
            format!("libraries/{lib}"),
            Some(json!({"name": "Bob's lab"})),
        ),
        (Method::DELETE, format!("libraries/{lib}"), None),
        (
            Method::POST,
            format!("libraries/{lib}/reset"),
            Some(json!({"wipe": false})),
        ),
    ] {
        let a = api(&editor, method.clone(), &path, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
        assert!(a.body["message"].as_str().unwrap().contains("editor"));
    }
    assert_eq!(
        libraries(&viewer).await[1].role.as_str(),
        "viewer",
        "cy's role unchanged"
    );
    assert_eq!(libraries(&owner).await[1].name.as_deref(), Some("Lab"));

    // The owner cannot leave; an editor can.
    let me = owner.me().await;
    let own_id = me["account"]["id"].as_str().unwrap();
    let a = api(
        &owner,
        Method::DELETE,
        &format!("libraries/{lib}/members/{own_id}"),
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid"));
    let bob_id = editor.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = api(
        &editor,
        Method::DELETE,
        &format!("libraries/{lib}/members/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(libraries(&editor).await.len(), 1);
    let (_, objects, _) = owner.pull(0, 100).await;
    assert_eq!(
        objects.len(),
        1,
        "what the editor wrote stays after they leave"
    );
    server.stop().await;
}

async fn a_removed_member_loses_the_library_at_once_even_an_open_stream(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;
    let mut stream = open_stream(&editor).await;
    let mut viewers = open_stream(&viewer).await;
    let mut buf = String::new();
    assert_eq!(next_hint(&mut stream, &mut buf).await, 0);
    let bob_id = editor.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lib = &owner.library;
    let a = api(
        &owner,
        Method::DELETE,
        &format!("libraries/{lib}/members/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(
        stream_ends(&mut stream, Duration::from_secs(5)).await,
        "the removed member's stream ends at once"
    );
    let pull = editor
        .call(
            Method::GET,
            &format!("{}?since=0", editor.lib_url("changes")),
            None,
        )
        .await;
    assert_eq!(pull.status, StatusCode::NOT_FOUND);
    let write = editor
        .batch_raw(
            "late",
            vec![upsert(key(9), 0, reference(key(9), "Too late"))],
        )
        .await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
    let ticket = editor
        .call(Method::POST, &editor.lib_url("events/ticket"), None)
        .await;
    assert_eq!(ticket.status, StatusCode::NOT_FOUND);
    assert_eq!(libraries(&editor).await.len(), 1, "gone from their list");

    // Everyone else goes on.
    let r = owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "After"))])
        .await;
    let mut vbuf = String::new();
    assert_eq!(next_hint(&mut viewers, &mut vbuf).await, 0);
    assert_eq!(next_hint(&mut viewers, &mut vbuf).await, r.library_version);
    server.stop().await;
}

async fn an_invitation_is_for_its_email_only_and_ends_when_revoked_declined_or_expired(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let ada = register(&server.base, "ada@example.org").await;
    let lib = make_shared(&ada, "Lab").await;
    // Invited before the account exists.
    let to_bob = invite(&ada, &lib, "bob@example.org", "editor").await;
    let bob = register(&server.base, "bob@example.org").await;
    let eve = register(&server.base, "eve@example.org").await;
    let mine = api(&bob, Method::GET, "invitations", None).await;
    assert_eq!(mine.body["invitations"][0]["library_name"], "Lab");
    assert_eq!(mine.body["invitations"][0]["invited_by"], "ada@example.org");
    assert_eq!(
        api(&eve, Method::GET, "invitations", None).await.body["invitations"],
        json!([])
    );

    let stolen = api(
        &eve,
        Method::POST,
        &format!("invitations/{to_bob}/accept"),
        None,
    )
    .await;
    assert_eq!(
        stolen.status,
        StatusCode::NOT_FOUND,
        "another account cannot accept it"
    );
    assert_eq!(libraries(&eve).await.len(), 1);

    // Revoked: it cannot be accepted any more.
    let a = api(
        &ada,
        Method::DELETE,
        &format!("libraries/{lib}/invitations/{to_bob}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let late = api(
        &bob,
        Method::POST,
        &format!("invitations/{to_bob}/accept"),
        None,
    )
    .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);

    // Declined: gone.
    let again = invite(&ada, &lib, "bob@example.org", "viewer").await;
    let a = api(
        &bob,
        Method::POST,
        &format!("invitations/{again}/decline"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = api(
        &ada,
        Method::GET,
        &format!("libraries/{lib}/invitations"),
        None,
    )
    .await;
    assert_eq!(a.body["invitations"], json!([]));

    // Expired: not listed, not accepted.
    let expiring = invite(&ada, &lib, "bob@example.org", "viewer").await;
    expire_invitations(&store).await;
    assert_eq!(
        api(&bob, Method::GET, "invitations", None).await.body["invitations"],
        json!([])
    );
    let a = api(
        &bob,
        Method::POST,
        &format!("invitations/{expiring}/accept"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(libraries(&bob).await.len(), 1);

    // Bad invitations.
    for (body, code) in [
        (
            json!({"email": "not an email", "role": "viewer"}),
            "invalid",
        ),
        (
            json!({"email": "bob@example.org", "role": "owner"}),
            "invalid",
        ),
        (
            json!({"email": "bob@example.org", "role": "admin"}),
            "invalid",
        ),
        (
            json!({"email": "bob@example.org", "role": "viewer", "expires_in_days": 0}),
            "invalid",
        ),
        (
            json!({"email": "ada@example.org", "role": "viewer"}),
            "conflict",
        ),
    ] {
        let a = api(
            &ada,
            Method::POST,
            &format!("libraries/{lib}/invitations"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(a.code(), code, "{body}: {}", a.body);
    }
    let personal = libraries(&ada).await[0].id.clone();
    let a = api(
        &ada,
        Method::POST,
        &format!("libraries/{personal}/invitations"),
        Some(json!({"email": "bob@example.org", "role": "viewer"})),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid"),
        "the personal library is not shared"
    );
    server.stop().await;
}

/// Every pending invitation of the test's database expires now (the service's clock cannot be
/// moved 14 days on).
async fn expire_invitations(store: &Store) {
    use sqlx::Connection;
    let url = match store.database_url() {
        Some(url) => url.to_string(),
        None => format!(
            "sqlite://{}",
            store.dir.path().join("data/refsync.db").display()
        ),
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE invitations SET expires_at = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
}

async fn a_shared_librarys_files_count_against_its_owners_storage(b: Backend) {
    let store = Store::new(b).await;
    let limits = Limits {
        storage_limit: 100_000,
        ..Limits::default()
    };
    let Lab {
        server,
        owner,
        editor,
        ..
    } = lab(&store, limits).await;
    let file = |n: u8| vec![n; 40_000];
    assert_eq!(
        upload(&editor, &sha256_hex(&file(1)), file(1))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        owner.me().await["library"]["storage_used"],
        40_000,
        "the owner's"
    );
    assert_eq!(
        editor.me().await["library"]["storage_used"],
        0,
        "not the editor's"
    );
    // The owner's personal library and the shared one share the owner's room.
    let personal = open(&owner, &libraries(&owner).await[0].id).await;
    assert_eq!(
        upload(&personal, &sha256_hex(&file(2)), file(2))
            .await
            .status(),
        StatusCode::CREATED
    );
    let over = upload(&editor, &sha256_hex(&file(3)), file(3)).await;
    assert_eq!(over.status(), StatusCode::INSUFFICIENT_STORAGE);
    let body: Value = over.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("owner"),
        "{body}"
    );
    // The editor's own library has its own room.
    let bobs = open(&editor, &libraries(&editor).await[0].id).await;
    assert_eq!(
        upload(&bobs, &sha256_hex(&file(3)), file(3)).await.status(),
        StatusCode::CREATED
    );
    server.stop().await;
}

async fn handing_over_and_deleting_a_shared_library(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;
    let lib = owner.library.clone();
    owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "Kept"))])
        .await;
    let bob_id = editor.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cy_id = viewer.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = api(
        &owner,
        Method::POST,
        &format!("libraries/{lib}/transfer"),
        Some(json!({"account_id": "nobody"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = api(
        &owner,
        Method::POST,
        &format!("libraries/{lib}/transfer"),
        Some(json!({"account_id": bob_id})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(libraries(&editor).await[1].role.as_str(), "owner");
    assert_eq!(libraries(&owner).await[1].role.as_str(), "editor");
    assert_eq!(libraries(&viewer).await[1].owner, "bob@example.org");
    let a = api(
        &owner,
        Method::PUT,
        &format!("libraries/{lib}/members/{cy_id}"),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "the old owner manages no more"
    );
    let a = api(
        &editor,
        Method::PUT,
        &format!("libraries/{lib}/members/{cy_id}"),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    viewer
        .batch(vec![upsert(
            key(2),
            0,
            reference(key(2), "Cy may write now"),
        )])
        .await;
    let a = api(
        &editor,
        Method::PATCH,
        &format!("libraries/{lib}"),
        Some(json!({"name": "  Bob's lab "})),
    )
    .await;
    assert_eq!(a.body["name"], "Bob's lab");

    let mut stream = open_stream(&viewer).await;
    let a = api(&editor, Method::DELETE, &format!("libraries/{lib}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(stream_ends(&mut stream, Duration::from_secs(5)).await);
    for c in [&owner, &editor, &viewer] {
        assert_eq!(libraries(c).await.len(), 1);
        let pull = c
            .call(
                Method::GET,
                &format!("{}?since=0", c.lib_url("changes")),
                None,
            )
            .await;
        assert_eq!(pull.status, StatusCode::NOT_FOUND);
    }
    let personal = libraries(&owner).await[0].id.clone();
    let a = api(
        &owner,
        Method::DELETE,
        &format!("libraries/{personal}"),
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid"),
        "the personal library stays"
    );
    server.stop().await;
}

async fn a_wiping_reset_of_the_personal_library_leaves_shared_libraries_alone(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        ..
    } = lab(&store, Limits::default()).await;
    owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "Shared"))])
        .await;
    let personal = open(&owner, &libraries(&owner).await[0].id).await;
    personal
        .batch(vec![upsert(key(2), 0, reference(key(2), "Personal"))])
        .await;
    let a = personal
        .call(
            Method::POST,
            &personal.lib_url("reset"),
            Some(json!({"wipe": true})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (_, objects, _) = editor.pull(0, 100).await;
    assert_eq!(objects.len(), 1, "the shared library keeps its references");
    let again = editor
        .call(
            Method::GET,
            &format!("{}?since=0", editor.lib_url("changes")),
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "and its link: no relink for its members"
    );
    server.stop().await;
}

/// Batches from a member fired at once with the owner's removal (or demotion) of them: each
/// batch either landed whole (and the pull has it) or was refused whole, and none lands after
/// the owner was answered: what the library holds just after the answer is all it ever holds of
/// them, even though batches were still arriving (each is large, so many are past the route's
/// own role check and waiting for the library's lock when the role changes).
async fn writes_racing_a_removal_or_a_demotion_never_land_after_it(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;
    let lib = owner.library.clone();
    let racing = |base: u64, o: &RemoteObject| {
        o.key.as_str() >= key(base).as_str() && o.key.as_str() < key(base + 10_000).as_str()
    };
    for (round, (target, change)) in [(&viewer, "demote"), (&editor, "remove")]
        .into_iter()
        .enumerate()
    {
        let id = target.me().await["account"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        if change == "demote" {
            // Cy becomes an editor first, to be demoted.
            let a = api(
                &owner,
                Method::PUT,
                &format!("libraries/{lib}/members/{id}"),
                Some(json!({"role": "editor"})),
            )
            .await;
            assert_eq!(a.status, StatusCode::NO_CONTENT);
        }
        let base = 100_000 * (round as u64 + 1);
        let batches: Vec<_> = (0..16u64)
            .map(|i| {
                let target = target.clone();
                tokio::spawn(async move {
                    let writes = (0..300)
                        .map(|j| {
                            let k = key(base + i * 300 + j);
                            upsert(k, 0, reference(k, "racing"))
                        })
                        .collect();
                    let a = target.batch_raw(&format!("race-{base}-{i}"), writes).await;
                    (i, a.status)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let a = if change == "demote" {
            api(
                &owner,
                Method::PUT,
                &format!("libraries/{lib}/members/{id}"),
                Some(json!({"role": "viewer"})),
            )
            .await
        } else {
            api(
                &owner,
                Method::DELETE,
                &format!("libraries/{lib}/members/{id}"),
                None,
            )
            .await
        };
        assert_eq!(a.status, StatusCode::NO_CONTENT);
        let (_, at_answer, _) = owner.pull(0, 10_000).await;
        let landed_by_then = at_answer.iter().filter(|o| racing(base, o)).count();

        let refused = if change == "demote" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::NOT_FOUND
        };
        let mut taken = 0;
        for batch in batches {
            let (i, status) = batch.await.unwrap();
            assert!(
                status == StatusCode::OK || status == refused,
                "{change}: batch {i}: {status}"
            );
            taken += usize::from(status == StatusCode::OK);
        }
        let (_, objects, _) = owner.pull(0, 10_000).await;
        let landed = objects.iter().filter(|o| racing(base, o)).count();
        assert_eq!(landed, taken * 300, "{change}: whole batches, as answered");
        assert_eq!(
            landed, landed_by_then,
            "{change}: nothing landed after the owner's answer"
        );
        let after = target
            .batch_raw(
                &format!("after-{base}"),
                vec![upsert(
                    key(base + 9_999),
                    0,
                    reference(key(base + 9_999), "after"),
                )],
            )
            .await;
        assert_eq!(
            after.status, refused,
            "{change}: a write after the answer is refused"
        );
    }
    server.stop().await;
}

/// Issue 27: deleting an account hands each shared library it owns to a member (an editor
/// first) or deletes them all, as the owner chose; its own library and sessions go with it.
async fn deleting_an_account_hands_its_shared_libraries_over_or_deletes_them(b: Backend) {
    let store = Store::new(b).await;
    let Lab {
        server,
        owner,
        editor,
        viewer,
    } = lab(&store, Limits::default()).await;
    owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "Lab paper"))])
        .await;
    // A library only Cy (a viewer) is in, and one with nobody else.
    let seminar = make_shared(&owner, "Seminar").await;
    let to_cy = invite(&owner, &seminar, "cy@example.org", "viewer").await;
    join(&viewer, &to_cy).await;
    make_shared(&owner, "Solo").await;
    let personal = open(&owner, &libraries(&owner).await[0].id).await;
    let bytes = b"ada's own file".to_vec();
    let sha = sha256_hex(&bytes);
    assert_eq!(
        upload(&personal, &sha, bytes).await.status(),
        StatusCode::CREATED
    );

    let wrong = api(
        &owner,
        Method::DELETE,
        "account",
        Some(json!({"password": "not it at all", "shared_libraries": "hand_over"})),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "auth")
    );
    let mut stream = open_stream(&editor).await;
    let mut editors = open_account_stream(&editor).await;
    let mut editors_buf = String::new();
    account_hint(&mut editors, &mut editors_buf).await;
    account_hint(&mut editors, &mut editors_buf).await;
    let a = api(
        &owner,
        Method::DELETE,
        "account",
        Some(json!({"password": PASSWORD, "shared_libraries": "hand_over"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The editor's lists change (the library is theirs now): their devices are told.
    assert_eq!(next_event(&mut editors, &mut editors_buf).await.0, "lists");
    let mut handed: Vec<String> = a.body["handed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("{} -> {}", h["library"], h["to"]))
        .collect();
    handed.sort();
    assert_eq!(
        handed,
        [
            r#""Lab" -> "bob@example.org""#,
            r#""Seminar" -> "cy@example.org""#
        ]
    );
    assert_eq!(a.body["deleted"], json!(["Solo"]));
    // The account is gone: its token, its own library; its email is free again.
    let me = owner
        .call(Method::GET, &format!("{}/api/v1/me", owner.base), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let new_ada = register(&server.base, "ada@example.org").await;
    assert_eq!(libraries(&new_ada).await.len(), 1);
    // Bob owns the lab now, with everything in it; his stream goes on.
    let bobs = libraries(&editor).await;
    assert_eq!((bobs[1].role.as_str(), bobs[1].members), ("owner", 2));
    let (_, objects, _) = editor.pull(0, 100).await;
    assert_eq!(objects.len(), 1);
    assert!(!stream_ends(&mut stream, Duration::from_millis(500)).await);
    let cys: Vec<(Option<String>, String)> = libraries(&viewer)
        .await
        .into_iter()
        .map(|l| (l.name, l.role.as_str().to_string()))
        .collect();
    assert!(
        cys.contains(&(Some("Seminar".into()), "owner".into())),
        "{cys:?}"
    );

    // Bob deletes his account, choosing to delete what he owns: the lab goes for Cy too.
    let a = api(
        &editor,
        Method::DELETE,
        "account",
        Some(json!({"password": PASSWORD, "shared_libraries": "delete"})),
    )
    .await;
    assert_eq!(a.body["deleted"], json!(["Lab"]), "{}", a.body);
    assert!(stream_ends(&mut stream, Duration::from_secs(5)).await);
    let names: Vec<Option<String>> = libraries(&viewer)
        .await
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, [None, Some("Seminar".to_string())]);
    server.stop().await;
}

/// Open the account's stream of all its libraries with a fresh ticket, as a browser does.
async fn open_account_stream(c: &Client) -> reqwest::Response {
    let t = api(c, Method::POST, "events/ticket", None).await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/events?ticket={}",
            c.base,
            t.body["ticket"].as_str().unwrap()
        ))
        .send()
        .await
        .expect("stream opened");
    assert_eq!(resp.status(), StatusCode::OK);
    resp
}

/// The next hint of the account's stream: (library, version).
async fn account_hint(resp: &mut reqwest::Response, buffer: &mut String) -> (String, u64) {
    let hint = next_hint_data(resp, buffer).await;
    (
        hint["library_id"].as_str().expect("a library").to_string(),
        hint["library_version"].as_u64().expect("a version"),
    )
}

async fn the_accounts_one_stream_hints_every_library_it_belongs_to_and_ends_when_they_change(
    b: Backend,
) {
    let store = Store::new(b).await;
    let server = Running::start(
        &store,
        Limits {
            stream_check_ms: 200,
            ..Limits::default()
        },
    )
    .await;
    let ada = register(&server.base, "ada@example.org").await;
    let bob = register(&server.base, "bob@example.org").await;
    let lab = make_shared(&ada, "Lab").await;
    let owner = open(&ada, &lab).await;
    let to_bob = invite(&ada, &lab, "bob@example.org", "editor").await;
    let in_lab = join(&bob, &to_bob).await;

    // One stream for both of Bob's libraries: each one's version first, then each write to
    // either, naming its library; Ada's own library is none of his business.
    let mut stream = open_account_stream(&bob).await;
    let mut buf = String::new();
    let mut first = [
        account_hint(&mut stream, &mut buf).await,
        account_hint(&mut stream, &mut buf).await,
    ];
    first.sort();
    let mut want = [(bob.library.clone(), 0), (lab.clone(), 0)];
    want.sort();
    assert_eq!(first, want);
    let r = owner
        .batch(vec![upsert(key(1), 0, reference(key(1), "Shared"))])
        .await;
    assert_eq!(
        account_hint(&mut stream, &mut buf).await,
        (lab.clone(), r.library_version)
    );
    ada.batch(vec![upsert(key(2), 0, reference(key(2), "Ada's own"))])
        .await;
    let r = bob
        .batch(vec![upsert(key(3), 0, reference(key(3), "Bob's own"))])
        .await;
    assert_eq!(
        account_hint(&mut stream, &mut buf).await,
        (bob.library.clone(), r.library_version)
    );

    // A library joined since ends it (the client opens one that follows the new set).
    let lab2 = make_shared(&ada, "Lab 2").await;
    let to_bob2 = invite(&ada, &lab2, "bob@example.org", "viewer").await;
    join(&bob, &to_bob2).await;
    assert!(
        stream_ends(&mut stream, Duration::from_secs(5)).await,
        "a stream that misses a library ends"
    );
    let mut stream = open_account_stream(&bob).await;
    let mut buf = String::new();
    let mut libraries: Vec<String> = Vec::new();
    for _ in 0..3 {
        libraries.push(account_hint(&mut stream, &mut buf).await.0);
    }
    libraries.sort();
    let mut want = vec![bob.library.clone(), lab.clone(), lab2.clone()];
    want.sort();
    assert_eq!(libraries, want);

    // Removed from one: it ends at once.
    let bob_id = bob.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = api(
        &ada,
        Method::DELETE,
        &format!("libraries/{lab}/members/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(stream_ends(&mut stream, Duration::from_secs(5)).await);

    // A ticket opens the stream it was made for only; no ticket, no stream.
    let for_library = stream_ticket(&bob).await;
    let resp = reqwest::get(format!(
        "{}/api/v1/events?ticket={for_library}",
        server.base
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let t = api(&bob, Method::POST, "events/ticket", None).await;
    let resp = reqwest::get(format!(
        "{}?ticket={}",
        bob.lib_url("events"),
        t.body["ticket"].as_str().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = reqwest::get(format!("{}/api/v1/events", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    drop(in_lab);
    server.stop().await;
}

/// The next `n` events of the account's stream are `lists`, and then comes a hint of a write
/// Bob makes to his own library: each change before it announced once, and none that are not
/// his business.
async fn told(
    stream: &mut reqwest::Response,
    buf: &mut String,
    bob: &Client,
    n: usize,
    what: &str,
) {
    let k = key(900 + n as u64);
    let r = bob.batch(vec![upsert(k, 0, reference(k, what))]).await;
    for i in 0..n {
        let (name, _) = next_event(stream, buf).await;
        assert_eq!(name, "lists", "{what}: event {} of {n}", i + 1);
    }
    let (name, data) = next_event(stream, buf).await;
    assert_eq!(
        (name.as_str(), data["library_version"].as_u64()),
        ("version", Some(r.library_version)),
        "{what}: after {n} notices, Bob's own write"
    );
}

async fn the_accounts_stream_says_when_its_lists_change(b: Backend) {
    let store = Store::new(b).await;
    let server = Running::start(&store, Limits::default()).await;
    let ada = register(&server.base, "ada@example.org").await;
    let bob = register(&server.base, "bob@example.org").await;
    let bob_id = bob.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = open_account_stream(&bob).await;
    let mut buf = String::new();
    assert_eq!(account_hint(&mut stream, &mut buf).await.0, bob.library);

    // Invitations to Bob: made, withdrawn, made again and declined.
    let lab = make_shared(&ada, "Lab").await;
    let first = invite(&ada, &lab, "bob@example.org", "editor").await;
    let a = api(
        &ada,
        Method::DELETE,
        &format!("libraries/{lab}/invitations/{first}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let second = invite(&ada, &lab, "bob@example.org", "editor").await;
    let a = api(
        &bob,
        Method::POST,
        &format!("invitations/{second}/decline"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // Not Bob's: an invitation to someone else, Ada's own library.
    invite(&ada, &lab, "carol@example.org", "viewer").await;
    told(
        &mut stream,
        &mut buf,
        &bob,
        4,
        "invited, withdrawn, invited, declined",
    )
    .await;

    // Accepted: told, and the stream then ends (it follows a new set of libraries); the next
    // one follows the library too.
    let third = invite(&ada, &lab, "bob@example.org", "editor").await;
    let a = api(
        &bob,
        Method::POST,
        &format!("invitations/{third}/accept"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(next_event(&mut stream, &mut buf).await.0, "lists");
    assert_eq!(next_event(&mut stream, &mut buf).await.0, "lists");
    drop(stream);
    let mut stream = open_account_stream(&bob).await;
    let mut buf = String::new();
    account_hint(&mut stream, &mut buf).await;
    account_hint(&mut stream, &mut buf).await;

    // What his list of libraries shows of the library: its name, his role, its members, its
    // owner.
    let a = api(
        &ada,
        Method::PATCH,
        &format!("libraries/{lab}"),
        Some(json!({"name": "Lab, renamed"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = api(
        &ada,
        Method::PUT,
        &format!("libraries/{lab}/members/{bob_id}"),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let carol = register(&server.base, "carol@example.org").await;
    let to_carol = api(&carol, Method::GET, "invitations", None).await.body["invitations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    join(&carol, &to_carol).await;
    let carol_id = carol.me().await["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = api(
        &carol,
        Method::DELETE,
        &format!("libraries/{lab}/members/{carol_id}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let a = api(
        &ada,
        Method::POST,
        &format!("libraries/{lab}/transfer"),
        Some(json!({"account_id": bob_id})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    told(
        &mut stream,
        &mut buf,
        &bob,
        5,
        "renamed, his role, a member joined and left, handed over to him",
    )
    .await;
    let listed = api(&bob, Method::GET, "libraries", None).await;
    assert_eq!(listed.body["libraries"][1]["name"], "Lab, renamed");
    assert_eq!(listed.body["libraries"][1]["role"], "owner");

    // Deleted by its owner, now Bob: the stream ends at once (the notice may not get out
    // first), and a client asks for its lists again whenever its stream ends.
    let a = api(&bob, Method::DELETE, &format!("libraries/{lab}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(stream_ends(&mut stream, Duration::from_secs(5)).await);
    server.stop().await;
}
