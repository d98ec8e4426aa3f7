//! The pure planning step of a sync: given what this client holds of one object and the
//! service's copy of it (pulled, or sent back as a conflict), what to do. No I/O: the engine
//! carries the plan out, and the plan is tested by case tables.
//!
//! Invariants: a copy at or below the version this client already agreed with changes
//! nothing, so applying the same page twice is harmless; an object with no local change takes
//! the service's copy; a local change is kept and rebased on the service's copy whenever the
//! merge is clean; a reference's true conflict (the same field changed to different values, an
//! edit against a permanent delete) becomes a [`ConflictRecord`] that keeps both copies, and
//! the object itself then holds the service's copy (or stays deleted) until the user decides.
//! Groups, group sets and attachments never conflict (see `merge`): an edit against a delete
//! keeps the edited object.

use super::merge::{
    merge_attachment, merge_group, merge_group_set, merge_reference, merge_style, rebase,
};
use crate::protocol::Object;
use crate::{Key, ObjectKind, Reference};

/// One object as this client holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalObject {
    pub kind: ObjectKind,
    pub key: Key,
    /// The version of the service's copy this client last agreed with (0: never synced).
    pub base_version: u64,
    /// That copy (`None`: never synced, or deleted).
    pub base: Option<Object>,
    /// This client's copy (`None`: deleted here for good).
    pub current: Option<Object>,
    /// Changed here since the base.
    pub dirty: bool,
}

/// Why both copies are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The same fields changed to different values on both sides.
    Fields,
    /// Edited here, deleted for good online.
    EditedHereDeletedOnline,
    /// Deleted for good here, edited online.
    DeletedHereEditedOnline,
    /// Changed here, refused by the service: the account's role in the shared library does
    /// not allow it (a viewer, or a role taken away before the change was sent). The online
    /// copy stays; this client's copy waits to be dropped or copied elsewhere.
    Refused,
}

impl ConflictReason {
    /// The stable id stores keep (IndexedDB, the CLI's file) and `--json` prints.
    pub fn id(self) -> &'static str {
        match self {
            ConflictReason::Fields => "fields",
            ConflictReason::EditedHereDeletedOnline => "edited_here_deleted_online",
            ConflictReason::DeletedHereEditedOnline => "deleted_here_edited_online",
            ConflictReason::Refused => "refused",
        }
    }

    /// The reason an id names; an id this version does not know reads as a conflict of fields
    /// (the dialog that shows both copies, which fits any conflict).
    pub fn from_id(id: &str) -> ConflictReason {
        match id {
            "edited_here_deleted_online" => ConflictReason::EditedHereDeletedOnline,
            "deleted_here_edited_online" => ConflictReason::DeletedHereEditedOnline,
            "refused" => ConflictReason::Refused,
            _ => ConflictReason::Fields,
        }
    }

    /// In a few plain words, for lists.
    pub fn words(self) -> &'static str {
        match self {
            ConflictReason::Fields => "edited on both sides",
            ConflictReason::EditedHereDeletedOnline => "edited here, deleted online",
            ConflictReason::DeletedHereEditedOnline => "deleted here, edited online",
            ConflictReason::Refused => "changed here, refused: your role does not allow it",
        }
    }
}

/// A conflict waiting for the user: both copies, and what differs. For a conflict of
/// fields, this client's copy is its own changes carried onto the service's copy (with its
/// values where both changed a part), so the two differ only where they clash.
#[derive(Clone, Debug, PartialEq)]
pub struct ConflictRecord {
    pub kind: ObjectKind,
    pub key: Key,
    pub reason: ConflictReason,
    /// This client's copy (`None`: deleted here).
    pub local: Option<Object>,
    /// The service's copy (`None`: deleted online) and its version.
    pub remote: Option<Object>,
    pub remote_version: u64,
    /// The fields that conflict (for [`ConflictReason::Fields`]).
    pub fields: Vec<String>,
    /// The copy both sides started from (this client's base when the conflict arose), so a
    /// merged resolution can start from both sides' clean edits; `None` when there was none.
    pub base: Option<Object>,
}

/// What to do with one object.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Nothing: this copy was seen already, or both sides hold the same.
    Skip,
    /// Take the service's copy as base and current, with no local change (`None`: delete).
    Accept(Option<Object>),
    /// Keep a local change, rebased on the service's copy: base := the service's copy,
    /// current := this, still dirty (`None`: still deleted here).
    Rebase(Option<Object>),
    /// Keep both copies for the user; the object takes the service's copy meanwhile.
    Conflict(Box<ConflictRecord>),
}

/// Plan what to do with the service's copy (`remote`, `None` for a tombstone) at
/// `remote_version`, given what this client holds (`None`: nothing under that key).
pub fn plan(local: Option<&LocalObject>, remote_version: u64, remote: Option<&Object>) -> Action {
    let Some(local) = local else {
        return match remote {
            Some(r) => Action::Accept(Some(r.clone())),
            None => Action::Skip,
        };
    };
    if remote_version <= local.base_version {
        return Action::Skip;
    }
    if !local.dirty {
        return Action::Accept(remote.cloned());
    }
    let is_reference = local.kind == ObjectKind::Reference;
    let conflict = |reason, fields, mine: Option<Object>| {
        Action::Conflict(Box::new(ConflictRecord {
            kind: local.kind,
            key: local.key,
            reason,
            local: mine,
            remote: remote.cloned(),
            remote_version,
            fields,
            base: local.base.clone(),
        }))
    };
    match (&local.current, remote) {
        (None, None) => Action::Accept(None),
        (Some(mine), None) => {
            if is_reference {
                conflict(
                    ConflictReason::EditedHereDeletedOnline,
                    Vec::new(),
                    Some(mine.clone()),
                )
            } else {
                // Kept: the edit is sent again, based on the tombstone's version.
                Action::Rebase(Some(mine.clone()))
            }
        }
        (None, Some(theirs)) => {
            if is_reference {
                conflict(ConflictReason::DeletedHereEditedOnline, Vec::new(), None)
            } else {
                Action::Accept(Some(theirs.clone()))
            }
        }
        (Some(mine), Some(theirs)) => {
            if mine == theirs {
                return Action::Accept(Some(theirs.clone()));
            }
            let (merged, fields) = merge(local.base.as_ref(), mine, theirs);
            if !fields.is_empty() {
                // This client's side is its own changes carried onto the service's copy: the
                // other side's clean changes are in it, so only the clashing parts differ.
                // (With no base, as after an unlink, this is a union: this client's copy with
                // what only the service's has.)
                let mut mine = rebase(local.base.as_ref(), Some(mine.clone()), Some(theirs));
                if fields.iter().any(|f| f == "merged_into") {
                    // Merged away online, edited here: this side is the edited reference as
                    // its own, so keeping it keeps the edit (and undoes the merge for it).
                    if let (Some(Object::Reference(m)), Some(Object::Reference(b))) =
                        (mine.as_mut(), local.base.as_ref())
                    {
                        if m.merged_into.is_some() && b.merged_into.is_none() {
                            m.merged_into = None;
                            m.trashed = b.trashed;
                        }
                    }
                }
                conflict(ConflictReason::Fields, fields, mine)
            } else if &merged == theirs {
                Action::Accept(Some(merged))
            } else {
                Action::Rebase(Some(merged))
            }
        }
    }
}

/// Merge two live copies by kind. With no base (the same key made on both sides, or a base
/// that was a tombstone) a reference merges against an empty copy, so what only one side has
/// is kept and only differing values conflict.
fn merge(base: Option<&Object>, mine: &Object, theirs: &Object) -> (Object, Vec<String>) {
    match (mine, theirs) {
        (Object::Reference(l), Object::Reference(r)) => {
            let empty = Reference {
                key: r.key,
                ref_type: r.ref_type,
                ..Reference::default()
            };
            let b = match base {
                Some(Object::Reference(b)) => b,
                _ => &empty,
            };
            let m = merge_reference(b, l, r);
            (Object::Reference(m.merged), m.conflicts)
        }
        (Object::Group(l), Object::Group(r)) => {
            let b = match base {
                Some(Object::Group(b)) => b,
                _ => r,
            };
            (Object::Group(merge_group(b, l, r)), Vec::new())
        }
        (Object::GroupSet(l), Object::GroupSet(r)) => {
            let b = match base {
                Some(Object::GroupSet(b)) => b,
                _ => r,
            };
            (Object::GroupSet(merge_group_set(b, l, r)), Vec::new())
        }
        (Object::Attachment(l), Object::Attachment(r)) => {
            let b = match base {
                Some(Object::Attachment(b)) => b,
                _ => r,
            };
            (Object::Attachment(merge_attachment(b, l, r)), Vec::new())
        }
        (Object::Style(l), Object::Style(r)) => {
            let b = match base {
                Some(Object::Style(b)) => b,
                _ => r,
            };
            (Object::Style(merge_style(b, l, r)), Vec::new())
        }
        // One key, two kinds: the service's copy stands; this one is kept in a conflict.
        _ => (theirs.clone(), vec!["kind".to_string()]),
    }
}

/// How the user settles a conflict.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// This client's copy (for an edit-versus-delete: restore it here, or keep it deleted).
    KeepLocal,
    /// The service's copy.
    KeepOnline,
    /// A copy made from both, field by field and then edited.
    Merged(Object),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Field, Group, GroupKind, RefType};

    fn key() -> Key {
        Key::new(7, [7; 10])
    }

    fn reference(title: &str, year: &str) -> Object {
        let mut r = Reference {
            key: key(),
            ref_type: RefType::JournalArticle,
            ..Reference::default()
        };
        r.set(Field::Title, title.to_string());
        r.set(Field::Year, year.to_string());
        Object::Reference(r)
    }

    fn group(name: &str, date_modified: u64) -> Object {
        Object::Group(Group {
            key: key(),
            name: name.into(),
            set: None,
            kind: GroupKind::Custom,
            shared: false,
            date_modified,
        })
    }

    fn held(
        kind: ObjectKind,
        base: Option<Object>,
        current: Option<Object>,
        dirty: bool,
    ) -> LocalObject {
        LocalObject {
            kind,
            key: key(),
            base_version: 5,
            base,
            current,
            dirty,
        }
    }

    #[test]
    fn references_plan_by_case() {
        let b = || Some(reference("Base", "2000"));
        let r = ObjectKind::Reference;
        type Case = (
            &'static str,
            Option<LocalObject>,
            u64,
            Option<Object>,
            Action,
        );
        let cases: Vec<Case> = vec![
            ("new online", None, 6, b(), Action::Accept(b())),
            (
                "a tombstone of something never seen",
                None,
                6,
                None,
                Action::Skip,
            ),
            (
                "seen already (the same page again)",
                Some(held(r, b(), Some(reference("Mine", "2000")), true)),
                5,
                Some(reference("Theirs", "2000")),
                Action::Skip,
            ),
            (
                "no change here: take theirs",
                Some(held(r, b(), b(), false)),
                6,
                Some(reference("Theirs", "2000")),
                Action::Accept(Some(reference("Theirs", "2000"))),
            ),
            (
                "no change here, deleted online",
                Some(held(r, b(), b(), false)),
                6,
                None,
                Action::Accept(None),
            ),
            (
                "different fields: rebased, still dirty",
                Some(held(r, b(), Some(reference("Mine", "2000")), true)),
                6,
                Some(reference("Base", "2011")),
                Action::Rebase(Some(reference("Mine", "2011"))),
            ),
            (
                "the same change on both sides",
                Some(held(r, b(), Some(reference("Same", "2000")), true)),
                6,
                Some(reference("Same", "2000")),
                Action::Accept(Some(reference("Same", "2000"))),
            ),
            (
                "deleted on both sides",
                Some(held(r, b(), None, true)),
                6,
                None,
                Action::Accept(None),
            ),
        ];
        for (what, local, version, remote, expected) in cases {
            assert_eq!(
                plan(local.as_ref(), version, remote.as_ref()),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn true_conflicts_keep_both_copies() {
        let b = Some(reference("Base", "2000"));
        let r = ObjectKind::Reference;
        let mine = held(r, b.clone(), Some(reference("Mine", "2000")), true);
        let Action::Conflict(c) = plan(Some(&mine), 6, Some(&reference("Theirs", "2000"))) else {
            panic!("same field changed on both sides")
        };
        assert_eq!(c.reason, ConflictReason::Fields);
        assert_eq!(c.fields, vec!["title"]);
        assert_eq!(c.local, Some(reference("Mine", "2000")));
        assert_eq!(c.remote, Some(reference("Theirs", "2000")));

        let Action::Conflict(c) = plan(Some(&mine), 6, None) else {
            panic!("edit here, delete online")
        };
        assert_eq!(c.reason, ConflictReason::EditedHereDeletedOnline);
        assert_eq!(c.local, Some(reference("Mine", "2000")));

        let gone = held(r, b, None, true);
        let Action::Conflict(c) = plan(Some(&gone), 6, Some(&reference("Theirs", "2000"))) else {
            panic!("delete here, edit online")
        };
        assert_eq!(c.reason, ConflictReason::DeletedHereEditedOnline);
    }

    #[test]
    fn groups_keep_data_instead_of_conflicting() {
        let g = ObjectKind::Group;
        let edited = held(g, Some(group("A", 1)), Some(group("B", 3)), true);
        assert_eq!(
            plan(Some(&edited), 6, None),
            Action::Rebase(Some(group("B", 3))),
            "an edit here survives a delete online"
        );
        let deleted = held(g, Some(group("A", 1)), None, true);
        assert_eq!(
            plan(Some(&deleted), 6, Some(&group("C", 2))),
            Action::Accept(Some(group("C", 2))),
            "an edit online survives a delete here"
        );
        assert_eq!(
            plan(Some(&edited), 6, Some(&group("C", 2))),
            Action::Rebase(Some(group("B", 3))),
            "both renamed: the later edit"
        );
    }

    /// The object as the engine stores it after `action`.
    fn applied(
        local: Option<&LocalObject>,
        version: u64,
        remote: Option<&Object>,
        action: Action,
    ) -> Option<LocalObject> {
        let (kind, key) = (ObjectKind::Reference, key());
        let make = |base: Option<Object>, current: Option<Object>, dirty: bool| {
            Some(LocalObject {
                kind: local.map_or(kind, |l| l.kind),
                key,
                base_version: version,
                base,
                current,
                dirty,
            })
        };
        match action {
            Action::Skip => local.cloned(),
            Action::Accept(o) => make(o.clone(), o, false),
            Action::Rebase(current) => make(remote.cloned(), current, true),
            Action::Conflict(_) => make(remote.cloned(), remote.cloned(), false),
        }
    }

    #[test]
    fn the_same_copy_pulled_again_changes_nothing() {
        let copies = [
            None,
            Some(reference("Base", "2000")),
            Some(reference("Mine", "2000")),
            Some(reference("Base", "2011")),
            Some(reference("Theirs", "2000")),
        ];
        let mut checked = 0;
        for base in &copies {
            for current in &copies {
                for dirty in [false, true] {
                    for remote in &copies {
                        let local =
                            held(ObjectKind::Reference, base.clone(), current.clone(), dirty);
                        let action = plan(Some(&local), 6, remote.as_ref());
                        let after = applied(Some(&local), 6, remote.as_ref(), action);
                        assert_eq!(
                            plan(after.as_ref(), 6, remote.as_ref()),
                            Action::Skip,
                            "{base:?} {current:?} {dirty} {remote:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 250);
    }
}
