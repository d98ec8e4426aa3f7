//! How a store carries out what the engine and a person decide, written once so that the
//! in-memory store, the CLI's SQLite file and the browser's IndexedDB cannot drift apart: the
//! object after a push is answered, a conflict kept beside one already waiting, a waiting
//! conflict's online side kept current, a settled conflict, and what unlinking keeps. Pure:
//! each store reads what it holds inside its transaction, calls these, and writes the result.
//!
//! Invariants (docs/sync.md, "Conflicts that wait"):
//! - a conflict leaves Sync Conflicts only when the person settles it; a second conflict on
//!   the same object is combined with the first, never written over it, so no side is lost;
//! - a waiting conflict's online side is the newest online copy this client holds, so what
//!   the person compares and what a settlement is based on are never stale;
//! - a settlement is the person's change from the online copy they saw to the copy they chose,
//!   carried onto the object as held now and based on the newest online version known; it
//!   is never based on the copy the conflict captured when it arose;
//! - an object with no copy, no base and no local change is removed from the store.

use super::merge::{carry_reference, differing_parts, rebase};
use super::plan::{ConflictReason, ConflictRecord, LocalObject, Resolution};
use crate::protocol::Object;
use crate::{Key, ObjectKind};

/// The object after the service took `pushed` (this client's copy when it was sent) at
/// `version`, given the copy held now (`None`: none, or deleted here): it stays dirty only if
/// it changed again since it was sent. An object deleted here while its first push was in
/// flight (so it left nothing behind) becomes a delete to send, as the service now has it.
pub fn after_push(
    kind: ObjectKind,
    key: Key,
    current: Option<Object>,
    pushed: Option<Object>,
    version: u64,
) -> LocalObject {
    let dirty = current != pushed;
    LocalObject {
        kind,
        key,
        base_version: version,
        base: pushed,
        current,
        dirty,
    }
}

/// The object after a person's write `w`, given the object as held (`None`: nothing here) and
/// its waiting conflict, if any: the write is carried onto the held copy (core's
/// `edit::Write::over`) and keeps the held base; a delete of an object never synced leaves
/// nothing to send. An object this client does not hold while its conflict waits was deleted
/// online: the write changes only this client's side of the conflict (see [`edit_conflict`]),
/// since bringing it back online is the person's choice when they settle.
pub fn after_write(
    held: Option<&LocalObject>,
    conflict: Option<&ConflictRecord>,
    w: &crate::edit::Write,
) -> LocalObject {
    let (kind, key) = w.target();
    if held.is_none() && conflict.is_some_and(|c| c.remote.is_none()) {
        return LocalObject {
            kind,
            key,
            base_version: 0,
            base: None,
            current: None,
            dirty: false,
        };
    }
    let current = w.over(held.and_then(|h| h.current.as_ref()));
    let (base_version, base) = match (held, conflict) {
        (Some(h), _) => (h.base_version, h.base.clone()),
        (None, Some(c)) => (c.remote_version, c.remote.clone()),
        (None, None) => (0, None),
    };
    let dirty = match (&current, base_version) {
        (None, 0) => false,
        (Some(_), 0) => true,
        _ => current != base,
    };
    LocalObject {
        kind,
        key,
        base_version,
        base: if current.is_none() && base_version == 0 {
            None
        } else {
            base
        },
        current,
        dirty,
    }
}

/// Whether a store removes `o` entirely (nothing here, nothing synced, nothing to send).
pub fn is_gone(o: &LocalObject) -> bool {
    o.current.is_none() && o.base.is_none() && !o.dirty
}

/// The object while its conflict waits: the service's copy, with no local change.
pub fn held_in_conflict(record: &ConflictRecord) -> LocalObject {
    LocalObject {
        kind: record.kind,
        key: record.key,
        base_version: record.remote_version,
        base: record.remote.clone(),
        current: record.remote.clone(),
        dirty: false,
    }
}

/// A side of a conflict (`side`, its changes made from `from`) carried onto `onto`: the side
/// as it now stands, and the parts that clash (changed on both, to different values).
fn carry(
    from: Option<&Object>,
    side: Option<Object>,
    onto: Option<&Object>,
) -> (Option<Object>, Vec<String>) {
    match (from, &side, onto) {
        (Some(Object::Reference(f)), Some(Object::Reference(s)), Some(Object::Reference(o)))
            if f != s && f != o =>
        {
            let m = carry_reference(f, s, o);
            (Some(Object::Reference(m.merged)), m.conflicts)
        }
        _ => (rebase(from, side, onto), Vec::new()),
    }
}

fn reference_parts(local: &Option<Object>, remote: &Option<Object>) -> Option<Vec<String>> {
    match (local, remote) {
        (Some(Object::Reference(l)), Some(Object::Reference(r))) => Some(differing_parts(l, r)),
        _ => None,
    }
}

fn reason_of(
    local: &Option<Object>,
    remote: &Option<Object>,
    was: ConflictReason,
) -> ConflictReason {
    // A refusal stays one whatever the online copy does since: the role is what refused it.
    if was == ConflictReason::Refused {
        return was;
    }
    match (local.is_some(), remote.is_some()) {
        (true, true) => ConflictReason::Fields,
        (true, false) => ConflictReason::EditedHereDeletedOnline,
        (false, true) => ConflictReason::DeletedHereEditedOnline,
        (false, false) => was,
    }
}

/// The fields to name as conflicting after either side moved: those named before (or all
/// that differ, when the conflict just became one of fields) that still differ.
fn fields_now(
    named: Vec<String>,
    was: ConflictReason,
    reason: ConflictReason,
    local: &Option<Object>,
    remote: &Option<Object>,
) -> Vec<String> {
    let Some(differ) = reference_parts(local, remote) else {
        return Vec::new();
    };
    if was != ConflictReason::Fields && reason == ConflictReason::Fields {
        return differ;
    }
    let mut out: Vec<String> = named.into_iter().filter(|f| differ.contains(f)).collect();
    out.dedup();
    out
}

/// The conflict to keep when `new` arises while `existing` waits for the same object, so
/// that neither the waiting side nor the edits made since vanish. Each side of a conflict is
/// that side's changes carried onto the online copy (see [`super::plan::ConflictRecord`]), so
/// this client's side becomes: the newest online copy, with the waiting side's changes (from
/// its online copy) carried onto it, and the changes made since (`new.local` from the online
/// copy, or from its base when the online copy was deleted) on top; the online side is the
/// newest.
pub fn keep_conflict(existing: Option<ConflictRecord>, new: ConflictRecord) -> ConflictRecord {
    let Some(old) = existing else { return new };
    let mut new_clashes = Vec::new();
    let (waiting, since) = match &new.base {
        // This client unlinked since: the new online copy does not come from the old one, so
        // the waiting side stands whole against it; the object (sent anew) held the old online
        // side, which is where any change since started (carried onto the new online copy
        // the way this client's side was).
        None => (
            match old.local {
                None => None,
                Some(l) => rebase(None, Some(l), new.remote.as_ref()),
            },
            rebase(None, old.remote, new.remote.as_ref()),
        ),
        Some(base) => (
            {
                let (carried, clashes) = carry(old.remote.as_ref(), old.local, new.remote.as_ref());
                new_clashes = clashes;
                carried
            },
            // A conflict of fields carries this client's changes onto the online copy;
            // otherwise (deleted online) its side is its copy, changed since its base.
            match new.reason {
                ConflictReason::Fields => new.remote.clone(),
                _ => Some(base.clone()),
            },
        ),
    };
    let local = rebase(since.as_ref(), new.local.clone(), waiting.as_ref());
    let reason = reason_of(&local, &new.remote, new.reason);
    let mut named = old.fields;
    named.extend(new.fields);
    named.extend(new_clashes);
    crate::sort::sort(&mut named);
    let mut fields = fields_now(named, ConflictReason::Fields, reason, &local, &new.remote);
    if new.base.is_none() {
        // Unlinked since: nothing tells which side changed a part, so every part that differs
        // is the person's to pick.
        if let Some(all) = reference_parts(&local, &new.remote) {
            fields = all;
        }
    }
    ConflictRecord {
        kind: new.kind,
        key: new.key,
        reason,
        local,
        remote: new.remote,
        remote_version: new.remote_version,
        fields,
        // The newest copy both sides had: the clean edits since then are told apart by it,
        // and everything that clashed before is named in `fields`.
        base: new.base.or(old.base),
    }
}

/// A person's write to an object whose conflict waits. Made on the reference as they see it
/// (this client's side, in Sync Conflicts), it changes this client's side as well as the
/// object: their later edits are part of the side they have not given up.
pub fn edit_conflict(record: &mut ConflictRecord, write: &crate::edit::Write) {
    let before = record.local.clone();
    record.local = write.over(record.local.as_ref());
    // The parts the person changed are decided: made knowing both sides, they are no
    // longer a clash, and a merged start takes them from this client's side (as if the
    // online side had left them as they were).
    if let (Some(Object::Reference(b)), Some(Object::Reference(a)), Some(Object::Reference(o))) =
        (&before, &record.local, &record.remote)
    {
        let decided = differing_parts(b, a);
        if !decided.is_empty() {
            let empty = crate::Reference {
                key: o.key,
                ref_type: o.ref_type,
                ..crate::Reference::default()
            };
            let base = match &record.base {
                Some(Object::Reference(base)) => base,
                _ => &empty,
            };
            let picks = decided
                .iter()
                .map(|p| (p.clone(), super::compare::Pick::Local))
                .collect();
            record.base = Some(Object::Reference(super::compare::compose(o, base, &picks)));
            record.fields.retain(|f| !decided.contains(f));
        }
    }
    let was = record.reason;
    record.reason = reason_of(&record.local, &record.remote, was);
    record.fields = fields_now(
        std::mem::take(&mut record.fields),
        was,
        record.reason,
        &record.local,
        &record.remote,
    );
}

/// Keep a waiting conflict's online side current: the store now holds the service's copy
/// `online` at `version` as the object's base. This client's side moves with it (its own
/// changes carried onto the newer copy). Whether the record changed.
pub fn refresh_conflict(
    record: &mut ConflictRecord,
    version: u64,
    online: Option<&Object>,
) -> bool {
    if version <= record.remote_version {
        return false;
    }
    let was = record.reason;
    let unlinked = record.remote_version == 0;
    // This client's side is its changes carried onto the online copy: carried onto the newer.
    // After an unlink the newer copy does not come from the one this side was carried onto, so
    // the side stands whole against it and every part that differs is the person's to pick.
    record.local = if unlinked {
        // (A delete waiting here stays a delete.)
        record
            .local
            .take()
            .and_then(|l| rebase(None, Some(l), online))
    } else {
        let (carried, clashes) = carry(record.remote.as_ref(), record.local.take(), online);
        record.fields.extend(clashes);
        crate::sort::sort(&mut record.fields);
        carried
    };
    record.remote = online.cloned();
    record.remote_version = version;
    record.reason = reason_of(&record.local, &record.remote, was);
    record.fields = fields_now(
        std::mem::take(&mut record.fields),
        was,
        record.reason,
        &record.local,
        &record.remote,
    );
    if unlinked {
        if let Some(all) = reference_parts(&record.local, &record.remote) {
            record.fields = all;
        }
    }
    true
}

/// A waiting conflict after this client unlinked: nothing is synced any more, so its online
/// side has no version in the next link (the object is sent as new once settled), and the copy
/// both sides started from says nothing about the online library this client joins next.
pub fn unlink_conflict(record: &mut ConflictRecord) {
    record.remote_version = 0;
    record.base = None;
}

/// The object after the person settles a conflict. `shown` is the conflict as the person saw
/// it (their window's copy), `stored` as the store holds it now, `held` the object as held
/// now (`None`: not here, e.g. deleted online). The choice is the person's change from the
/// online copy they saw to the copy they chose, carried onto the object's current copy, and
/// based on the newest online version this client knows (see the module's invariants).
pub fn settle(
    stored: &ConflictRecord,
    shown: &ConflictRecord,
    held: Option<&LocalObject>,
    resolution: Resolution,
) -> LocalObject {
    let chosen = match resolution {
        Resolution::KeepLocal => shown.local.clone(),
        Resolution::KeepOnline => shown.remote.clone(),
        Resolution::Merged(object) => Some(object),
    };
    let now = held.and_then(|h| h.current.as_ref());
    // Keeping the online copy changes nothing the person did not already see change.
    let current = if chosen == shown.remote {
        now.cloned()
    } else {
        rebase(shown.remote.as_ref(), chosen, now)
    };
    let (base_version, base) = match held {
        Some(h) => (h.base_version, h.base.clone()),
        None => (stored.remote_version, None),
    };
    let dirty = match (&current, base_version) {
        // Kept deleted while unlinked: nothing is known of the online copy's version, but if
        // there is one, the service must be told (it answers with its copy, and asks again).
        (None, 0) => stored.remote.is_some(),
        (Some(_), 0) => true,
        _ => current != base,
    };
    LocalObject {
        kind: stored.kind,
        key: stored.key,
        base_version,
        base,
        current,
        dirty,
    }
}

/// The copy a merged resolution starts from before the person's picks: this client's side,
/// which is its own changes carried onto the online copy (see [`super::plan::ConflictRecord`]),
/// so where it differs from the online side it differs by this client's change; with the online
/// value in every part the conflict names (the clashes that are the person's to pick). No base
/// is needed, so it holds after an unlink too.
pub fn merged_start(record: &ConflictRecord) -> Option<crate::Reference> {
    let (Some(Object::Reference(l)), Some(Object::Reference(o))) = (&record.local, &record.remote)
    else {
        return None;
    };
    let picks = record
        .fields
        .iter()
        .map(|f| (f.clone(), super::compare::Pick::Local))
        .collect();
    // `compose` takes a picked row from its first argument (the online copy) into a copy of
    // its second (this client's side).
    Some(super::compare::compose(o, l, &picks))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sync::plan::{plan, Action};
    use crate::{Field, RefType, Reference};

    fn key() -> Key {
        Key::new(7, [7; 10])
    }

    fn reference(title: &str, year: &str) -> Object {
        let mut r = Reference::new(key(), RefType::JournalArticle, 1);
        r.set(Field::Title, title);
        r.set(Field::Year, year);
        Object::Reference(r)
    }

    fn with(o: &Object, field: Field, value: &str) -> Object {
        let Object::Reference(r) = o else { panic!() };
        let mut r = r.clone();
        r.set(field, value);
        Object::Reference(r)
    }

    fn conflict() -> ConflictRecord {
        let base = reference("Base", "2000");
        let mine = LocalObject {
            kind: ObjectKind::Reference,
            key: key(),
            base_version: 5,
            base: Some(base.clone()),
            current: Some(reference("Mine", "2000")),
            dirty: true,
        };
        let Action::Conflict(c) = plan(Some(&mine), 6, Some(&reference("Theirs", "2000"))) else {
            panic!("a conflict")
        };
        assert_eq!(c.base, Some(base));
        *c
    }

    #[test]
    fn a_settlement_is_an_edit_on_the_online_copy() {
        let c = conflict();
        let held = held_in_conflict(&c);
        let keep_local = settle(&c, &c, Some(&held), Resolution::KeepLocal);
        assert_eq!(keep_local.base_version, 6);
        assert_eq!(keep_local.base, Some(reference("Theirs", "2000")));
        assert_eq!(keep_local.current, Some(reference("Mine", "2000")));
        assert!(keep_local.dirty);
        let keep_online = settle(&c, &c, Some(&held), Resolution::KeepOnline);
        assert_eq!(keep_online, held);
        let merged = settle(
            &c,
            &c,
            Some(&held),
            Resolution::Merged(reference("Mine and theirs", "2000")),
        );
        assert_eq!(merged.current, Some(reference("Mine and theirs", "2000")));
        assert!(merged.dirty);
        // Pulled again later, the resolution is not a conflict any more.
        assert_eq!(
            plan(Some(&merged), 6, Some(&reference("Theirs", "2000"))),
            Action::Skip
        );
    }

    #[test]
    fn a_settlement_after_newer_pulls_is_based_on_the_newest_online_copy() {
        let c = conflict();
        // The conflict waits; a newer online copy arrives (another device changed the year).
        let mut stored = c.clone();
        let newer = reference("Theirs", "2011");
        let held = LocalObject {
            base_version: 9,
            base: Some(newer.clone()),
            current: Some(newer.clone()),
            ..held_in_conflict(&c)
        };
        assert!(refresh_conflict(&mut stored, 9, Some(&newer)));
        assert_eq!(stored.remote, Some(newer.clone()));
        // Settled from the conflict as first shown: online stays the newest copy, not the old.
        let online = settle(&stored, &c, Some(&held), Resolution::KeepOnline);
        assert_eq!(online.current, Some(newer.clone()));
        assert_eq!((online.base_version, online.dirty), (9, false));
        // Keeping this device's title keeps the newer year the person never overrode.
        let local = settle(&stored, &c, Some(&held), Resolution::KeepLocal);
        assert_eq!(local.current, Some(reference("Mine", "2011")));
        assert_eq!((local.base_version, local.dirty), (9, true));
        // A merged copy equal to the old online copy changes nothing.
        let merged = settle(
            &stored,
            &c,
            Some(&held),
            Resolution::Merged(reference("Theirs", "2000")),
        );
        assert_eq!(merged.current, Some(newer));
        assert!(!merged.dirty);
    }

    #[test]
    fn a_settlement_keeps_edits_made_here_while_the_conflict_waited() {
        let c = conflict();
        let edited = with(&c.remote.clone().unwrap(), Field::Pages, "1-9");
        let held = LocalObject {
            current: Some(edited),
            dirty: true,
            ..held_in_conflict(&c)
        };
        let online = settle(&c, &c, Some(&held), Resolution::KeepOnline);
        assert_eq!(online.current, held.current);
        assert!(online.dirty);
        let local = settle(&c, &c, Some(&held), Resolution::KeepLocal);
        assert_eq!(
            local.current,
            Some(with(&reference("Mine", "2000"), Field::Pages, "1-9"))
        );
    }

    #[test]
    fn a_reference_deleted_online_is_restored_or_kept_deleted() {
        let mut c = conflict();
        // Deleted online at version 12 while the conflict waited; the store removed it.
        assert!(refresh_conflict(&mut c, 12, None));
        assert_eq!(c.reason, ConflictReason::EditedHereDeletedOnline);
        assert!(c.fields.is_empty());
        let restored = settle(&c, &c, None, Resolution::KeepLocal);
        assert_eq!(restored.current, Some(reference("Mine", "2000")));
        assert_eq!((restored.base_version, restored.dirty), (12, true));
        let deleted = settle(&c, &c, None, Resolution::KeepOnline);
        assert!(deleted.current.is_none() && !deleted.dirty);
    }

    #[test]
    fn a_second_conflict_keeps_both_sides_of_the_first() {
        let first = conflict();
        // The person edits the pages of the held (online) copy; online, someone changes the
        // title again: a second conflict on the same reference.
        let held_base = first.remote.clone().unwrap();
        let edited = with(&held_base, Field::Pages, "1-9");
        let mine = LocalObject {
            kind: ObjectKind::Reference,
            key: key(),
            base_version: 6,
            base: Some(held_base),
            current: Some(with(&edited, Field::Year, "2001")),
            dirty: true,
        };
        let newest = reference("Theirs again", "2002");
        let Action::Conflict(second) = plan(Some(&mine), 8, Some(&newest)) else {
            panic!("a conflict")
        };
        let kept = keep_conflict(Some(first.clone()), *second);
        // This device's first title stays, with the pages and year typed since.
        let expect = with(&reference("Mine", "2001"), Field::Pages, "1-9");
        assert_eq!(kept.local, Some(expect));
        assert_eq!(kept.remote, Some(newest));
        assert_eq!(kept.remote_version, 8);
        assert_eq!(kept.base, mine.base, "the newest copy both had");
        assert_eq!(
            kept.fields,
            vec!["title", "year"],
            "pages changed on one side only"
        );
    }

    #[test]
    fn a_push_answer_for_an_object_deleted_meanwhile_sends_the_delete() {
        let k = key();
        let sent = reference("Sent", "2000");
        let o = after_push(ObjectKind::Reference, k, None, Some(sent.clone()), 4);
        assert!(o.dirty && o.current.is_none());
        assert_eq!(o.base, Some(sent.clone()));
        let same = after_push(ObjectKind::Reference, k, Some(sent.clone()), Some(sent), 4);
        assert!(!same.dirty);
        let gone = after_push(ObjectKind::Reference, k, None, None, 4);
        assert!(is_gone(&gone));
    }

    #[test]
    fn a_merged_start_keeps_both_sides_clean_edits() {
        // This side is its changes carried onto the online copy (pages added here; the volume
        // came from online), the title clashing.
        let base = reference("Base", "2000");
        let mine = with(&reference("Mine", "2000"), Field::Pages, "1-9");
        let theirs = with(&reference("Theirs", "2000"), Field::Volume, "3");
        let held = LocalObject {
            kind: ObjectKind::Reference,
            key: key(),
            base_version: 5,
            base: Some(base),
            current: Some(mine),
            dirty: true,
        };
        let Action::Conflict(c) = plan(Some(&held), 6, Some(&theirs)) else {
            panic!("a conflict")
        };
        let start = merged_start(&c).unwrap();
        assert_eq!(start.get(Field::Pages), "1-9");
        assert_eq!(start.get(Field::Volume), "3");
        assert_eq!(start.title(), "Theirs", "a clashing field starts online");
        // The same without a base (after an unlink): nothing else changes.
        let mut c = *c;
        unlink_conflict(&mut c);
        assert_eq!(merged_start(&c), Some(start));
    }
}
