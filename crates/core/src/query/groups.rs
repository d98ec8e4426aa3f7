//! Group membership: custom groups by the references that name them, smart groups by their
//! criteria, combination groups by their expression over other groups (smart and combination
//! ones included), all evaluated live. A combination that reaches itself is reported as a
//! cycle instead of being followed forever; a group an expression names that no longer exists
//! counts as empty (it was deleted elsewhere; the expression is left for the user to mend).

use super::{Bits, Library, Sort};
use crate::{Group, GroupExpr, GroupKind, Key};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// The groups in the cycle, starting and ending with the same one.
    Cycle(Vec<Key>),
    /// No group has this key.
    Missing(Key),
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupError::Cycle(path) => write!(
                f,
                "these combination groups include each other: {}",
                path.len().saturating_sub(1)
            ),
            GroupError::Missing(k) => write!(f, "no group has the key {k}"),
        }
    }
}

impl std::error::Error for GroupError {}

impl Library {
    /// The ids in `group` (looked up in `groups`).
    pub fn group_ids(&self, groups: &HashMap<Key, Group>, group: Key) -> Result<Bits, GroupError> {
        let g = groups.get(&group).ok_or(GroupError::Missing(group))?;
        let mut stack = vec![group];
        self.eval_group(groups, g, &mut stack)
    }

    /// The members of `group`, sorted.
    pub fn group_members(
        &self,
        groups: &HashMap<Key, Group>,
        group: Key,
        sort: Sort,
    ) -> Result<Vec<Key>, GroupError> {
        let ids = self.group_ids(groups, group)?;
        Ok(self.sorted(Some(&ids), sort))
    }

    /// How many references each custom group holds, in one pass over the library (trashed
    /// references not counted, as a group list shows them).
    pub fn custom_group_counts(&self) -> HashMap<Key, usize> {
        let mut counts = HashMap::new();
        for (_, r) in self.live().filter(|(_, r)| !r.trashed) {
            for g in &r.groups {
                *counts.entry(*g).or_insert(0) += 1;
            }
        }
        counts
    }

    fn eval_group(
        &self,
        groups: &HashMap<Key, Group>,
        g: &Group,
        stack: &mut Vec<Key>,
    ) -> Result<Bits, GroupError> {
        match &g.kind {
            GroupKind::Custom => {
                let mut b = Bits::empty(self.id_space());
                for (id, r) in self.live() {
                    if r.groups.contains(&g.key) {
                        b.insert(id);
                    }
                }
                Ok(b)
            }
            GroupKind::Smart { criteria } => Ok(self.criteria_ids(criteria)),
            GroupKind::Combination { expression } => self.eval_expr(groups, expression, stack),
        }
    }

    fn eval_expr(
        &self,
        groups: &HashMap<Key, Group>,
        e: &GroupExpr,
        stack: &mut Vec<Key>,
    ) -> Result<Bits, GroupError> {
        match e {
            GroupExpr::Group(k) => {
                if let Some(at) = stack.iter().position(|s| s == k) {
                    let mut path = stack[at..].to_vec();
                    path.push(*k);
                    return Err(GroupError::Cycle(path));
                }
                let Some(g) = groups.get(k) else {
                    return Ok(Bits::empty(self.id_space()));
                };
                stack.push(*k);
                let result = self.eval_group(groups, g, stack);
                stack.pop();
                result
            }
            GroupExpr::And(xs) => {
                let mut acc: Option<Bits> = None;
                for x in xs {
                    let b = self.eval_expr(groups, x, stack)?;
                    acc = Some(match acc {
                        Some(mut a) => {
                            a.and(&b);
                            a
                        }
                        None => b,
                    });
                }
                Ok(acc.unwrap_or_else(|| Bits::empty(self.id_space())))
            }
            GroupExpr::Or(xs) => {
                let mut acc = Bits::empty(self.id_space());
                for x in xs {
                    acc.or(&self.eval_expr(groups, x, stack)?);
                }
                Ok(acc)
            }
            GroupExpr::Not(x) => {
                let mut all = self.all_ids();
                all.and_not(&self.eval_expr(groups, x, stack)?);
                Ok(all)
            }
        }
    }
}
