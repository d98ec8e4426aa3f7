//! Merging duplicates into one kept record, undoing a merge by a restore, and marking
//! references as not duplicates: the same in the web app's compare window and the CLI's
//! `refsync duplicates`.
//!
//! Invariants: a merge is ordinary edits (it syncs like any edit, and Undo undoes it); nothing
//! is lost: the kept record takes every value a person picked and fills its empty fields from
//! the others, group memberships and keywords are the union, notes are joined with each part
//! once, every attachment moves to the kept record, and each merged-away record goes to the
//! Trash whole (its own fields untouched) marked `merged_into`, so restoring it brings it back
//! with its attachments. An edit another device makes to a merged-away record before it
//! syncs becomes a sync conflict, never a silent loss (`sync::merge`, docs/sync.md).

use super::actions::Held;
use super::Write;
use crate::protocol::Object;
use crate::sync::compare::{compose, rows, Pick, Row};
use crate::{AttachmentRole, Field, Key, Reference};
use std::collections::{BTreeMap, BTreeSet};

/// One part of the references being compared: its text in each, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRow {
    /// As in [`Row::id`]: "type", "creators", a field id, "extra:<name>", ...
    pub id: String,
    pub label: String,
    pub values: Vec<String>,
    /// Free text a person may edit before merging.
    pub editable: bool,
}

impl MergeRow {
    pub fn differs(&self) -> bool {
        self.values.iter().any(|v| *v != self.values[0])
    }
}

/// What to keep of one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    /// That reference's value.
    From(Key),
    /// This text (editable parts only).
    Text(String),
}

/// Parts a merge always combines rather than picks: shown, but not chosen.
const COMBINED: [&str; 5] = [
    "keywords",
    "groups",
    "attachments",
    "trashed",
    "merged_into",
];

/// Notes fields: joined, each paragraph once, unless a person picks one.
const JOINED: [Field; 2] = [Field::Notes, Field::ResearchNotes];

/// Every part any of `refs` holds, with each one's text, in the order a reference is read.
pub fn compare(refs: &[&Reference], group_name: impl Fn(&Key) -> String) -> Vec<MergeRow> {
    let mut out: Vec<MergeRow> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for (n, r) in refs.iter().enumerate() {
        for Row {
            id,
            label,
            local,
            editable,
            ..
        } in rows(r, r, &group_name)
        {
            let i = *at.entry(id.clone()).or_insert_with(|| {
                out.push(MergeRow {
                    id: id.clone(),
                    label,
                    values: vec![String::new(); refs.len()],
                    editable,
                });
                out.len() - 1
            });
            out[i].values[n] = local;
        }
    }
    // Parts first seen in a later reference go where the model's order puts them.
    let union = union_of(refs);
    let order: BTreeMap<String, usize> = crate::sort::map_of(
        rows(&union, &union, &group_name)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r.id, i)),
    );
    crate::sort::sort_by_key(&mut out, |r| {
        order.get(&r.id).copied().unwrap_or(usize::MAX)
    });
    out
}

/// A copy holding every part any of `refs` has (for ordering rows only).
fn union_of(refs: &[&Reference]) -> Reference {
    let mut u = refs.first().map(|r| (*r).clone()).unwrap_or_default();
    for r in refs {
        for (k, v) in &r.fields {
            u.fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &r.extra {
            u.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if u.creators.is_empty() {
            u.creators = r.creators.clone();
        }
    }
    u
}

/// Whether a part is picked by a person in the compare window (the rest are combined: sets,
/// and the notes, which are joined so that no one's notes are lost by a default).
pub fn is_picked(id: &str) -> bool {
    !COMBINED.contains(&id) && !JOINED.iter().any(|f| f.id() == id)
}

/// The kept record as a merge makes it: `keep` with each picked part, its empty fields filled
/// from `others` (in order), groups and keywords the union, notes joined, rating the highest,
/// read if any was read (unless picked), every attachment. Not stamped (the caller stamps it).
pub fn merged(
    keep: &Reference,
    others: &[&Reference],
    picks: &BTreeMap<String, Take>,
) -> Reference {
    let mut out = keep.clone();
    let joined: BTreeSet<&str> = crate::sort::set_of(JOINED.iter().map(|f| f.id()));
    for other in others {
        for (id, value) in &other.fields {
            if !joined.contains(id.as_str()) {
                out.fields
                    .entry(id.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        for (name, value) in &other.extra {
            out.extra
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        if out.creators.is_empty() {
            out.creators = other.creators.clone();
        }
        for k in &other.keywords {
            if !out.keywords.contains(k) {
                out.keywords.push(k.clone());
            }
        }
        out.groups.extend(other.groups.iter().copied());
        for a in &other.attachments {
            if !out.attachments.contains(a) {
                out.attachments.push(*a);
            }
        }
        out.rating = out.rating.max(other.rating);
        out.read |= other.read;
    }
    for field in JOINED {
        let text = join_notes(
            std::iter::once(keep)
                .chain(others.iter().copied())
                .map(|r| r.get(field)),
        );
        out.set(field, text);
    }
    let everyone: Vec<&Reference> = std::iter::once(keep)
        .chain(others.iter().copied())
        .collect();
    for (id, take) in picks {
        if !is_picked(id) {
            continue;
        }
        let pick = match take {
            Take::Text(t) => Pick::Text(t.clone()),
            Take::From(_) => Pick::Local,
        };
        let from = match take {
            Take::From(k) => match everyone.iter().find(|r| r.key == *k) {
                Some(r) => *r,
                None => continue,
            },
            Take::Text(_) => &out,
        };
        out = compose(from, &out, &crate::sort::map_of([(id.clone(), pick)]));
    }
    let members: BTreeSet<Key> = crate::sort::set_of(everyone.iter().map(|r| r.key));
    out.not_duplicates.retain(|k| !members.contains(k));
    out.trashed = false;
    out.merged_into = None;
    out
}

/// Notes from several records as one text: each paragraph once, in the order met.
fn join_notes<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    let mut seen = BTreeSet::new();
    let mut parts = Vec::new();
    for text in texts {
        for part in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            if seen.insert(part.to_string()) {
                parts.push(part.to_string());
            }
        }
    }
    parts.join("\n\n")
}

/// Merge `others` into `keep`: the kept record's change, each other's move to the Trash
/// marked `merged_into`, and each of their attachments moved to the kept record.
pub fn merge(
    held: &impl Held,
    keep: Key,
    others: &[Key],
    picks: &BTreeMap<String, Take>,
    now: u64,
) -> Result<Vec<Write>, String> {
    let find = |k: &Key| held.references().find(|r| r.key == *k);
    let kept = find(&keep).ok_or("The record to keep was deleted meanwhile.")?;
    if kept.trashed {
        return Err("The record to keep is in the Trash; restore it first.".into());
    }
    let mut going: Vec<&Reference> = Vec::new();
    for k in crate::sort::set_of(others.iter().copied()) {
        if k == keep {
            continue;
        }
        let r = find(&k).ok_or("A record to merge was deleted meanwhile.")?;
        if r.trashed {
            return Err(format!(
                "“{}” is in the Trash; restore it to merge it.",
                r.title()
            ));
        }
        going.push(r);
    }
    if going.is_empty() {
        return Err("Choose at least two records to merge.".into());
    }
    let mut to = merged(kept, &going, picks);
    to.date_modified = now;
    let mut writes = vec![Write::change(
        Object::Reference(kept.clone()),
        Object::Reference(to),
    )];
    // One figure per reference (EndNote's rule): the kept record's, else the first moved in;
    // any other figure moves in as a file.
    let mut has_figure = kept.attachments.iter().any(|a| {
        held.attachments()
            .get(a)
            .is_some_and(|a| a.role == AttachmentRole::Figure)
    });
    for r in going {
        for a in r
            .attachments
            .iter()
            .filter_map(|a| held.attachments().get(a))
        {
            let mut moved = a.clone();
            moved.parent = keep;
            moved.merged_from = Some(r.key);
            if moved.role == AttachmentRole::Figure {
                if has_figure {
                    moved.role = AttachmentRole::File;
                }
                has_figure = true;
            }
            moved.date_modified = now;
            writes.push(Write::change(
                Object::Attachment(a.clone()),
                Object::Attachment(moved),
            ));
        }
        let mut away = r.clone();
        away.trashed = true;
        away.merged_into = Some(keep);
        away.attachments.clear();
        away.date_modified = now;
        writes.push(Write::change(
            Object::Reference(r.clone()),
            Object::Reference(away),
        ));
    }
    Ok(writes)
}

/// Bring references back from the Trash; one a merge put there leaves the merge: it is its
/// own record again and takes back the attachments the merge moved from it.
pub fn restore(held: &impl Held, keys: &[Key], now: u64) -> Vec<Write> {
    let wanted: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    let mut writes = Vec::new();
    // Kept records losing attachments, changed once each however many come back from them.
    let mut kept_changes: BTreeMap<Key, (Reference, Reference)> = BTreeMap::new();
    for r in held.references().filter(|r| wanted.contains(&r.key)) {
        if !r.trashed {
            continue;
        }
        let mut back = r.clone();
        back.trashed = false;
        back.date_modified = now;
        if let Some(into) = r.merged_into {
            back.merged_into = None;
            let mut moved: Vec<&crate::Attachment> = held
                .attachments()
                .values()
                .filter(|a| a.parent == into && a.merged_from == Some(r.key))
                .collect();
            crate::sort::sort_by_key(&mut moved, |a| a.key);
            if let Some(kept) = held.references().find(|k| k.key == into) {
                let entry = kept_changes
                    .entry(into)
                    .or_insert_with(|| (kept.clone(), kept.clone()));
                entry
                    .1
                    .attachments
                    .retain(|k| !moved.iter().any(|a| a.key == *k));
                entry.1.date_modified = now;
            }
            for a in moved {
                let mut home = a.clone();
                home.parent = r.key;
                home.merged_from = None;
                home.date_modified = now;
                back.attachments.push(a.key);
                writes.push(Write::change(
                    Object::Attachment(a.clone()),
                    Object::Attachment(home),
                ));
            }
        }
        writes.push(Write::change(
            Object::Reference(r.clone()),
            Object::Reference(back),
        ));
    }
    for (from, to) in kept_changes.into_values() {
        if from != to {
            writes.push(Write::change(
                Object::Reference(from),
                Object::Reference(to),
            ));
        }
    }
    writes
}

/// Mark `keys` as not duplicates of one another: duplicate detection never pairs them again,
/// on any device (the mark syncs with each reference).
pub fn not_duplicates(held: &impl Held, keys: &[Key], now: u64) -> Vec<Write> {
    let set: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    super::actions::edit_each(held, keys, now, |r| {
        let me = r.key;
        r.not_duplicates
            .extend(set.iter().copied().filter(|k| *k != me));
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// Undo [`not_duplicates`] among `keys`: they may be found as duplicates again.
pub fn duplicates_again(held: &impl Held, keys: &[Key], now: u64) -> Vec<Write> {
    let set: BTreeSet<Key> = crate::sort::set_of(keys.iter().copied());
    super::actions::edit_each(held, keys, now, |r| {
        r.not_duplicates.retain(|k| !set.contains(k));
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// What merging every set found by an identifier (same DOI or PMID) would do, for a preview:
/// per set, the record kept (the one with the most filled parts, then the oldest) and the
/// ones merged into it.
pub fn identifier_merges(
    held: &impl Held,
    sets: &[crate::query::DuplicateSet],
) -> Vec<(Key, Vec<Key>)> {
    let all: BTreeMap<Key, &Reference> = crate::sort::map_of(held.references().map(|r| (r.key, r)));
    sets.iter()
        .filter(|s| s.reason.by_identifier())
        .filter_map(|s| {
            let members: Vec<&Reference> =
                s.keys.iter().filter_map(|k| all.get(k).copied()).collect();
            let keep = best_record(&members)?;
            let others = members
                .iter()
                .map(|r| r.key)
                .filter(|k| *k != keep)
                .collect::<Vec<_>>();
            (!others.is_empty()).then_some((keep, others))
        })
        .collect()
}

/// The record a merge keeps unless a person picks: the fullest (most fields, creators,
/// attachments), then the oldest.
pub fn best_record(members: &[&Reference]) -> Option<Key> {
    members
        .iter()
        .max_by(|a, b| {
            fullness(a)
                .cmp(&fullness(b))
                .then_with(|| b.key.cmp(&a.key))
        })
        .map(|r| r.key)
}

fn fullness(r: &Reference) -> usize {
    r.fields.len() + r.creators.len() + r.attachments.len() * 2 + r.groups.len()
}

#[cfg(test)]
mod tests;
