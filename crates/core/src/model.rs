//! The reference data model (DESIGN.md section 2).
//!
//! Every object is identified by a client-made [`Key`]. Serialized forms are stored in
//! IndexedDB, SQLite and on the wire, so fields added later must default when absent
//! (`#[serde(default)]`), and enum values are written as stable snake_case ids, never as
//! display labels.

mod creator;
mod ref_type;

pub use creator::{format_creators_for_editing, parse_creators, Creator, CreatorRole, Name};
pub use ref_type::RefType;

use crate::Key;
use serde::{Deserialize, Serialize};

/// One bibliographic reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub key: Key,
    #[serde(rename = "type")]
    pub ref_type: RefType,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub creators: Vec<Creator>,
    /// Text, as in EndNote: "2021", "in press" and "n.d." are all years people use.
    #[serde(default)]
    pub year: String,
    /// Milliseconds since the Unix epoch.
    pub date_added: u64,
    /// Milliseconds since the Unix epoch.
    pub date_modified: u64,
}

impl Reference {
    /// A new, empty reference of `ref_type`, created at `now` (Unix milliseconds).
    pub fn new(key: Key, ref_type: RefType, now: u64) -> Reference {
        Reference {
            key,
            ref_type,
            title: String::new(),
            creators: Vec::new(),
            year: String::new(),
            date_added: now,
            date_modified: now,
        }
    }

    /// The authors as a list column shows them: "Smith", "Smith & Jones", "Smith et al.".
    pub fn author_summary(&self) -> String {
        let authors: Vec<&Creator> = self
            .creators
            .iter()
            .filter(|c| c.role == CreatorRole::Author)
            .collect();
        let first = authors.first().copied().or(self.creators.first());
        match (first, authors.len()) {
            (None, _) => String::new(),
            (Some(a), 0..=1) => a.name.sort_name().to_string(),
            (Some(a), 2) => format!("{} & {}", a.name.sort_name(), authors[1].name.sort_name()),
            (Some(a), _) => format!("{} et al.", a.name.sort_name()),
        }
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
    fn stored_json_round_trips_and_missing_fields_default() {
        let r = reference("Curie, Marie");
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"type\":\"journal_article\""), "{json}");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);

        let minimal = format!(
            r#"{{"key":"{}","type":"book","date_added":5,"date_modified":6}}"#,
            r.key
        );
        let parsed: Reference = serde_json::from_str(&minimal).unwrap();
        assert_eq!(parsed.ref_type, RefType::Book);
        assert!(parsed.title.is_empty() && parsed.creators.is_empty());
    }
}
