//! Attachment metadata and tombstones.
//!
//! An attachment's bytes live elsewhere (a content-addressed blob store on the server, Blobs
//! in IndexedDB); this object says which reference it belongs to and how to find the bytes
//! (the SHA-256). A tombstone is what a permanent delete leaves, so the delete syncs.

use crate::Key;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub key: Key,
    /// The reference it belongs to.
    pub parent: Key,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    #[serde(default)]
    pub role: AttachmentRole,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caption: String,
    /// The reference it belonged to before a merge moved it (restoring that reference moves
    /// it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<Key>,
    #[serde(default)]
    pub date_modified: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentRole {
    #[default]
    File,
    /// EndNote's one "Figure" per reference.
    Figure,
}

/// The kinds of object a library holds; every kind syncs the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Reference,
    Group,
    GroupSet,
    Attachment,
    /// A citation style the person added (their journal's `.csl` file).
    Style,
}

impl ObjectKind {
    /// Every kind, in the order stores and batches list them.
    pub const ALL: [ObjectKind; 5] = [
        ObjectKind::Reference,
        ObjectKind::Group,
        ObjectKind::GroupSet,
        ObjectKind::Attachment,
        ObjectKind::Style,
    ];
}

/// A permanently deleted object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub key: Key,
    pub kind: ObjectKind,
    /// Milliseconds since the Unix epoch.
    pub deleted_at: u64,
}
