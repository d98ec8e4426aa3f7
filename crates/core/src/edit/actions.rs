//! What each of a person's actions writes, the same in the web app and the CLI: trash and
//! restore, group membership, deleting for good (with attachments and the bytes nothing else
//! shares), emptying the Trash, deleting a group or a group set, attaching and detaching files,
//! setting a field by name, and copying references into another library.
//!
//! Invariants: an action reads the library as the client holds it ([`Held`]) and returns
//! [`Write`]s, never writing itself; a reference an action leaves as it was is not written; every
//! changed object is stamped `now`; nothing a person did not ask to lose is lost (deleting a
//! group keeps its references, deleting a set keeps its groups, bytes another attachment uses
//! are kept).

use super::Write;
use crate::protocol::Object;
use crate::{
    parse_creators, Attachment, CreatorRole, Group, GroupKind, Key, ObjectKind, RefType, Reference,
};
use std::collections::{BTreeSet, HashMap};

/// A library as a client holds it, to read an action's writes from.
pub trait Held {
    fn references(&self) -> Box<dyn Iterator<Item = &Reference> + '_>;
    fn groups(&self) -> &HashMap<Key, Group>;
    fn attachments(&self) -> &HashMap<Key, Attachment>;
}

/// Change each of `keys` with `change`; a reference it leaves as it was is not written.
pub fn edit_each<E>(
    held: &impl Held,
    keys: &[Key],
    now: u64,
    mut change: impl FnMut(&mut Reference) -> Result<(), E>,
) -> Result<Vec<Write>, E> {
    let wanted: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    let mut writes = Vec::new();
    for r in held.references().filter(|r| wanted.contains(&r.key)) {
        let mut changed = r.clone();
        change(&mut changed)?;
        if changed != *r {
            changed.date_modified = now;
            writes.push(Write::change(
                Object::Reference(r.clone()),
                Object::Reference(changed),
            ));
        }
    }
    Ok(writes)
}

fn each(held: &impl Held, keys: &[Key], now: u64, change: impl Fn(&mut Reference)) -> Vec<Write> {
    edit_each(held, keys, now, |r| {
        change(r);
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// Where a copied reference came from, in its `extra` fields: `LIBRARY/KEY` (the library's
/// online id, or `personal`). Not written by any exporter (no format's prefix).
pub const COPIED_FROM: &str = "refsync:copied_from";

/// Copies of `keys` for another library (a shared one, or the person's own): each a new
/// reference under a new key that remembers where it came from (`COPIED_FROM`), out of the
/// Trash, in no group (groups belong to their library), with copies of its attachments (new
/// keys, the same bytes). `from` names the source library for `COPIED_FROM`. The new objects
/// to put, and the SHA-256 of every file whose bytes must go along.
pub fn copy_to(
    held: &impl Held,
    keys: &[Key],
    from: &str,
    now: u64,
    mut new_key: impl FnMut() -> Key,
) -> (Vec<Write>, Vec<String>) {
    let wanted: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    let mut writes = Vec::new();
    let mut files = Vec::new();
    for r in held.references().filter(|r| wanted.contains(&r.key)) {
        let mut copy = r.clone();
        copy.key = new_key();
        copy.groups.clear();
        copy.trashed = false;
        // Keys of the source library mean nothing in the other one.
        copy.merged_into = None;
        copy.not_duplicates.clear();
        copy.date_added = now;
        copy.date_modified = now;
        copy.extra
            .insert(COPIED_FROM.to_string(), format!("{from}/{}", r.key));
        copy.attachments.clear();
        for a in r
            .attachments
            .iter()
            .filter_map(|k| held.attachments().get(k))
        {
            let mut attachment = a.clone();
            attachment.key = new_key();
            attachment.parent = copy.key;
            attachment.merged_from = None;
            attachment.date_modified = now;
            copy.attachments.push(attachment.key);
            files.push(attachment.sha256.clone());
            writes.push(Write::Put(Object::Attachment(attachment)));
        }
        writes.push(Write::Put(Object::Reference(copy)));
    }
    files.sort();
    files.dedup();
    (writes, files)
}

/// Move references to the Trash (they keep their groups and attachments, for a restore).
pub fn trash(held: &impl Held, keys: &[Key], now: u64) -> Vec<Write> {
    each(held, keys, now, |r| r.trashed = true)
}

/// Bring references back from the Trash (one a merge put there leaves the merge:
/// [`super::merge::restore`]).
pub fn restore(held: &impl Held, keys: &[Key], now: u64) -> Vec<Write> {
    super::merge::restore(held, keys, now)
}

/// Why a group cannot take members by hand.
pub fn refuses_members(group: &Group) -> Option<String> {
    (!matches!(group.kind, GroupKind::Custom)).then(|| {
        format!(
            "“{}” is a smart or combination group: its references are found, not added",
            group.name
        )
    })
}

/// Add references to a custom group (smart and combination groups find theirs).
pub fn add_to_group(
    held: &impl Held,
    keys: &[Key],
    group: Key,
    now: u64,
) -> Result<Vec<Write>, String> {
    let g = held
        .groups()
        .get(&group)
        .ok_or_else(|| "That group was deleted meanwhile.".to_string())?;
    if let Some(why) = refuses_members(g) {
        return Err(why);
    }
    Ok(each(held, keys, now, |r| {
        r.groups.insert(group);
    }))
}

pub fn remove_from_group(held: &impl Held, keys: &[Key], group: Key, now: u64) -> Vec<Write> {
    each(held, keys, now, |r| {
        r.groups.remove(&group);
    })
}

/// The references in the Trash.
pub fn in_trash(held: &impl Held) -> Vec<Key> {
    held.references()
        .filter(|r| r.trashed)
        .map(|r| r.key)
        .collect()
}

/// Writes that delete, and the attachment bytes (by SHA-256) nothing left refers to, which
/// the client may remove from its own storage once the writes are in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deletion {
    pub writes: Vec<Write>,
    pub freed: Vec<String>,
}

/// Bytes of `going` attachments that no attachment staying refers to.
fn freed(held: &impl Held, going: &BTreeSet<Key>) -> Vec<String> {
    let kept: BTreeSet<&str> = crate::sort::set_of(
        held.attachments()
            .values()
            .filter(|a| !going.contains(&a.key))
            .map(|a| a.sha256.as_str()),
    );
    let mut out: Vec<String> = going
        .iter()
        .filter_map(|k| held.attachments().get(k))
        .map(|a| a.sha256.clone())
        .filter(|sha| !kept.contains(sha.as_str()))
        .collect();
    crate::sort::sort(&mut out);
    out.dedup();
    out
}

/// Delete references for good, with their attachments (the caller has asked the person).
pub fn delete_forever(held: &impl Held, keys: &[Key]) -> Deletion {
    let doomed: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    let mut writes = Vec::new();
    let mut going = BTreeSet::new();
    for r in held.references().filter(|r| doomed.contains(&r.key)) {
        for a in &r.attachments {
            if held.attachments().contains_key(a) {
                writes.push(Write::Delete(ObjectKind::Attachment, *a));
                going.insert(*a);
            }
        }
        writes.push(Write::Delete(ObjectKind::Reference, r.key));
    }
    Deletion {
        writes,
        freed: freed(held, &going),
    }
}

/// Delete a group; its references stay in the library and lose the membership.
pub fn delete_group(held: &impl Held, group: Key, now: u64) -> Vec<Write> {
    let members: Vec<Key> = held
        .references()
        .filter(|r| r.groups.contains(&group))
        .map(|r| r.key)
        .collect();
    let mut writes = remove_from_group(held, &members, group, now);
    writes.push(Write::Delete(ObjectKind::Group, group));
    writes
}

/// Delete a group set; its groups move to the top level (nothing in them is lost).
pub fn delete_set(held: &impl Held, set: Key, now: u64) -> Vec<Write> {
    let mut writes: Vec<Write> = held
        .groups()
        .values()
        .filter(|g| g.set == Some(set))
        .map(|from| {
            let mut g = from.clone();
            g.set = None;
            g.date_modified = now;
            Write::change(Object::Group(from.clone()), Object::Group(g))
        })
        .collect();
    writes.push(Write::Delete(ObjectKind::GroupSet, set));
    writes
}

/// Attach a file (its bytes already stored by the client) to its parent reference.
pub fn attach(held: &impl Held, attachment: Attachment, now: u64) -> Result<Vec<Write>, String> {
    let parent = attachment.parent;
    let Some(from) = held.references().find(|r| r.key == parent) else {
        return Err("The reference was deleted meanwhile.".into());
    };
    let mut r = from.clone();
    r.attachments.push(attachment.key);
    r.date_modified = now;
    Ok(vec![
        Write::Put(Object::Attachment(attachment)),
        Write::change(Object::Reference(from.clone()), Object::Reference(r)),
    ])
}

/// Give an attachment (a figure, mostly) its caption, tidied; nothing to write when it has it
/// already, `None` when the attachment is gone.
pub fn set_caption(
    held: &impl Held,
    attachment: Key,
    caption: &str,
    now: u64,
) -> Option<Vec<Write>> {
    let from = held.attachments().get(&attachment)?;
    let caption = caption.trim_end();
    if from.caption == caption {
        return Some(Vec::new());
    }
    let mut to = from.clone();
    to.caption = caption.to_string();
    to.date_modified = now;
    Some(vec![Write::change(
        Object::Attachment(from.clone()),
        Object::Attachment(to),
    )])
}

/// Remove one attachment from its reference.
pub fn detach(held: &impl Held, attachment: Key, now: u64) -> Option<Deletion> {
    let a = held.attachments().get(&attachment)?;
    let mut writes = vec![Write::Delete(ObjectKind::Attachment, a.key)];
    if let Some(from) = held.references().find(|r| r.key == a.parent) {
        let mut r = from.clone();
        r.attachments.retain(|k| *k != a.key);
        r.date_modified = now;
        writes.push(Write::change(
            Object::Reference(from.clone()),
            Object::Reference(r),
        ));
    }
    Some(Deletion {
        writes,
        freed: freed(held, &crate::sort::set_of([attachment])),
    })
}

/// Keywords from text: one per line (or separated by `;`), trimmed, empty ones dropped.
pub fn keywords(text: &str) -> Vec<String> {
    text.split([';', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every keyword of the references outside the Trash, with how many hold it, by name
/// (letters compared without case, so "games" and "Games" sit side by side).
pub fn keyword_counts(held: &impl Held) -> Vec<(String, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in held.references().filter(|r| !r.trashed) {
        for k in &r.keywords {
            *counts.entry(k.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    crate::sort::sort_by_key(&mut out, |(k, _)| (k.to_lowercase(), k.clone()));
    out
}

/// Rename keyword `from` to `to` in every reference holding it (the Trash included, so a
/// restore brings back the new name); where a reference already holds `to`, the two merge
/// into one. An empty `to` is refused.
pub fn rename_keyword(
    held: &impl Held,
    from: &str,
    to: &str,
    now: u64,
) -> Result<Vec<Write>, String> {
    let to = to.trim();
    if to.is_empty() {
        return Err("Give the keyword a name.".into());
    }
    let keys: Vec<Key> = held
        .references()
        .filter(|r| r.keywords.iter().any(|k| k == from))
        .map(|r| r.key)
        .collect();
    Ok(each(held, &keys, now, |r| {
        let mut renamed: Vec<String> = Vec::with_capacity(r.keywords.len());
        for k in &r.keywords {
            let k = if k == from { to } else { k.as_str() };
            if !renamed.iter().any(|s| s == k) {
                renamed.push(k.to_string());
            }
        }
        r.keywords = renamed;
    }))
}

/// Set what `name` names to `value`, as the CLI's `field=value` and an import's columns do:
/// `author`/`editor`/`translator` (creators of that role, "Last, First; Last, First"),
/// `type`, `keywords`, `rating` (0–5), `read` (yes/no), or any field of the reference's type
/// by its name (title, year, journal, ...). The error says what was wrong, in plain words.
pub fn set_named(r: &mut Reference, name: &str, value: &str) -> Result<(), String> {
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    let role = match name.as_str() {
        "author" | "authors" => Some(CreatorRole::Author),
        "editor" | "editors" => Some(CreatorRole::Editor),
        "translator" | "translators" => Some(CreatorRole::Translator),
        _ => None,
    };
    if let Some(role) = role {
        r.creators.retain(|c| c.role != role);
        r.creators.extend(parse_creators(value, role));
        r.sort_creators();
        return Ok(());
    }
    match name.as_str() {
        "type" => {
            r.ref_type = RefType::from_label(value)
                .or_else(|| {
                    let id = value.to_ascii_lowercase().replace([' ', '-'], "_");
                    RefType::ALL.iter().copied().find(|t| t.id() == id)
                })
                .ok_or_else(|| {
                    format!(
                        "“{value}” is not a reference type (for example journal_article, book, book_section, thesis)"
                    )
                })?;
        }
        "keywords" => r.keywords = keywords(value),
        "rating" => {
            r.rating = match value.parse::<u8>() {
                Ok(n) if n <= 5 => n,
                _ if value.is_empty() => 0,
                _ => return Err(format!("rating must be 0 to 5, not “{value}”")),
            }
        }
        "read" => {
            r.read = match value.to_ascii_lowercase().as_str() {
                "yes" | "true" | "1" => true,
                "no" | "false" | "0" | "" => false,
                _ => return Err(format!("read must be yes or no, not “{value}”")),
            }
        }
        other => {
            let field = r.ref_type.field_named(other).ok_or_else(|| {
                format!(
                    "refsync has no field called “{other}” (fields are named as in `refsync show KEY --json`: title, year, journal, volume, pages, doi, ...)"
                )
            })?;
            r.set(field, value.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{AttachmentRole, Field};

    use crate::edit::testing::{key, Lib};

    fn file(n: u8, parent: u8, sha: &str) -> Attachment {
        crate::edit::testing::file(n, parent, sha, AttachmentRole::default())
    }

    fn lib() -> Lib {
        let mut l = Lib::default();
        for n in 1..=3 {
            let mut r = Reference::new(key(n), RefType::Book, 1);
            r.set(Field::Title, format!("Book {n}"));
            l.refs.push(r);
        }
        l.refs[0].attachments.push(key(21));
        l.refs[1].attachments.push(key(22));
        l.attachments.insert(key(21), file(21, 1, "aaa"));
        l.attachments.insert(key(22), file(22, 2, "aaa"));
        let g = Group {
            key: key(10),
            name: "Reading".into(),
            set: Some(key(30)),
            kind: GroupKind::Custom,
            shared: false,
            date_modified: 1,
        };
        l.groups.insert(g.key, g);
        l.refs[2].groups.insert(key(10));
        l
    }

    #[test]
    fn a_caption_is_set_once_and_a_gone_attachment_says_so() {
        let l = lib();
        let w = set_caption(&l, key(21), "Figure 1. The loop. \n", 9).unwrap();
        let [Write::Change {
            to: Object::Attachment(a),
            ..
        }] = w.as_slice()
        else {
            panic!("one change: {w:?}");
        };
        assert_eq!(
            (a.caption.as_str(), a.date_modified),
            ("Figure 1. The loop.", 9)
        );
        assert!(
            set_caption(&l, key(21), "", 9).unwrap().is_empty(),
            "unchanged"
        );
        assert!(set_caption(&l, key(99), "x", 9).is_none());
    }

    #[test]
    fn a_keyword_is_counted_renamed_and_merged_across_the_library() {
        let mut l = lib();
        l.refs[0].keywords = vec!["Games".into(), "Gaming".into()];
        l.refs[1].keywords = vec!["gaming".into()];
        l.refs[2].keywords = vec!["Gaming".into()];
        l.refs[2].trashed = true;
        assert_eq!(
            keyword_counts(&l),
            [
                ("Games".to_string(), 1),
                ("Gaming".to_string(), 1),
                ("gaming".to_string(), 1)
            ]
        );
        let w = rename_keyword(&l, "Gaming", " Games ", 5).unwrap();
        assert_eq!(w.len(), 2, "the Trash's reference is renamed too");
        let Write::Change {
            to: Object::Reference(first),
            ..
        } = &w[0]
        else {
            panic!("{w:?}")
        };
        assert_eq!(
            first.keywords,
            ["Games"],
            "merged into the one it already held"
        );
        assert_eq!(first.date_modified, 5);
        assert!(rename_keyword(&l, "Gaming", "  ", 5).is_err());
    }

    #[test]
    fn an_action_writes_only_what_it_changes_and_stamps_it() {
        let l = lib();
        let w = trash(&l, &[key(1), key(9)], 7);
        assert_eq!(w.len(), 1, "an unknown key writes nothing");
        let Write::Change {
            to: Object::Reference(r),
            ..
        } = &w[0]
        else {
            panic!("{w:?}")
        };
        assert!(r.trashed);
        assert_eq!(r.date_modified, 7);
        assert!(restore(&l, &[key(1)], 7).is_empty(), "not in the Trash");
        assert!(add_to_group(&l, &[key(3)], key(10), 7).unwrap().is_empty());
        assert_eq!(add_to_group(&l, &[key(1)], key(10), 7).unwrap().len(), 1);
    }

    #[test]
    fn deleting_keeps_what_others_still_use() {
        let l = lib();
        let d = delete_forever(&l, &[key(1)]);
        assert_eq!(
            d.writes,
            vec![
                Write::Delete(ObjectKind::Attachment, key(21)),
                Write::Delete(ObjectKind::Reference, key(1)),
            ]
        );
        assert!(d.freed.is_empty(), "book 2's attachment shares the bytes");
        let both = delete_forever(&l, &[key(1), key(2)]);
        assert_eq!(both.freed, vec!["aaa".to_string()]);
        let group = delete_group(&l, key(10), 7);
        assert_eq!(group.len(), 2, "book 3 leaves the group, the group goes");
        assert_eq!(group[1], Write::Delete(ObjectKind::Group, key(10)));
        let set = delete_set(&l, key(30), 7);
        let Write::Change {
            to: Object::Group(g),
            ..
        } = &set[0]
        else {
            panic!("{set:?}")
        };
        assert_eq!(g.set, None, "the group moves to the top level");
        let detached = detach(&l, key(22), 7).unwrap();
        assert_eq!(detached.writes.len(), 2);
        assert!(detached.freed.is_empty());
    }

    #[test]
    fn fields_are_set_by_name() {
        let mut r = Reference::new(key(1), RefType::JournalArticle, 1);
        set_named(&mut r, "Title", " A title ").unwrap();
        set_named(&mut r, "author", "Curie, Marie; Einstein, Albert").unwrap();
        set_named(&mut r, "keywords", "radium;\n polonium ;;").unwrap();
        set_named(&mut r, "type", "book").unwrap();
        assert_eq!(r.title(), "A title");
        assert_eq!(r.creators.len(), 2);
        assert_eq!(r.keywords, ["radium", "polonium"]);
        assert_eq!(r.ref_type, RefType::Book);
        assert!(set_named(&mut r, "rating", "9")
            .unwrap_err()
            .contains("0 to 5"));
        assert!(set_named(&mut r, "colour", "red")
            .unwrap_err()
            .contains("no field"));
        let smart = Group {
            kind: GroupKind::Smart {
                criteria: Vec::new(),
            },
            ..lib().groups[&key(10)].clone()
        };
        assert!(refuses_members(&smart).is_some());
    }

    #[test]
    fn a_copy_is_a_new_reference_that_remembers_its_origin_with_its_files() {
        let mut from = lib();
        from.refs[0].groups.insert(key(10));
        from.refs[0].trashed = true;
        let mut n = 100;
        let (writes, files) = copy_to(&from, &[key(1), key(3)], "lab", 9, || {
            n += 1;
            key(n)
        });
        let mut into = Lib::default();
        into.apply(&writes);
        assert_eq!(into.refs.len(), 2);
        assert_eq!(files, ["aaa"]);
        let copy = into.refs.iter().find(|r| r.title() == "Book 1").unwrap();
        assert!(copy.key != key(1) && !copy.trashed && copy.groups.is_empty());
        assert_eq!(copy.extra[COPIED_FROM], format!("lab/{}", key(1)));
        assert_eq!(copy.date_added, 9);
        let attachment = &into.attachments[&copy.attachments[0]];
        assert_eq!(
            (attachment.parent, attachment.sha256.as_str()),
            (copy.key, "aaa")
        );
        assert_ne!(attachment.key, key(21));
        assert_eq!(from.refs.len(), 3, "the source is untouched");
    }
}
