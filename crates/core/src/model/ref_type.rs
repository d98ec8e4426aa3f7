//! Reference types, named as EndNote names them.
//!
//! The serialized id (snake_case) is what every store and the wire keep; the label is only
//! for display. Unknown ids read from newer clients become [`RefType::Generic`] rather than
//! failing the whole record.

use serde::{Deserialize, Serialize};

macro_rules! ref_types {
    ($($variant:ident => $id:literal, $label:literal;)+) => {
        /// A reference type (EndNote's list).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RefType {
            $($variant,)+
            #[serde(other)]
            Generic,
        }

        impl RefType {
            /// Every type, in the order a type picker shows them.
            pub const ALL: &'static [RefType] = &[$(RefType::$variant,)+ RefType::Generic];

            /// The stable id used in storage, on the wire and in HTML form values.
            pub fn id(self) -> &'static str {
                match self {
                    $(RefType::$variant => $id,)+
                    RefType::Generic => "generic",
                }
            }

            /// The name a person sees (EndNote's name for the type).
            pub fn label(self) -> &'static str {
                match self {
                    $(RefType::$variant => $label,)+
                    RefType::Generic => "Generic",
                }
            }

            /// The type with this id; unknown ids are `Generic`.
            pub fn from_id(id: &str) -> RefType {
                match id {
                    $($id => RefType::$variant,)+
                    _ => RefType::Generic,
                }
            }
        }
    };
}

ref_types! {
    JournalArticle => "journal_article", "Journal Article";
    Book => "book", "Book";
    BookSection => "book_section", "Book Section";
    EditedBook => "edited_book", "Edited Book";
    ConferencePaper => "conference_paper", "Conference Paper";
    ConferenceProceedings => "conference_proceedings", "Conference Proceedings";
    Thesis => "thesis", "Thesis";
    Report => "report", "Report";
    WebPage => "web_page", "Web Page";
    NewspaperArticle => "newspaper_article", "Newspaper Article";
    MagazineArticle => "magazine_article", "Magazine Article";
    Patent => "patent", "Patent";
    Dataset => "dataset", "Dataset";
    ComputerProgram => "computer_program", "Computer Program";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_what_serde_writes() {
        for &t in RefType::ALL {
            assert_eq!(RefType::from_id(t.id()), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.id())
            );
        }
    }

    #[test]
    fn unknown_ids_become_generic() {
        assert_eq!(RefType::from_id("hologram"), RefType::Generic);
        let t: RefType = serde_json::from_str("\"hologram\"").unwrap();
        assert_eq!(t, RefType::Generic);
    }
}
