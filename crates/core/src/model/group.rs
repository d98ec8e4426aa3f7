//! Groups: custom groups, group sets, smart groups and combination groups.
//!
//! EndNote Online shows only custom groups; refsync keeps all four kinds, syncs them
//! untouched, and shows sets as folders. Membership of custom groups lives on the reference
//! (its `groups` set), so that adding a reference to a group is an edit of that reference and
//! merges as a set. Smart and combination groups hold no members: they are evaluated (issue 4).

use crate::Key;
use serde::{Deserialize, Serialize};

/// A named folder of groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSet {
    pub key: Key,
    pub name: String,
    #[serde(default)]
    pub date_modified: u64,
}

/// A custom group, a smart group or a combination group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub key: Key,
    pub name: String,
    /// The group set it is shown in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Key>,
    #[serde(default)]
    pub kind: GroupKind,
    /// Shared with other accounts (EndNote's shared groups): a reset that wipes the online
    /// library keeps it, because other people depend on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    #[serde(default)]
    pub date_modified: u64,
}

/// What decides a group's members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "KindRecord")]
pub enum GroupKind {
    /// Members are the references whose `groups` hold this group's key.
    #[default]
    Custom,
    /// A saved search.
    Smart { criteria: Vec<Criterion> },
    /// A boolean expression over other groups.
    Combination { expression: GroupExpr },
}

/// [`GroupKind`] as read: a plain struct, because serde's reader for an internally tagged
/// enum buffers the whole value first, and its code was ~8 KB of the browser's download.
#[derive(Deserialize)]
struct KindRecord {
    kind: KindTag,
    #[serde(default)]
    criteria: Option<Vec<Criterion>>,
    #[serde(default)]
    expression: Option<GroupExpr>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindTag {
    Custom,
    Smart,
    Combination,
}

impl TryFrom<KindRecord> for GroupKind {
    type Error = &'static str;

    fn try_from(r: KindRecord) -> Result<GroupKind, &'static str> {
        Ok(match r.kind {
            KindTag::Custom => GroupKind::Custom,
            KindTag::Smart => GroupKind::Smart {
                criteria: r.criteria.ok_or("a smart group needs `criteria`")?,
            },
            KindTag::Combination => GroupKind::Combination {
                expression: r
                    .expression
                    .ok_or("a combination group needs `expression`")?,
            },
        })
    }
}

/// One line of a smart group's search, as EndNote's search form has them: a connector to the
/// lines before it, a field, an operator and a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    #[serde(default)]
    pub connector: Connector,
    /// A field id (see [`crate::Field`]), or one of `any_field`, `author`, `keywords`,
    /// `type`, `date_added`, `date_modified`.
    pub field: String,
    pub op: Op,
    #[serde(default)]
    pub value: String,
}

/// How a criterion joins the ones before it. The first criterion's connector is ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connector {
    #[default]
    And,
    Or,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Contains,
    Is,
    BeginsWith,
    GreaterThan,
    LessThan,
    IsEmpty,
}

/// A boolean expression over groups (by key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "of", rename_all = "snake_case")]
pub enum GroupExpr {
    Group(Key),
    And(Vec<GroupExpr>),
    Or(Vec<GroupExpr>),
    Not(Box<GroupExpr>),
}

impl GroupExpr {
    /// Every group key the expression names, in order of appearance.
    pub fn groups(&self) -> Vec<Key> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    /// `(all, included, excluded)` when the expression has the shape [`GroupExpr::from_parts`]
    /// makes: a combination group made here is "in all (or any) of these groups, and in none of
    /// those"; one made elsewhere in another shape is `None` (shown and kept, not rewritten).
    pub fn parts(&self) -> Option<(bool, Vec<Key>, Vec<Key>)> {
        let simple = |xs: &[GroupExpr]| -> Option<Vec<Key>> {
            xs.iter()
                .map(|x| match x {
                    GroupExpr::Group(k) => Some(*k),
                    _ => None,
                })
                .collect()
        };
        match self {
            GroupExpr::Group(k) => Some((true, vec![*k], vec![])),
            GroupExpr::Or(xs) => Some((false, simple(xs)?, vec![])),
            GroupExpr::And(xs) => {
                let (nots, ins): (Vec<&GroupExpr>, Vec<&GroupExpr>) =
                    xs.iter().partition(|x| matches!(x, GroupExpr::Not(_)));
                let mut excluded = Vec::new();
                for n in nots {
                    if let GroupExpr::Not(inner) = n {
                        match &**inner {
                            GroupExpr::Group(k) => excluded.push(*k),
                            GroupExpr::Or(ys) => excluded.extend(simple(ys)?),
                            _ => return None,
                        }
                    }
                }
                match ins.as_slice() {
                    [GroupExpr::Or(ys)] => Some((false, simple(ys)?, excluded)),
                    _ => {
                        let included: Vec<GroupExpr> = ins.into_iter().cloned().collect();
                        Some((true, simple(&included)?, excluded))
                    }
                }
            }
            GroupExpr::Not(_) => None,
        }
    }

    /// The expression for "in all (or any) of `included` and in none of `excluded`"
    /// (`None` when nothing is included).
    pub fn from_parts(all: bool, included: &[Key], excluded: &[Key]) -> Option<GroupExpr> {
        let inc: Vec<GroupExpr> = included.iter().map(|k| GroupExpr::Group(*k)).collect();
        let exc: Vec<GroupExpr> = excluded.iter().map(|k| GroupExpr::Group(*k)).collect();
        let not = (!exc.is_empty()).then(|| GroupExpr::Not(Box::new(GroupExpr::Or(exc))));
        match (inc.len(), all, not) {
            (0, _, _) => None,
            (1, _, None) => inc.into_iter().next(),
            (_, true, None) => Some(GroupExpr::And(inc)),
            (_, false, None) => Some(GroupExpr::Or(inc)),
            // "All of" and the exclusion flatten into one And, as `parts` reads it back.
            (1, _, Some(not)) | (_, true, Some(not)) => {
                let mut terms = inc;
                terms.push(not);
                Some(GroupExpr::And(terms))
            }
            (_, false, Some(not)) => Some(GroupExpr::And(vec![GroupExpr::Or(inc), not])),
        }
    }

    fn collect(&self, out: &mut Vec<Key>) {
        match self {
            GroupExpr::Group(k) => out.push(*k),
            GroupExpr::And(xs) | GroupExpr::Or(xs) => xs.iter().for_each(|x| x.collect(out)),
            GroupExpr::Not(x) => x.collect(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_of_every_kind_round_trip_through_json() {
        let a = Key::new(1, [1; 10]);
        let b = Key::new(2, [2; 10]);
        let groups = vec![
            Group {
                key: a,
                name: "Reading".into(),
                set: None,
                kind: GroupKind::Custom,
                shared: true,
                date_modified: 1,
            },
            Group {
                key: b,
                name: "Recent CRISPR".into(),
                set: Some(a),
                kind: GroupKind::Smart {
                    criteria: vec![Criterion {
                        connector: Connector::And,
                        field: "title".into(),
                        op: Op::Contains,
                        value: "CRISPR".into(),
                    }],
                },
                shared: false,
                date_modified: 2,
            },
            Group {
                key: Key::new(3, [3; 10]),
                name: "Both".into(),
                set: None,
                kind: GroupKind::Combination {
                    expression: GroupExpr::And(vec![
                        GroupExpr::Group(a),
                        GroupExpr::Not(Box::new(GroupExpr::Group(b))),
                    ]),
                },
                shared: false,
                date_modified: 3,
            },
        ];
        let json = serde_json::to_string(&groups).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Group>>(&json).unwrap(), groups);
        let GroupKind::Combination { expression } = &groups[2].kind else {
            unreachable!()
        };
        assert_eq!(expression.groups(), vec![a, b]);
    }

    #[test]
    fn a_smart_group_without_criteria_or_an_unknown_kind_is_refused() {
        let key = Key::new(1, [1; 10]);
        for kind in [
            r#"{"kind":"smart"}"#,
            r#"{"kind":"combination"}"#,
            r#"{"kind":"odd"}"#,
        ] {
            let json = format!(r#"{{"key":"{key}","name":"X","kind":{kind}}}"#);
            assert!(serde_json::from_str::<Group>(&json).is_err(), "{json}");
        }
    }

    #[test]
    fn a_group_without_kind_is_a_custom_group() {
        let json = format!(r#"{{"key":"{}","name":"X"}}"#, Key::new(1, [1; 10]));
        let g: Group = serde_json::from_str(&json).unwrap();
        assert_eq!(g.kind, GroupKind::Custom);
    }

    #[test]
    fn a_combination_made_here_reads_back_as_made() {
        let a = Key::new(1, [1; 10]);
        let b = Key::new(2, [2; 10]);
        let c = Key::new(3, [3; 10]);
        for (all, inc, exc) in [
            (true, vec![a], vec![]),
            (true, vec![a, b], vec![]),
            (false, vec![a, b], vec![]),
            (true, vec![a, b], vec![c]),
            (false, vec![a, b], vec![c]),
        ] {
            let e = GroupExpr::from_parts(all, &inc, &exc).expect("expression");
            let (all2, inc2, exc2) = e.parts().expect("splits");
            assert_eq!((inc2.clone(), exc2), (inc, exc));
            if inc2.len() > 1 {
                assert_eq!(all2, all);
            }
        }
    }
}
