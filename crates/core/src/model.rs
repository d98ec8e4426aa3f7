//! The reference data model (docs/architecture.md, "Data model").
//!
//! Every object is identified by a client-made [`Key`]. Serialized forms are stored in
//! IndexedDB, SQLite and on the wire, so fields added later must default when absent
//! (`#[serde(default)]`), and enum values are written as stable snake_case ids, never as
//! display labels.

mod attachment;
mod creator;
mod field;
mod group;
mod ref_type;
mod style;
mod text_map;

pub use attachment::{Attachment, AttachmentRole, ObjectKind, Tombstone};
pub use creator::{
    format_creators_for_editing, parse_creators, parse_name, person_from_parts, Creator,
    CreatorRole, Name,
};
pub use field::Field;
pub use group::{Connector, Criterion, Group, GroupExpr, GroupKind, GroupSet, Op};
pub use ref_type::RefType;
pub use style::{Style, LIBRARY_STYLE};
pub use text_map::TextMap;

use crate::Key;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One bibliographic reference.
///
/// Invariant: `fields` and `extra` never hold an empty value (setting one to "" removes it),
/// so two references with the same content compare equal however they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredReference")]
pub struct Reference {
    pub key: Key,
    #[serde(rename = "type")]
    pub ref_type: RefType,
    #[serde(default)]
    pub creators: Vec<Creator>,
    /// Field id (see [`Field`]) to text. Ids this version does not know are kept as they are.
    #[serde(default)]
    pub fields: TextMap,
    /// Imported fields with no refsync field, under the name the source gave them, prefixed
    /// by the format they came from ("bibtex:lgcode", "ris:Y3", "endnote:abbr-2"). The
    /// prefix tells each exporter which ones it can write back where they came from.
    #[serde(default, skip_serializing_if = "TextMap::is_empty")]
    pub extra: TextMap,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Keys of the custom groups it belongs to.
    #[serde(default)]
    pub groups: BTreeSet<Key>,
    /// Keys of its attachments.
    #[serde(default)]
    pub attachments: Vec<Key>,
    /// 0 (not rated) to 5.
    #[serde(default)]
    pub rating: u8,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub trashed: bool,
    /// The reference this one was merged into (it then waits in the Trash; restoring it
    /// undoes the merge: `edit::merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Key>,
    /// References a person said are not duplicates of this one, so duplicate detection never
    /// pairs them again (on every device: it syncs like any part of the reference).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub not_duplicates: BTreeSet<Key>,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub date_added: u64,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub date_modified: u64,
}

/// A reference as stored: today's form, or the first app build's, which kept title and year
/// beside the other fields (before `fields` existed). Reading moves them in, so a library
/// saved by that build loses nothing; writing always uses today's form.
#[derive(Deserialize)]
struct StoredReference {
    key: Key,
    #[serde(rename = "type")]
    ref_type: RefType,
    #[serde(default)]
    creators: Vec<Creator>,
    #[serde(default)]
    fields: TextMap,
    #[serde(default)]
    extra: TextMap,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    groups: BTreeSet<Key>,
    #[serde(default)]
    attachments: Vec<Key>,
    #[serde(default)]
    rating: u8,
    #[serde(default)]
    read: bool,
    #[serde(default)]
    trashed: bool,
    #[serde(default)]
    merged_into: Option<Key>,
    #[serde(default)]
    not_duplicates: BTreeSet<Key>,
    #[serde(default)]
    date_added: u64,
    #[serde(default)]
    date_modified: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    year: Option<String>,
}

impl From<StoredReference> for Reference {
    fn from(s: StoredReference) -> Reference {
        let mut fields = s.fields;
        for (field, legacy) in [(Field::Title, s.title), (Field::Year, s.year)] {
            if let Some(value) = legacy.filter(|v| !v.is_empty()) {
                fields.entry(field.id().to_string()).or_insert(value);
            }
        }
        Reference {
            key: s.key,
            ref_type: s.ref_type,
            creators: s.creators,
            fields,
            extra: s.extra,
            keywords: s.keywords,
            groups: s.groups,
            attachments: s.attachments,
            rating: s.rating,
            read: s.read,
            trashed: s.trashed,
            merged_into: s.merged_into,
            not_duplicates: s.not_duplicates,
            date_added: s.date_added,
            date_modified: s.date_modified,
        }
    }
}

impl Reference {
    /// A new, empty reference of `ref_type`, created at `now` (Unix milliseconds).
    pub fn new(key: Key, ref_type: RefType, now: u64) -> Reference {
        Reference {
            key,
            ref_type,
            date_added: now,
            date_modified: now,
            ..Reference::default()
        }
    }

    /// The text of `field`, "" when it has none.
    pub fn get(&self, field: Field) -> &str {
        self.fields.get(field.id()).map_or("", String::as_str)
    }

    /// Set `field` to `value` as given; an empty value removes the field.
    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        let value = value.into();
        if value.is_empty() {
            self.fields.remove(field.id());
        } else {
            self.fields.insert(field.id().to_string(), value);
        }
    }

    /// Keep an imported field with no refsync field under its own `name`; empty values are
    /// not kept, and a name seen again is kept as `name#2`, `name#3`, ... (see
    /// [`extra_name`]).
    pub fn add_extra(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut key = name.to_string();
        let mut n = 1;
        while self.extra.contains_key(&key) {
            n += 1;
            key = format!("{name}#{n}");
        }
        self.extra.insert(key, value.to_string());
    }

    pub fn title(&self) -> &str {
        self.get(Field::Title)
    }

    pub fn year(&self) -> &str {
        self.get(Field::Year)
    }

    /// Group creators by role (authors first, then editors, ...), keeping each role's order.
    /// Only the order within a role means anything, and formats write roles apart.
    pub fn sort_creators(&mut self) {
        crate::sort::sort_by_key(&mut self.creators, |c| c.role);
    }

    /// Extras in the order they were imported: by name, repeats (`name#2`, ...) in turn.
    pub fn extras_in_order(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, u32, &str)> = self
            .extra
            .iter()
            .map(|(k, v)| {
                let base = extra_name(k);
                let n = k[base.len()..].trim_start_matches('#').parse().unwrap_or(1);
                (base, n, v.as_str())
            })
            .collect();
        crate::sort::sort(&mut out);
        out.into_iter().map(|(k, _, v)| (k, v)).collect()
    }

    /// Creators with `role`, in order.
    pub fn creators_with(&self, role: CreatorRole) -> impl Iterator<Item = &Creator> {
        self.creators.iter().filter(move |c| c.role == role)
    }

    /// The authors as a list column shows them: "Smith", "Smith & Jones", "Smith et al.".
    pub fn author_summary(&self) -> String {
        let authors: Vec<&Creator> = self.creators_with(CreatorRole::Author).collect();
        let first = authors.first().copied().or(self.creators.first());
        match (first, authors.len()) {
            (None, _) => String::new(),
            (Some(a), 0..=1) => a.name.sort_name().to_string(),
            (Some(a), 2) => format!("{} & {}", a.name.sort_name(), authors[1].name.sort_name()),
            (Some(a), _) => format!("{} et al.", a.name.sort_name()),
        }
    }

    /// One line saying what the reference is, as a reading list writes it (not a citation
    /// style): "Smith & Jones (2021). Glacier retreat. Journal of Glaciology 67(3): 1-10."
    pub fn citation_line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let who = self.author_summary();
        let year = self.year().trim();
        match (who.is_empty(), year.is_empty()) {
            (false, false) => parts.push(format!("{who} ({year})")),
            (false, true) => parts.push(who),
            (true, false) => parts.push(format!("({year})")),
            (true, true) => {}
        }
        let title = self.title().trim();
        if !title.is_empty() {
            parts.push(title.trim_end_matches('.').to_string());
        }
        let container = match self.get(Field::SecondaryTitle).trim() {
            "" => self.get(Field::Publisher).trim(),
            journal => journal,
        };
        let mut place = container.to_string();
        let volume = self.get(Field::Volume).trim();
        if !volume.is_empty() {
            place = format!("{place} {volume}").trim().to_string();
        }
        let issue = self.get(Field::Issue).trim();
        if !issue.is_empty() {
            place.push_str(&format!("({issue})"));
        }
        let pages = self.get(Field::Pages).trim();
        if !pages.is_empty() {
            place = if place.is_empty() {
                pages.to_string()
            } else {
                format!("{place}: {pages}")
            };
        }
        if !place.is_empty() {
            parts.push(place);
        }
        if parts.is_empty() {
            return String::new();
        }
        let mut line = parts.join(". ");
        line.push('.');
        line
    }
}

/// The name an extra was imported under, without the `#n` that tells repeats apart.
pub fn extra_name(key: &str) -> &str {
    match key.rsplit_once('#') {
        Some((base, n))
            if !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => key,
    }
}

#[cfg(test)]
mod citation_line_tests {
    use super::*;

    #[test]
    fn a_reference_reads_as_one_line() {
        let mut r = Reference::new(crate::Key::new(1, [1; 10]), RefType::JournalArticle, 0);
        assert_eq!(r.citation_line(), "");
        r.set(Field::Title, "Glacier retreat.");
        assert_eq!(r.citation_line(), "Glacier retreat.");
        r.creators.push(Creator {
            name: Name::person("Smith", "Jane"),
            role: CreatorRole::Author,
        });
        r.set(Field::Year, "2021");
        r.set(Field::SecondaryTitle, "Journal of Glaciology");
        r.set(Field::Volume, "67");
        r.set(Field::Issue, "3");
        r.set(Field::Pages, "1-10");
        assert_eq!(
            r.citation_line(),
            "Smith (2021). Glacier retreat. Journal of Glaciology 67(3): 1-10."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(creators: &str) -> Reference {
        let mut r = Reference::new(Key::new(1, [1; 10]), RefType::JournalArticle, 1);
        r.creators = parse_creators(creators, CreatorRole::Author);
        r
    }

    #[test]
    fn author_summary_follows_the_usual_list_style() {
        assert_eq!(reference("").author_summary(), "");
        assert_eq!(reference("Smith, Jane").author_summary(), "Smith");
        assert_eq!(
            reference("Smith, Jane; Jones, Ann").author_summary(),
            "Smith & Jones"
        );
        assert_eq!(
            reference("Smith, Jane; Jones, Ann; Lee, K.").author_summary(),
            "Smith et al."
        );
        assert_eq!(
            reference("World Health Organization,").author_summary(),
            "World Health Organization"
        );
    }

    #[test]
    fn a_reference_saved_by_the_first_build_keeps_its_title_and_year() {
        let key = Key::new(1, [1; 10]);
        let old = format!(
            r#"{{"key":"{key}","type":"book","title":"Old title","creators":[],"year":"1962","date_added":5,"date_modified":6}}"#
        );
        let r: Reference = serde_json::from_str(&old).unwrap();
        assert_eq!((r.title(), r.year()), ("Old title", "1962"));
        let written = serde_json::to_string(&r).unwrap();
        assert!(
            written.contains(r#""fields":{"title":"Old title","year":"1962"}"#),
            "{written}"
        );
    }

    #[test]
    fn setting_an_empty_value_removes_the_field() {
        let mut r = reference("");
        r.set(Field::Title, "A");
        assert_eq!(r.title(), "A");
        r.set(Field::Title, "");
        assert!(r.fields.is_empty());
    }

    #[test]
    fn stored_json_round_trips_and_missing_fields_default() {
        let mut r = reference("Curie, Marie");
        r.set(Field::Title, "Radium");
        r.add_extra("bibtex:lgcode", "fra");
        r.keywords.push("physics".into());
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"type\":\"journal_article\""), "{json}");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);

        let minimal = format!(
            r#"{{"key":"{}","type":"book","date_added":5,"date_modified":6}}"#,
            r.key
        );
        let parsed: Reference = serde_json::from_str(&minimal).unwrap();
        assert_eq!(parsed.ref_type, RefType::Book);
        assert!(parsed.title().is_empty() && parsed.creators.is_empty());
    }
}
