//! Creators (authors, editors, ...) and the plain-text form people type them in.
//!
//! The text form follows EndNote's conventions: one name per line or separated by `;`,
//! "Family, Given" or "Given Family", and a trailing comma marks a corporate author kept
//! whole ("World Health Organization,"). [`format_creators_for_editing`] writes that form back
//! so that parse(format(x)) == x.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatorRole {
    Author,
    Editor,
    Translator,
    SeriesEditor,
    #[serde(other)]
    Contributor,
}

/// A person's name split for sorting and citing, or one literal name (corporate authors).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Name {
    Person { family: String, given: String },
    Literal(String),
}

impl Name {
    /// The part a list sorts and abbreviates by: the family name, or the whole literal name.
    pub fn sort_name(&self) -> &str {
        match self {
            Name::Person { family, .. } => family,
            Name::Literal(name) => name,
        }
    }
}

/// "Family, Given" for a person, the name itself for a corporate author.
impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Person { family, given } if given.is_empty() => f.write_str(family),
            Name::Person { family, given } => write!(f, "{family}, {given}"),
            Name::Literal(name) => f.write_str(name),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Creator {
    pub role: CreatorRole,
    pub name: Name,
}

/// Parse names as typed in an author box, giving each the `role`.
pub fn parse_creators(text: &str, role: CreatorRole) -> Vec<Creator> {
    text.split([';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Creator {
            role,
            name: parse_name(s),
        })
        .collect()
}

fn parse_name(s: &str) -> Name {
    if let Some(corporate) = s.strip_suffix(',') {
        return Name::Literal(corporate.trim().to_string());
    }
    if let Some((family, given)) = s.split_once(',') {
        return Name::Person {
            family: family.trim().to_string(),
            given: given.trim().to_string(),
        };
    }
    match s.rsplit_once(char::is_whitespace) {
        Some((given, family)) => Name::Person {
            family: family.to_string(),
            given: given.trim().to_string(),
        },
        None => Name::Person {
            family: s.to_string(),
            given: String::new(),
        },
    }
}

/// The text form of `creators`, one per line, that [`parse_creators`] reads back.
pub fn format_creators_for_editing(creators: &[Creator]) -> String {
    creators
        .iter()
        .map(|c| match &c.name {
            // The trailing comma is what marks a corporate name in the text form.
            Name::Literal(name) => format!("{name},"),
            person => person.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(family: &str, given: &str) -> Name {
        Name::Person {
            family: family.into(),
            given: given.into(),
        }
    }

    fn names(text: &str) -> Vec<Name> {
        parse_creators(text, CreatorRole::Author)
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn reads_family_comma_given_and_given_family() {
        assert_eq!(
            names("Curie, Marie; Albert Einstein\nNewton"),
            vec![
                person("Curie", "Marie"),
                person("Einstein", "Albert"),
                person("Newton", "")
            ]
        );
    }

    #[test]
    fn trailing_comma_keeps_a_corporate_name_whole() {
        assert_eq!(
            names("World Health Organization,"),
            vec![Name::Literal("World Health Organization".into())]
        );
    }

    #[test]
    fn blank_entries_are_ignored() {
        assert!(names(" ; \n ;").is_empty());
    }

    #[test]
    fn displays_family_comma_given_or_the_corporate_name() {
        assert_eq!(person("Curie", "Marie").to_string(), "Curie, Marie");
        assert_eq!(person("Newton", "").to_string(), "Newton");
        assert_eq!(Name::Literal("CERN".into()).to_string(), "CERN");
    }

    #[test]
    fn editing_text_round_trips() {
        let text = "Curie, Marie\nWorld Health Organization,\nNewton";
        let creators = parse_creators(text, CreatorRole::Editor);
        assert!(creators.iter().all(|c| c.role == CreatorRole::Editor));
        assert_eq!(format_creators_for_editing(&creators), text);
    }
}
