//! The server's database: a SQLite file under the data dir by default, or PostgreSQL when a
//! `postgres://` URL is given.
//!
//! Invariants: both databases are reached through sqlx's Any driver with the same SQL text
//! (`$1` placeholders, BIGINT integers, TEXT everything else), so one store serves both and the
//! integration suite proves it on each. The schema is only ever changed by the numbered
//! migrations in `migrations/<backend>/`, applied at start-up before any request is served
//! (on PostgreSQL under sqlx's advisory lock, so several instances may start at once). A
//! SQLite file uses WAL so that readers never wait for a writer.

mod accounts;
mod files;
mod library;
mod sharing;
mod sync_log;

pub use accounts::{AccountRow, CreateAccount, SignInFailures};
pub use files::RecordFile;
pub use library::{BatchOutcome, CheckedWrite, LibraryRow, ObjectRow, StoredBatch};
pub use sharing::{Access, InvitationOutcome};

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "refsync.db";

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Where it is, for messages (a PostgreSQL URL without its password).
    location: String,
    /// Objects written through this instance since it last refreshed PostgreSQL's planner
    /// statistics ([`Db::wrote_objects`]).
    unanalyzed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Objects written between two refreshes of PostgreSQL's statistics of `objects`.
const ANALYZE_EVERY: u64 = 20_000;

/// Why the database could not be opened.
#[derive(Debug)]
pub enum DbError {
    CreateDir(PathBuf, std::io::Error),
    Open(String, sqlx::Error),
    Migrate(String, sqlx::migrate::MigrateError),
    UnsupportedUrl(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::CreateDir(p, e) => write!(f, "cannot create data dir {}: {e}", p.display()),
            DbError::Open(p, e) => write!(f, "cannot open database {p}: {e}"),
            DbError::Migrate(p, e) => write!(f, "cannot bring database {p} up to date: {e}"),
            DbError::UnsupportedUrl(u) => write!(
                f,
                "unsupported database URL {u:?}: give a postgres:// URL, or none for SQLite"
            ),
        }
    }
}

impl std::error::Error for DbError {}

/// A database URL with any password replaced by `***`, fit for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl Db {
    /// Open the database: PostgreSQL at `database_url` when given, else `data_dir/refsync.db`
    /// (creating the folder and the file). Applies any migrations not yet applied.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let (url, backend, location) = match database_url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                (u.to_string(), Backend::Postgres, redact_url(u))
            }
            Some(u) => return Err(DbError::UnsupportedUrl(redact_url(u))),
            None => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| DbError::CreateDir(data_dir.to_path_buf(), e))?;
                let path = data_dir.join(DB_FILE);
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                    path.display().to_string(),
                )
            }
        };
        let mut options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 8 } else { 16 });
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL + NORMAL is durable across application crashes (a SIGKILL mid-batch
                    // loses nothing committed); only a power cut can lose the last
                    // transactions, never corrupt the file.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .map_err(|e| DbError::Open(location.clone(), e))?;
        match backend {
            Backend::Sqlite => migrate_sqlite(&url)
                .await
                .map_err(|e| DbError::Migrate(location.clone(), e))?,
            Backend::Postgres => MIGRATE_POSTGRES
                .run(&pool)
                .await
                .map_err(|e| DbError::Migrate(location.clone(), e))?,
        }
        Ok(Db {
            pool,
            backend,
            location,
            unanalyzed: Default::default(),
        })
    }

    /// `n` objects were just written. On PostgreSQL, every [`ANALYZE_EVERY`] of them refresh
    /// the planner's statistics of `objects`, in the background. A table that grew faster
    /// than autovacuum looks (once a minute, and only past 10% growth) is planned as the small
    /// table it was: a batch's lookup of its keys then scanned the whole library, not the
    /// primary key, and a first push of 250,000 references took 19 s, each batch slower than
    /// the last (6.7 s with the refresh; docs/server.md, "Databases"). SQLite plans by its
    /// indexes and needs nothing. Two batches crossing the mark together may both refresh:
    /// harmless.
    pub fn wrote_objects(&self, n: u64) {
        use std::sync::atomic::Ordering;
        if self.backend != Backend::Postgres || n == 0 {
            return;
        }
        let before = self.unanalyzed.fetch_add(n, Ordering::Relaxed);
        if before + n < ANALYZE_EVERY {
            return;
        }
        self.unanalyzed.store(0, Ordering::Relaxed);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if let Err(e) = pool.execute("ANALYZE objects").await {
                tracing::warn!("refreshing the statistics of objects failed: {e}");
            }
        });
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// On PostgreSQL, send `payload` on the hints channel to every instance (this one too),
    /// outside any transaction: for notices of changes already committed.
    pub async fn notify(&self, payload: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::hints::CHANNEL)
                .bind(payload)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// `n` bind markers numbered from `first`, for statements built with many parameters,
    /// bound in the order they appear. SQLite gets anonymous `?`: it looks a named marker up
    /// by a linear scan, which made a 5,000-row insert quadratic.
    pub fn placeholders(&self, first: usize, n: usize) -> impl Iterator<Item = String> {
        let backend = self.backend;
        (first..first + n).map(move |i| match backend {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${i}"),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// When this database was first created (ISO 8601, UTC).
    pub async fn created_at(&self) -> Result<String, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM server_meta WHERE key = 'created_at'")
            .fetch_one(&self.pool)
            .await
    }

    /// Wait for open connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite's migrations, on a connection of their own with foreign keys off: SQLite changes a
/// table's constraints by rebuilding it (migration 0005), and dropping the old table with
/// foreign keys on would first delete, by cascade, every row that refers to it. Every foreign
/// key is checked once they ran, and the database refused if one points nowhere.
async fn migrate_sqlite(url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys = OFF").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    let ran = MIGRATE_SQLITE.run(&pool).await;
    let dangling = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&pool)
        .await
        .map(|rows| rows.len());
    pool.close().await;
    ran?;
    match dangling? {
        0 => Ok(()),
        n => Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(
            format!("{n} rows refer to rows that do not exist after the migrations"),
        ))),
    }
}

/// Whether an error is a unique-constraint violation (e.g. an email already registered).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// A new random id (128 bits, hex), for accounts and libraries.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Database integers are BIGINT; counts and versions are never negative.
fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
