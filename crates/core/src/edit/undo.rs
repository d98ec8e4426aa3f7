//! Undo and redo of a person's actions (an edit, Trash, restore, group membership, a group
//! renamed or deleted, a merge): each action is remembered as every object's copy before and
//! after it, and undone by ordinary writes, so an undo syncs like any edit.
//!
//! Invariants: an undo reverts only what the action changed, carried onto the copies stored
//! now (a sync or another tab may have changed other parts since; those stay), by the same
//! rule as every edit ([`Write::over`]); a new action forgets what could be redone; at most
//! [`KEPT`] actions are remembered.

use super::Write;
use crate::protocol::Object;

/// The most actions remembered for undo.
pub const KEPT: usize = 100;

/// One action: each object it wrote, as it was before and after (`None`: absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub objects: Vec<(Option<Object>, Option<Object>)>,
}

impl Step {
    /// The writes that undo the action.
    pub fn undo(&self) -> Vec<Write> {
        self.objects
            .iter()
            .filter_map(|(before, after)| back(after, before))
            .collect()
    }

    /// The writes that do it again after an undo.
    pub fn redo(&self) -> Vec<Write> {
        self.objects
            .iter()
            .filter_map(|(before, after)| back(before, after))
            .collect()
    }

    /// What the action changed, in words for "Undo …" ("the change to “Title”").
    pub fn describe(&self) -> String {
        let named = |o: &Object| match o {
            Object::Reference(r) if !r.title().is_empty() => format!("“{}”", r.title()),
            Object::Reference(_) => "a reference".into(),
            Object::Group(g) => format!("the group “{}”", g.name),
            Object::GroupSet(s) => format!("the group set “{}”", s.name),
            Object::Style(s) => format!("the style “{}”", s.title),
            Object::Attachment(a) => format!("“{}”", a.file_name),
        };
        let references = self
            .objects
            .iter()
            .filter(|(b, a)| matches!(a.as_ref().or(b.as_ref()), Some(Object::Reference(_))))
            .count();
        match self.objects.as_slice() {
            [(b, a)] => a.as_ref().or(b.as_ref()).map_or_else(
                || "the last change".into(),
                |o| format!("the change to {}", named(o)),
            ),
            _ if references > 1 => format!("the change to {references} references"),
            _ => "the last change".into(),
        }
    }
}

/// The write that takes an object from `from` (as the action left it) to `to`.
fn back(from: &Option<Object>, to: &Option<Object>) -> Option<Write> {
    match (from, to) {
        (Some(from), Some(to)) => Some(Write::change(from.clone(), to.clone())),
        (None, Some(to)) => Some(Write::Put(to.clone())),
        (Some(from), None) => Some(Write::Delete(from.kind(), from.key())),
        (None, None) => None,
    }
}

/// What can be undone and redone, newest last.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
}

impl History {
    /// Remember an action a person took (it can no longer redo what it undid).
    pub fn record(&mut self, step: Step) {
        if step.objects.iter().all(|(b, a)| b == a) {
            return;
        }
        self.redo.clear();
        self.push_undo(step);
    }

    fn push_undo(&mut self, step: Step) {
        self.undo.push(step);
        if self.undo.len() > KEPT {
            self.undo.remove(0);
        }
    }

    /// The action to undo now; it moves to redo.
    pub fn undo(&mut self) -> Option<Step> {
        let step = self.undo.pop()?;
        self.redo.push(step.clone());
        Some(step)
    }

    /// The action to redo now; it moves back to undo.
    pub fn redo(&mut self) -> Option<Step> {
        let step = self.redo.pop()?;
        self.push_undo(step.clone());
        Some(step)
    }

    /// What an undo would undo now, if anything.
    pub fn next_undo(&self) -> Option<&Step> {
        self.undo.last()
    }

    pub fn next_redo(&self) -> Option<&Step> {
        self.redo.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Field, Group, GroupKind, Key, ObjectKind, RefType, Reference};

    fn reference(title: &str, year: &str, trashed: bool) -> Object {
        let mut r = Reference::new(Key::new(3, [3; 10]), RefType::Book, 1);
        r.set(Field::Title, title);
        r.set(Field::Year, year);
        r.trashed = trashed;
        Object::Reference(r)
    }

    #[test]
    fn an_undo_reverts_only_what_the_action_changed() {
        let step = Step {
            objects: vec![(
                Some(reference("Glacier", "2000", false)),
                Some(reference("Glacier", "2000", true)),
            )],
        };
        let undo = step.undo();
        // A sync changed the year since: the undo restores it from the Trash, the year stays.
        let now = reference("Glacier", "2011", true);
        assert_eq!(
            undo[0].over(Some(&now)),
            Some(reference("Glacier", "2011", false))
        );
        assert_eq!(
            step.redo()[0].over(Some(&reference("Glacier", "2011", false))),
            Some(reference("Glacier", "2011", true))
        );
        assert_eq!(step.describe(), "the change to “Glacier”");
    }

    #[test]
    fn a_new_object_is_deleted_by_undo_and_a_deleted_one_put_back() {
        let group = Object::Group(Group {
            key: Key::new(1, [1; 10]),
            name: "Reading".into(),
            set: None,
            kind: GroupKind::Custom,
            shared: false,
            date_modified: 1,
        });
        let made = Step {
            objects: vec![(None, Some(group.clone()))],
        };
        assert_eq!(
            made.undo(),
            vec![Write::Delete(ObjectKind::Group, Key::new(1, [1; 10]))]
        );
        assert_eq!(made.redo(), vec![Write::Put(group.clone())]);
        let deleted = Step {
            objects: vec![(Some(group.clone()), None)],
        };
        assert_eq!(deleted.undo(), vec![Write::Put(group)]);
        assert_eq!(deleted.describe(), "the change to the group “Reading”");
    }

    #[test]
    fn history_forgets_redo_on_a_new_action_and_keeps_at_most_the_limit() {
        let step = |year: &str| Step {
            objects: vec![(
                Some(reference("T", "1999", false)),
                Some(reference("T", year, false)),
            )],
        };
        let mut h = History::default();
        h.record(step("2001"));
        h.record(step("2002"));
        assert_eq!(h.undo(), Some(step("2002")));
        assert_eq!(h.next_redo(), Some(&step("2002")));
        assert_eq!(h.redo(), Some(step("2002")));
        assert_eq!(h.undo(), Some(step("2002")));
        h.record(step("2003"));
        assert_eq!(h.next_redo(), None, "a new action forgets the redo");
        h.record(step("1999"));
        assert_eq!(
            h.next_undo(),
            Some(&step("2003")),
            "a no-op is not an action"
        );
        for i in 0..KEPT + 5 {
            h.record(step(&i.to_string()));
        }
        let mut n = 0;
        while h.undo().is_some() {
            n += 1;
        }
        assert_eq!(n, KEPT);
    }
}
