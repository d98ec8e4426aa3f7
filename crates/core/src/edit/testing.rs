//! A library held in memory for the edit module's unit tests: what a client holds, and a
//! store's way of writing changes over it.

use super::actions::Held;
use super::Write;
use crate::protocol::Object;
use crate::{Attachment, AttachmentRole, Group, Key, ObjectKind, Reference};
use std::collections::HashMap;

#[derive(Default)]
pub struct Lib {
    pub refs: Vec<Reference>,
    pub groups: HashMap<Key, Group>,
    pub attachments: HashMap<Key, Attachment>,
}

impl Held for Lib {
    fn references(&self) -> Box<dyn Iterator<Item = &Reference> + '_> {
        Box::new(self.refs.iter())
    }
    fn groups(&self) -> &HashMap<Key, Group> {
        &self.groups
    }
    fn attachments(&self) -> &HashMap<Key, Attachment> {
        &self.attachments
    }
}

impl Lib {
    /// Write `writes` as a store would (each carried onto what is held now).
    pub fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            let (kind, k) = w.target();
            let stored = match kind {
                ObjectKind::Reference => self
                    .refs
                    .iter()
                    .find(|r| r.key == k)
                    .cloned()
                    .map(Object::Reference),
                ObjectKind::Attachment => self.attachments.get(&k).cloned().map(Object::Attachment),
                _ => None,
            };
            match w.over(stored.as_ref()) {
                Some(Object::Reference(r)) => {
                    self.refs.retain(|x| x.key != k);
                    self.refs.push(r);
                }
                Some(Object::Attachment(a)) => {
                    self.attachments.insert(k, a);
                }
                _ => {}
            }
        }
        crate::sort::sort_by_key(&mut self.refs, |r| r.key);
    }

    /// The reference `k` (the test fails without it).
    pub fn get(&self, k: Key) -> &Reference {
        self.refs
            .iter()
            .find(|r| r.key == k)
            .unwrap_or_else(|| panic!("no reference {k}"))
    }
}

/// A key told apart by `n`.
pub fn key(n: u8) -> Key {
    Key::new(u64::from(n), [n; 10])
}

/// A one-byte PDF `n` of reference `parent`, its bytes named by `sha`.
pub fn file(n: u8, parent: u8, sha: &str, role: AttachmentRole) -> Attachment {
    Attachment {
        key: key(n),
        parent: key(parent),
        file_name: format!("{n}.pdf"),
        media_type: "application/pdf".into(),
        size: 1,
        sha256: sha.into(),
        role,
        caption: String::new(),
        merged_from: None,
        date_modified: 1,
    }
}
