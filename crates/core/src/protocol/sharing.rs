//! Shared libraries on the wire (docs/sharing.md): roles and what each may do, members,
//! invitations, the list of a person's libraries and a shared library's activity.
//!
//! Invariants: [`Role::allows`] is the one role matrix; the service enforces it on every route
//! and clients use the same function only to hide what would be refused. A library has exactly
//! one owner; the personal library's only member is its owner and it cannot be shared.

use serde::{Deserialize, Serialize};

/// What a member of a library may do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including inviting, roles, renaming, reset, transfer and delete.
    Owner,
    /// Add, edit, trash, delete, group and attach.
    Editor,
    /// Read, sync a copy, and copy into their own library.
    Viewer,
}

/// An action on a library, as the role matrix names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read objects, files, change hints and the activity; link a device; report a sync.
    Read,
    /// Write objects (batch) and upload files.
    Write,
    /// Invite, revoke invitations, change roles, remove members, rename.
    Manage,
    /// Reset the link (and wipe), delete the library, hand it to another member.
    Own,
    /// Leave the library.
    Leave,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Editor, Role::Viewer];

    /// The role matrix (docs/sharing.md).
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Read => true,
            Action::Write => matches!(self, Role::Owner | Role::Editor),
            Action::Manage | Action::Own => self == Role::Owner,
            // An owner hands the library on or deletes it; leaving would orphan it.
            Action::Leave => self != Role::Owner,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What this role may do, in words, for a refusal ("a viewer can read and copy only").
    pub fn describe(self) -> &'static str {
        match self {
            Role::Owner => "the owner can do everything",
            Role::Editor => "an editor can add, edit and delete references but not manage members",
            Role::Viewer => "a viewer can read and copy references but not change them",
        }
    }
}

/// One library a person can open: their personal library and every shared one they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LibrarySummary {
    pub id: String,
    /// `None` for the personal library.
    #[serde(default)]
    pub name: Option<String>,
    pub role: Role,
    /// The owner's email.
    pub owner: String,
    pub version: u64,
    /// References not deleted (trashed ones count).
    pub references: u64,
    /// Members, the owner included.
    pub members: u64,
}

impl LibrarySummary {
    pub fn is_personal(&self) -> bool {
        self.name.is_none()
    }
}

/// `GET /api/v1/libraries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Libraries {
    pub libraries: Vec<LibrarySummary>,
}

/// Longest name of a shared library, in characters.
pub const MAX_LIBRARY_NAME: usize = 200;

/// `POST /api/v1/libraries` (a new shared library) and `PATCH /api/v1/libraries/{id}` (rename).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LibraryName {
    pub name: String,
}

/// A library's name as given, trimmed, or why it cannot be one.
pub fn check_library_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Give the shared library a name.".into());
    }
    if name.chars().count() > MAX_LIBRARY_NAME {
        return Err(format!(
            "A library's name has at most {MAX_LIBRARY_NAME} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A library's name cannot hold control characters.".into());
    }
    Ok(name.to_string())
}

/// What becomes of the shared libraries an account owns when it is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OwnedLibraries {
    /// Each goes to its longest-standing editor (a viewer when it has no editor); one with no
    /// members is deleted.
    HandOver,
    /// Each is deleted with everything in it.
    Delete,
}

/// `DELETE /api/v1/account`: delete the account, its personal library and its sessions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    pub password: String,
    pub shared_libraries: OwnedLibraries,
}

/// What deleting an account did with the shared libraries it owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDeleted {
    /// Names of the libraries handed over, each with its new owner's email.
    pub handed_over: Vec<HandedOver>,
    /// Names of the libraries deleted.
    pub deleted: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandedOver {
    pub library: String,
    pub to: String,
}

/// One member of a library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub account_id: String,
    pub email: String,
    pub role: Role,
    /// When they joined (Unix ms).
    pub joined_at: u64,
}

/// `GET /api/v1/libraries/{id}/members`: the owner first, then by email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Members {
    pub members: Vec<Member>,
}

/// `PUT /api/v1/libraries/{id}/members/{account_id}`: change a member's role (not to owner:
/// that is a transfer).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: Role,
}

/// `POST /api/v1/libraries/{id}/transfer`: hand the library to another member, who becomes
/// its owner; the old owner stays as an editor.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub account_id: String,
}

/// `POST /api/v1/libraries/{id}/invitations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    /// `editor` or `viewer`.
    pub role: Role,
    /// Days until it expires unanswered (1 to 90; 14 when absent).
    #[serde(default)]
    pub expires_in_days: Option<u64>,
}

/// Days an invitation waits for an answer unless the owner says otherwise.
pub const INVITATION_DAYS: u64 = 14;
/// Most days an invitation may wait.
pub const MAX_INVITATION_DAYS: u64 = 90;

/// An invitation, pending until the invited email's account accepts or declines it, the owner
/// revokes it, or it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: String,
    pub library_id: String,
    pub library_name: String,
    pub email: String,
    pub role: Role,
    /// The inviting owner's email.
    pub invited_by: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// `GET /api/v1/invitations` (those addressed to the signed-in account) and
/// `GET /api/v1/libraries/{id}/invitations` (a library's pending ones, for its owner).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitations {
    pub invitations: Vec<Invitation>,
}

/// One change in a shared library's activity: the object's latest version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    pub kind: crate::ObjectKind,
    pub key: crate::Key,
    pub version: u64,
    /// Who made it (email); `None` if their account is gone or it predates attribution.
    #[serde(default)]
    pub changed_by: Option<String>,
    /// When (Unix ms, the service's clock).
    pub changed_at: u64,
    /// Deleted for good (a tombstone).
    pub deleted: bool,
    /// The reference's title or the group's name, when it has one.
    #[serde(default)]
    pub title: Option<String>,
}

/// `GET /api/v1/libraries/{id}/activity?before=C&limit=N`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub entries: Vec<ActivityEntry>,
    /// Pass as `before` for the next (older) page; absent on the last.
    #[serde(default)]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix() {
        use Action::*;
        let table = [
            (Role::Owner, [true, true, true, true, false]),
            (Role::Editor, [true, true, false, false, true]),
            (Role::Viewer, [true, false, false, false, true]),
        ];
        for (role, allowed) in table {
            for (action, want) in [Read, Write, Manage, Own, Leave].into_iter().zip(allowed) {
                assert_eq!(role.allows(action), want, "{role:?} {action:?}");
            }
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn library_names_are_trimmed_and_bounded() {
        assert_eq!(check_library_name("  Lab  ").as_deref(), Ok("Lab"));
        assert!(check_library_name("   ").is_err());
        assert!(check_library_name("a\u{7}b").is_err());
        assert!(check_library_name(&"x".repeat(MAX_LIBRARY_NAME + 1)).is_err());
        assert!(check_library_name(&"é".repeat(MAX_LIBRARY_NAME)).is_ok());
    }
}
