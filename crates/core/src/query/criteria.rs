//! Field search: criteria on one field each (contains, is, begins with, greater or less than,
//! is empty), joined as EndNote's search form joins them: left to right, each line's And, Or
//! or Not applied to the result so far (no precedence), case and accents ignored.

use super::dates::civil_date;
use super::fold::fold_into;
use super::{Bits, Library, Sort};
use crate::{Connector, CreatorRole, Criterion, Key, Op, Reference};

/// The texts a criterion's field names in `r` (several for authors and keywords).
fn values<'a>(r: &'a Reference, field: &str, out: &mut Vec<std::borrow::Cow<'a, str>>) {
    use std::borrow::Cow;
    out.clear();
    match field {
        "any_field" => {
            out.extend(r.fields.values().map(|v| Cow::Borrowed(v.as_str())));
            out.extend(r.extra.values().map(|v| Cow::Borrowed(v.as_str())));
            out.extend(r.creators.iter().map(|c| Cow::Owned(c.name.to_string())));
            out.extend(r.keywords.iter().map(|k| Cow::Borrowed(k.as_str())));
            out.push(Cow::Borrowed(r.ref_type.label()));
        }
        "author" | "editor" | "translator" | "creator" => {
            let role = match field {
                "author" => Some(CreatorRole::Author),
                "editor" => Some(CreatorRole::Editor),
                "translator" => Some(CreatorRole::Translator),
                _ => None,
            };
            out.extend(
                r.creators
                    .iter()
                    .filter(|c| role.is_none_or(|role| c.role == role))
                    .map(|c| Cow::Owned(c.name.to_string())),
            );
        }
        "keywords" => out.extend(r.keywords.iter().map(|k| Cow::Borrowed(k.as_str()))),
        "type" => {
            out.push(Cow::Borrowed(r.ref_type.label()));
            out.push(Cow::Borrowed(r.ref_type.id()));
        }
        "date_added" => out.push(Cow::Owned(civil_date(r.date_added))),
        "date_modified" => out.push(Cow::Owned(civil_date(r.date_modified))),
        id => {
            if let Some(v) = r.fields.get(id).or_else(|| r.extra.get(id)) {
                out.push(Cow::Borrowed(v.as_str()));
            }
        }
    }
}

/// Compare two values as numbers when both are numbers, else as text (dates written
/// YYYY-MM-DD compare correctly as text).
fn compare(value: &str, needle: &str) -> std::cmp::Ordering {
    match (value.trim().parse::<f64>(), needle.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.total_cmp(&b),
        _ => value.cmp(needle),
    }
}

fn matches(op: Op, value: &str, needle: &str) -> bool {
    match op {
        Op::Contains => value.contains(needle),
        Op::Is => value.trim() == needle.trim(),
        Op::BeginsWith => value.trim_start().starts_with(needle.trim_start()),
        Op::GreaterThan => !value.is_empty() && compare(value, needle).is_gt(),
        Op::LessThan => !value.is_empty() && compare(value, needle).is_lt(),
        Op::IsEmpty => value.trim().is_empty(),
    }
}

impl Library {
    /// The ids matching one criterion, looking only at `within` when given (an And or Not
    /// can only change references already in the result).
    fn criterion_ids(&self, c: &Criterion, within: Option<&Bits>) -> Bits {
        let mut out = Bits::empty(self.id_space());
        let mut needle = String::new();
        fold_into(&c.value, &mut needle);
        let mut texts = Vec::new();
        let mut folded = String::new();
        // Title and journal are kept folded for sorting; searching them needs no folding.
        let prefolded = |id: u32| -> Option<&str> {
            let keys = self.sort_keys.get(id as usize)?;
            match c.field.as_str() {
                "title" => Some(keys.title.as_str()),
                "secondary_title" => Some(keys.journal.as_str()),
                _ => None,
            }
        };
        for (id, r) in self.live() {
            if within.is_some_and(|w| !w.contains(id)) {
                continue;
            }
            if let Some(text) = prefolded(id) {
                if matches(c.op, text, &needle) {
                    out.insert(id);
                }
                continue;
            }
            values(r, &c.field, &mut texts);
            let hit = if c.op == Op::IsEmpty {
                texts.iter().all(|t| t.trim().is_empty())
            } else {
                texts.iter().any(|t| {
                    fold_into(t, &mut folded);
                    matches(c.op, &folded, &needle)
                })
            };
            if hit {
                out.insert(id);
            }
        }
        out
    }

    /// The ids matching `criteria` joined left to right. No criteria match nothing.
    pub fn criteria_ids(&self, criteria: &[Criterion]) -> Bits {
        let mut result: Option<Bits> = None;
        for c in criteria {
            let within = match c.connector {
                Connector::And | Connector::Not => result.as_ref(),
                Connector::Or => None,
            };
            let m = self.criterion_ids(c, within);
            result = Some(match (result, c.connector) {
                (None, Connector::Not) => {
                    let mut all = self.all_ids();
                    all.and_not(&m);
                    all
                }
                (None, _) => m,
                (Some(mut r), Connector::And) => {
                    r.and(&m);
                    r
                }
                (Some(mut r), Connector::Or) => {
                    r.or(&m);
                    r
                }
                (Some(mut r), Connector::Not) => {
                    r.and_not(&m);
                    r
                }
            });
        }
        result.unwrap_or_else(|| Bits::empty(self.id_space()))
    }

    /// Field search, sorted.
    pub fn search(&self, criteria: &[Criterion], sort: Sort) -> Vec<Key> {
        let ids = self.criteria_ids(criteria);
        self.sorted(Some(&ids), sort)
    }
}
