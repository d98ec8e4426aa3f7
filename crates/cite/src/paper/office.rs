//! Format Paper for office manuscripts: Word's `.docx` and OpenDocument's `.odt`. Both are zips
//! of XML parts; the text is in one of them (`word/document.xml`, `content.xml`), and Word
//! splits what a person typed into runs wherever spelling marks, revision ids or formatting
//! change, so a citation is read from a paragraph's text across its runs.
//!
//! Invariants: every zip entry this does not change is written back with the same bytes, in
//! the same order (OpenDocument's `mimetype` first and stored); in the text part every byte
//! outside a formatted citation is kept, and what is added goes at the end of the body. A
//! citation is read within one paragraph, only where the markup it spans starts and ends at
//! the same element path and holds no field, footnote, drawing, note or comment: replacing it
//! then leaves the XML well formed and removes nothing but the citation's own runs.

use super::{
    affix, endnote_items, pandoc_items, resolve, Manuscript, PaperReport, Placed, Resolved, Span,
};
use crate::output::ODF_STYLES;
use crate::{CiteError, Style};
use refsync_core::zip;
use refsync_core::Reference;
use std::collections::HashMap;
use std::fmt::Write as _;

const WORD_BODY: &str = "word/document.xml";
const WORD_FOOTNOTES: &str = "word/footnotes.xml";
const WORD_RELS: &str = "word/_rels/document.xml.rels";
const WORD_TYPES: &str = "[Content_Types].xml";
const ODF_BODY: &str = "content.xml";
const ODF_BIBLIOGRAPHY: &str = "refsync-bibliography";

/// A character of a paragraph's text and where it came from.
#[derive(Clone, Copy, Debug)]
struct Ch {
    c: char,
    /// Its bytes in the part (an entity, or a `<w:tab/>`, is one character).
    start: usize,
    end: usize,
    /// The element path it sits at (an index into the scan's paths).
    path: usize,
    /// Word: the `<w:t ...>` start tag holding it, and its run's `<w:rPr>...</w:rPr>`.
    text_tag: Option<(usize, usize)>,
    run_props: Option<(usize, usize)>,
}

/// Marks where no citation may cross: a field, a footnote, a drawing, a nested paragraph.
const BARRIER: char = '\u{1}';

/// What the text part says, paragraph by paragraph.
struct Scan {
    paragraphs: Vec<Vec<Ch>>,
    /// The byte where each paragraph starts, in document order (for "paragraph N").
    starts: Vec<usize>,
}

/// Word elements a citation never crosses (inside a run: removing them would lose a field, a
/// note's reference, a picture or deleted text).
const WORD_BARRIERS: &[&str] = &[
    "w:footnoteReference",
    "w:endnoteReference",
    "w:commentReference",
    "w:fldChar",
    "w:instrText",
    "w:delText",
    "w:drawing",
    "w:pict",
    "w:object",
    "w:sym",
];

/// OpenDocument elements inside a paragraph whose text is not the paragraph's.
const ODF_SKIPPED: &[&str] = &["text:note", "office:annotation", "office:annotation-end"];

fn scan(xml: &str, word: bool) -> Scan {
    let b = xml.as_bytes();
    let mut stack: Vec<&str> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut path = String::new();
    // Paragraphs open now (a note's paragraph nests in another), innermost last.
    let mut open: Vec<Vec<Ch>> = Vec::new();
    let mut scan = Scan {
        paragraphs: Vec::new(),
        starts: Vec::new(),
    };
    // Word: the `<w:t>` tag open now, and the current run's properties.
    let mut text_tag: Option<(usize, usize)> = None;
    let mut run_props: Option<(usize, usize)> = None;
    let mut props_start: Option<usize> = None;
    // OpenDocument: inside an element whose text is skipped (at this depth).
    let mut skipping: Option<usize> = None;
    let is_paragraph = |name: &str| {
        if word {
            name == "w:p"
        } else {
            name == "text:p" || name == "text:h"
        }
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let end = xml[i..].find('<').map_or(b.len(), |n| i + n);
            let take = if word {
                stack.last() == Some(&"w:t")
            } else {
                skipping.is_none() && !open.is_empty()
            };
            if take && !open.is_empty() {
                let path_id = path_index(&mut paths, &path);
                if let Some(para) = open.last_mut() {
                    decode(xml, i, end, |c, s, e| {
                        para.push(Ch {
                            c,
                            start: s,
                            end: e,
                            path: path_id,
                            text_tag,
                            run_props,
                        })
                    });
                }
            }
            i = end;
            continue;
        }
        let rest = &xml[i..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(b.len(), |n| i + n + 3);
            continue;
        }
        if rest.starts_with("<?") || rest.starts_with("<!") {
            i = rest.find('>').map_or(b.len(), |n| i + n + 1);
            continue;
        }
        let Some(tag_end) = tag_end(b, i) else {
            break;
        };
        let tag = &xml[i..tag_end];
        if let Some(name) = tag.strip_prefix("</") {
            let name = name.trim_end_matches('>').trim();
            if stack.last() == Some(&name) {
                stack.pop();
                path.truncate(path.rfind('/').unwrap_or(0));
            }
            if skipping.is_some_and(|d| stack.len() < d) {
                skipping = None;
            }
            if word && name == "w:t" {
                text_tag = None;
            }
            if word && name == "w:rPr" {
                if let Some(s) = props_start.take() {
                    run_props = Some((s, tag_end));
                }
            }
            if is_paragraph(name) {
                if let Some(done) = open.pop() {
                    scan.paragraphs.push(done);
                }
            }
            i = tag_end;
            continue;
        }
        let body = tag[1..tag.len() - 1].trim_end_matches('/');
        let name = body
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or("");
        let empty = tag.ends_with("/>");
        let at = (i, tag_end);
        if is_paragraph(name) {
            if let Some(outer) = open.last_mut() {
                outer.push(barrier(at));
            }
            scan.starts.push(i);
            if empty {
                scan.paragraphs.push(Vec::new());
            } else {
                open.push(Vec::new());
            }
        }
        if let Some(para) = open.last_mut() {
            if word {
                match name {
                    "w:r" => run_props = None,
                    "w:rPr" if !empty && stack.last() == Some(&"w:r") => props_start = Some(i),
                    "w:t" if !empty => text_tag = Some(at),
                    "w:tab" if stack.last() == Some(&"w:r") => para.push(plain('\t', at)),
                    "w:br" | "w:cr" => para.push(plain('\n', at)),
                    n if WORD_BARRIERS.contains(&n) => para.push(barrier(at)),
                    _ => {}
                }
            } else if skipping.is_none() {
                match name {
                    "text:s" => {
                        let count = attribute(body, "text:c")
                            .and_then(|c| c.parse::<usize>().ok())
                            .unwrap_or(1)
                            .min(1000);
                        for _ in 0..count {
                            para.push(plain(' ', at));
                        }
                    }
                    "text:tab" => para.push(plain('\t', at)),
                    "text:line-break" => para.push(plain('\n', at)),
                    n if ODF_SKIPPED.contains(&n) => {
                        para.push(barrier(at));
                        if !empty {
                            skipping = Some(stack.len() + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        if !empty {
            stack.push(name);
            path.push('/');
            path.push_str(name);
        }
        i = tag_end;
    }
    scan
}

/// The index of `path` among those seen (characters at one path share one index, so their
/// paths compare as numbers).
fn path_index(paths: &mut Vec<String>, path: &str) -> usize {
    match paths.iter().rposition(|p| p == path) {
        Some(n) => n,
        None => {
            paths.push(path.to_string());
            paths.len() - 1
        }
    }
}

fn plain(c: char, (start, end): (usize, usize)) -> Ch {
    Ch {
        c,
        start,
        end,
        path: usize::MAX,
        text_tag: None,
        run_props: None,
    }
}

fn barrier(at: (usize, usize)) -> Ch {
    plain(BARRIER, at)
}

/// Where the tag starting at `from` (a `<`) ends, after its `>`; quotes in attributes are
/// skipped over.
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (k, &c) in b[from..].iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return Some(from + k + 1),
            _ => {}
        }
    }
    None
}

/// An attribute's value in a start tag's body.
fn attribute<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let at = body.find(&format!(" {name}="))? + name.len() + 2;
    let quote = body[at..].chars().next()?;
    let value = &body[at + 1..];
    Some(&value[..value.find(quote)?])
}

/// Character data from `from` to `to`, each character (an entity decoded) with its bytes.
fn decode(xml: &str, from: usize, to: usize, mut push: impl FnMut(char, usize, usize)) {
    let text = &xml[from..to];
    let mut k = 0;
    while k < text.len() {
        let rest = &text[k..];
        if rest.starts_with('&') {
            if let Some(semi) = rest.find(';').filter(|&n| n <= 10) {
                let entity = &rest[1..semi];
                let c = match entity {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    e => e
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32),
                };
                if let Some(c) = c {
                    push(c, from + k, from + k + semi + 1);
                    k += semi + 1;
                    continue;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        push(c, from + k, from + k + c.len_utf8());
        k += c.len_utf8();
    }
}

/// Reads a citation's content (between its brackets) into its items.
type Reader = fn(&str) -> Option<Vec<super::Item>>;

/// The temporary citations of one paragraph: EndNote's `{...}` and pandoc's `[...]`, each
/// within one element path and crossing no barrier.
fn paragraph_spans(chars: &[Ch], heads: &mut HashMap<usize, Ch>, spans: &mut Vec<Span>) {
    let mut i = 0;
    while i < chars.len() {
        let (open, close, read): (char, char, Reader) = match chars[i].c {
            '{' => ('{', '}', endnote_items),
            '[' => ('[', ']', pandoc_items),
            _ => {
                i += 1;
                continue;
            }
        };
        let found = chars[i + 1..]
            .iter()
            .position(|c| c.c == close || c.c == BARRIER)
            .map(|n| i + 1 + n)
            .filter(|&end| chars[end].c == close);
        if let Some(end) = found {
            let (head, tail) = (chars[i], chars[end]);
            let content: String = chars[i + 1..end].iter().map(|c| c.c).collect();
            let same_place = head.path == tail.path && head.path != usize::MAX;
            if same_place {
                if let Some(items) = read(&content) {
                    heads.insert(head.start, head);
                    spans.push(Span {
                        start: head.start,
                        end: tail.end,
                        items,
                        bare: false,
                        text: format!("{open}{content}{close}"),
                    });
                    i = end + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
}

pub(super) fn format_paper(
    kind: Manuscript,
    bytes: &[u8],
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
) -> Result<(Vec<u8>, PaperReport), CiteError> {
    let word = kind == Manuscript::Docx;
    let what = if word {
        "Word (.docx)"
    } else {
        "OpenDocument (.odt)"
    };
    let mut entries = zip::entries(bytes)
        .map_err(|e| CiteError(format!("This is not a {what} file that can be read: {e}.")))?;
    let body_name = if word { WORD_BODY } else { ODF_BODY };
    let body = entries
        .iter()
        .position(|e| e.name == body_name)
        .ok_or_else(|| {
            CiteError(format!(
                "This is not a {what} document (it has no {body_name})."
            ))
        })?;
    // Taken out of the entry (it is written back formatted, or the input returned as it came).
    let xml = String::from_utf8(std::mem::take(&mut entries[body].data))
        .map_err(|_| CiteError(format!("The {what} document's text is not UTF-8.")))?;
    let needed: &[&str] = if word {
        &["xmlns:w="]
    } else {
        &["xmlns:office=", "xmlns:text=", "xmlns:style=", "xmlns:fo="]
    };
    if let Some(missing) = needed.iter().find(|n| !xml.contains(*n)) {
        return Err(CiteError(format!(
            "This {what} document does not name its XML the usual way ({}): it cannot be formatted safely.",
            missing.trim_end_matches('=')
        )));
    }
    let found = scan(&xml, word);
    let mut heads = HashMap::new();
    let mut spans = Vec::new();
    for para in &found.paragraphs {
        paragraph_spans(para, &mut heads, &mut spans);
    }
    spans.sort_by_key(|s| s.start);
    let place = |at: usize| {
        format!(
            "paragraph {}",
            found.starts.partition_point(|&s| s <= at).max(1)
        )
    };
    let Resolved {
        report,
        placed,
        formatted,
        out,
    } = resolve(kind, &spans, references, style, locale, &place)?;
    let Some(formatted) = formatted else {
        return Ok((bytes.to_vec(), report));
    };
    let note_style = style.is_note_style();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // Word: the footnotes' XML; OpenDocument: how many notes so far (they number themselves).
    let mut notes: Vec<String> = Vec::new();
    let mut odf_notes = 0;
    // Word: footnote ids already used.
    let footnotes = entries.iter().position(|e| e.name == WORD_FOOTNOTES);
    let mut next_note = footnotes
        .and_then(|f| std::str::from_utf8(&entries[f].data).ok())
        .map_or(1, |x| highest_footnote(x) + 1);
    // Word: the end of the citation replaced last and the run properties it reopened with (a
    // run that began inside it now continues in that run).
    let mut previous: Option<(usize, String)> = None;
    for (n, Placed { span, hidden, .. }) in placed.iter().enumerate() {
        let Some(head) = heads.get(&span.start) else {
            continue;
        };
        let text = formatted.citations.get(n).cloned().unwrap_or_default();
        let first = &span.items[0];
        let last = &span.items[span.items.len() - 1];
        let text = affix(&text, &first.prefix, &last.suffix, out);
        let replacement = if *hidden {
            String::new()
        } else if word {
            let props = match (&previous, head.text_tag) {
                (Some((end, props)), Some((tag, _))) if tag < *end => props.clone(),
                _ => head.run_props.map_or("", |(s, e)| &xml[s..e]).to_string(),
            };
            previous = Some((span.end, props.clone()));
            if let Some((s, e)) = head.text_tag {
                if !xml[s..e].contains("xml:space") && !edits.iter().any(|x| x.0 == s) {
                    edits.push((s, e, "<w:t xml:space=\"preserve\">".into()));
                }
            }
            let inner = if note_style {
                let id = next_note;
                next_note += 1;
                notes.push(format!(
                    "<w:footnote w:id=\"{id}\"><w:p><w:r><w:rPr><w:vertAlign w:val=\"superscript\"/></w:rPr><w:footnoteRef/></w:r><w:r><w:t xml:space=\"preserve\"> </w:t></w:r>{text}</w:p></w:footnote>"
                ));
                format!("<w:r><w:rPr><w:vertAlign w:val=\"superscript\"/></w:rPr><w:footnoteReference w:id=\"{id}\"/></w:r>")
            } else {
                // Plain runs keep the look (font, size) of the run the citation was typed in.
                text.replace("<w:r><w:t ", &format!("<w:r>{props}<w:t "))
            };
            format!("</w:t></w:r>{inner}<w:r>{props}<w:t xml:space=\"preserve\">")
        } else if note_style {
            odf_notes += 1;
            let number = odf_notes;
            format!(
                "<text:note text:id=\"refsync-note-{number}\" text:note-class=\"footnote\"><text:note-citation>{number}</text:note-citation><text:note-body><text:p>{text}</text:p></text:note-body></text:note>"
            )
        } else {
            text
        };
        edits.push((span.start, span.end, replacement));
    }
    let heading = if note_style {
        "Bibliography"
    } else {
        "References"
    };
    let (at, added) = if word {
        let mut tail = format!(
            "<w:p><w:pPr><w:spacing w:before=\"240\" w:after=\"240\"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>{heading}</w:t></w:r></w:p>"
        );
        let indent = if formatted.hanging_indent {
            "<w:ind w:left=\"720\" w:hanging=\"720\"/>"
        } else {
            ""
        };
        for entry in &formatted.bibliography {
            let _ = write!(
                tail,
                "<w:p><w:pPr><w:spacing w:after=\"240\"/>{indent}</w:pPr>{entry}</w:p>"
            );
        }
        (word_body_end(&xml), tail)
    } else {
        let mut tail = format!("<text:h text:outline-level=\"1\">{heading}</text:h>");
        for entry in &formatted.bibliography {
            let _ = write!(
                tail,
                "<text:p text:style-name=\"{ODF_BIBLIOGRAPHY}\">{entry}</text:p>"
            );
        }
        let end = xml.rfind("</office:text>").ok_or_else(|| {
            CiteError("This OpenDocument file holds no text document (no office:text).".into())
        })?;
        (end, tail)
    };
    edits.push((at, at, added));
    if !word {
        edits.push(odf_styles(&xml, formatted.hanging_indent)?);
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut doc = String::with_capacity(xml.len() + 8192);
    let mut from = 0;
    for (start, end, with) in &edits {
        if *start < from {
            continue;
        }
        doc.push_str(&xml[from..*start]);
        doc.push_str(with);
        from = *end;
    }
    doc.push_str(&xml[from..]);
    entries[body].data = doc.into_bytes();
    if word && note_style && !notes.is_empty() {
        add_word_footnotes(&mut entries, footnotes, &notes)?;
    }
    let mut zip = zip::Writer::new();
    for e in &entries {
        zip.add(&e.name, &e.data, e.deflated)
            .map_err(|e| CiteError(format!("The {what} file could not be written: {e}.")))?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| CiteError(format!("The {what} file could not be written: {e}.")))?;
    Ok((bytes, report))
}

/// Where Word's body ends: before its last section's properties (which must stay last), else
/// before `</w:body>`.
fn word_body_end(xml: &str) -> usize {
    let Some(end) = xml.rfind("</w:body>") else {
        return xml.len();
    };
    let before = xml[..end].trim_end();
    if before.ends_with("</w:sectPr>") || before.ends_with("/>") {
        if let Some(sect) = before.rfind("<w:sectPr") {
            let after_last_block = ["</w:p>", "</w:tbl>", "<w:p/>"]
                .iter()
                .filter_map(|t| before.rfind(t))
                .max()
                .unwrap_or(0);
            if sect > after_last_block {
                return sect;
            }
        }
    }
    end
}

/// The highest `w:id` of a footnotes part (0 and -1 are Word's separators).
fn highest_footnote(xml: &str) -> i64 {
    xml.match_indices("<w:footnote ")
        .filter_map(|(at, _)| {
            let tag = &xml[at..at + xml[at..].find('>')?];
            attribute(tag, "w:id")?.parse::<i64>().ok()
        })
        .max()
        .unwrap_or(0)
        .max(0)
}

/// The footnotes added to Word's footnotes part, which is made (with Word's separators, its
/// relationship and its content type) when the document has none.
fn add_word_footnotes(
    entries: &mut Vec<zip::ZipEntry>,
    existing: Option<usize>,
    notes: &[String],
) -> Result<(), CiteError> {
    let all: String = notes.concat();
    if let Some(f) = existing {
        let xml = String::from_utf8_lossy(&entries[f].data).into_owned();
        let end = xml
            .rfind("</w:footnotes>")
            .ok_or_else(|| CiteError("The document's footnotes part is damaged.".into()))?;
        entries[f].data = format!("{}{all}{}", &xml[..end], &xml[end..]).into_bytes();
        return Ok(());
    }
    let part = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:footnotes xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:footnote w:type=\"separator\" w:id=\"-1\"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>\
         <w:footnote w:type=\"continuationSeparator\" w:id=\"0\"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>\
         {all}</w:footnotes>"
    );
    let relationship = "<Relationship Id=\"rIdRefsyncFootnotes\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes\" Target=\"footnotes.xml\"/>";
    let content_type = "<Override PartName=\"/word/footnotes.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml\"/>";
    for (name, closing, add) in [
        (WORD_RELS, "</Relationships>", relationship),
        (WORD_TYPES, "</Types>", content_type),
    ] {
        let e = entries
            .iter_mut()
            .find(|e| e.name == name)
            .ok_or_else(|| CiteError(format!("This Word document has no {name}.")))?;
        let xml = String::from_utf8_lossy(&e.data).into_owned();
        let end = xml
            .rfind(closing)
            .ok_or_else(|| CiteError(format!("This Word document's {name} is damaged.")))?;
        e.data = format!("{}{add}{}", &xml[..end], &xml[end..]).into_bytes();
    }
    let at = entries
        .iter()
        .position(|e| e.name == WORD_BODY)
        .map_or(entries.len(), |b| b + 1);
    entries.insert(
        at,
        zip::ZipEntry {
            name: WORD_FOOTNOTES.into(),
            data: part.into_bytes(),
            deflated: true,
        },
    );
    Ok(())
}

/// The text and paragraph styles the `.odt` writer uses, declared among the document's
/// automatic styles (an edit of the content part).
fn odf_styles(xml: &str, hanging: bool) -> Result<(usize, usize, String), CiteError> {
    let mut styles = String::new();
    for (name, props) in ODF_STYLES {
        let _ = write!(
            styles,
            "<style:style style:name=\"{name}\" style:family=\"text\"><style:text-properties {props}/></style:style>"
        );
    }
    let indent = if hanging {
        " fo:margin-left=\"0.5in\" fo:text-indent=\"-0.5in\""
    } else {
        ""
    };
    let _ = write!(
        styles,
        "<style:style style:name=\"{ODF_BIBLIOGRAPHY}\" style:family=\"paragraph\"><style:paragraph-properties{indent} fo:margin-bottom=\"0.1in\"/></style:style>"
    );
    if let Some(at) = xml.find("<office:automatic-styles/>") {
        let end = at + "<office:automatic-styles/>".len();
        return Ok((
            at,
            end,
            format!("<office:automatic-styles>{styles}</office:automatic-styles>"),
        ));
    }
    if let Some(at) = xml.find("<office:automatic-styles") {
        let end = tag_end(xml.as_bytes(), at)
            .ok_or_else(|| CiteError("The document's styles are damaged.".into()))?;
        return Ok((end, end, styles));
    }
    let body = xml
        .find("<office:body")
        .ok_or_else(|| CiteError("This OpenDocument file has no body.".into()))?;
    Ok((
        body,
        body,
        format!("<office:automatic-styles>{styles}</office:automatic-styles>"),
    ))
}

/// What a paragraph reads as, for tests.
#[cfg(test)]
pub(super) fn paragraphs(xml: &str, word: bool) -> Vec<String> {
    scan(xml, word)
        .paragraphs
        .iter()
        .map(|p| p.iter().map(|c| c.c).collect())
        .collect()
}
