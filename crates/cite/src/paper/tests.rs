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

/// A Word document as Word writes one: the citation typed in one go split over runs (a
/// spelling mark and a revision id between), a citation inside a link (not read: the
/// replacement would cross the link), a field, a table, and the section properties last.
const WORD_BODY: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body><w:p w:rsidR="00A1"><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Draft &amp; notes</w:t></w:r></w:p><w:p w:rsidR="00A2"><w:r><w:rPr><w:rFonts w:ascii="Garamond"/><w:sz w:val="24"/></w:rPr><w:t xml:space="preserve">Science moves </w:t></w:r><w:r w:rsidR="00B7"><w:rPr><w:rFonts w:ascii="Garamond"/><w:sz w:val="24"/></w:rPr><w:t>in paradigms {Kuhn,</w:t></w:r><w:proofErr w:type="spellStart"/><w:r w:rsidR="00C9"><w:rPr><w:rFonts w:ascii="Garamond"/></w:rPr><w:t xml:space="preserve"> 1962 #</w:t></w:r><w:r><w:t>kuhn1962@10}; ice [@doi:10.1000/ice]</w:t></w:r><w:r><w:tab/><w:t>and {Nobody, 1999}.</w:t></w:r></w:p><w:p><w:hyperlink r:id="rId9"><w:r><w:t>{Kuhn, 1962</w:t></w:r></w:hyperlink><w:r><w:t>} stays.</w:t></w:r></w:p><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> {Kuhn, 1962} </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>Table cell {Able, 2001}</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>"#;

const WORD_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const WORD_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org" TargetMode="External"/></Relationships>"#;

const PICTURE: &[u8] = b"\x89PNG\r\n\x1a\n not really a picture";

fn package(parts: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut zip = refsync_core::zip::Writer::new();
    for (name, data, deflate) in parts {
        zip.add(name, data, *deflate).unwrap();
    }
    zip.finish().unwrap()
}

fn word_document() -> Vec<u8> {
    package(&[
        ("[Content_Types].xml", WORD_TYPES.as_bytes(), true),
        ("word/document.xml", WORD_BODY.as_bytes(), true),
        ("word/_rels/document.xml.rels", WORD_RELS.as_bytes(), true),
        ("word/media/image1.png", PICTURE, false),
    ])
}

fn part(zip: &[u8], name: &str) -> String {
    let entries = refsync_core::zip::entries(zip).unwrap();
    let e = entries.iter().find(|e| e.name == name).unwrap();
    String::from_utf8(e.data.clone()).unwrap()
}

#[test]
fn word_paragraphs_are_read_across_runs_but_not_into_links_or_fields() {
    let paragraphs = office::paragraphs(WORD_BODY, true);
    assert_eq!(paragraphs[0], "Draft & notes");
    assert_eq!(
        paragraphs[1],
        "Science moves in paradigms {Kuhn, 1962 #kuhn1962@10}; ice [@doi:10.1000/ice]\tand {Nobody, 1999}."
    );
    // The field's instruction is not text; its markers keep citations from crossing it.
    assert!(!paragraphs[3].contains("Kuhn"), "{:?}", paragraphs[3]);
}

#[test]
fn a_word_manuscript_is_formatted_with_the_rest_kept_byte_for_byte() {
    let doc = word_document();
    let (out, report) = format_paper(
        Manuscript::Docx,
        &doc,
        &library(),
        &Style::builtin("apa").unwrap(),
        None,
    )
    .unwrap();
    assert_eq!((report.found, report.formatted), (4, 3), "{report:?}");
    assert_eq!(report.unformatted.len(), 1);
    assert_eq!(
        report.unformatted[0].words(),
        "paragraph 2: {Nobody, 1999}: no reference matches “Nobody, 1999”"
    );
    // Every other part as it was, in the same order.
    let before = refsync_core::zip::entries(&doc).unwrap();
    let after = refsync_core::zip::entries(&out).unwrap();
    let names = |e: &[refsync_core::zip::ZipEntry]| -> Vec<String> {
        e.iter().map(|e| e.name.clone()).collect()
    };
    assert_eq!(names(&before), names(&after));
    for (b, a) in before.iter().zip(&after) {
        if b.name != "word/document.xml" {
            assert_eq!(b.data, a.data, "{}", b.name);
        }
    }
    let xml = part(&out, "word/document.xml");
    // The citation's runs became one, in the look of the run it was typed in; the text
    // around it is kept (the head's text now keeps its spaces).
    assert!(
        xml.contains(r#"<w:t xml:space="preserve">in paradigms </w:t></w:r><w:r><w:rPr><w:rFonts w:ascii="Garamond"/><w:sz w:val="24"/></w:rPr><w:t xml:space="preserve">(Kuhn, 1962, p. 10)</w:t></w:r><w:r><w:rPr><w:rFonts w:ascii="Garamond"/><w:sz w:val="24"/></w:rPr><w:t xml:space="preserve">; ice </w:t></w:r><w:r><w:rPr><w:rFonts w:ascii="Garamond"/><w:sz w:val="24"/></w:rPr><w:t xml:space="preserve">(Able &amp; Müller, 2001)</w:t></w:r>"#),
        "{xml}"
    );
    assert!(!xml.contains("kuhn1962@10"), "{xml}");
    // Left as typed: the unknown one, the one crossing into a link, the field's instruction.
    assert!(xml.contains("<w:t>and {Nobody, 1999}.</w:t>"), "{xml}");
    assert!(
        xml.contains("<w:t>{Kuhn, 1962</w:t></w:r></w:hyperlink>"),
        "{xml}"
    );
    assert!(xml.contains("<w:instrText xml:space=\"preserve\"> {Kuhn, 1962} </w:instrText>"));
    // The table cell's citation, and the bibliography before the section properties, with
    // the titles in italics.
    assert!(
        xml.contains(r#"Table cell </w:t></w:r><w:r><w:t xml:space="preserve">(Able &amp; Müller, 2001)</w:t></w:r>"#),
        "{xml}"
    );
    let bib = xml.find("<w:t>References</w:t>").unwrap();
    let sect = xml.find("<w:sectPr>").unwrap();
    assert!(xml.find("</w:tbl>").unwrap() < bib && bib < sect, "{xml}");
    assert!(
        xml.contains(r#"<w:ind w:left="720" w:hanging="720"/></w:pPr><w:r><w:t xml:space="preserve">Kuhn, A. (1962). </w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t xml:space="preserve">The structure of scientific revolutions</w:t></w:r>"#),
        "{xml}"
    );
    // Still one document element: well formed enough to count.
    assert_eq!(
        xml.matches("<w:p>").count() + xml.matches("<w:p ").count(),
        xml.matches("</w:p>").count()
    );
}

#[test]
fn a_word_manuscript_in_a_note_style_gets_footnotes() {
    let (out, report) = format_paper(
        Manuscript::Docx,
        &word_document(),
        &library(),
        &Style::builtin("chicago-notes").unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(report.formatted, 3);
    let xml = part(&out, "word/document.xml");
    assert!(xml.contains(r#"<w:footnoteReference w:id="1"/>"#), "{xml}");
    assert!(xml.contains(r#"<w:footnoteReference w:id="3"/>"#), "{xml}");
    let notes = part(&out, "word/footnotes.xml");
    assert!(
        notes.contains(r#"<w:footnote w:type="separator" w:id="-1">"#),
        "{notes}"
    );
    assert!(notes.contains(r#"<w:footnote w:id="2">"#), "{notes}");
    assert!(notes.contains("Kuhn"), "{notes}");
    assert!(part(&out, "word/_rels/document.xml.rels").contains("Target=\"footnotes.xml\""));
    assert!(part(&out, "[Content_Types].xml").contains("/word/footnotes.xml"));
    assert!(xml.contains("<w:t>Bibliography</w:t>"), "{xml}");
}

const ODF_CONTENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3"><office:automatic-styles><style:style style:name="T1" style:family="text"><style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles><office:body><office:text><text:h text:outline-level="1">Draft</text:h><text:p text:style-name="Standard">Science moves in paradigms<text:s/>{Kuhn, <text:span text:style-name="T1">1962</text:span> #kuhn1962@10}; ice [@doi:10.1000/ice].<text:note text:id="n1" text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>A note of mine.</text:p></text:note-body></text:note> And {Nobody, 1999}.</text:p></office:text></office:body></office:document-content>"#;

fn odf_document() -> Vec<u8> {
    package(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.text",
            false,
        ),
        ("content.xml", ODF_CONTENT.as_bytes(), true),
        ("styles.xml", b"<office:document-styles/>", true),
        ("META-INF/manifest.xml", b"<manifest:manifest/>", true),
    ])
}

#[test]
fn an_opendocument_manuscript_is_formatted_with_its_styles_declared() {
    let doc = odf_document();
    let (out, report) = format_paper(
        Manuscript::Odt,
        &doc,
        &library(),
        &Style::builtin("apa").unwrap(),
        None,
    )
    .unwrap();
    assert_eq!((report.found, report.formatted), (3, 2), "{report:?}");
    let after = refsync_core::zip::entries(&out).unwrap();
    assert_eq!(after[0].name, "mimetype");
    assert!(!after[0].deflated, "mimetype is stored, first");
    let xml = part(&out, "content.xml");
    assert!(
        xml.contains("Science moves in paradigms<text:s/>(Kuhn, 1962, p. 10); ice (Able &amp; Müller, 2001).<text:note"),
        "{xml}"
    );
    assert!(xml.contains("A note of mine."), "the note is kept: {xml}");
    assert!(xml.contains("And {Nobody, 1999}."), "{xml}");
    assert!(
        xml.contains(r#"<style:style style:name="refsync-i" style:family="text"><style:text-properties fo:font-style="italic"/></style:style>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<text:p text:style-name="refsync-bibliography">Kuhn, A. (1962). <text:span text:style-name="refsync-i">The structure of scientific revolutions</text:span>. University of Chicago Press.</text:p></office:text>"#),
        "{xml}"
    );
}

#[test]
fn office_files_that_are_not_documents_are_refused_with_a_reason() {
    let style = Style::builtin("apa").unwrap();
    let err = format_paper(Manuscript::Docx, b"PK not a zip", &library(), &style, None)
        .unwrap_err()
        .0;
    assert!(
        err.starts_with("This is not a Word (.docx) file that can be read"),
        "{err}"
    );
    let odt_as_docx = odf_document();
    let err = format_paper(Manuscript::Docx, &odt_as_docx, &library(), &style, None)
        .unwrap_err()
        .0;
    assert!(err.contains("it has no word/document.xml"), "{err}");
    // No citation at all: the file comes back as it was.
    let plain = package(&[("content.xml", b"<office:document-content xmlns:office=\"o\" xmlns:text=\"t\" xmlns:style=\"s\" xmlns:fo=\"f\"><office:body><office:text><text:p>Nothing cited.</text:p></office:text></office:body></office:document-content>", true)]);
    let (out, report) = format_paper(Manuscript::Odt, &plain, &library(), &style, None).unwrap();
    assert_eq!(report.found, 0);
    assert_eq!(out, plain);
}
