//! Creators (authors, editors, ...) and the plain-text form people type them in.
//!
//! The text form follows EndNote's conventions: one name per line or separated by `;`,
//! "Family, Given" or "Given Family", and a trailing comma marks a corporate author kept
//! whole ("World Health Organization,"). [`format_creators_for_editing`] writes that form back
//! so that parse(format(x)) == x. Person names keep particles ("van", "de la") and suffixes
//! ("Jr.", "III") apart from the family name, as CSL and BibTeX do, so sorting and citing can
//! treat them by the usual rules.

use serde::{Deserialize, Serialize};

/// The order of the variants is the order creators are kept in (see
/// [`crate::Reference::sort_creators`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatorRole {
    Author,
    Editor,
    Translator,
    SeriesEditor,
    /// The author of the book a section appears in (BibLaTeX `bookauthor`).
    BookAuthor,
    #[serde(other)]
    Contributor,
}

/// A person's name split for sorting and citing, or one literal name (corporate authors).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Name {
    Person {
        family: String,
        given: String,
        /// "van", "de la", "von": the lower-case words before the family name.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        particle: String,
        /// "Jr.", "III".
        #[serde(default, skip_serializing_if = "String::is_empty")]
        suffix: String,
    },
    Literal(String),
}

impl Name {
    /// A person's name with no particle or suffix.
    pub fn person(family: impl Into<String>, given: impl Into<String>) -> Name {
        Name::Person {
            family: family.into(),
            given: given.into(),
            particle: String::new(),
            suffix: String::new(),
        }
    }

    /// The family name with its particle in front ("van Gogh"), or the literal name.
    pub fn full_family(&self) -> String {
        match self {
            Name::Person {
                family, particle, ..
            } if !particle.is_empty() => format!("{particle} {family}"),
            Name::Person { family, .. } => family.clone(),
            Name::Literal(name) => name.clone(),
        }
    }

    /// True when the name holds no text at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Name::Person {
                family,
                given,
                particle,
                suffix,
            } => family.is_empty() && given.is_empty() && particle.is_empty() && suffix.is_empty(),
            Name::Literal(name) => name.is_empty(),
        }
    }

    /// The part a list sorts and abbreviates by: the family name, or the whole literal name.
    pub fn sort_name(&self) -> &str {
        match self {
            Name::Person { family, .. } => family,
            Name::Literal(name) => name,
        }
    }
}

/// "particle Family, Given, Suffix" for a person (the parts that are there), the name itself
/// for a corporate author.
impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Person { given, suffix, .. } => {
                f.write_str(&self.full_family())?;
                if !given.is_empty() || !suffix.is_empty() {
                    write!(f, ", {given}")?;
                }
                if !suffix.is_empty() {
                    write!(f, ", {suffix}")?;
                }
                Ok(())
            }
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

/// One name in EndNote's typed form: "Family, Given[, Suffix]", "Given Family", or
/// "Corporate Name," (trailing comma).
pub fn parse_name(s: &str) -> Name {
    let s = s.trim();
    if let Some(corporate) = s.strip_suffix(',') {
        return Name::Literal(corporate.trim().to_string());
    }
    let parts: Vec<&str> = s.splitn(3, ',').map(str::trim).collect();
    match parts.as_slice() {
        [family, given] => person_from_parts(family, given, ""),
        [family, given, suffix] => person_from_parts(family, given, suffix),
        _ => {
            // "Given [particle] Family": the particle is the run of lower-case words just
            // before the last word.
            let words: Vec<&str> = s.split_whitespace().collect();
            let Some((last, rest)) = words.split_last() else {
                return Name::person("", "");
            };
            let first_lower = rest
                .iter()
                .position(|w| starts_lowercase(w))
                .filter(|&i| rest[i..].iter().all(|w| starts_lowercase(w)))
                .unwrap_or(rest.len());
            Name::Person {
                family: (*last).to_string(),
                given: rest[..first_lower].join(" "),
                particle: rest[first_lower..].join(" "),
                suffix: String::new(),
            }
        }
    }
}

/// A person from "family" (which may start with a particle), "given" and "suffix" texts.
pub fn person_from_parts(family: &str, given: &str, suffix: &str) -> Name {
    let words: Vec<&str> = family.split_whitespace().collect();
    // Leading lower-case words are the particle, but a family name is never all particle.
    let n = words
        .iter()
        .take(words.len().saturating_sub(1))
        .take_while(|w| starts_lowercase(w))
        .count();
    Name::Person {
        family: words[n..].join(" "),
        given: given.trim().to_string(),
        particle: words[..n].join(" "),
        suffix: suffix.trim().to_string(),
    }
}

fn starts_lowercase(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_lowercase)
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
        Name::person(family, given)
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
    fn particles_and_suffixes_are_kept_apart() {
        let expected = Name::Person {
            family: "Gogh".into(),
            given: "Vincent".into(),
            particle: "van".into(),
            suffix: String::new(),
        };
        assert_eq!(names("van Gogh, Vincent"), vec![expected.clone()]);
        assert_eq!(names("Vincent van Gogh"), vec![expected.clone()]);
        assert_eq!(expected.to_string(), "van Gogh, Vincent");
        let king = names("King, Martin Luther, Jr.");
        assert_eq!(king[0].to_string(), "King, Martin Luther, Jr.");
        assert!(matches!(&king[0], Name::Person { suffix, .. } if suffix == "Jr."));
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
        let text = "Curie, Marie\nWorld Health Organization,\nNewton\nde la Fontaine, Jean, Jr.";
        let creators = parse_creators(text, CreatorRole::Editor);
        assert!(creators.iter().all(|c| c.role == CreatorRole::Editor));
        assert_eq!(format_creators_for_editing(&creators), text);
    }
}
