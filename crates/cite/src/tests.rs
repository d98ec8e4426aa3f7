#![allow(clippy::unwrap_used)]
use super::*;
use refsync_core::model::{Creator, CreatorRole, Name};
use refsync_core::{Field, RefType};

fn key(n: u8) -> Key {
    Key::new(u64::from(n), [n; 10])
}

fn kuhn() -> Reference {
    let mut r = Reference::new(key(1), RefType::Book, 0);
    r.set(Field::Title, "The structure of scientific revolutions");
    r.set(Field::Year, "1962");
    r.set(Field::Publisher, "University of Chicago Press");
    r.set(Field::Place, "Chicago");
    r.creators.push(Creator {
        name: Name::person("Kuhn", "Thomas S."),
        role: CreatorRole::Author,
    });
    r
}

fn article() -> Reference {
    let mut r = Reference::new(key(2), RefType::JournalArticle, 0);
    r.set(Field::Title, "Ice <sheets> & the north");
    r.set(Field::Year, "2001");
    r.set(Field::SecondaryTitle, "Journal of Glaciology");
    r.set(Field::Volume, "47");
    r.set(Field::Issue, "3");
    r.set(Field::Pages, "101-120");
    r.set(Field::Doi, "10.1000/ice");
    for (family, given) in [("Able", "Ann"), ("Baker", "Bob")] {
        r.creators.push(Creator {
            name: Name::person(family, given),
            role: CreatorRole::Author,
        });
    }
    r
}

fn text(style: &str, citations: &[Vec<Cite>]) -> Formatted {
    format(
        &[kuhn(), article()],
        &Style::builtin(style).unwrap(),
        None,
        citations,
        Output::Text,
    )
    .unwrap()
}

#[test]
fn apa_cites_and_lists_a_book_and_an_article() {
    let f = text(
        "apa",
        &[
            vec![Cite::of(key(1))],
            vec![
                Cite {
                    key: key(2),
                    locator: Some((None, "12".into())),
                    suppress_author: false,
                    narrative: false,
                },
                Cite::of(key(1)),
            ],
        ],
    );
    assert_eq!(
        f.citations,
        ["(Kuhn, 1962)", "(Able & Baker, 2001, p. 12; Kuhn, 1962)"]
    );
    assert_eq!(
        f.bibliography,
        [
            "Able, A., & Baker, B. (2001). Ice <sheets> & the north. Journal of Glaciology, 47(3), 101–120. https://doi.org/10.1000/ice",
            "Kuhn, T. S. (1962). The structure of scientific revolutions. University of Chicago Press.",
        ]
    );
    assert!(f.hanging_indent);
}

#[test]
fn numeric_and_note_styles_number_and_footnote() {
    let ieee = text("ieee", &[vec![Cite::of(key(1))], vec![Cite::of(key(2))]]);
    assert_eq!(ieee.citations, ["[1]", "[2]"]);
    assert!(ieee.bibliography[0]
        .starts_with("[1] T. S. Kuhn, The structure of scientific revolutions."));
    let notes = Style::builtin("chicago-notes").unwrap();
    assert!(notes.is_note_style());
    let f = text("chicago-notes", &[vec![Cite::of(key(1))]]);
    assert_eq!(
        f.citations,
        ["Thomas S. Kuhn, The Structure of Scientific Revolutions (University of Chicago Press, 1962)."]
    );
}

#[test]
fn an_author_left_out_gives_the_year_alone() {
    // hayagriva has no suppress-author: its "year" purpose drops the locator too
    // (docs/decisions.md, "Citations").
    let f = text(
        "chicago-author-date",
        &[vec![Cite {
            key: key(1),
            locator: Some((Some("chapter".into()), "3".into())),
            suppress_author: true,
            narrative: false,
        }]],
    );
    assert_eq!(f.citations, ["1962"]);
}

#[test]
fn html_escapes_what_a_person_typed_and_rtf_is_seven_bit() {
    let refs = [article()];
    let style = Style::builtin("apa").unwrap();
    let html = bibliography(&refs, &style, None, Output::Html).unwrap();
    assert_eq!(
        html.bibliography[0],
        "Able, A., &amp; Baker, B. (2001). Ice &lt;sheets&gt; &amp; the north. <i>Journal of Glaciology</i>, <i>47</i>(3), 101–120. <a href=\"https://doi.org/10.1000/ice\">https://doi.org/10.1000/ice</a>"
    );
    let rtf = bibliography(&refs, &style, None, Output::Rtf).unwrap();
    assert!(
        rtf.bibliography[0].contains("{\\i Journal of Glaciology}, {\\i 47}(3), 101\\u8211?120.")
    );
    assert!(rtf.bibliography[0].is_ascii());
    let doc = document(&rtf, Output::Rtf, "Bibliography");
    assert!(doc.starts_with("{\\rtf1") && doc.contains("\\fi-720\\li720"));
    let page = document(&html, Output::Html, "A <b> list");
    assert!(page.contains("<title>A &lt;b&gt; list</title>"));
}

#[test]
fn a_locale_changes_the_terms() {
    let f = format(
        &[article()],
        &Style::builtin("apa").unwrap(),
        Some("de-DE"),
        &[vec![Cite::of(key(2))]],
        Output::Text,
    )
    .unwrap();
    assert_eq!(f.citations, ["(Able & Baker, 2001)"]);
    assert!(
        f.bibliography[0].contains("Able, A., & Baker, B. (2001)."),
        "{f:?}"
    );
    let wrong = format(
        &[article()],
        &Style::builtin("apa").unwrap(),
        Some("<x>"),
        &[],
        Output::Text,
    );
    assert!(wrong.unwrap_err().0.contains("not a locale"));
}

#[test]
fn styles_are_found_by_name_or_read_from_xml_and_errors_say_why() {
    assert!(builtin_styles()
        .iter()
        .any(|s| s.name == "apa" && s.title == "APA Style 7th edition"));
    assert!(builtin_styles().len() >= 70, "{}", builtin_styles().len());
    assert!(Style::builtin("no-such-style")
        .unwrap_err()
        .0
        .contains("not a built-in style"));
    assert!(Style::from_xml("<not a style")
        .unwrap_err()
        .0
        .contains("not a CSL style"));
    let dependent = r#"<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" default-locale="en-US">
  <info>
    <title>Journal of Glaciology</title>
    <id>http://www.zotero.org/styles/journal-of-glaciology</id>
    <link href="http://www.zotero.org/styles/journal-of-glaciology" rel="self"/>
    <link href="http://www.zotero.org/styles/apa" rel="independent-parent"/>
    <updated>2024-01-01T00:00:00+00:00</updated>
  </info>
</style>"#;
    let style = Style::from_xml(dependent).unwrap();
    // The parent's rules, under the journal's own name.
    assert_eq!(style.title(), "Journal of Glaciology");
    let orphan = dependent.replace("styles/apa\"", "styles/no-such-parent\"");
    assert!(Style::from_xml(&orphan)
        .unwrap_err()
        .0
        .contains("not built in"));
    assert!(format(
        &[kuhn()],
        &style,
        None,
        &[vec![Cite::of(key(9))]],
        Output::Text
    )
    .unwrap_err()
    .0
    .contains("not among the references"));
}

#[test]
fn two_works_of_one_author_and_year_get_letters() {
    let mut a = kuhn();
    a.creators[0].name = Name::person("Adelaar", "Willem F.H.");
    a.set(Field::Year, "2004");
    let mut b = a.clone();
    b.key = key(3);
    b.set(Field::Title, "Another book");
    let f = format(
        &[a, b],
        &Style::builtin("apa").unwrap(),
        None,
        &[vec![Cite::of(key(1))], vec![Cite::of(key(3))]],
        Output::Text,
    )
    .unwrap();
    // Initials typed unspaced are spaced, as citeproc-js spaces them.
    assert_eq!(f.citations, ["(Adelaar, 2004a)", "(Adelaar, 2004b)"]);
    assert!(
        f.bibliography[0].starts_with("Adelaar, W. F. H. (2004"),
        "{f:?}"
    );
}

#[test]
fn a_date_in_words_is_cited_by_its_year_or_without_one() {
    let mut dated = kuhn();
    dated.set(Field::Year, "29-30 November 2011");
    let mut undated = article();
    undated.set(Field::Year, "in press");
    let f = format(
        &[dated, undated],
        &Style::builtin("apa").unwrap(),
        None,
        &[vec![Cite::of(key(1))], vec![Cite::of(key(2))]],
        Output::Text,
    )
    .unwrap();
    assert_eq!(f.citations[0], "(Kuhn, 2011)");
    assert!(f.citations[1].starts_with("(Able & Baker, n.d."), "{f:?}");
}

/// Several references cited together: an author-date style orders them by author (the items
/// are handed over pre-sorted, for speed), a numeric style numbers them in the order given.
#[test]
fn references_cited_together_keep_each_styles_order() {
    let mut third = kuhn();
    third.key = key(3);
    third.creators[0].name = Name::person("Able", "Zoe");
    third.set(Field::Year, "1990");
    third.set(Field::Title, "A third work");
    let refs = [kuhn(), article(), third];
    let together = vec![vec![Cite::of(key(1)), Cite::of(key(3)), Cite::of(key(2))]];
    let cite = |style: &str| {
        format(
            &refs,
            &Style::builtin(style).unwrap(),
            None,
            &together,
            Output::Text,
        )
        .unwrap()
    };
    assert_eq!(
        cite("apa").citations,
        ["(Able & Baker, 2001; Able, 1990; Kuhn, 1962)"]
    );
    let ieee = cite("ieee");
    assert_eq!(ieee.citations, ["[1], [2], [3]"]);
    assert!(
        ieee.bibliography[0].starts_with("[1] T. S. Kuhn"),
        "{:?}",
        ieee.bibliography
    );
    assert!(
        ieee.bibliography[1].starts_with("[2] Z. Able"),
        "{:?}",
        ieee.bibliography
    );
}
