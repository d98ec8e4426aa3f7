//! The sync protocol's wire types (docs/server.md), shared by the service and its clients.
//!
//! Invariants: every type here is the JSON a request or response carries, field for field;
//! fields added later default when absent so that an older client keeps working with a newer
//! service; error codes are stable snake_case ids that clients match on, and a code this build
//! does not know reads as [`ErrorCode::Unknown`] instead of failing the whole response.
//!
//! Versions: a library's version only goes up; every write that changes anything raises it by
//! one and stamps each object it touched with the new version. Version 0 means "never written".

use crate::{Attachment, Group, GroupSet, Key, ObjectKind, Reference, Style};
use serde::{Deserialize, Serialize};

pub mod sharing;
pub use sharing::*;

/// Every library route is under this prefix.
pub const API_V1: &str = "/api/v1";

/// The header that carries the link epoch a client holds on every library request; a stale
/// epoch is answered with [`ErrorCode::RelinkRequired`].
pub const EPOCH_HEADER: &str = "x-refsync-epoch";

/// Most writes one batch may carry.
pub const MAX_BATCH_WRITES: usize = 5_000;
/// Most bytes of one object's JSON in a batch (a reference with a book's worth of notes fits):
/// what an object carries beyond the model (fields from newer versions) is bounded too.
pub const MAX_OBJECT_BYTES: usize = 2_000_000;
/// Most objects one page of changes may carry, and the page size when none is asked for.
pub const MAX_PAGE: usize = 10_000;
pub const DEFAULT_PAGE: usize = 5_000;

/// The query string of `GET .../changes` for a client: everything after `since`, a page of
/// [`DEFAULT_PAGE`], from `cursor` when one is given.
pub fn changes_query(since: u64, cursor: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("since", since.to_string()),
        ("limit", DEFAULT_PAGE.to_string()),
    ];
    if let Some(c) = cursor {
        query.push(("cursor", c.to_string()));
    }
    query
}
/// Shortest password an account accepts.
pub const MIN_PASSWORD_LEN: usize = 10;

/// The stable code of an error; what a client matches on (the message is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not signed in, a wrong password, or a token that expired or was revoked (401).
    Auth,
    /// The account's storage quota would be exceeded (507).
    StorageLimit,
    /// The account's reference limit would be exceeded (403).
    ReferenceLimit,
    /// The caller's role in a shared library does not allow this (403); the message names it.
    Forbidden,
    /// The link epoch the client holds is stale: the library was reset elsewhere (409).
    RelinkRequired,
    /// The thing already exists (409), e.g. an account for that email.
    Conflict,
    /// The request is malformed or breaks a rule; the message says which (400).
    Invalid,
    /// The request body is bigger than the server accepts (413).
    TooLarge,
    /// Too many attempts; wait as long as `Retry-After` says (429).
    RateLimited,
    /// No such object, or one the caller may not see (404).
    NotFound,
    /// A fault on the server's side (500, 503).
    Internal,
    /// A code this build does not know (from a newer service).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::Auth,
        ErrorCode::StorageLimit,
        ErrorCode::ReferenceLimit,
        ErrorCode::Forbidden,
        ErrorCode::RelinkRequired,
        ErrorCode::Conflict,
        ErrorCode::Invalid,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::NotFound,
        ErrorCode::Internal,
        ErrorCode::Unknown,
    ];

    /// The code named `name` exactly (reading JSON maps any other name to `Unknown`).
    pub fn named(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Auth => "auth",
            ErrorCode::StorageLimit => "storage_limit",
            ErrorCode::ReferenceLimit => "reference_limit",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RelinkRequired => "relink_required",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Invalid => "invalid",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// Every error response's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// `POST /api/v1/account`: make an account (and its library).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Register {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/session`: sign in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// Shown in the account's list of sessions ("Firefox on laptop", "refsync CLI").
    #[serde(default)]
    pub device_name: String,
}

/// What signing in (or registering) returns: a bearer token for `Authorization`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub token: String,
    /// Milliseconds since the Unix epoch.
    pub expires_at: u64,
    pub account: Account,
}

/// `POST /api/v1/account/password`: change the password; every other session is signed out.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: String,
    pub email: String,
}

/// `GET /api/v1/me`: who is asking, and the state of their library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub account: Account,
    pub library: LibraryInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LibraryInfo {
    pub id: String,
    pub version: u64,
    /// The current link epoch; a client holding another one must link again.
    pub epoch: u64,
    /// Bytes of attachments stored, and the most the account may store.
    pub storage_used: u64,
    pub storage_limit: u64,
    /// References not deleted (trashed ones count), and the most allowed, if limited.
    pub references: u64,
    #[serde(default)]
    pub reference_limit: Option<u64>,
    /// The largest attachment file the service takes, in bytes (absent from older services).
    #[serde(default)]
    pub max_file_size: Option<u64>,
}

/// `POST /api/v1/library/link`: this client library joins the account's library.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// A stable id the client made for itself (its sync log is kept under it).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub device_id: String,
    #[serde(default)]
    pub device_name: String,
}

/// What linking returns: the epoch to send on every library request from now on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub library_id: String,
    pub epoch: u64,
    pub library_version: u64,
}

/// An object's data as JSON text, carried as it came: a page's objects are read once, straight
/// into the model ([`Object::from_data`]), never built into a `serde_json::Value` tree first.
/// Two `Data` are equal when their text is (the same serializer writes both).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Data(Box<serde_json::value::RawValue>);

impl Data {
    /// `text`, which must be one JSON value.
    pub fn from_json(text: String) -> Result<Data, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Data)
    }

    /// Any serializable value (tests, tools).
    pub fn of<T: Serialize>(value: &T) -> Result<Data, serde_json::Error> {
        Data::from_json(serde_json::to_string(value)?)
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.get() == other.get()
    }
}

/// One object as the service holds it; `data` is `None` for a tombstone (deleted for good).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteObject {
    pub kind: ObjectKind,
    pub key: Key,
    pub version: u64,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<Data>,
    /// In a shared library: who wrote this version (email), and when (Unix ms). Absent in a
    /// personal library, where it is always its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<u64>,
}

impl RemoteObject {
    pub fn is_deleted(&self) -> bool {
        self.data.is_none()
    }
}

/// `GET /api/v1/library/changes?since=V[&cursor=C][&limit=N]`: every object and tombstone
/// with a version above V, in (version, kind, key) order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangesPage {
    /// The library's version when this page was read. Once a page comes with no `next`, the
    /// client holds everything up to this version.
    pub library_version: u64,
    pub objects: Vec<RemoteObject>,
    /// Pass as `cursor` (with the same `since`) for the next page; absent on the last page.
    #[serde(default)]
    pub next: Option<String>,
}

/// `GET /api/v1/library/versions`: the version of every object, for a full reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Versions {
    pub library_version: u64,
    pub objects: Vec<ObjectVersion>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectVersion {
    pub kind: ObjectKind,
    pub key: Key,
    pub version: u64,
    #[serde(default)]
    pub deleted: bool,
}

/// `POST /api/v1/library/batch`: writes applied in one transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Made by the client per batch and reused when it retries the same batch, so that a
    /// batch whose answer was lost is applied once (1 to 100 characters).
    pub idempotency_key: String,
    #[serde(deserialize_with = "strict::objects")]
    pub writes: Vec<Write>,
}

/// An upsert (`data` present) or a delete (`data` absent), based on the version the client
/// last saw of the object (0 for one it made).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Write {
    pub kind: ObjectKind,
    pub key: Key,
    pub base_version: u64,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<Data>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResult {
    /// The library's version after the batch.
    pub library_version: u64,
    /// One per write, in the order of the writes.
    pub results: Vec<WriteResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Read through a plain struct: serde buffers an internally tagged enum's fields, and raw JSON
// (`Data`, in a conflict's `current`) cannot be read back from that buffer.
#[serde(tag = "status", rename_all = "snake_case", try_from = "WireResult")]
pub enum WriteResult {
    /// Applied; the object is now at `version`.
    Ok { key: Key, version: u64 },
    /// The service already held exactly this (the same content, or already deleted); nothing
    /// changed, and the object is at `version`.
    Unchanged { key: Key, version: u64 },
    /// The object moved on since `base_version`: nothing was written, and `current` is what
    /// the service holds (a tombstone if it was deleted).
    Conflict { key: Key, current: RemoteObject },
}

/// A [`WriteResult`] as it is read: the fields of every status, checked by `try_from`.
#[derive(Deserialize)]
struct WireResult {
    status: String,
    key: Key,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    current: Option<RemoteObject>,
}

impl TryFrom<WireResult> for WriteResult {
    type Error = String;

    fn try_from(w: WireResult) -> Result<WriteResult, String> {
        let version = || {
            w.version
                .ok_or_else(|| format!("a “{}” result has no version", w.status))
        };
        Ok(match w.status.as_str() {
            "ok" => WriteResult::Ok {
                key: w.key,
                version: version()?,
            },
            "unchanged" => WriteResult::Unchanged {
                key: w.key,
                version: version()?,
            },
            "conflict" => WriteResult::Conflict {
                key: w.key,
                current: w.current.ok_or("a conflict result has no current copy")?,
            },
            other => return Err(format!("unknown write status “{other}”")),
        })
    }
}

impl WriteResult {
    pub fn key(&self) -> Key {
        match self {
            WriteResult::Ok { key, .. }
            | WriteResult::Unchanged { key, .. }
            | WriteResult::Conflict { key, .. } => *key,
        }
    }
}

/// What the service does with one write, given what it holds for that object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The write's content is what is held (or both are deleted): nothing to write, no conflict.
    Unchanged,
    /// The object moved since the version the write was based on: the writer gets what is held.
    Conflict,
    /// Based on the version held: applied, at the batch's new version.
    Accept,
}

/// The one rule for a write (`data`, `None` to delete, based on `base_version`) against the
/// object held at `held_version` with `held` (`0`, `None`: never written). The service and
/// core's in-memory service both call this, so the simulation tests the rule the service runs.
/// Content is compared as the JSON text each client sends: clients write canonical JSON.
pub fn verdict(
    base_version: u64,
    data: Option<&str>,
    held_version: u64,
    held: Option<&str>,
) -> Verdict {
    if data == held {
        Verdict::Unchanged
    } else if base_version != held_version {
        Verdict::Conflict
    } else {
        Verdict::Accept
    }
}

/// `POST /api/v1/library/reset`: break the link; every device must link again.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Also delete every reference, group, group set and attachment online, except shared
    /// groups (the online trash goes with the references in it). Required: a destructive
    /// request says so in words (`{"wipe": true}`), never by default or by position.
    pub wipe: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetResult {
    pub epoch: u64,
    pub library_version: u64,
    /// Objects deleted by the wipe.
    pub deleted: u64,
}

/// One sync as a client reports it (`POST /api/v1/library/sync-log`), for Sync Status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncReport {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub device_id: String,
    #[serde(default)]
    pub device_name: String,
    /// Milliseconds since the Unix epoch.
    pub started_at: u64,
    pub duration_ms: u64,
    #[serde(default)]
    pub sent: u64,
    #[serde(default)]
    pub received: u64,
    #[serde(default)]
    pub deleted: u64,
    #[serde(default)]
    pub conflicts: u64,
    #[serde(default, deserialize_with = "strict::maybe_error")]
    pub error: Option<ErrorBody>,
}

/// `GET /api/v1/library/sync-log`: the latest syncs, newest first, at most 20 per device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncLog {
    pub entries: Vec<SyncReport>,
}

/// `HEAD`/`PUT /api/v1/library/files/{sha256}` answer: a stored attachment's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredFile {
    pub sha256: String,
    pub size: u64,
    /// False when the library already held these bytes and nothing was stored again.
    pub stored: bool,
}

/// A one-use ticket that opens a library's change-hint stream (EventSource cannot send the
/// `Authorization` header): `GET .../events?ticket=<ticket>` within `expires_in` seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamTicket {
    pub ticket: String,
    pub expires_in: u64,
}

/// The data of a change hint (`GET /api/v1/libraries/{id}/events`, or `GET /api/v1/events`
/// for all of an account's libraries; server-sent events named `version`): the library moved
/// to this version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hint {
    pub library_version: u64,
    /// Which library, on the account's stream of all its libraries (`GET /events`); absent
    /// on a library's own stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_id: Option<String>,
}

/// A synced object, typed by its kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Reference(Reference),
    Group(Group),
    GroupSet(GroupSet),
    Attachment(Attachment),
    Style(Style),
}

impl Object {
    /// Read an object's data as the kind says, checking that its key is the one it is filed
    /// under.
    pub fn from_json(kind: ObjectKind, key: Key, data: &str) -> Result<Object, String> {
        let mut json = serde_json::Deserializer::from_str(data);
        let object = Object::deserialize_as(kind, key, &mut json)?;
        json.end().map_err(|e| e.to_string())?;
        Ok(object)
    }

    /// [`Object::from_json`] for data as the service sends it.
    pub fn from_data(kind: ObjectKind, key: Key, data: &Data) -> Result<Object, String> {
        Object::from_json(kind, key, data.get())
    }

    /// An object of `kind` from JSON; it must carry the key it is stored under.
    fn deserialize_as(
        kind: ObjectKind,
        key: Key,
        data: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
    ) -> Result<Object, String> {
        use serde::Deserialize;
        let text = |e: serde_json::Error| e.to_string();
        let object = match kind {
            ObjectKind::Reference => Object::Reference(Reference::deserialize(data).map_err(text)?),
            ObjectKind::Group => Object::Group(Group::deserialize(data).map_err(text)?),
            ObjectKind::GroupSet => Object::GroupSet(GroupSet::deserialize(data).map_err(text)?),
            ObjectKind::Attachment => {
                Object::Attachment(Attachment::deserialize(data).map_err(text)?)
            }
            ObjectKind::Style => Object::Style(Style::deserialize(data).map_err(text)?),
        };
        if object.key() != key {
            return Err(format!(
                "the data's key {} is not the key it is written under ({key})",
                object.key()
            ));
        }
        Ok(object)
    }

    /// The object's data as the service takes it.
    pub fn to_data(&self) -> Result<Data, serde_json::Error> {
        Data::from_json(self.to_json()?)
    }

    /// The object's data as JSON (what [`Object::from_json`] reads back).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Object::Reference(o) => serde_json::to_string(o),
            Object::Group(o) => serde_json::to_string(o),
            Object::GroupSet(o) => serde_json::to_string(o),
            Object::Attachment(o) => serde_json::to_string(o),
            Object::Style(o) => serde_json::to_string(o),
        }
    }

    pub fn key(&self) -> Key {
        match self {
            Object::Reference(o) => o.key,
            Object::Group(o) => o.key,
            Object::GroupSet(o) => o.key,
            Object::Attachment(o) => o.key,
            Object::Style(o) => o.key,
        }
    }

    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Reference(_) => ObjectKind::Reference,
            Object::Group(_) => ObjectKind::Group,
            Object::GroupSet(_) => ObjectKind::GroupSet,
            Object::Attachment(_) => ObjectKind::Attachment,
            Object::Style(_) => ObjectKind::Style,
        }
    }
}

impl ObjectKind {
    /// The id used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Reference => "reference",
            ObjectKind::Group => "group",
            ObjectKind::GroupSet => "group_set",
            ObjectKind::Attachment => "attachment",
            ObjectKind::Style => "style",
        }
    }

    pub fn parse(s: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Request bodies are JSON objects of the documented shape. serde's derived structs also take
/// their fields written as an array (`["a@b.org", "secret"]`), which no client sends and which
/// would turn a wrong body into a request (`[true]` as a reset with a wipe); these read a struct
/// from a JSON object only, at the top of a body and wherever a struct nests in one.
pub mod strict {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use std::fmt;
    use std::marker::PhantomData;

    struct ObjectOnly<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }

    impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ObjectOnly<T> {
        type Value = T;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            d.deserialize_map(self)
        }
    }

    /// `T` from a JSON object only.
    pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
        d.deserialize_map(ObjectOnly(PhantomData))
    }

    struct Objects<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Objects<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of JSON objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element_seed(ObjectOnly(PhantomData))? {
                out.push(item);
            }
            Ok(out)
        }
    }

    /// A `Vec<T>` from an array of JSON objects only.
    pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(Objects(PhantomData))
    }

    struct MaybeObject<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for MaybeObject<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            object(d).map(Some)
        }
    }

    /// An `Option<T>` from a JSON object or `null` only.
    pub fn maybe_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        d.deserialize_option(MaybeObject(PhantomData))
    }

    /// An `Option<ErrorBody>` from a JSON object or `null` whose code is one of the named
    /// codes: what the service stores must be what was sent, so a code it does not know is
    /// refused, not kept as `unknown` (a client reading the service's errors is lenient instead).
    pub fn maybe_error<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<super::ErrorBody>, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Reported {
            code: String,
            message: String,
        }
        let reported: Option<Reported> = maybe_object(d)?;
        reported
            .map(|r| match super::ErrorCode::named(&r.code) {
                Some(code) => Ok(super::ErrorBody {
                    code,
                    message: r.message,
                }),
                None => Err(serde::de::Error::custom(format!(
                    "unknown error code {:?}",
                    r.code
                ))),
            })
            .transpose()
    }

    /// How deep a request body may nest (objects and arrays): far beyond anything a client
    /// sends, far below what would tire a parser.
    pub const MAX_DEPTH: usize = 32;

    /// Whether `json` nests deeper than `max` (objects and arrays, outside strings). Looks at
    /// bytes only, so it runs before any parsing, on any size.
    pub fn too_deep(json: &[u8], max: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in json {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            a: u32,
        }

        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            #[serde(deserialize_with = "objects")]
            items: Vec<Inner>,
            #[serde(default, deserialize_with = "maybe_object")]
            extra: Option<Inner>,
        }

        fn read(json: &str) -> Result<Outer, String> {
            let mut de = serde_json::Deserializer::from_str(json);
            object(&mut de).map_err(|e: serde_json::Error| e.to_string())
        }

        #[test]
        fn structs_are_read_from_objects_only() {
            assert_eq!(
                read(r#"{"items": [{"a": 1}], "extra": {"a": 2}}"#),
                Ok(Outer {
                    items: vec![Inner { a: 1 }],
                    extra: Some(Inner { a: 2 })
                })
            );
            assert!(read(r#"{"items": [], "extra": null}"#).is_ok());
            for bad in [
                r#"[[{"a": 1}], null]"#,
                r#"{"items": [[1]]}"#,
                r#"{"items": [], "extra": [2]}"#,
                r#"{"items": [], "other": 1}"#,
                "[]",
                "true",
            ] {
                assert!(read(bad).is_err(), "{bad} was read");
            }
        }

        #[test]
        fn nesting_is_measured_outside_strings() {
            assert!(!too_deep(br#"{"a": [{"b": "[[[[[[[["}]}"#, 3));
            assert!(too_deep(br#"{"a": [{"b": [1]}]}"#, 3));
            assert!(!too_deep(br#"{"a": "\"[[[[["}"#, 1));
            let deep = "[".repeat(100_000);
            assert!(too_deep(deep.as_bytes(), MAX_DEPTH));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn error_codes_read_and_write_as_their_stable_ids() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(ErrorCode::named(code.as_str()), Some(code));
        }
        let newer: ErrorBody =
            serde_json::from_str(r#"{"code":"maintenance","message":"Back soon."}"#).unwrap();
        assert_eq!(newer.code, ErrorCode::Unknown, "a newer code still reads");
        // A report the service stores keeps its code as sent, so only named codes are taken.
        let report = |code: &str| {
            serde_json::from_str::<SyncReport>(&format!(
                r#"{{"device_id":"d","started_at":1,"duration_ms":1,
                    "error":{{"code":"{code}","message":"m"}}}}"#
            ))
        };
        assert_eq!(
            report("storage_limit").unwrap().error.map(|e| e.code),
            Some(ErrorCode::StorageLimit)
        );
        assert_eq!(
            report("unknown").unwrap().error.map(|e| e.code),
            Some(ErrorCode::Unknown)
        );
        let err = report("AAA").unwrap_err().to_string();
        assert!(err.contains("unknown error code"), "{err}");
    }

    #[test]
    fn a_write_is_judged_against_what_is_held() {
        let (a, b) = (Some(r#"{"t":"a"}"#), Some(r#"{"t":"b"}"#));
        assert_eq!(verdict(0, a, 0, None), Verdict::Accept, "new");
        assert_eq!(
            verdict(3, b, 3, a),
            Verdict::Accept,
            "based on what is held"
        );
        assert_eq!(verdict(2, b, 3, a), Verdict::Conflict, "moved since");
        assert_eq!(
            verdict(0, b, 3, a),
            Verdict::Conflict,
            "new here, held there"
        );
        assert_eq!(
            verdict(2, a, 3, a),
            Verdict::Unchanged,
            "same content, any base"
        );
        assert_eq!(
            verdict(2, None, 3, None),
            Verdict::Unchanged,
            "deleted on both"
        );
        assert_eq!(verdict(3, None, 3, a), Verdict::Accept, "a delete");
        assert_eq!(
            verdict(2, None, 3, a),
            Verdict::Conflict,
            "a delete of a moved object"
        );
    }

    #[test]
    fn write_results_are_tagged_by_status() {
        let key = Key::new(1, [1; 10]);
        let reference = Reference::new(key, crate::RefType::Book, 5);
        for data in [None, Some(Data::of(&reference).unwrap())] {
            let conflict = WriteResult::Conflict {
                key,
                current: RemoteObject {
                    kind: ObjectKind::Reference,
                    key,
                    version: 7,
                    data: data.clone(),
                    changed_by: None,
                    changed_at: None,
                },
            };
            let text = serde_json::to_string(&conflict).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["status"], "conflict");
            assert_eq!(json["current"]["version"], 7);
            assert_eq!(json["current"]["data"].is_null(), data.is_none());
            assert_eq!(
                serde_json::from_str::<WriteResult>(&text).unwrap(),
                conflict
            );
        }
        let ok = WriteResult::Ok { key, version: 3 };
        let text = serde_json::to_string(&ok).unwrap();
        assert_eq!(serde_json::from_str::<WriteResult>(&text).unwrap(), ok);
        let err = serde_json::from_str::<WriteResult>(
            r#"{"status":"ok","key":"01M87AQTKP3GQ3WZY50HSS0NF3"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no version"), "{err}");
    }

    #[test]
    fn object_data_must_carry_the_key_it_is_filed_under() {
        let key = Key::new(1, [1; 10]);
        let other = Key::new(2, [2; 10]);
        let data = format!(r#"{{"key":"{key}","type":"journal_article"}}"#);
        assert!(Object::from_json(ObjectKind::Reference, key, &data).is_ok());
        let err = Object::from_json(ObjectKind::Reference, other, &data).unwrap_err();
        assert!(err.contains("not the key"), "{err}");
        assert!(Object::from_json(ObjectKind::Group, key, &data).is_err());
        for kind in ["reference", "group", "group_set", "attachment"] {
            assert_eq!(ObjectKind::parse(kind).unwrap().as_str(), kind);
        }
    }
}
