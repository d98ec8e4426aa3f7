//! The library file: one SQLite database holding every object (with its synced base and dirty
//! mark, as core's sync engine needs them), the conflicts waiting for the user, attachments'
//! bytes, the sync link and history, and this device's settings. It is core's [`LocalStore`]
//! for native clients (the CLI), the way IndexedDB is the browser's.
//!
//! Invariants: every change is one SQLite transaction, so a killed process leaves the file as
//! it was before or after a whole write, never between; a transaction that writes begins with
//! `BEGIN IMMEDIATE`, so it waits for another `refsync` process's write (the busy timeout)
//! instead of failing when it would upgrade a read lock, and no transaction is held across a
//! network request. A person's write is read-modify-write in one transaction: it is carried
//! onto the copy stored at that moment (core's `edit::Write::over`), marks the object dirty and
//! bumps its `rev`; a sync page never overwrites an object whose `rev` moved after the engine
//! read it (another `refsync` process edited it meanwhile): the page skips it, it stays dirty,
//! and the next sync merges it. An object never synced (`base_version` 0) that is deleted
//! leaves nothing behind; a synced one leaves a dirty tombstone row (no `current`) until the
//! service has taken the delete. Conflicts, the outbox and settling follow core's
//! `sync::apply` rules, like every store.

use refsync_core::edit::Write;
use refsync_core::protocol::Batch;
use refsync_core::protocol::Object;
use refsync_core::protocol::{Action, Role};
use refsync_core::query::DuplicateSet;
use refsync_core::sync::apply::{
    after_push, edit_conflict, held_in_conflict, keep_conflict, refresh_conflict, settle,
    unlink_conflict,
};
use refsync_core::sync::{
    ConflictReason, ConflictRecord, ErrorKind, LibraryId, LinkState, LocalObject, LocalStore,
    Resolution, StoreChange, SyncError,
};
use refsync_core::{Attachment, Group, GroupSet, Key, ObjectKind, Reference, Style};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqlitePool};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `meta.format` says in a refsync library file.
const FORMAT: &str = "refsync-library";
/// The schema this build writes (and the newest it reads). Schema 2 names the library a file
/// holds (`meta.library`, core's `LibraryId` as JSON); a schema 1 file, from before libraries
/// had names, is the personal library and says so once opened (nothing else moves).
pub const SCHEMA: i64 = 2;
/// The name in `meta` of the library the file holds.
const LIBRARY: &str = "library";
/// The batch being sent (`meta`), kept until its answer is written (core's engine).
const OUTBOX: &str = "outbox";
/// Attachments' bytes waiting to upload (`meta`, a JSON list of SHA-256; core's files loop).
pub const WAITING_FILES: &str = "pending_uploads";
/// A shared library's copy: the account's role there (`meta`), as the service last said.
pub const ROLE: &str = "role";

const SCHEMA_SQL: &str = "
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE objects (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    base_version INTEGER NOT NULL DEFAULT 0,
    base TEXT,
    current TEXT,
    dirty INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX objects_dirty ON objects (dirty) WHERE dirty = 1;
CREATE TABLE conflicts (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    local TEXT,
    remote TEXT,
    remote_version INTEGER NOT NULL,
    fields TEXT NOT NULL,
    -- The copy both sides started from, so a merged resolution keeps both sides' clean edits.
    base TEXT,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE files (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
";

/// Why the library file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No library at that path.
    Missing(PathBuf),
    /// A file is there, but not a refsync library (or a damaged one).
    NotALibrary(PathBuf, String),
    /// Reading or writing failed (disk full, locked, ...).
    Io(String),
    /// A person's edit of a shared library their role does not let them change.
    ReadOnly(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Missing(p) => write!(
                f,
                "there is no library at {} (make one with `refsync init`, or pick another with --library)",
                p.display()
            ),
            StoreError::NotALibrary(p, why) => {
                write!(f, "{} is not a refsync library ({why})", p.display())
            }
            StoreError::Io(why) => write!(f, "the library file could not be used: {why}"),
            StoreError::ReadOnly(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StoreError {}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

fn local(e: StoreError) -> SyncError {
    SyncError::new(ErrorKind::Local, e.to_string())
}

/// Every live object, read at once (what the commands query).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub references: Vec<Reference>,
    pub groups: HashMap<Key, Group>,
    pub sets: HashMap<Key, GroupSet>,
    pub attachments: HashMap<Key, Attachment>,
    /// Citation styles added to the library.
    pub styles: HashMap<Key, Style>,
}

impl Snapshot {
    /// Every live object, as core's object.
    pub fn into_objects(self) -> impl Iterator<Item = Object> {
        self.references
            .into_iter()
            .map(Object::Reference)
            .chain(self.groups.into_values().map(Object::Group))
            .chain(self.sets.into_values().map(Object::GroupSet))
            .chain(self.attachments.into_values().map(Object::Attachment))
            .chain(self.styles.into_values().map(Object::Style))
    }
}

impl refsync_core::edit::actions::Held for Snapshot {
    fn references(&self) -> Box<dyn Iterator<Item = &Reference> + '_> {
        Box::new(self.references.iter())
    }
    fn groups(&self) -> &HashMap<Key, Group> {
        &self.groups
    }
    fn attachments(&self) -> &HashMap<Key, Attachment> {
        &self.attachments
    }
}

pub struct LibraryFile {
    pool: SqlitePool,
    path: PathBuf,
    /// Each object's `rev` when the sync engine read it (see the module's invariants).
    read_revs: RefCell<HashMap<(ObjectKind, Key), i64>>,
}

impl LibraryFile {
    /// Make a new, empty personal library at `path` (which must not exist yet).
    pub async fn create(path: &Path, device_id: &str) -> Result<LibraryFile, StoreError> {
        LibraryFile::create_library(path, device_id, &LibraryId::Personal).await
    }

    /// Make a new, empty file at `path` holding `library`.
    pub async fn create_library(
        path: &Path,
        device_id: &str,
        library: &LibraryId,
    ) -> Result<LibraryFile, StoreError> {
        if path.exists() {
            return Err(StoreError::Io(format!(
                "{} already exists; refsync will not overwrite it",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let lib = LibraryFile::connect(path, true).await?;
        let mut tx = lib.begin_write().await?;
        sqlx::raw_sql(SCHEMA_SQL)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
        for (name, value) in [
            ("format", FORMAT.to_string()),
            ("schema", SCHEMA.to_string()),
            ("device_id", device_id.to_string()),
            (LIBRARY, library.to_text()),
        ] {
            sqlx::query("INSERT INTO meta (name, value) VALUES (?, ?)")
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(io)?;
        }
        tx.commit().await.map_err(io)?;
        Ok(lib)
    }

    /// Open the library at `path`.
    pub async fn open(path: &Path) -> Result<LibraryFile, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let lib = LibraryFile::connect(path, false).await?;
        let not = |why: String| StoreError::NotALibrary(path.to_path_buf(), why);
        let format = lib.meta("format").await.map_err(|e| not(e.to_string()))?;
        if format.as_deref() != Some(FORMAT) {
            return Err(not("it has no refsync library inside".into()));
        }
        let schema: i64 = lib
            .meta("schema")
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if schema > SCHEMA {
            return Err(not(format!(
                "it was made by a newer refsync (schema {schema}); update refsync to open it"
            )));
        }
        if schema < 2 {
            // Schema 1: the personal library, named from now on (one transaction, so a killed
            // process leaves schema 1 to be upgraded next time).
            let mut tx = lib.begin_write().await?;
            for (name, value) in [
                (LIBRARY, LibraryId::Personal.to_text()),
                ("schema", SCHEMA.to_string()),
            ] {
                sqlx::query("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)")
                    .bind(name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await
                    .map_err(io)?;
            }
            tx.commit().await.map_err(io)?;
        }
        Ok(lib)
    }

    /// The library this file holds.
    pub async fn library(&self) -> Result<LibraryId, StoreError> {
        Ok(self
            .meta(LIBRARY)
            .await?
            .and_then(|t| LibraryId::from_text(&t))
            .unwrap_or(LibraryId::Personal))
    }

    async fn connect(path: &Path, create: bool) -> Result<LibraryFile, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // Another refsync (a sync in another terminal) may hold the write lock a moment.
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::NotALibrary(path.to_path_buf(), e.to_string()))?;
        Ok(LibraryFile {
            pool,
            path: path.to_path_buf(),
            read_revs: RefCell::new(HashMap::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finish every write and close the file (a plain drop may leave the WAL to the next
    /// open, which is harmless but slower).
    pub async fn close(self) {
        self.pool.close().await;
    }

    pub async fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM meta WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(io)
    }

    pub async fn set_meta(&self, name: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => sqlx::query(
                "INSERT INTO meta (name, value) VALUES (?, ?)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(v)
            .execute(&self.pool)
            .await
            .map_err(io)?,
            None => sqlx::query("DELETE FROM meta WHERE name = ?")
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(io)?,
        };
        Ok(())
    }

    /// Every live object.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let rows = sqlx::query("SELECT kind, key, current FROM objects WHERE current IS NOT NULL")
            .fetch_all(&self.pool)
            .await
            .map_err(io)?;
        let mut snap = Snapshot::default();
        for row in rows {
            let (kind, key) = id_of(&row)?;
            let text: String = row.try_get("current").map_err(io)?;
            match decode(kind, key, &text)? {
                Object::Reference(r) => snap.references.push(r),
                Object::Group(g) => {
                    snap.groups.insert(g.key, g);
                }
                Object::GroupSet(s) => {
                    snap.sets.insert(s.key, s);
                }
                Object::Attachment(a) => {
                    snap.attachments.insert(a.key, a);
                }
                Object::Style(s) => {
                    snap.styles.insert(s.key, s);
                }
            }
        }
        Ok(snap)
    }

    /// Whether a person may change this library: a shared library's copy records the role the
    /// service last gave, and a viewer's change is refused here, naming the role. A courtesy:
    /// the service refuses it anyway, but here nothing is kept only to be refused.
    pub async fn writable(&self) -> Result<(), StoreError> {
        match self.meta(ROLE).await?.as_deref().and_then(Role::parse) {
            Some(role) if !role.allows(Action::Write) => Err(StoreError::ReadOnly(format!(
                "this shared library is read-only for you: {}. Copy references into your own library to change them.",
                role.describe()
            ))),
            _ => Ok(()),
        }
    }

    /// A person's changes, all in one transaction: each object becomes dirty (or, never
    /// synced and deleted, disappears).
    pub async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.write_with_progress(writes, |_| {}).await
    }

    /// [`LibraryFile::write`], calling `progress` with how many are written so far (every
    /// thousand, and at the end): still one transaction, so an import cut off writes nothing.
    pub async fn write_with_progress(
        &self,
        writes: Vec<Write>,
        mut progress: impl FnMut(usize),
    ) -> Result<(), StoreError> {
        self.writable().await?;
        let total = writes.len();
        let mut tx = self.begin_write().await?;
        let conflicted = conflict_ids(&mut tx).await?;
        for (done, w) in writes.into_iter().enumerate() {
            if done.is_multiple_of(1000) {
                progress(done);
            }
            let (kind, key) = w.target();
            let row = sqlx::query(
                "SELECT base_version, base, current FROM objects WHERE kind = ? AND key = ?",
            )
            .bind(kind.as_str())
            .bind(key.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(io)?;
            let (base_version, base, stored): (i64, Option<String>, Option<String>) = match &row {
                Some(r) => (
                    r.try_get("base_version").map_err(io)?,
                    r.try_get("base").map_err(io)?,
                    r.try_get("current").map_err(io)?,
                ),
                None => (0, None, None),
            };
            // Carried onto the copy stored now: a sync (or another refsync) may have written a
            // newer one since the command read it.
            let current = match &w {
                Write::Change { .. } => w.over(decode_opt(kind, key, stored)?.as_ref()),
                other => other.over(None),
            };
            if conflicted.contains(&(kind, key)) {
                if let Some(mut record) = conflict_in(&mut tx, kind, key).await? {
                    edit_conflict(&mut record, &w);
                    put_conflict(&mut tx, &record).await?;
                }
            }
            let current = encode(&current)?;
            if current.is_none() && base_version == 0 {
                // Never synced: nothing to tell the service.
                sqlx::query("DELETE FROM objects WHERE kind = ? AND key = ?")
                    .bind(kind.as_str())
                    .bind(key.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(io)?;
                continue;
            }
            let dirty = base_version == 0 || current != base;
            sqlx::query(
                "INSERT INTO objects (kind, key, base_version, base, current, dirty, rev)
                 VALUES (?, ?, 0, NULL, ?, ?, 1)
                 ON CONFLICT (kind, key) DO UPDATE
                 SET current = excluded.current, dirty = excluded.dirty, rev = rev + 1",
            )
            .bind(kind.as_str())
            .bind(key.as_str())
            .bind(current)
            .bind(dirty)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
        }
        tx.commit().await.map_err(io)?;
        progress(total);
        Ok(())
    }

    /// A transaction that will write: it takes the write lock at once, waiting (the busy
    /// timeout) while another `refsync` process writes, rather than failing later.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(io)
    }

    /// How many objects wait to be sent.
    pub async fn dirty_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE dirty = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(io)?;
        Ok(n as u64)
    }

    /// Keys of the objects of `kind` that wait to be sent.
    pub async fn dirty_keys(&self, kind: ObjectKind) -> Result<Vec<Key>, StoreError> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT key FROM objects WHERE dirty = 1 AND kind = ?")
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(io)?;
        keys.iter().map(|k| Key::parse(k).map_err(io)).collect()
    }

    // --- attachments' bytes ---

    pub async fn put_file(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO files (sha256, bytes) VALUES (?, ?)")
            .bind(sha256)
            .bind(bytes)
            .execute(&self.pool)
            .await
            .map_err(io)?;
        Ok(())
    }

    pub async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT bytes FROM files WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(io)
    }

    pub async fn file_shas(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT sha256 FROM files")
            .fetch_all(&self.pool)
            .await
            .map_err(io)
    }

    /// Drop bytes no live attachment points at any more.
    pub async fn prune_files(&self) -> Result<(), StoreError> {
        let wanted: std::collections::HashSet<String> = self
            .snapshot()
            .await?
            .attachments
            .into_values()
            .map(|a| a.sha256)
            .collect();
        for sha in self.file_shas().await? {
            if !wanted.contains(&sha) {
                sqlx::query("DELETE FROM files WHERE sha256 = ?")
                    .bind(sha)
                    .execute(&self.pool)
                    .await
                    .map_err(io)?;
            }
        }
        Ok(())
    }

    // --- conflicts ---

    /// Every conflict waiting for the user, oldest key first.
    pub async fn conflicts(&self) -> Result<Vec<ConflictRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM conflicts ORDER BY kind, key")
            .fetch_all(&self.pool)
            .await
            .map_err(io)?;
        rows.iter().map(conflict_of).collect()
    }

    /// Settle a conflict as the person chose, seeing it as `shown`: the choice becomes an
    /// ordinary edit on the newest online copy this library holds (core's `apply::settle`),
    /// synced like any other, and the conflict is gone, in one transaction.
    pub async fn resolve(
        &self,
        shown: &ConflictRecord,
        resolution: Resolution,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(stored) = conflict_in(&mut tx, shown.kind, shown.key).await? else {
            return Err(StoreError::Io(format!(
                "{} is not in Sync Conflicts any more",
                shown.key
            )));
        };
        let row = sqlx::query("SELECT * FROM objects WHERE kind = ? AND key = ?")
            .bind(shown.kind.as_str())
            .bind(shown.key.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(io)?;
        let held = row.as_ref().map(local_object).transpose()?.map(|(o, _)| o);
        let settled = settle(&stored, shown, held.as_ref(), resolution);
        sqlx::query("DELETE FROM conflicts WHERE kind = ? AND key = ?")
            .bind(shown.kind.as_str())
            .bind(shown.key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(io)?;
        put_object(&mut tx, &settled, true).await?;
        tx.commit().await.map_err(io)
    }

    // --- sync history ---

    /// Keep one sync's line (JSON), and only the last 20.
    pub async fn add_history(&self, entry: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO history (entry) VALUES (?)")
            .bind(entry)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
        sqlx::query(
            "DELETE FROM history WHERE id NOT IN (SELECT id FROM history ORDER BY id DESC LIMIT 20)",
        )
        .execute(&mut *tx)
        .await
        .map_err(io)?;
        tx.commit().await.map_err(io)
    }

    /// The last syncs, newest first.
    pub async fn history(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT entry FROM history ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(io)
    }

    fn remember(&self, o: &LocalObject, rev: i64) {
        self.read_revs.borrow_mut().insert((o.kind, o.key), rev);
    }

    async fn read(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, StoreError> {
        let row = sqlx::query("SELECT * FROM objects WHERE kind = ? AND key = ?")
            .bind(kind.as_str())
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(io)?;
        match row {
            Some(row) => {
                let (o, rev) = local_object(&row)?;
                self.remember(&o, rev);
                Ok(Some(o))
            }
            None => {
                self.read_revs.borrow_mut().insert((kind, key), 0);
                Ok(None)
            }
        }
    }
}

fn id_of(row: &SqliteRow) -> Result<(ObjectKind, Key), StoreError> {
    let kind: String = row.try_get("kind").map_err(io)?;
    let key: String = row.try_get("key").map_err(io)?;
    let kind = ObjectKind::parse(&kind).ok_or_else(|| io(format!("unknown kind {kind}")))?;
    Ok((kind, Key::parse(&key).map_err(io)?))
}

fn decode(kind: ObjectKind, key: Key, text: &str) -> Result<Object, StoreError> {
    Object::from_json(kind, key, text)
        .map_err(|e| io(format!("the {} {key} is damaged: {e}", kind.as_str())))
}

fn decode_opt(
    kind: ObjectKind,
    key: Key,
    text: Option<String>,
) -> Result<Option<Object>, StoreError> {
    text.map(|t| decode(kind, key, &t)).transpose()
}

fn encode(o: &Option<Object>) -> Result<Option<String>, StoreError> {
    o.as_ref().map(|o| o.to_json().map_err(io)).transpose()
}

fn local_object(row: &SqliteRow) -> Result<(LocalObject, i64), StoreError> {
    let (kind, key) = id_of(row)?;
    let base_version: i64 = row.try_get("base_version").map_err(io)?;
    let o = LocalObject {
        kind,
        key,
        base_version: base_version as u64,
        base: decode_opt(kind, key, row.try_get("base").map_err(io)?)?,
        current: decode_opt(kind, key, row.try_get("current").map_err(io)?)?,
        dirty: row.try_get("dirty").map_err(io)?,
    };
    Ok((o, row.try_get("rev").map_err(io)?))
}

fn conflict_of(row: &SqliteRow) -> Result<ConflictRecord, StoreError> {
    let (kind, key) = id_of(row)?;
    let reason: String = row.try_get("reason").map_err(io)?;
    let reason = ConflictReason::from_id(&reason);
    let fields: String = row.try_get("fields").map_err(io)?;
    let remote_version: i64 = row.try_get("remote_version").map_err(io)?;
    Ok(ConflictRecord {
        kind,
        key,
        reason,
        local: decode_opt(kind, key, row.try_get("local").map_err(io)?)?,
        remote: decode_opt(kind, key, row.try_get("remote").map_err(io)?)?,
        remote_version: remote_version as u64,
        fields: serde_json::from_str(&fields).map_err(io)?,
        base: decode_opt(kind, key, row.try_get("base").map_err(io)?)?,
    })
}

/// The `(kind, key)` of every waiting conflict (few: read once per transaction).
async fn conflict_ids(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<HashSet<(ObjectKind, Key)>, StoreError> {
    let rows = sqlx::query("SELECT kind, key FROM conflicts")
        .fetch_all(&mut **tx)
        .await
        .map_err(io)?;
    rows.iter().map(id_of).collect()
}

async fn conflict_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    kind: ObjectKind,
    key: Key,
) -> Result<Option<ConflictRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM conflicts WHERE kind = ? AND key = ?")
        .bind(kind.as_str())
        .bind(key.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(io)?;
    row.as_ref().map(conflict_of).transpose()
}

async fn put_conflict(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    record: &ConflictRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO conflicts
         (kind, key, reason, local, remote, remote_version, fields, base)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(record.kind.as_str())
    .bind(record.key.as_str())
    .bind(record.reason.id())
    .bind(encode(&record.local)?)
    .bind(encode(&record.remote)?)
    .bind(record.remote_version as i64)
    .bind(serde_json::to_string(&record.fields).map_err(io)?)
    .bind(encode(&record.base)?)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

/// Keep a waiting conflict's online side current with the object as now written.
async fn refresh(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    o: &LocalObject,
) -> Result<(), StoreError> {
    if let Some(mut record) = conflict_in(tx, o.kind, o.key).await? {
        if refresh_conflict(&mut record, o.base_version, o.base.as_ref()) {
            put_conflict(tx, &record).await?;
        }
    }
    Ok(())
}

/// Write `o` as the engine or a resolution gives it; `bump` marks it as a person's change.
async fn put_object(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    o: &LocalObject,
    bump: bool,
) -> Result<(), StoreError> {
    if o.current.is_none() && o.base.is_none() && !o.dirty {
        sqlx::query("DELETE FROM objects WHERE kind = ? AND key = ?")
            .bind(o.kind.as_str())
            .bind(o.key.as_str())
            .execute(&mut **tx)
            .await
            .map_err(io)?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO objects (kind, key, base_version, base, current, dirty, rev)
         VALUES (?, ?, ?, ?, ?, ?, 0)
         ON CONFLICT (kind, key) DO UPDATE
         SET base_version = excluded.base_version, base = excluded.base,
             current = excluded.current, dirty = excluded.dirty, rev = rev + ?",
    )
    .bind(o.kind.as_str())
    .bind(o.key.as_str())
    .bind(o.base_version as i64)
    .bind(encode(&o.base)?)
    .bind(encode(&o.current)?)
    .bind(o.dirty)
    .bind(i64::from(bump))
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

impl LibraryFile {
    /// Whether the object's `rev` is still what the engine read (a person did not write it
    /// since, from another refsync process).
    async fn unchanged_since_read(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        kind: ObjectKind,
        key: Key,
    ) -> Result<bool, StoreError> {
        let Some(seen) = self.read_revs.borrow().get(&(kind, key)).copied() else {
            return Ok(true);
        };
        let now: Option<i64> =
            sqlx::query_scalar("SELECT rev FROM objects WHERE kind = ? AND key = ?")
                .bind(kind.as_str())
                .bind(key.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(io)?;
        Ok(now.unwrap_or(0) == seen)
    }
}

impl LocalStore for LibraryFile {
    async fn link(&self) -> Result<Option<LinkState>, SyncError> {
        let Some(text) = self.meta("link").await.map_err(local)? else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            SyncError::new(ErrorKind::Local, format!("the sync link is damaged: {e}"))
        })?;
        Ok(Some(LinkState {
            library_id: v["library_id"].as_str().unwrap_or_default().to_string(),
            epoch: v["epoch"].as_u64().unwrap_or(0),
            synced_version: v["synced_version"].as_u64().unwrap_or(0),
        }))
    }

    async fn set_link(&self, link: Option<LinkState>) -> Result<(), SyncError> {
        let Some(link) = link else {
            // Unlinked: keep the data, forget what was synced, so a new link sends it all;
            // waiting conflicts stay for the person to settle.
            let mut tx = self.begin_write().await.map_err(local)?;
            for sql in [
                "DELETE FROM objects WHERE current IS NULL",
                "UPDATE objects SET base_version = 0, base = NULL, dirty = 1",
                "DELETE FROM meta WHERE name IN ('link', 'outbox')",
            ] {
                sqlx::query(sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| local(io(e)))?;
            }
            let rows = sqlx::query("SELECT * FROM conflicts")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| local(io(e)))?;
            for row in &rows {
                let mut record = conflict_of(row).map_err(local)?;
                unlink_conflict(&mut record);
                put_conflict(&mut tx, &record).await.map_err(local)?;
            }
            return tx.commit().await.map_err(|e| local(io(e)));
        };
        let text = serde_json::json!({
            "library_id": link.library_id,
            "epoch": link.epoch,
            "synced_version": link.synced_version,
        })
        .to_string();
        self.set_meta("link", Some(&text)).await.map_err(local)
    }

    async fn outbox(&self) -> Result<Option<Batch>, SyncError> {
        let Some(text) = self.meta(OUTBOX).await.map_err(local)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SyncError::new(ErrorKind::Local, format!("the outbox is damaged: {e}")))
    }

    async fn set_outbox(&self, batch: &Batch) -> Result<(), SyncError> {
        let text = serde_json::to_string(batch).map_err(|e| local(io(e)))?;
        self.set_meta(OUTBOX, Some(&text)).await.map_err(local)
    }

    async fn dirty(&self, limit: usize) -> Result<Vec<LocalObject>, SyncError> {
        let rows = sqlx::query("SELECT * FROM objects WHERE dirty = 1 ORDER BY kind, key LIMIT ?")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| local(io(e)))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (o, rev) = local_object(row).map_err(local)?;
            self.remember(&o, rev);
            out.push(o);
        }
        Ok(out)
    }

    async fn get(&self, kind: ObjectKind, key: Key) -> Result<Option<LocalObject>, SyncError> {
        self.read(kind, key).await.map_err(local)
    }

    async fn apply(
        &self,
        changes: Vec<StoreChange>,
        synced_version: Option<u64>,
    ) -> Result<(), SyncError> {
        let fail = |e: StoreError| local(e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut conflicted = conflict_ids(&mut tx).await.map_err(fail)?;
        for change in changes {
            match change {
                StoreChange::Put(o) => {
                    if self
                        .unchanged_since_read(&mut tx, o.kind, o.key)
                        .await
                        .map_err(fail)?
                    {
                        put_object(&mut tx, &o, false).await.map_err(fail)?;
                        if conflicted.contains(&(o.kind, o.key)) {
                            refresh(&mut tx, &o).await.map_err(fail)?;
                        }
                    }
                }
                StoreChange::Pushed {
                    kind,
                    key,
                    pushed,
                    version,
                } => {
                    let current: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT current FROM objects WHERE kind = ? AND key = ?",
                    )
                    .bind(kind.as_str())
                    .bind(key.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| fail(io(e)))?;
                    let current = decode_opt(kind, key, current.flatten()).map_err(fail)?;
                    let o = after_push(kind, key, current, pushed, version);
                    put_object(&mut tx, &o, false).await.map_err(fail)?;
                    if conflicted.contains(&(kind, key)) {
                        refresh(&mut tx, &o).await.map_err(fail)?;
                    }
                }
                StoreChange::Conflict(record) => {
                    if !self
                        .unchanged_since_read(&mut tx, record.kind, record.key)
                        .await
                        .map_err(fail)?
                    {
                        continue;
                    }
                    put_object(&mut tx, &held_in_conflict(&record), false)
                        .await
                        .map_err(fail)?;
                    let existing = conflict_in(&mut tx, record.kind, record.key)
                        .await
                        .map_err(fail)?;
                    conflicted.insert((record.kind, record.key));
                    let kept = keep_conflict(existing, *record);
                    put_conflict(&mut tx, &kept).await.map_err(fail)?;
                }
                // The desktop library shows no "last changed by" (its activity is
                // `refsync share activity`).
                StoreChange::Authored { .. } => {}
                StoreChange::Answered => {
                    sqlx::query("DELETE FROM meta WHERE name = ?")
                        .bind(OUTBOX)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| fail(io(e)))?;
                }
            }
        }
        if let Some(v) = synced_version {
            let link =
                sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE name = 'link'")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| fail(io(e)))?;
            if let Some(text) = link {
                let mut value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| fail(io(e)))?;
                value["synced_version"] = v.into();
                sqlx::query("UPDATE meta SET value = ? WHERE name = 'link'")
                    .bind(value.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| fail(io(e)))?;
            }
        }
        tx.commit().await.map_err(|e| fail(io(e)))?;
        self.read_revs.borrow_mut().clear();
        Ok(())
    }

    async fn references(&self) -> Result<Vec<Reference>, SyncError> {
        Ok(self.snapshot().await.map_err(local)?.references)
    }

    async fn record_duplicates(&self, sets: Vec<DuplicateSet>) -> Result<(), SyncError> {
        let keys: Vec<Vec<&str>> = sets
            .iter()
            .map(|s| s.keys.iter().map(|k| k.as_str()).collect())
            .collect();
        let text = serde_json::to_string(&keys).map_err(|e| local(io(e)))?;
        self.set_meta("duplicates_after_link", Some(&text))
            .await
            .map_err(local)
    }
}

impl refsync_core::sync::files::LocalFiles for LibraryFile {
    type Bytes = Vec<u8>;

    async fn attachments(&self) -> Result<Vec<refsync_core::Attachment>, SyncError> {
        Ok(self
            .snapshot()
            .await
            .map_err(local)?
            .attachments
            .into_values()
            .collect())
    }

    async fn changed_attachments(&self) -> Result<Vec<Key>, SyncError> {
        self.dirty_keys(ObjectKind::Attachment).await.map_err(local)
    }

    async fn waiting(&self) -> Result<std::collections::BTreeSet<String>, SyncError> {
        Ok(match self.meta(WAITING_FILES).await.map_err(local)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Default::default(),
        })
    }

    async fn set_waiting(
        &self,
        waiting: &std::collections::BTreeSet<String>,
    ) -> Result<(), SyncError> {
        let json = serde_json::to_string(waiting).map_err(|e| local(io(e)))?;
        self.set_meta(WAITING_FILES, Some(&json))
            .await
            .map_err(local)
    }

    async fn held(&self) -> Result<HashSet<String>, SyncError> {
        Ok(self.file_shas().await.map_err(local)?.into_iter().collect())
    }

    async fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, SyncError> {
        self.file(sha256).await.map_err(local)
    }

    async fn keep(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), SyncError> {
        self.put_file(sha256, &bytes).await.map_err(local)
    }

    async fn sha256(&self, bytes: &Vec<u8>) -> Result<String, SyncError> {
        Ok(sha256_hex(bytes))
    }
}

/// Lower-case hex SHA-256 of `bytes`: how an attachment's bytes are named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use refsync_core::RefType;

    fn reference(key: Key, title: &str) -> Object {
        let mut r = Reference::new(key, RefType::JournalArticle, 1);
        r.set(refsync_core::Field::Title, title);
        Object::Reference(r)
    }

    /// Issue 22: a file made by the previous version (schema 1, before libraries had names)
    /// opens as the personal library with everything in it, and says so from then on.
    #[tokio::test]
    async fn a_schema_1_file_opens_as_the_personal_library_with_everything_in_it() {
        // Schema 1 exactly as it shipped.
        const SCHEMA_1: &str = "
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE objects (kind TEXT NOT NULL, key TEXT NOT NULL,
    base_version INTEGER NOT NULL DEFAULT 0, base TEXT, current TEXT,
    dirty INTEGER NOT NULL DEFAULT 0, rev INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE INDEX objects_dirty ON objects (dirty) WHERE dirty = 1;
CREATE TABLE conflicts (kind TEXT NOT NULL, key TEXT NOT NULL, reason TEXT NOT NULL,
    local TEXT, remote TEXT, remote_version INTEGER NOT NULL, fields TEXT NOT NULL, base TEXT,
    PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE files (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
INSERT INTO meta VALUES ('format', 'refsync-library'), ('schema', '1'), ('device_id', 'd'),
    ('link', '{\"library_id\":\"lib-1\",\"epoch\":2,\"synced_version\":7}');
";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.refsync");
        let key = Key::new(5, [5; 10]);
        {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true),
                )
                .await
                .unwrap();
            sqlx::raw_sql(SCHEMA_1).execute(&pool).await.unwrap();
            let Object::Reference(r) = reference(key, "Kept from schema 1") else {
                unreachable!()
            };
            sqlx::query("INSERT INTO objects (kind, key, current, dirty) VALUES (?, ?, ?, 1)")
                .bind(ObjectKind::Reference.as_str())
                .bind(key.as_str())
                .bind(serde_json::to_string(&r).unwrap())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        let lib = LibraryFile::open(&path).await.unwrap();
        assert_eq!(lib.library().await.unwrap(), LibraryId::Personal);
        assert_eq!(lib.meta("schema").await.unwrap().as_deref(), Some("2"));
        let snap = lib.snapshot().await.unwrap();
        assert_eq!(snap.references.len(), 1);
        assert_eq!(snap.references[0].title(), "Kept from schema 1");
        assert_eq!(lib.dirty(10).await.unwrap().len(), 1, "still to upload");
        let link = lib.link().await.unwrap().unwrap();
        assert_eq!(
            (link.library_id.as_str(), link.epoch, link.synced_version),
            ("lib-1", 2, 7)
        );
        lib.close().await;
        // Opened again: nothing moves twice.
        let again = LibraryFile::open(&path).await.unwrap();
        assert_eq!(again.snapshot().await.unwrap().references.len(), 1);
        // And a file made for a shared library says which.
        let shared = LibraryId::Shared { id: "lab".into() };
        let lab = LibraryFile::create_library(&dir.path().join("lab.refsync"), "d", &shared)
            .await
            .unwrap();
        assert_eq!(lab.library().await.unwrap(), shared);
    }

    /// Issue 20, defect 3: a command builds its change from the library as it read it; a sync
    /// (in another terminal) may write a newer copy before the change is written. The change
    /// is carried onto the newer copy, so what the sync brought is not reverted (and pushed).
    #[tokio::test]
    async fn an_edit_read_before_a_sync_wrote_keeps_what_the_sync_brought() {
        let dir = tempfile::tempdir().unwrap();
        let lib = LibraryFile::create(&dir.path().join("l.refsync"), "d")
            .await
            .unwrap();
        let key = Key::new(5, [5; 10]);
        let read = reference(key, "Read");
        lib.write(vec![Write::Put(read.clone())]).await.unwrap();
        // The sync writes the service's newer copy (another device added the year).
        let Object::Reference(mut newer) = read.clone() else {
            unreachable!()
        };
        newer.set(refsync_core::Field::Year, "1962");
        let newer = Object::Reference(newer);
        lib.get(ObjectKind::Reference, key).await.unwrap();
        lib.apply(
            vec![StoreChange::Put(LocalObject {
                kind: ObjectKind::Reference,
                key,
                base_version: 4,
                base: Some(newer.clone()),
                current: Some(newer),
                dirty: false,
            })],
            None,
        )
        .await
        .unwrap();
        // The command's change, made from what it read before, lands now.
        lib.write(vec![Write::change(read, reference(key, "Typed"))])
            .await
            .unwrap();
        let now = lib.get(ObjectKind::Reference, key).await.unwrap().unwrap();
        let Some(Object::Reference(r)) = now.current else {
            panic!("kept")
        };
        assert_eq!((r.title(), r.year()), ("Typed", "1962"));
        assert!(now.dirty && now.base_version == 4);
    }

    #[tokio::test]
    async fn a_sync_page_never_overwrites_an_edit_made_after_the_engine_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let lib = LibraryFile::create(&dir.path().join("l.refsync"), "d")
            .await
            .unwrap();
        let key = Key::new(5, [5; 10]);
        lib.write(vec![Write::Put(reference(key, "Mine"))])
            .await
            .unwrap();
        // The engine reads the object for a page...
        let read = lib.get(ObjectKind::Reference, key).await.unwrap().unwrap();
        assert!(read.dirty);
        // ...another refsync process edits it...
        lib.write(vec![Write::Put(reference(key, "Edited meanwhile"))])
            .await
            .unwrap();
        // ...and the page's write for it is skipped.
        let theirs = reference(key, "From the service");
        lib.apply(
            vec![StoreChange::Put(LocalObject {
                kind: ObjectKind::Reference,
                key,
                base_version: 7,
                base: Some(theirs.clone()),
                current: Some(theirs),
                dirty: false,
            })],
            None,
        )
        .await
        .unwrap();
        let now = lib.get(ObjectKind::Reference, key).await.unwrap().unwrap();
        assert_eq!(now.current, Some(reference(key, "Edited meanwhile")));
        assert!(now.dirty, "still to be sent");
        // Without an edit in between, the page's write lands.
        let theirs = reference(key, "From the service");
        lib.apply(
            vec![StoreChange::Put(LocalObject {
                kind: ObjectKind::Reference,
                key,
                base_version: 8,
                base: Some(theirs.clone()),
                current: Some(theirs.clone()),
                dirty: false,
            })],
            None,
        )
        .await
        .unwrap();
        let now = lib.get(ObjectKind::Reference, key).await.unwrap().unwrap();
        assert_eq!(now.current, Some(theirs));
        assert_eq!(now.base_version, 8);
    }
}
