//! The named fields of a reference (everything but type, creators, keywords and flags).
//!
//! A reference keeps its fields in a map from the field's stable id to text, so that a field
//! added by a newer client survives an older one, and so that merging can go field by field
//! without knowing every field. [`Field`] names the ids this version knows; the label is only
//! for display and may differ by reference type (see [`crate::RefType::field_label`]).

macro_rules! fields {
    ($($variant:ident => $id:literal, $label:literal;)+) => {
        /// A field this version of refsync knows by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($variant,)+
        }

        impl Field {
            /// Every known field, in the order a detail pane shows them.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)+];

            /// The stable id kept in storage and on the wire.
            pub fn id(self) -> &'static str {
                match self {
                    $(Field::$variant => $id,)+
                }
            }

            /// EndNote's generic name for the field.
            pub fn label(self) -> &'static str {
                match self {
                    $(Field::$variant => $label,)+
                }
            }

            /// The field with this id, if this version knows it.
            pub fn from_id(id: &str) -> Option<Field> {
                match id {
                    $($id => Some(Field::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

fields! {
    Title => "title", "Title";
    SecondaryTitle => "secondary_title", "Secondary Title";
    TertiaryTitle => "tertiary_title", "Tertiary Title";
    ShortTitle => "short_title", "Short Title";
    AlternateTitle => "alternate_title", "Alternate Title";
    TranslatedTitle => "translated_title", "Translated Title";
    OriginalTitle => "original_title", "Original Publication";
    Year => "year", "Year";
    Date => "date", "Date";
    Volume => "volume", "Volume";
    NumberOfVolumes => "number_of_volumes", "Number of Volumes";
    Issue => "issue", "Issue";
    Number => "number", "Number";
    Pages => "pages", "Pages";
    Edition => "edition", "Edition";
    Section => "section", "Section";
    Publisher => "publisher", "Publisher";
    Place => "place", "Place Published";
    TypeOfWork => "type_of_work", "Type of Work";
    Isbn => "isbn", "ISBN";
    Issn => "issn", "ISSN";
    Doi => "doi", "DOI";
    Pmid => "pmid", "PMID";
    Pmcid => "pmcid", "PMCID";
    Url => "url", "URL";
    AccessDate => "access_date", "Access Date";
    Abstract => "abstract", "Abstract";
    Notes => "notes", "Notes";
    ResearchNotes => "research_notes", "Research Notes";
    Label => "label", "Label";
    Language => "language", "Language";
    AccessionNumber => "accession_number", "Accession Number";
    CallNumber => "call_number", "Call Number";
    DatabaseName => "database_name", "Name of Database";
    DatabaseProvider => "database_provider", "Database Provider";
    AuthorAddress => "author_address", "Author Address";
    Caption => "caption", "Caption";
    ReprintEdition => "reprint_edition", "Reprint Edition";
    ReviewedItem => "reviewed_item", "Reviewed Item";
    CitationKey => "citation_key", "Citation Key";
    Custom1 => "custom1", "Custom 1";
    Custom2 => "custom2", "Custom 2";
    Custom3 => "custom3", "Custom 3";
    Custom4 => "custom4", "Custom 4";
    Custom5 => "custom5", "Custom 5";
    Custom6 => "custom6", "Custom 6";
    Custom7 => "custom7", "Custom 7";
    Custom8 => "custom8", "Custom 8";
}

impl Field {
    /// Fields whose text keeps its line breaks; every other field is one line.
    pub fn is_multiline(self) -> bool {
        matches!(
            self,
            Field::Abstract | Field::Notes | Field::ResearchNotes | Field::AuthorAddress
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &f in Field::ALL {
            assert!(seen.insert(f.id()), "duplicate id {}", f.id());
            assert_eq!(Field::from_id(f.id()), Some(f));
        }
        assert_eq!(Field::from_id("glottolog_ref_id"), None);
    }
}
