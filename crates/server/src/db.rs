//! The server's database: a SQLite file under the data dir, created on first start.
//!
//! Invariants: the schema is only ever changed by the numbered migrations in
//! `migrations/sqlite/`, applied in order at start-up before any request is served; the file
//! uses WAL so that readers never wait for a writer.

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "refsync.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
}

/// Why the database could not be opened.
#[derive(Debug)]
pub enum DbError {
    CreateDir(PathBuf, std::io::Error),
    Open(PathBuf, sqlx::Error),
    Migrate(PathBuf, sqlx::migrate::MigrateError),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::CreateDir(p, e) => write!(f, "cannot create data dir {}: {e}", p.display()),
            DbError::Open(p, e) => write!(f, "cannot open database {}: {e}", p.display()),
            DbError::Migrate(p, e) => {
                write!(f, "cannot bring database {} up to date: {e}", p.display())
            }
        }
    }
}

impl std::error::Error for DbError {}

impl Db {
    /// Open `data_dir/refsync.db`, creating the folder and the file if needed, and apply any
    /// migrations not yet applied.
    pub async fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| DbError::CreateDir(data_dir.to_path_buf(), e))?;
        let path = data_dir.join(DB_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across application crashes; only a power cut can lose
            // the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| DbError::Open(path.clone(), e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| DbError::Migrate(path.clone(), e))?;
        Ok(Db { pool })
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

    /// Wait for open connections to finish and checkpoint the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
