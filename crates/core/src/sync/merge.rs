//! Three-way merges of one object: the copy both sides last agreed on (the base), this
//! client's copy and the service's copy (docs/sync.md, "Merging").
//!
//! Invariants: a side that did not change a field never overrides one that did; two sides
//! that made the same change agree (no conflict); sets (a reference's groups, keywords and
//! attachments) merge by their adds and removes, so membership changes never conflict. Only a
//! reference field changed to different values on both sides is a conflict: the merged copy
//! then holds the service's value there, and the conflicting field names are returned so the
//! caller can keep this client's copy in a conflict record.
//!
//! Groups, group sets, attachments and styles never conflict. Their fixed rule, which errs on the side
//! of keeping data: each field merges three ways like a reference's; where both sides changed
//! the same field, the copy modified later (`date_modified`) wins, and the service's on a tie.
//! An edit on one side against a permanent delete on the other keeps the edited object (see
//! `plan`), so nothing made on either side is lost silently.

use crate::protocol::Object;
use crate::{Attachment, Group, GroupSet, Key, Reference, Style, TextMap};
use std::collections::BTreeSet;

/// The outcome of merging a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceMerge {
    /// Both sides' changes; where they conflict, the service's value.
    pub merged: Reference,
    /// The fields both sides changed to different values ("title", "creators", "type", ...),
    /// sorted; empty when the merge is clean.
    pub conflicts: Vec<String>,
}

/// Which value a field changed on both sides to different values takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefer {
    /// The service's (a sync's merge: the field is a conflict for the person to settle).
    Remote,
    /// This side's (a person's change carried onto a newer copy: they changed it last here).
    Local,
}

/// Both sides against the base: `Ok` with the value to keep, or `Err` (both changed it, to
/// different values) with the service's value.
fn three_way<T: PartialEq + Clone>(base: &T, local: &T, remote: &T) -> Result<T, T> {
    if local == remote || local == base {
        Ok(remote.clone())
    } else if remote == base {
        Ok(local.clone())
    } else {
        Err(remote.clone())
    }
}

/// The value a three-way merge keeps, noting `name` as conflicting when both changed it.
fn pick<T: PartialEq + Clone>(
    name: &str,
    (base, local, remote): (&T, &T, &T),
    prefer: Prefer,
    conflicts: &mut Vec<String>,
) -> T {
    three_way(base, local, remote).unwrap_or_else(|theirs| {
        conflicts.push(name.to_string());
        match prefer {
            Prefer::Remote => theirs,
            Prefer::Local => local.clone(),
        }
    })
}

/// Merge an ordered set: what either side removed is gone, what either side added is there;
/// this client's order first, then the service's additions in its order.
fn merge_set<T: Ord + Clone>(base: &[T], local: &[T], remote: &[T]) -> Vec<T> {
    // A side that changed nothing leaves the other side exactly as it is (order, repeats).
    if let Ok(same) = three_way(&base, &local, &remote) {
        return same.to_vec();
    }
    let base_set: BTreeSet<&T> = crate::sort::set_of(base);
    let local_set: BTreeSet<&T> = crate::sort::set_of(local);
    let remote_set: BTreeSet<&T> = crate::sort::set_of(remote);
    let keep = |x: &T| {
        let in_base = base_set.contains(x);
        // New on a side, or still held by both (not removed by either).
        !in_base || (local_set.contains(x) && remote_set.contains(x))
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for x in local.iter().chain(remote.iter()) {
        if keep(x) && seen.insert(x.clone()) {
            out.push(x.clone());
        }
    }
    out
}

/// A map of text three ways: the base's, this side's, the other's.
type ThreeMaps<'a> = (&'a TextMap, &'a TextMap, &'a TextMap);

/// Merge two maps of optional text key by key.
fn merge_map(
    (base, local, remote): ThreeMaps<'_>,
    prefix: &str,
    prefer: Prefer,
    conflicts: &mut Vec<String>,
) -> TextMap {
    let names: BTreeSet<&String> =
        crate::sort::set_of(base.keys().chain(local.keys()).chain(remote.keys()));
    let mut out = TextMap::new();
    for name in names {
        let value = pick(
            &format!("{prefix}{name}"),
            (&base.get(name), &local.get(name), &remote.get(name)),
            prefer,
            conflicts,
        );
        if let Some(v) = value {
            out.insert(name.clone(), v.clone());
        }
    }
    out
}

/// Merge a reference edited on both sides since `base`.
pub fn merge_reference(base: &Reference, local: &Reference, remote: &Reference) -> ReferenceMerge {
    merge_reference_preferring(base, local, remote, Prefer::Remote)
}

/// A person's change of a reference from `from` to `to`, carried onto `onto` (the copy stored
/// now, which a sync or another window may have changed since `from` was read): what they
/// changed wins, everything they did not change stays as `onto` has it.
pub fn rebase_reference(from: &Reference, to: &Reference, onto: &Reference) -> Reference {
    merge_reference_preferring(from, to, onto, Prefer::Local).merged
}

/// [`rebase_reference`], also naming the parts both changed to different values (where `to`
/// won): carrying a side of a conflict onto a newer copy makes new clashes to show the person.
pub fn carry_reference(from: &Reference, to: &Reference, onto: &Reference) -> ReferenceMerge {
    merge_reference_preferring(from, to, onto, Prefer::Local)
}

fn merge_reference_preferring(
    base: &Reference,
    local: &Reference,
    remote: &Reference,
    prefer: Prefer,
) -> ReferenceMerge {
    let mut conflicts = Vec::new();
    let c = &mut conflicts;
    let ref_type = pick(
        "type",
        (&base.ref_type, &local.ref_type, &remote.ref_type),
        prefer,
        c,
    );
    let creators = pick(
        "creators",
        (&base.creators, &local.creators, &remote.creators),
        prefer,
        c,
    );
    let rating = pick(
        "rating",
        (&base.rating, &local.rating, &remote.rating),
        prefer,
        c,
    );
    let read = pick("read", (&base.read, &local.read, &remote.read), prefer, c);
    let trashed = pick(
        "trashed",
        (&base.trashed, &local.trashed, &remote.trashed),
        prefer,
        c,
    );
    let merged_into = pick(
        "merged_into",
        (&base.merged_into, &local.merged_into, &remote.merged_into),
        prefer,
        c,
    );
    // A merge on one side and an edit of the merged-away copy on the other: the edit would
    // go to the Trash with it, unseen, so the person is shown both (docs/sync.md).
    let merged_away = |side: &Reference| base.merged_into.is_none() && side.merged_into.is_some();
    let edited = |side: &Reference| {
        differing_parts(base, side)
            .iter()
            .any(|p| !matches!(p.as_str(), "trashed" | "merged_into" | "read" | "rating"))
            || side.keywords != base.keywords
            || side.groups != base.groups
            || side.attachments != base.attachments
    };
    if (merged_away(local) && !merged_away(remote) && edited(remote))
        || (merged_away(remote) && !merged_away(local) && edited(local))
    {
        c.push("merged_into".into());
    }
    let fields = merge_map((&base.fields, &local.fields, &remote.fields), "", prefer, c);
    let extra = merge_map(
        (&base.extra, &local.extra, &remote.extra),
        "extra:",
        prefer,
        c,
    );
    let groups: Vec<Key> = merge_set(
        &base.groups.iter().copied().collect::<Vec<_>>(),
        &local.groups.iter().copied().collect::<Vec<_>>(),
        &remote.groups.iter().copied().collect::<Vec<_>>(),
    );
    crate::sort::sort(&mut conflicts);
    ReferenceMerge {
        merged: Reference {
            key: remote.key,
            ref_type,
            creators,
            fields,
            extra,
            keywords: merge_set(&base.keywords, &local.keywords, &remote.keywords),
            groups: crate::sort::set_of(groups),
            attachments: merge_set(&base.attachments, &local.attachments, &remote.attachments),
            rating,
            read,
            trashed,
            merged_into,
            not_duplicates: crate::sort::set_of(merge_set(
                &base.not_duplicates.iter().copied().collect::<Vec<_>>(),
                &local.not_duplicates.iter().copied().collect::<Vec<_>>(),
                &remote.not_duplicates.iter().copied().collect::<Vec<_>>(),
            )),
            date_added: local.date_added.min(remote.date_added),
            date_modified: local.date_modified.max(remote.date_modified),
        },
        conflicts,
    }
}

/// The parts of two copies that differ, by the names a conflict gives them ("type",
/// "creators", "rating", "read", "trashed", field ids, "extra:<name>"), sorted; sets (groups,
/// keywords, attachments) never conflict and are not listed.
pub fn differing_parts(a: &Reference, b: &Reference) -> Vec<String> {
    let mut out: Vec<String> = [
        ("type", a.ref_type == b.ref_type),
        ("creators", a.creators == b.creators),
        ("rating", a.rating == b.rating),
        ("read", a.read == b.read),
        ("trashed", a.trashed == b.trashed),
        ("merged_into", a.merged_into == b.merged_into),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(name, _)| name.to_string())
    .collect();
    for (prefix, ma, mb) in [("", &a.fields, &b.fields), ("extra:", &a.extra, &b.extra)] {
        let names: BTreeSet<&String> = crate::sort::set_of(ma.keys().chain(mb.keys()));
        for name in names {
            if ma.get(name) != mb.get(name) {
                out.push(format!("{prefix}{name}"));
            }
        }
    }
    crate::sort::sort(&mut out);
    out
}

/// For objects that never conflict: a field both sides changed goes to the later edit.
fn later_wins<T: PartialEq + Clone>(base: &T, local: &T, remote: &T, local_is_later: bool) -> T {
    match three_way(base, local, remote) {
        Ok(v) => v,
        Err(_) if local_is_later => local.clone(),
        Err(remote) => remote,
    }
}

/// Merge a group (custom, smart or combination) by the fixed rule in the module's doc.
pub fn merge_group(base: &Group, local: &Group, remote: &Group) -> Group {
    group_with(
        base,
        local,
        remote,
        local.date_modified > remote.date_modified,
    )
}

fn group_with(base: &Group, local: &Group, remote: &Group, later: bool) -> Group {
    Group {
        key: remote.key,
        name: later_wins(&base.name, &local.name, &remote.name, later),
        set: later_wins(&base.set, &local.set, &remote.set, later),
        kind: later_wins(&base.kind, &local.kind, &remote.kind, later),
        shared: later_wins(&base.shared, &local.shared, &remote.shared, later),
        date_modified: local.date_modified.max(remote.date_modified),
    }
}

/// Merge a group set by the fixed rule in the module's doc.
pub fn merge_group_set(base: &GroupSet, local: &GroupSet, remote: &GroupSet) -> GroupSet {
    set_with(
        base,
        local,
        remote,
        local.date_modified > remote.date_modified,
    )
}

fn set_with(base: &GroupSet, local: &GroupSet, remote: &GroupSet, later: bool) -> GroupSet {
    GroupSet {
        key: remote.key,
        name: later_wins(&base.name, &local.name, &remote.name, later),
        date_modified: local.date_modified.max(remote.date_modified),
    }
}

/// Merge an attachment's description by the fixed rule in the module's doc. The bytes never
/// change under a key (a new file is a new attachment), so this is about caption, name, role.
pub fn merge_attachment(base: &Attachment, local: &Attachment, remote: &Attachment) -> Attachment {
    attachment_with(
        base,
        local,
        remote,
        local.date_modified > remote.date_modified,
    )
}

fn attachment_with(
    base: &Attachment,
    local: &Attachment,
    remote: &Attachment,
    later: bool,
) -> Attachment {
    Attachment {
        key: remote.key,
        parent: later_wins(&base.parent, &local.parent, &remote.parent, later),
        file_name: later_wins(&base.file_name, &local.file_name, &remote.file_name, later),
        media_type: later_wins(
            &base.media_type,
            &local.media_type,
            &remote.media_type,
            later,
        ),
        size: later_wins(&base.size, &local.size, &remote.size, later),
        sha256: later_wins(&base.sha256, &local.sha256, &remote.sha256, later),
        role: later_wins(&base.role, &local.role, &remote.role, later),
        caption: later_wins(&base.caption, &local.caption, &remote.caption, later),
        merged_from: later_wins(
            &base.merged_from,
            &local.merged_from,
            &remote.merged_from,
            later,
        ),
        date_modified: local.date_modified.max(remote.date_modified),
    }
}

/// Merge a library's citation style by the fixed rule in the module's doc, its file (title,
/// name and XML) as one value: a title never goes with another side's XML.
pub fn merge_style(base: &Style, local: &Style, remote: &Style) -> Style {
    style_with(
        base,
        local,
        remote,
        local.date_modified > remote.date_modified,
    )
}

fn style_with(base: &Style, local: &Style, remote: &Style, later: bool) -> Style {
    let file = |s: &Style| (s.title.clone(), s.file_name.clone(), s.xml.clone());
    let (title, file_name, xml) = later_wins(&file(base), &file(local), &file(remote), later);
    Style {
        key: remote.key,
        title,
        file_name,
        xml,
        date_modified: local.date_modified.max(remote.date_modified),
    }
}

/// A person's change of any object from `from` to `to`, carried onto `onto`, the copy stored
/// now (see [`rebase_reference`]); `None` is a deleted object. Deleting wins over whatever
/// arrived meanwhile; a change to an object deleted meanwhile brings it back (a sync then
/// meets the delete as a conflict, so neither is lost without the person choosing).
pub fn rebase(from: Option<&Object>, to: Option<Object>, onto: Option<&Object>) -> Option<Object> {
    if from == to.as_ref() {
        // Nothing changed: whatever is there stays (a deleted object is not brought back).
        return onto.cloned();
    }
    let to = to?;
    let Some(onto) = onto else { return Some(to) };
    if from == Some(onto) {
        return Some(to);
    }
    Some(match (from, to, onto) {
        (from, Object::Reference(t), Object::Reference(o)) => {
            let empty = Reference {
                key: o.key,
                ref_type: o.ref_type,
                ..Reference::default()
            };
            let f = match from {
                Some(Object::Reference(f)) => f,
                _ => &empty,
            };
            Object::Reference(rebase_reference(f, &t, o))
        }
        (Some(Object::Group(f)), Object::Group(t), Object::Group(o)) => {
            Object::Group(group_with(f, &t, o, true))
        }
        (Some(Object::GroupSet(f)), Object::GroupSet(t), Object::GroupSet(o)) => {
            Object::GroupSet(set_with(f, &t, o, true))
        }
        (Some(Object::Attachment(f)), Object::Attachment(t), Object::Attachment(o)) => {
            Object::Attachment(attachment_with(f, &t, o, true))
        }
        (Some(Object::Style(f)), Object::Style(t), Object::Style(o)) => {
            Object::Style(style_with(f, &t, o, true))
        }
        // Made anew (no copy it came from), or one key holding two kinds: the person's copy.
        (_, to, _) => to,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Creator, CreatorRole, Field, GroupKind, Name, RefType};

    fn key(n: u64) -> Key {
        Key::new(n, [3; 10])
    }

    fn base() -> Reference {
        let mut r = Reference {
            key: key(1),
            ref_type: RefType::JournalArticle,
            keywords: vec!["alpha".into(), "beta".into()],
            groups: [key(10), key(11)].into_iter().collect(),
            date_added: 100,
            date_modified: 100,
            ..Reference::default()
        };
        r.set(Field::Title, "A title".to_string());
        r.set(Field::Year, "2001".to_string());
        r.creators.push(Creator {
            role: CreatorRole::Author,
            name: Name::person("Kuhn", "Thomas"),
        });
        r
    }

    /// Each row: what this client did, what the service's copy did, the title, year and
    /// conflicts expected.
    #[test]
    fn fields_merge_three_ways() {
        type Edit = fn(&mut Reference);
        let none: Edit = |_| {};
        let title_x: Edit = |r| r.set(Field::Title, "X".to_string());
        let title_y: Edit = |r| r.set(Field::Title, "Y".to_string());
        let year_1999: Edit = |r| r.set(Field::Year, "1999".to_string());
        let no_year: Edit = |r| r.set(Field::Year, String::new());
        type Case = (
            &'static str,
            Edit,
            Edit,
            &'static str,
            &'static str,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                "nobody changed anything",
                none,
                none,
                "A title",
                "2001",
                &[],
            ),
            ("only this side", title_x, none, "X", "2001", &[]),
            ("only the service", none, title_x, "X", "2001", &[]),
            (
                "different fields both survive",
                title_x,
                year_1999,
                "X",
                "1999",
                &[],
            ),
            (
                "the same change is no conflict",
                title_x,
                title_x,
                "X",
                "2001",
                &[],
            ),
            (
                "same field, different values",
                title_x,
                title_y,
                "Y",
                "2001",
                &["title"],
            ),
            (
                "a field cleared on one side",
                no_year,
                title_x,
                "X",
                "",
                &[],
            ),
            (
                "cleared against changed",
                no_year,
                year_1999,
                "A title",
                "1999",
                &["year"],
            ),
        ];
        for (what, local_edit, remote_edit, title, year, conflicts) in cases {
            let b = base();
            let mut local = b.clone();
            local_edit(&mut local);
            let mut remote = b.clone();
            remote_edit(&mut remote);
            let m = merge_reference(&b, &local, &remote);
            assert_eq!(m.merged.title(), *title, "{what}");
            assert_eq!(m.merged.get(Field::Year), *year, "{what}");
            assert_eq!(m.conflicts, *conflicts, "{what}");
        }
    }

    #[test]
    fn sets_merge_by_adds_and_removes() {
        let b = base();
        let mut local = b.clone();
        local.groups.insert(key(12)); // added here
        local.groups.remove(&key(10)); // removed here
        local.keywords.push("gamma".into());
        let mut remote = b.clone();
        remote.groups.insert(key(13)); // added online
        remote.keywords.retain(|k| k != "alpha");
        remote.keywords.push("delta".into());
        let m = merge_reference(&b, &local, &remote);
        assert!(m.conflicts.is_empty());
        let groups: Vec<Key> = m.merged.groups.iter().copied().collect();
        assert_eq!(groups, vec![key(11), key(12), key(13)]);
        assert_eq!(m.merged.keywords, vec!["beta", "gamma", "delta"]);
    }

    #[test]
    fn creators_trash_type_and_rating_each_merge_as_one_field() {
        let b = base();
        let mut local = b.clone();
        local.creators.push(Creator {
            role: CreatorRole::Editor,
            name: Name::Literal("WHO".into()),
        });
        local.trashed = true;
        let mut remote = b.clone();
        remote.creators.clear();
        remote.rating = 4;
        let m = merge_reference(&b, &local, &remote);
        assert_eq!(m.conflicts, vec!["creators"]);
        assert!(
            m.merged.creators.is_empty(),
            "the service's value where they conflict"
        );
        assert!(
            m.merged.trashed,
            "trashing here and rating there both survive"
        );
        assert_eq!(m.merged.rating, 4);

        let mut retyped = b.clone();
        retyped.ref_type = RefType::Book;
        let mut other = b.clone();
        other.ref_type = RefType::Thesis;
        assert_eq!(
            merge_reference(&b, &retyped, &other).conflicts,
            vec!["type"]
        );
    }

    #[test]
    fn groups_never_conflict_and_the_later_edit_wins_a_field() {
        let b = Group {
            key: key(10),
            name: "Reading".into(),
            set: None,
            kind: GroupKind::Custom,
            shared: false,
            date_modified: 100,
        };
        let mut local = b.clone();
        local.name = "To read".into();
        local.date_modified = 300;
        let mut remote = b.clone();
        remote.name = "Reading list".into();
        remote.set = Some(key(20));
        remote.date_modified = 200;
        let m = merge_group(&b, &local, &remote);
        assert_eq!(m.name, "To read", "the later edit");
        assert_eq!(m.set, Some(key(20)), "a field only the service changed");
        assert_eq!(m.date_modified, 300);
        let mut tie = local.clone();
        tie.date_modified = 200;
        assert_eq!(
            merge_group(&b, &tie, &remote).name,
            "Reading list",
            "the service on a tie"
        );
    }

    /// A style's file is one value: both sides replacing it keeps the later file whole (its
    /// title with its own XML), never one side's title over the other's XML.
    #[test]
    fn a_style_merges_its_file_as_one_value() {
        let style = |title: &str, xml: &str, at: u64| Style {
            key: key(30),
            title: title.into(),
            file_name: format!("{title}.csl"),
            xml: xml.into(),
            date_modified: at,
        };
        let base = style("Old", "<old/>", 100);
        let here = style("Here", "<here/>", 300);
        let there = style("There", "<there/>", 200);
        assert_eq!(
            merge_style(&base, &here, &there),
            style("Here", "<here/>", 300)
        );
        assert_eq!(
            merge_style(&base, &there, &here),
            style("Here", "<here/>", 300)
        );
        // Only one side changed it: that side's, whichever is later.
        let renamed = style("Renamed", "<old/>", 50);
        assert_eq!(merge_style(&base, &base, &renamed).title, "Renamed");
        assert_eq!(merge_style(&base, &renamed, &base).title, "Renamed");
    }

    /// A tiny deterministic generator, so the properties run over many cases without a
    /// property-testing dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn mutate(r: &mut Reference, rng: &mut Rng) {
        for _ in 0..rng.below(4) {
            match rng.below(6) {
                0 => r.set(Field::Title, format!("t{}", rng.below(3))),
                1 => r.set(Field::Year, format!("{}", 2000 + rng.below(3))),
                2 => {
                    r.groups.insert(key(10 + rng.below(4)));
                }
                3 => {
                    let k = key(10 + rng.below(4));
                    r.groups.remove(&k);
                }
                4 => r.keywords.push(format!("k{}", rng.below(4))),
                _ => r.rating = rng.below(6) as u8,
            }
        }
    }

    #[test]
    fn merge_properties_hold_over_many_random_edits() {
        let mut rng = Rng(0x5eed);
        for _ in 0..5_000 {
            let b = base();
            let mut local = b.clone();
            mutate(&mut local, &mut rng);
            let mut remote = b.clone();
            mutate(&mut remote, &mut rng);
            // An unchanged side gives the other side, whole.
            assert_eq!(merge_reference(&b, &b, &remote).merged, remote);
            let m = merge_reference(&b, &local, &b);
            assert_eq!(m.merged.title(), local.title());
            assert_eq!(m.merged.groups, local.groups);
            assert!(m.conflicts.is_empty());
            // Merging a side with itself changes nothing.
            assert_eq!(
                merge_reference(&b, &local, &local).merged.fields,
                local.fields
            );
            // Merging twice is merging once (the merged copy against the service's).
            let once = merge_reference(&b, &local, &remote);
            let twice = merge_reference(&remote, &once.merged, &remote);
            assert_eq!(twice.merged, once.merged);
            assert!(twice.conflicts.is_empty());
            // Sides swapped: the same conflicts, and where clean, the same fields.
            let swapped = merge_reference(&b, &remote, &local);
            assert_eq!(swapped.conflicts, once.conflicts);
            if once.conflicts.is_empty() {
                assert_eq!(swapped.merged.fields, once.merged.fields);
                assert_eq!(swapped.merged.groups, once.merged.groups);
            }
        }
    }
}
