//! Reference types, named as EndNote names them, and how each maps to the other formats.
//!
//! The serialized id (snake_case) is what every store and the wire keep; the label is only
//! for display. Unknown ids read from newer clients become [`RefType::Generic`] rather than
//! failing the whole record. Each type's row in the table gives its CSL type, Zotero item
//! type, RIS `TY` and BibTeX entry type: the ones an exporter writes. Importers accept many
//! more spellings (see each format's module); this table is the canonical way out.

use super::Field;
use serde::{Deserialize, Serialize};

macro_rules! ref_types {
    ($($variant:ident => $id:literal, $label:literal, $csl:literal, $zotero:literal, $ris:literal, $bibtex:literal;)+) => {
        /// A reference type (EndNote's list).
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RefType {
            $($variant,)+
            #[default]
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

            /// The CSL-JSON `type`.
            pub fn csl_type(self) -> &'static str {
                match self {
                    $(RefType::$variant => $csl,)+
                    RefType::Generic => "document",
                }
            }

            /// The Zotero item type.
            pub fn zotero_type(self) -> &'static str {
                match self {
                    $(RefType::$variant => $zotero,)+
                    RefType::Generic => "document",
                }
            }

            /// The RIS `TY` code.
            pub fn ris_type(self) -> &'static str {
                match self {
                    $(RefType::$variant => $ris,)+
                    RefType::Generic => "GEN",
                }
            }

            /// The BibTeX/BibLaTeX entry type an exporter writes.
            pub fn bibtex_type(self) -> &'static str {
                match self {
                    $(RefType::$variant => $bibtex,)+
                    RefType::Generic => "misc",
                }
            }

            /// The type with this id; unknown ids are `Generic`.
            pub fn from_id(id: &str) -> RefType {
                match id {
                    $($id => RefType::$variant,)+
                    _ => RefType::Generic,
                }
            }

            /// The type with this EndNote name (as EndNote XML's `ref-type name` and `.enw`'s
            /// `%0` write it), ignoring case.
            pub fn from_label(label: &str) -> Option<RefType> {
                let label = label.trim();
                RefType::ALL.iter().copied().find(|t| t.label().eq_ignore_ascii_case(label))
            }
        }
    };
}

ref_types! {
    JournalArticle => "journal_article", "Journal Article", "article-journal", "journalArticle", "JOUR", "article";
    Book => "book", "Book", "book", "book", "BOOK", "book";
    BookSection => "book_section", "Book Section", "chapter", "bookSection", "CHAP", "incollection";
    EditedBook => "edited_book", "Edited Book", "book", "book", "EDBOOK", "collection";
    ConferencePaper => "conference_paper", "Conference Paper", "paper-conference", "conferencePaper", "CPAPER", "inproceedings";
    ConferenceProceedings => "conference_proceedings", "Conference Proceedings", "book", "book", "CONF", "proceedings";
    Thesis => "thesis", "Thesis", "thesis", "thesis", "THES", "phdthesis";
    Report => "report", "Report", "report", "report", "RPRT", "techreport";
    WebPage => "web_page", "Web Page", "webpage", "webpage", "ELEC", "online";
    NewspaperArticle => "newspaper_article", "Newspaper Article", "article-newspaper", "newspaperArticle", "NEWS", "article";
    MagazineArticle => "magazine_article", "Magazine Article", "article-magazine", "magazineArticle", "MGZN", "article";
    ElectronicArticle => "electronic_article", "Electronic Article", "article", "journalArticle", "EJOUR", "article";
    ElectronicBook => "electronic_book", "Electronic Book", "book", "book", "EBOOK", "book";
    ElectronicBookSection => "electronic_book_section", "Electronic Book Section", "chapter", "bookSection", "ECHAP", "incollection";
    Patent => "patent", "Patent", "patent", "patent", "PAT", "patent";
    Dataset => "dataset", "Dataset", "dataset", "dataset", "DATA", "dataset";
    ComputerProgram => "computer_program", "Computer Program", "software", "computerProgram", "COMP", "software";
    Manuscript => "manuscript", "Manuscript", "manuscript", "manuscript", "MANSCPT", "unpublished";
    UnpublishedWork => "unpublished_work", "Unpublished Work", "manuscript", "manuscript", "UNPB", "unpublished";
    Pamphlet => "pamphlet", "Pamphlet", "pamphlet", "document", "PAMP", "booklet";
    Standard => "standard", "Standard", "standard", "standard", "STAND", "standard";
    Dictionary => "dictionary", "Dictionary", "entry-dictionary", "dictionaryEntry", "DICT", "inreference";
    Encyclopedia => "encyclopedia", "Encyclopedia", "entry-encyclopedia", "encyclopediaArticle", "ENCYC", "inreference";
    GovernmentDocument => "government_document", "Government Document", "report", "report", "GOVDOC", "report";
    Grant => "grant", "Grant", "document", "document", "GRANT", "misc";
    Serial => "serial", "Serial", "periodical", "document", "SER", "periodical";
    FilmOrBroadcast => "film_or_broadcast", "Film or Broadcast", "motion_picture", "film", "MPCT", "movie";
    AudiovisualMaterial => "audiovisual_material", "Audiovisual Material", "motion_picture", "videoRecording", "ADVS", "video";
    Music => "music", "Music", "song", "audioRecording", "MUSIC", "audio";
    Artwork => "artwork", "Artwork", "graphic", "artwork", "ART", "artwork";
    Map => "map", "Map", "map", "map", "MAP", "map";
    Figure => "figure", "Figure", "figure", "artwork", "FIGURE", "image";
    ChartOrTable => "chart_or_table", "Chart or Table", "figure", "artwork", "CTAB", "chart";
    Statute => "statute", "Statute", "legislation", "statute", "STAT", "legislation";
    Case => "case", "Case", "legal_case", "case", "CASE", "jurisdiction";
    Bill => "bill", "Bill", "bill", "bill", "BILL", "bill";
    Hearing => "hearing", "Hearing", "hearing", "hearing", "HEAR", "hearing";
    PersonalCommunication => "personal_communication", "Personal Communication", "personal_communication", "letter", "PCOMM", "letter";
    Interview => "interview", "Interview", "interview", "interview", "INTV", "interview";
    Blog => "blog", "Blog", "post-weblog", "blogPost", "BLOG", "blogpost";
    Catalog => "catalog", "Catalog", "document", "document", "CTLG", "catalog";
}

use Field as F;

/// Fields every type shows, after its own.
const COMMON_TAIL: &[Field] = &[
    F::ShortTitle,
    F::AlternateTitle,
    F::Isbn,
    F::Issn,
    F::Doi,
    F::Url,
    F::AccessDate,
    F::Abstract,
    F::Notes,
    F::ResearchNotes,
    F::Label,
    F::Language,
    F::AccessionNumber,
    F::CallNumber,
    F::DatabaseName,
    F::DatabaseProvider,
    F::AuthorAddress,
    F::Caption,
    F::CitationKey,
];

impl RefType {
    /// The fields a detail pane shows for this type, in order (title and year first).
    /// Fields outside this list that hold text are shown too, after these.
    pub fn fields(self) -> Vec<Field> {
        use RefType as T;
        let own: &[Field] = match self {
            T::JournalArticle | T::ElectronicArticle | T::MagazineArticle | T::NewspaperArticle => {
                &[
                    F::Title,
                    F::SecondaryTitle,
                    F::Year,
                    F::Date,
                    F::Volume,
                    F::Issue,
                    F::Pages,
                    F::Section,
                    F::Pmid,
                    F::Pmcid,
                    F::Publisher,
                    F::Place,
                    F::TypeOfWork,
                ]
            }
            T::Book
            | T::EditedBook
            | T::ElectronicBook
            | T::Pamphlet
            | T::Dictionary
            | T::Encyclopedia
            | T::ConferenceProceedings
            | T::Serial
            | T::Catalog => &[
                F::Title,
                F::Year,
                F::Date,
                F::SecondaryTitle,
                F::TertiaryTitle,
                F::Volume,
                F::NumberOfVolumes,
                F::Number,
                F::Edition,
                F::Pages,
                F::Publisher,
                F::Place,
                F::TranslatedTitle,
                F::OriginalTitle,
                F::ReprintEdition,
                F::TypeOfWork,
            ],
            T::BookSection | T::ElectronicBookSection | T::ConferencePaper => &[
                F::Title,
                F::SecondaryTitle,
                F::Year,
                F::Date,
                F::TertiaryTitle,
                F::Volume,
                F::NumberOfVolumes,
                F::Number,
                F::Edition,
                F::Pages,
                F::Section,
                F::Publisher,
                F::Place,
                F::TypeOfWork,
            ],
            T::Thesis => &[
                F::Title,
                F::Year,
                F::Date,
                F::TypeOfWork,
                F::Publisher,
                F::Place,
                F::Pages,
                F::SecondaryTitle,
            ],
            T::Report | T::GovernmentDocument | T::Standard | T::Grant => &[
                F::Title,
                F::Year,
                F::Date,
                F::SecondaryTitle,
                F::TertiaryTitle,
                F::Number,
                F::Volume,
                F::Pages,
                F::Publisher,
                F::Place,
                F::TypeOfWork,
                F::Edition,
            ],
            T::Patent => &[
                F::Title,
                F::Year,
                F::Date,
                F::Number,
                F::Publisher,
                F::Place,
                F::TypeOfWork,
                F::Volume,
                F::Issue,
                F::Pages,
            ],
            _ => &[
                F::Title,
                F::SecondaryTitle,
                F::Year,
                F::Date,
                F::TertiaryTitle,
                F::Volume,
                F::Issue,
                F::Number,
                F::Pages,
                F::Edition,
                F::Publisher,
                F::Place,
                F::TypeOfWork,
                F::Section,
                F::Pmid,
            ],
        };
        let mut all = own.to_vec();
        all.extend(COMMON_TAIL.iter().filter(|f| !own.contains(f)));
        all
    }

    /// What this type calls `field` (EndNote's per-type names: a journal article's secondary
    /// title is its "Journal").
    pub fn field_label(self, field: Field) -> &'static str {
        use RefType as T;
        match (field, self) {
            (F::SecondaryTitle, T::JournalArticle | T::ElectronicArticle) => "Journal",
            (F::SecondaryTitle, T::MagazineArticle) => "Magazine",
            (F::SecondaryTitle, T::NewspaperArticle) => "Newspaper",
            (F::SecondaryTitle, T::BookSection | T::ElectronicBookSection) => "Book Title",
            (F::SecondaryTitle, T::ConferencePaper) => "Conference Name",
            (F::SecondaryTitle, T::Book | T::EditedBook | T::Report | T::Thesis) => "Series Title",
            (F::SecondaryTitle, T::WebPage | T::Blog) => "Website",
            (F::TertiaryTitle, T::BookSection | T::ConferencePaper) => "Series Title",
            (F::Number, T::Report | T::GovernmentDocument) => "Report Number",
            (F::Number, T::Patent) => "Patent Number",
            (F::Number, _) => "Number",
            (F::Publisher, T::Thesis) => "University",
            (F::Publisher, T::Report) => "Institution",
            (F::TypeOfWork, T::Thesis) => "Thesis Type",
            (F::TypeOfWork, T::Report) => "Report Type",
            (F::Issue, T::JournalArticle | T::MagazineArticle) => "Issue",
            _ => field.label(),
        }
    }
}

impl RefType {
    /// The field a person means by `name` for a reference of this type: its id
    /// (`secondary_title`), EndNote's generic label ("Secondary Title"), this type's own label
    /// ("Journal" for an article, "Book Title" for a chapter), or a name people use for it
    /// whatever the type (`journal`, `booktitle`, `doi`...). Case, spaces, hyphens and
    /// underscores do not matter. `None` when it names no field.
    pub fn field_named(self, name: &str) -> Option<Field> {
        fn norm(s: &str) -> String {
            s.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-'))
                .flat_map(char::to_lowercase)
                .collect()
        }
        let wanted = norm(name);
        if wanted.is_empty() {
            return None;
        }
        // Names people use for a field whatever the type.
        let alias = match wanted.as_str() {
            "journal" | "journaltitle" | "booktitle" | "containertitle" | "publication" => {
                Some(Field::SecondaryTitle)
            }
            "place" | "location" | "city" => Some(Field::Place),
            _ => None,
        };
        alias.or_else(|| {
            Field::ALL.iter().copied().find(|f| {
                norm(f.id()) == wanted
                    || norm(f.label()) == wanted
                    || norm(self.field_label(*f)) == wanted
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_every_name_a_person_uses() {
        let article = RefType::JournalArticle;
        for name in [
            "journal",
            "Journal",
            "secondary_title",
            "Secondary Title",
            "JOURNAL",
        ] {
            assert_eq!(
                article.field_named(name),
                Some(Field::SecondaryTitle),
                "{name}"
            );
        }
        assert_eq!(
            RefType::BookSection.field_named("book title"),
            Some(Field::SecondaryTitle)
        );
        assert_eq!(
            RefType::Thesis.field_named("University"),
            Some(Field::Publisher)
        );
        assert_eq!(article.field_named("doi"), Some(Field::Doi));
        assert_eq!(article.field_named("place_published"), Some(Field::Place));
        assert_eq!(article.field_named("colour"), None);
        assert_eq!(article.field_named(""), None);
    }

    #[test]
    fn ids_round_trip_and_are_what_serde_writes() {
        for &t in RefType::ALL {
            assert_eq!(RefType::from_id(t.id()), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.id())
            );
            assert_eq!(RefType::from_label(t.label()), Some(t));
        }
    }

    #[test]
    fn every_type_shows_title_and_year_once() {
        for &t in RefType::ALL {
            let fields = t.fields();
            assert_eq!(fields[0], Field::Title, "{t:?}");
            assert!(fields.contains(&Field::Year), "{t:?}");
            let unique: std::collections::HashSet<_> = fields.iter().collect();
            assert_eq!(unique.len(), fields.len(), "{t:?} lists a field twice");
        }
    }

    #[test]
    fn ris_codes_are_unique_so_export_then_import_keeps_the_type() {
        let mut seen = std::collections::HashSet::new();
        for &t in RefType::ALL {
            assert!(seen.insert(t.ris_type()), "{t:?}");
        }
    }

    #[test]
    fn unknown_ids_become_generic() {
        assert_eq!(RefType::from_id("hologram"), RefType::Generic);
        let t: RefType = serde_json::from_str("\"hologram\"").unwrap();
        assert_eq!(t, RefType::Generic);
    }

    #[test]
    fn labels_depend_on_the_type() {
        assert_eq!(
            RefType::JournalArticle.field_label(Field::SecondaryTitle),
            "Journal"
        );
        assert_eq!(RefType::Book.field_label(Field::Title), "Title");
    }
}
