//! A person's changes to a library, as the web app and the CLI make them, and how each is
//! written over what a store holds when it is written.
//!
//! Invariant: a change is carried onto the copy stored when it is written, not onto the copy
//! it was made from. A window (or a `refsync` command) builds a change from what it read a
//! moment ago; a sync, another tab or another `refsync` process may have written a newer copy
//! since. Only what the person changed is written over that newer copy, so nothing that
//! arrived in between is reverted (docs/sync.md, "A person's edits").

pub mod actions;
pub mod merge;
#[cfg(test)]
mod testing;
pub mod undo;

use crate::protocol::Object;
use crate::sync::merge::rebase;
use crate::{Key, ObjectKind};

/// One change a person makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A new object, or one replaced whole on purpose (an import, a restore).
    Put(Object),
    /// A change to an existing object: `from` is the copy the person's window (or command)
    /// read, `to` the copy they made of it.
    Change { from: Object, to: Object },
    /// Delete the object for good.
    Delete(ObjectKind, Key),
}

impl Write {
    /// A change from `from` to `to`.
    pub fn change(from: Object, to: Object) -> Write {
        Write::Change { from, to }
    }

    /// The object it writes.
    pub fn target(&self) -> (ObjectKind, Key) {
        match self {
            Write::Put(o) | Write::Change { to: o, .. } => (o.kind(), o.key()),
            Write::Delete(kind, key) => (*kind, *key),
        }
    }

    /// The object's copy once this is written over `stored`, the copy held now (`None`: none,
    /// or deleted); `None` is a delete. A change to an object deleted meanwhile brings it back
    /// with the change (its next sync meets the delete as a conflict for the person).
    pub fn over(&self, stored: Option<&Object>) -> Option<Object> {
        match self {
            Write::Put(o) => Some(o.clone()),
            Write::Delete(..) => None,
            Write::Change { from, to } => rebase(Some(from), Some(to.clone()), stored),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Field, RefType, Reference};

    fn reference(title: &str, year: &str) -> Object {
        let mut r = Reference::new(Key::new(3, [3; 10]), RefType::Book, 1);
        r.set(Field::Title, title);
        r.set(Field::Year, year);
        Object::Reference(r)
    }

    #[test]
    fn a_change_is_written_over_what_arrived_since_it_was_read() {
        let read = reference("Old", "2000");
        let typed = Write::change(read.clone(), reference("Typed", "2000"));
        // Nothing arrived: the copy as typed.
        assert_eq!(typed.over(Some(&read)), Some(reference("Typed", "2000")));
        // A sync brought a new year meanwhile: it stays, the title is the person's.
        assert_eq!(
            typed.over(Some(&reference("Old", "2011"))),
            Some(reference("Typed", "2011"))
        );
        // Both changed the title: the person's change is the later one here.
        assert_eq!(
            typed.over(Some(&reference("Synced", "2011"))),
            Some(reference("Typed", "2011"))
        );
        // Deleted meanwhile: the change brings it back (a sync then asks the person).
        assert_eq!(typed.over(None), Some(reference("Typed", "2000")));
        assert_eq!(
            Write::Delete(ObjectKind::Reference, Key::new(3, [3; 10])).over(Some(&read)),
            None
        );
    }
}
