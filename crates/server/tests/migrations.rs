//! Schema upgrades keep what a running service holds, on SQLite and on PostgreSQL: a database
//! made by the migrations before shared libraries (0001 to 0004, as an older service left it)
//! with an account, its library, objects, a tombstone, a file and a sync report is opened by
//! today's service, which applies 0005 (SQLite rebuilds the libraries table) and keeps
//! everything, every foreign key pointing where it did.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[macro_use]
#[path = "api/support.rs"]
mod support;

use refsync_core::protocol::Role;
use refsync_server::db::Db;
use sqlx::Connection;
use support::*;

both!(a_database_from_before_shared_libraries_keeps_everything);

/// The migrations up to and including `last`, copied where sqlx's runtime migrator reads them.
fn migrations_up_to(backend: Backend, last: &str, into: &std::path::Path) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    });
    std::fs::create_dir_all(into).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() <= last {
            std::fs::copy(&path, into.join(&name)).unwrap();
        }
    }
}

async fn a_database_from_before_shared_libraries_keeps_everything(b: Backend) {
    let store = Store::new(b).await;
    let data = store.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = match store.database_url() {
        Some(url) => url.to_string(),
        None => format!("sqlite://{}?mode=rwc", data.join("refsync.db").display()),
    };
    sqlx::any::install_default_drivers();
    let old = store.dir.path().join("old-migrations");
    migrations_up_to(b, "0004", &old);
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let objects = format!(
        "INSERT INTO objects (library_id, kind, key, version, shared, sha256, data)
             VALUES ('lib1', 0, '{k1}', 1, 0, NULL, '{{\"title\":\"one\"}}'),
                    ('lib1', 3, '{k2}', 2, 0, 'abc', '{{\"file\":\"two\"}}'),
                    ('lib1', 0, '{k3}', 3, 0, NULL, NULL)"
    );
    for sql in [
        "INSERT INTO accounts (id, email, password_hash, storage_limit, reference_limit, created_at)
         VALUES ('acc1', 'ada@example.org', 'x', 1000000, NULL, 5)",
        "INSERT INTO libraries (id, account_id, version, epoch, storage_used)
         VALUES ('lib1', 'acc1', 3, 2, 42)",
        objects.as_str(),
        "INSERT INTO files (library_id, sha256, size, created_at) VALUES ('lib1', 'abc', 42, 6)",
        "INSERT INTO sync_log (library_id, device_id, started_at, device_name, duration_ms,
           sent, received, deleted, conflicts) VALUES ('lib1', 'dev', 7, 'laptop', 1, 2, 3, 0, 0)",
        "INSERT INTO batches (library_id, idempotency_key, request_hash, response, created_at)
         VALUES ('lib1', 'b1', 'h', '{}', 8)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let db = Db::open(&data, store.database_url()).await.unwrap();
    let access = db
        .access("lib1", "acc1")
        .await
        .unwrap()
        .expect("still hers");
    assert_eq!(access.role, Role::Owner);
    let lib = access.library;
    assert_eq!(
        (lib.version, lib.epoch, lib.storage_used, lib.name),
        (3, 2, 42, None)
    );
    assert_eq!(db.library_of_account("acc1").await.unwrap().id, "lib1");
    let (version, objects) = db.changes("lib1", 0, None, 100, false).await.unwrap();
    assert_eq!(version, 3);
    let kept: Vec<_> = objects.iter().map(|o| (o.key, o.data.is_some())).collect();
    assert_eq!(kept, [(k1, true), (k2, true), (k3, false)]);
    assert_eq!(db.file_size("lib1", "abc", true).await.unwrap(), Some(42));
    assert_eq!(db.sync_log("lib1").await.unwrap().len(), 1);
    assert_eq!(db.storage_used_by("acc1").await.unwrap(), 42);
    let listed = db.libraries_of("acc1").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].references, listed[0].members), (1, 1));
    // A second library for the account is a shared one; a second personal one is refused.
    db.create_shared_library("acc1", "Lab", 9).await.unwrap();
    assert_eq!(db.libraries_of("acc1").await.unwrap().len(), 2);
    db.close().await;
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let second_personal = sqlx::query(
        "INSERT INTO libraries (id, account_id, version, epoch, storage_used, created_at)
         VALUES ('lib2', 'acc1', 0, 1, 0, 9)",
    )
    .execute(&mut conn)
    .await;
    assert!(second_personal.is_err(), "one personal library per account");
    // Foreign keys still point at the rebuilt table: deleting the library takes its rows.
    if b == Backend::Sqlite {
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM libraries WHERE id = 'lib1'")
        .execute(&mut conn)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM objects")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
    conn.close().await.unwrap();
}
