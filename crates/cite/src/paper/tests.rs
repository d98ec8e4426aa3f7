#![allow(clippy::unwrap_used)]
use super::*;
use refsync_core::model::{Creator, CreatorRole, Name};
use refsync_core::{Key, RefType};

fn key(n: u8) -> Key {
    Key::new(u64::from(n), [n; 10])
}

fn reference(n: u8, kind: RefType, authors: &[&str], year: &str, title: &str) -> Reference {
    let mut r = Reference::new(key(n), kind, 0);
    r.set(Field::Title, title);
    r.set(Field::Year, year);
    for family in authors {
        r.creators.push(Creator {
            name: Name::person(*family, "Ann"),
            role: CreatorRole::Author,
        });
    }
    r
}

/// Kuhn 1962 (key kuhn1962), Able & Müller 2001 (DOI), two Smiths of 2005, a trashed Kuhn.
fn library() -> Vec<Reference> {
    let mut kuhn = reference(
        1,
        RefType::Book,
        &["Kuhn"],
        "1962",
        "The structure of scientific revolutions",
    );
    kuhn.set(Field::CitationKey, "kuhn1962");
    kuhn.set(Field::Publisher, "University of Chicago Press");
    let mut able = reference(
        2,
        RefType::JournalArticle,
        &["Able", "Müller"],
        "2001",
        "Ice sheets and the north",
    );
    able.set(Field::SecondaryTitle, "Journal of Glaciology");
    able.set(Field::Doi, "10.1000/ICE");
    able.set(Field::Label, "ice-1");
    let smith_a = reference(
        3,
        RefType::JournalArticle,
        &["Smith"],
        "2005",
        "Rivers of the plain",
    );
    let smith_b = reference(
        4,
        RefType::JournalArticle,
        &["Smith"],
        "2005",
        "Glaciers in retreat",
    );
    let mut gone = reference(5, RefType::Book, &["Kuhn"], "1977", "The essential tension");
    gone.trashed = true;
    vec![kuhn, able, smith_a, smith_b, gone]
}

fn run(kind: Manuscript, text: &str, style: &str) -> (String, PaperReport) {
    let (out, report) = format_paper(
        kind,
        text.as_bytes(),
        &library(),
        &Style::builtin(style).unwrap(),
        None,
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), report)
}

#[test]
fn endnote_citations_are_read_with_prefixes_pages_and_tags() {
    let items = endnote_items("see \\Kuhn, 1962 #12@45-47; Able, 2001").unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].prefix, "see");
    assert_eq!(items[0].locator, Some((None, "45-47".into())));
    assert_eq!(
        items[0].query,
        Query::EndNote {
            author: "Kuhn".into(),
            year: "1962".into(),
            record: "12".into(),
            text: String::new()
        }
    );
    let tagged = endnote_items("Kuhn, 1962 #12@@author-year").unwrap();
    assert!(tagged[0].narrative);
    assert!(endnote_items("-Kuhn, 1962").unwrap()[0].suppress_author);
    // Braces in prose are not citations.
    assert_eq!(endnote_items("a set"), None);
    assert_eq!(endnote_items("x, y"), None);
    assert_eq!(endnote_items(""), None);
}

#[test]
fn pandoc_citations_are_read_with_locators_and_suffixes() {
    let items = pandoc_items("see @kuhn1962, pp. 33-35 and passim; -@able2001").unwrap();
    assert_eq!(items[0].prefix, "see");
    assert_eq!(items[0].query, Query::Key("kuhn1962".into()));
    assert_eq!(items[0].locator, Some((None, "33-35".into())));
    assert_eq!(items[0].suffix, " and passim");
    assert!(items[1].suppress_author);
    let chapter = pandoc_items("@kuhn1962, chap. 3").unwrap();
    assert_eq!(
        chapter[0].locator,
        Some((Some("chapter".into()), "3".into()))
    );
    let doi = pandoc_items("@doi:10.1000/ice").unwrap();
    assert_eq!(doi[0].query, Query::Doi("10.1000/ice".into()));
    // An address or a bracketed aside is no citation.
    assert_eq!(pandoc_items("mail me@example.org"), None);
    assert_eq!(pandoc_items("see below"), None);
}

#[test]
fn a_markdown_paper_is_formatted_and_the_rest_kept() {
    let paper = "# Paper\n\nScience moves in revolutions [@kuhn1962, p. 10]. Ice {Able, 2001 #7} \
                 melts [see @doi:10.1000/ice].\n\n```\n[@kuhn1962] in code stays\n```\n\n\
                 Mail a@b.org or @someone; `[@kuhn1962]` too.\n";
    let (out, report) = run(Manuscript::Markdown, paper, "apa");
    assert!(out.starts_with("# Paper\n\nScience moves in revolutions (Kuhn, 1962, p. 10). Ice (Able & Müller, 2001) melts (see Able & Müller, 2001)."), "{out}");
    assert!(out.contains("```\n[@kuhn1962] in code stays\n```"));
    assert!(out.contains("Mail a@b.org or @someone; `[@kuhn1962]` too.\n"));
    assert!(out.contains("\n## References\n\nAble, A., & Müller, A. (2001). Ice sheets and the north. *Journal of Glaciology*."), "{out}");
    assert!(out.contains("\n\nKuhn, A. (1962). *The structure of scientific revolutions*. University of Chicago Press.\n"), "{out}");
    assert_eq!(
        (report.found, report.formatted, report.references),
        (3, 3, 2)
    );
    assert!(report.unformatted.is_empty());
}

#[test]
fn citations_matching_nothing_or_several_are_left_as_typed_and_reported() {
    let paper =
        "One {Smith, 2005}.\nTwo [@nobody].\nThree {Smith, 2005 #ref-3} and {Kuhn, 1977}.\n";
    let (out, report) = run(Manuscript::Markdown, paper, "apa");
    // The record (here a refsync key) tells the two Smiths apart; a trashed reference is not
    // cited.
    let smith = key(3).to_string();
    let paper = paper.replace("#ref-3", &format!("#{smith}"));
    let (out2, report2) = run(Manuscript::Markdown, &paper, "apa");
    assert!(out.starts_with("One {Smith, 2005}.\nTwo [@nobody].\n"));
    assert_eq!(report.formatted, 0);
    assert_eq!(report.unformatted.len(), 4);
    assert_eq!(
        report.unformatted[0].words(),
        "line 1: {Smith, 2005}: “Smith, 2005” matches 2 references; add its key or record to choose one"
    );
    assert_eq!(
        report.unformatted[1].words(),
        "line 2: [@nobody]: no reference matches “@nobody”"
    );
    assert!(
        out2.contains("Three (Smith, 2005) and {Kuhn, 1977}."),
        "{out2}"
    );
    assert_eq!(report2.formatted, 1);
    assert!(report2.words().contains("1 of 4 citations formatted; 1 reference in the bibliography.\n3 citations were left as typed:"), "{}", report2.words());
}

#[test]
fn numbered_and_note_styles_in_markdown() {
    let paper = "First [@able2001; @kuhn1962], then @kuhn1962 [p. 3] says.\n";
    let mut lib = library();
    lib[1].set(Field::CitationKey, "able2001");
    let ieee = Style::builtin("ieee").unwrap();
    let (out, _) = format_paper(Manuscript::Markdown, paper.as_bytes(), &lib, &ieee, None).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("First \\[1\\], \\[2\\]") || out.starts_with("First \\[1, 2\\]"),
        "{out}"
    );
    // Neighbouring pieces of one formatting are one run: "^1,2^", never "^1^^,^^2^".
    let nature = Style::builtin("nature").unwrap();
    let (out, _) =
        format_paper(Manuscript::Markdown, paper.as_bytes(), &lib, &nature, None).unwrap();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("First ^1,2^, then"));
    let chicago = Style::builtin("chicago-notes").unwrap();
    let (out, _) =
        format_paper(Manuscript::Markdown, paper.as_bytes(), &lib, &chicago, None).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("First [^cite-1], then [^cite-2] says.\n"),
        "{out}"
    );
    assert!(out.contains("\n[^cite-1]: "), "{out}");
    // A narrative citation in a note style is an ordinary (here shortened) footnote.
    assert!(
        out.contains("\n[^cite-2]: Kuhn, *The Structure of Scientific Revolutions*, 3.\n"),
        "{out}"
    );
    assert!(out.contains("\n## Bibliography\n"), "{out}");
}

#[test]
fn an_rtf_paper_is_formatted_byte_for_byte_elsewhere() {
    let rtf = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times [@kuhn1962];}}\n\\pard Revolutions \\{Kuhn, 1962 #1\\}. \
               Ice [@doi:10.1000/ice]. M\\'fcller \\{M\\'fcller, 2001\\}.\\par\n\\pard Unknown \\{Nobody, 1999\\}.\\par\n}";
    let (out, report) = run(Manuscript::Rtf, rtf, "apa");
    assert!(out.starts_with("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times [@kuhn1962];}}\n\\pard Revolutions (Kuhn, 1962). Ice (Able & M\\u252?ller, 2001). M\\'fcller (Able & M\\u252?ller, 2001).\\par\n\\pard Unknown \\{Nobody, 1999\\}.\\par\n"), "{out}");
    assert!(out.ends_with("\\par}\n}"), "{out}");
    assert!(out.contains("{\\b References}"));
    assert!(
        out.contains("Kuhn, A. (1962). {\\i The structure of scientific revolutions}."),
        "{out}"
    );
    assert_eq!(report.unformatted.len(), 1);
    assert_eq!(report.unformatted[0].place, "paragraph 2");
}

#[test]
fn a_file_that_is_not_its_kind_is_refused_in_words() {
    let apa = Style::builtin("apa").unwrap();
    let err = format_paper(Manuscript::Rtf, b"plain text", &library(), &apa, None).unwrap_err();
    assert!(err.0.contains("not an RTF file"));
    let err = format_paper(
        Manuscript::Markdown,
        &[0xff, 0xfe, 0x00],
        &library(),
        &apa,
        None,
    )
    .unwrap_err();
    assert!(err.0.contains("not UTF-8"));
    let (out, report) = run(Manuscript::Markdown, "Nothing cited.\n", "apa");
    assert_eq!(out, "Nothing cited.\n");
    assert_eq!(
        report.words(),
        "No temporary citations were found: the manuscript is unchanged."
    );
}
