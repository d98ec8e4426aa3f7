//! EndNote XML (`<xml><records><record>...`), as EndNote 8 to 21, Mendeley, Zotero, Bookends
//! and JabRef write it.
//!
//! The file is split into `<record>` chunks first and each chunk is parsed on its own by a
//! small, lenient XML reader (below), so that one broken record is skipped and reported while
//! the rest import. Values may be wrapped in any number of `<style>` elements and broken across
//! lines anywhere; the text of an element is all the text inside it. The reader is ours rather
//! than quick-xml's because it must recover from mismatched and unclosed tags inside a record
//! instead of failing, and EndNote XML needs nothing more (no namespaces, no DTD).

use super::ris::name_text;
use super::text::{isbn_or_issn, one_line, put_first_free, put_or_append};
use super::{Import, ImportContext};
use crate::{parse_name, Creator, CreatorRole, Field, RefType, Reference};
use std::fmt::Write as _;

/// Extras read from EndNote XML are kept as `endnote:<element>`.
const NS: &str = "endnote:";

// ---------------------------------------------------------------------------------------
// A lenient XML reader for one record.

#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    /// Text directly inside this element (not its children), entities resolved.
    text: String,
}

impl Node {
    /// All text inside, children included, in document order.
    fn all_text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        out.push_str(&self.text);
        for c in &self.children {
            c.collect_text(out);
        }
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Deeper than any EndNote record (about 6 levels); a deeper one is skipped, not recursed into.
const MAX_NESTING: usize = 64;

/// Parse `xml` (one `<record>...</record>`) into its root node.
fn parse(xml: &str) -> Result<Node, String> {
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut rest = xml;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("a comment is not closed")?;
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or("a CDATA section is not closed")?;
            top(&mut stack).text.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = rest.find('>').ok_or("a declaration is not closed")?;
            rest = &rest[end + 1..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("an end tag is not closed")?;
            let name = after[..end].trim();
            // Close up to the matching open element; an end tag nothing opened is ignored.
            if let Some(depth) = stack
                .iter()
                .rposition(|n| n.name == name)
                .filter(|&d| d > 0)
            {
                while stack.len() > depth {
                    close(&mut stack);
                }
            }
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after).ok_or("a tag is not closed")?;
            let inner = &after[..end];
            let self_closing = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let node = start_tag(inner)?;
            if stack.len() > MAX_NESTING {
                return Err("elements are nested too deeply".into());
            }
            stack.push(node);
            if self_closing {
                close(&mut stack);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            unescape_into(&rest[..end], &mut top(&mut stack).text);
            rest = &rest[end..];
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    let root = stack.pop().unwrap_or_default();
    root.children
        .into_iter()
        .next()
        .ok_or_else(|| "no element found".to_string())
}

fn top(stack: &mut Vec<Node>) -> &mut Node {
    if stack.is_empty() {
        stack.push(Node::default());
    }
    let last = stack.len() - 1;
    &mut stack[last]
}

fn close(stack: &mut Vec<Node>) {
    if stack.len() > 1 {
        if let Some(node) = stack.pop() {
            top(stack).children.push(node);
        }
    }
}

/// The index of the `>` that ends a tag, skipping `>` inside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn start_tag(inner: &str) -> Result<Node, String> {
    let inner = inner.trim();
    let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
    let name = &inner[..name_end];
    if name.is_empty() {
        return Err("a tag has no name".into());
    }
    let mut attrs = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = after[1..].find(q) else {
            break;
        };
        let mut value = String::new();
        unescape_into(&after[1..1 + close], &mut value);
        attrs.push((key, value));
        rest = after[close + 2..].trim_start();
    }
    Ok(Node {
        name: name.to_string(),
        attrs,
        ..Node::default()
    })
}

/// Append `s` to `out` with XML entities resolved; an unknown entity is kept as written.
fn unescape_into(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&i| i <= 10);
        let resolved = semi.and_then(|i| {
            let name = &after[..i];
            match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code =
                        if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                            u32::from_str_radix(hex, 16).ok()
                        } else {
                            name.strip_prefix('#').and_then(|d| d.parse().ok())
                        };
                    code.and_then(char::from_u32)
                }
            }
        });
        match (resolved, semi) {
            (Some(c), Some(i)) => {
                // EndNote writes line breaks as &#xD;.
                out.push(if c == '\r' { '\n' } else { c });
                rest = &after[i + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

// ---------------------------------------------------------------------------------------
// Import

/// EndNote's numeric ref-type codes, used when a record has only the number.
const TYPE_CODES: &[(u32, RefType)] = &[
    (2, RefType::Artwork),
    (3, RefType::AudiovisualMaterial),
    (4, RefType::Bill),
    (5, RefType::BookSection),
    (6, RefType::Book),
    (7, RefType::Case),
    (8, RefType::Catalog),
    (9, RefType::ComputerProgram),
    (10, RefType::ConferenceProceedings),
    (12, RefType::WebPage),
    (13, RefType::Generic),
    (14, RefType::Hearing),
    (17, RefType::JournalArticle),
    (19, RefType::MagazineArticle),
    (20, RefType::Map),
    (21, RefType::FilmOrBroadcast),
    (23, RefType::NewspaperArticle),
    (24, RefType::Pamphlet),
    (25, RefType::Patent),
    (26, RefType::PersonalCommunication),
    (27, RefType::Report),
    (28, RefType::EditedBook),
    (31, RefType::Statute),
    (32, RefType::Thesis),
    (34, RefType::UnpublishedWork),
    (36, RefType::Manuscript),
    (37, RefType::Figure),
    (38, RefType::ChartOrTable),
    (43, RefType::ElectronicArticle),
    (44, RefType::ElectronicBook),
    (46, RefType::GovernmentDocument),
    (47, RefType::ConferencePaper),
    (52, RefType::Dictionary),
    (53, RefType::Encyclopedia),
    (54, RefType::Grant),
    (56, RefType::Blog),
    (57, RefType::Serial),
    (58, RefType::Standard),
    (59, RefType::Dataset),
    (60, RefType::ElectronicBookSection),
    (61, RefType::Music),
    (64, RefType::Interview),
];

fn type_code(t: RefType) -> u32 {
    TYPE_CODES
        .iter()
        .find(|(_, rt)| *rt == t)
        .map_or(13, |(c, _)| *c)
}

/// `<record>` chunks of the file with the line each starts on.
fn record_chunks(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    let mut counted_to = 0;
    // The next "</record>" (searched once and reused until passed, so that a file of
    // unclosed records is not searched to its end once per record). `Some(None)`: there is
    // none after an earlier start, hence none after any later one.
    let mut cached: Option<Option<usize>> = None;
    while let Some(found) = find_record_start(&text[pos..]) {
        let start = pos + found;
        line += text[counted_to..start].matches('\n').count();
        counted_to = start;
        let close = match cached {
            Some(c) if c.is_none_or(|c| c >= start) => c,
            _ => {
                let c = text[start..].find("</record>").map(|e| start + e);
                cached = Some(c);
                c
            }
        };
        let body_end = close.map_or(text.len(), |c| c + "</record>".len());
        // A record that runs into the next one without closing ends where that one starts.
        let end =
            find_record_start(&text[start + 7..body_end]).map_or(body_end, |next| start + 7 + next);
        out.push((line, &text[start..end]));
        pos = end;
    }
    out
}

fn find_record_start(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("<record") {
        let at = from + i;
        match s.as_bytes().get(at + 7) {
            Some(b'>' | b' ' | b'\n' | b'\t' | b'/') => return Some(at),
            _ => from = at + 7,
        }
    }
    None
}

pub fn import(file: &str, text: &str, ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    for (line, chunk) in record_chunks(text) {
        match parse(chunk) {
            Ok(node) => {
                let r = read_record(&node, file, line, ctx, &mut out);
                if r.fields.is_empty() && r.creators.is_empty() {
                    out.report.skip(file, line, "record has no fields");
                } else {
                    out.push(r);
                }
            }
            Err(e) => out
                .report
                .skip(file, line, format!("record is not well-formed XML: {e}")),
        }
    }
    out
}

fn read_record(
    rec: &Node,
    file: &str,
    line: usize,
    ctx: &mut ImportContext<'_>,
    out: &mut Import,
) -> Reference {
    let mut r = ctx.new_reference();
    r.ref_type = match rec.child("ref-type") {
        Some(t) => {
            let by_name = t.attr("name").and_then(RefType::from_label);
            let code: Option<u32> = t.all_text().trim().parse().ok();
            by_name
                .or_else(|| {
                    code.and_then(|c| TYPE_CODES.iter().find(|(n, _)| *n == c).map(|(_, t)| *t))
                })
                .unwrap_or_else(|| {
                    out.report.warn(
                        file,
                        line,
                        format!(
                            "unknown reference type {:?} read as Generic",
                            t.attr("name").unwrap_or("")
                        ),
                    );
                    RefType::Generic
                })
        }
        None => RefType::JournalArticle,
    };
    let journalish = is_journalish(r.ref_type);
    for el in &rec.children {
        read_element(&mut r, el, journalish);
    }
    r
}

fn is_journalish(t: RefType) -> bool {
    matches!(
        t,
        RefType::JournalArticle
            | RefType::ElectronicArticle
            | RefType::MagazineArticle
            | RefType::NewspaperArticle
    )
}

fn field_for(name: &str, journalish: bool) -> Option<&'static [Field]> {
    use Field as F;
    Some(match name {
        "pages" => &[F::Pages],
        "volume" => &[F::Volume],
        "number" if journalish => &[F::Issue],
        "number" => &[F::Number],
        "issue" => &[F::Issue],
        "num-vols" => &[F::NumberOfVolumes],
        "edition" => &[F::Edition],
        "section" => &[F::Section],
        "reprint-edition" => &[F::ReprintEdition],
        "orig-pub" => &[F::OriginalTitle],
        "work-type" => &[F::TypeOfWork],
        "pub-location" => &[F::Place],
        "publisher" => &[F::Publisher],
        "accession-num" => &[F::AccessionNumber],
        "call-num" => &[F::CallNumber],
        "label" => &[F::Label],
        "abstract" => &[F::Abstract],
        "research-notes" => &[F::ResearchNotes],
        "electronic-resource-num" => &[F::Doi],
        "language" => &[F::Language],
        "custom1" => &[F::Custom1],
        "custom2" => &[F::Custom2],
        "custom3" => &[F::Custom3],
        "custom4" => &[F::Custom4],
        "custom5" => &[F::Custom5],
        "custom6" => &[F::Custom6],
        "custom7" => &[F::Custom7],
        "custom8" => &[F::Custom8],
        "remote-database-name" => &[F::DatabaseName],
        "remote-database-provider" => &[F::DatabaseProvider],
        "access-date" => &[F::AccessDate],
        "caption" => &[F::Caption],
        "reviewed-item" => &[F::ReviewedItem],
        "citation-key" => &[F::CitationKey],
        _ => return None,
    })
}

fn read_element(r: &mut Reference, el: &Node, journalish: bool) {
    use Field as F;
    let name = el.name.as_str();
    match name {
        // What the record says about the file it came from, not about the work.
        "database" | "source-app" | "rec-number" | "foreign-keys" | "ref-type" => {}
        "contributors" => {
            for group in &el.children {
                let role = match group.name.as_str() {
                    "authors" => CreatorRole::Author,
                    "secondary-authors" => CreatorRole::Editor,
                    "tertiary-authors" => CreatorRole::SeriesEditor,
                    "subsidiary-authors" => CreatorRole::Translator,
                    _ => CreatorRole::Contributor,
                };
                for a in &group.children {
                    let text = one_line(&a.all_text());
                    if !text.is_empty() {
                        r.creators.push(Creator {
                            role,
                            name: parse_name(&text),
                        });
                    }
                }
            }
        }
        "titles" => {
            for t in &el.children {
                let field = match t.name.as_str() {
                    "title" => F::Title,
                    "secondary-title" => F::SecondaryTitle,
                    "tertiary-title" => F::TertiaryTitle,
                    "alt-title" => F::AlternateTitle,
                    "short-title" => F::ShortTitle,
                    "translated-title" => F::TranslatedTitle,
                    other => {
                        keep(r, &format!("titles/{other}"), &t.all_text());
                        continue;
                    }
                };
                let text = t.all_text();
                if !put_first_free(r, &[field], &text) {
                    keep(r, &format!("titles/{}", t.name), &text);
                }
            }
        }
        "periodical" | "alt-periodical" => {
            for t in &el.children {
                let text = t.all_text();
                let stored = match (name, t.name.as_str()) {
                    ("periodical", "full-title") => put_first_free(r, &[F::SecondaryTitle], &text),
                    ("periodical", "abbr-1") => put_first_free(r, &[F::AlternateTitle], &text),
                    _ => false,
                };
                // The periodical usually repeats the secondary and alternate titles.
                let repeated = [F::SecondaryTitle, F::AlternateTitle]
                    .iter()
                    .any(|f| r.get(*f) == one_line(&text));
                if !stored && !repeated {
                    keep(r, &format!("{name}/{}", t.name), &text);
                }
            }
        }
        "dates" => {
            for d in &el.children {
                match d.name.as_str() {
                    "year" => {
                        if !put_first_free(r, &[F::Year], &d.all_text()) {
                            keep(r, "dates/year", &d.all_text());
                        }
                    }
                    "pub-dates" => {
                        for date in &d.children {
                            if !put_first_free(r, &[F::Date], &date.all_text()) {
                                keep(r, "dates/pub-dates", &date.all_text());
                            }
                        }
                    }
                    other => keep(r, &format!("dates/{other}"), &d.all_text()),
                }
            }
        }
        "keywords" => {
            for k in &el.children {
                r.keywords
                    .extend(k.all_text().lines().map(one_line).filter(|k| !k.is_empty()));
            }
        }
        "urls" => {
            for kind in &el.children {
                for u in &kind.children {
                    let text = one_line(&u.all_text());
                    let stored = kind.name == "related-urls" && put_first_free(r, &[F::Url], &text);
                    if !stored {
                        keep(r, &format!("urls/{}", kind.name), &text);
                    }
                }
            }
        }
        "isbn" => {
            let text = el.all_text();
            if !put_first_free(r, &[isbn_or_issn(&text)], &text) {
                keep(r, "isbn", &text);
            }
        }
        "notes" => {
            put_or_append(r, F::Notes, &el.all_text());
        }
        "auth-address" => {
            put_or_append(r, F::AuthorAddress, &el.all_text());
        }
        _ => {
            let text = el.all_text();
            let stored =
                field_for(name, journalish).is_some_and(|fields| put_first_free(r, fields, &text));
            if !stored {
                keep(r, name, &text);
            }
        }
    }
}

/// Keep an element refsync has no field for (one line: EndNote XML wraps lines anywhere).
fn keep(r: &mut Reference, path: &str, text: &str) {
    r.add_extra(&format!("{NS}{path}"), &one_line(text));
}

// ---------------------------------------------------------------------------------------
// Export

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#xD;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, value: &str) {
    if !value.is_empty() {
        let _ = write!(out, "<{name}>{}</{name}>", escape(value));
    }
}

fn element_for(field: Field, journalish: bool) -> Option<&'static str> {
    use Field as F;
    Some(match field {
        F::Pages => "pages",
        F::Volume => "volume",
        F::Issue if journalish => "number",
        F::Issue => "issue",
        F::Number if !journalish => "number",
        F::NumberOfVolumes => "num-vols",
        F::Edition => "edition",
        F::Section => "section",
        F::ReprintEdition => "reprint-edition",
        F::OriginalTitle => "orig-pub",
        F::TypeOfWork => "work-type",
        F::Place => "pub-location",
        F::Publisher => "publisher",
        F::AccessionNumber => "accession-num",
        F::CallNumber => "call-num",
        F::Label => "label",
        F::Abstract => "abstract",
        F::Notes => "notes",
        F::ResearchNotes => "research-notes",
        F::Doi => "electronic-resource-num",
        F::Language => "language",
        F::Custom1 => "custom1",
        F::Custom2 => "custom2",
        F::Custom3 => "custom3",
        F::Custom4 => "custom4",
        F::Custom5 => "custom5",
        F::Custom6 => "custom6",
        F::Custom7 => "custom7",
        F::Custom8 => "custom8",
        F::DatabaseName => "remote-database-name",
        F::DatabaseProvider => "remote-database-provider",
        F::AccessDate => "access-date",
        F::Caption => "caption",
        F::AuthorAddress => "auth-address",
        F::ReviewedItem => "reviewed-item",
        F::CitationKey => "citation-key",
        _ => return None,
    })
}

pub fn export(references: &[Reference]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?><xml><records>");
    for (i, r) in references.iter().enumerate() {
        let journalish = is_journalish(r.ref_type);
        out.push_str("<record><source-app name=\"refsync\">refsync</source-app>");
        let _ = write!(out, "<rec-number>{}</rec-number>", i + 1);
        let _ = write!(
            out,
            "<ref-type name=\"{}\">{}</ref-type>",
            escape(r.ref_type.label()),
            type_code(r.ref_type)
        );
        if !r.creators.is_empty() {
            out.push_str("<contributors>");
            for (role, group) in [
                (CreatorRole::Author, "authors"),
                (CreatorRole::Editor, "secondary-authors"),
                (CreatorRole::SeriesEditor, "tertiary-authors"),
                (CreatorRole::Translator, "subsidiary-authors"),
            ] {
                let names: Vec<String> = r
                    .creators
                    .iter()
                    .filter(|c| {
                        c.role == role
                            || role == CreatorRole::Editor && c.role == CreatorRole::BookAuthor
                            || role == CreatorRole::Translator && c.role == CreatorRole::Contributor
                    })
                    .map(|c| name_text(&c.name))
                    .collect();
                if !names.is_empty() {
                    let _ = write!(out, "<{group}>");
                    for n in names {
                        element(&mut out, "author", &n);
                    }
                    let _ = write!(out, "</{group}>");
                }
            }
            out.push_str("</contributors>");
        }
        out.push_str("<titles>");
        for (field, name) in [
            (Field::Title, "title"),
            (Field::SecondaryTitle, "secondary-title"),
            (Field::TertiaryTitle, "tertiary-title"),
            (Field::AlternateTitle, "alt-title"),
            (Field::ShortTitle, "short-title"),
            (Field::TranslatedTitle, "translated-title"),
        ] {
            element(&mut out, name, r.get(field));
        }
        out.push_str("</titles>");
        if journalish && !r.get(Field::SecondaryTitle).is_empty() {
            out.push_str("<periodical>");
            element(&mut out, "full-title", r.get(Field::SecondaryTitle));
            element(&mut out, "abbr-1", r.get(Field::AlternateTitle));
            out.push_str("</periodical>");
        }
        for &field in Field::ALL {
            if let Some(name) = element_for(field, journalish) {
                element(&mut out, name, r.get(field));
            }
        }
        if !r.keywords.is_empty() {
            out.push_str("<keywords>");
            for k in &r.keywords {
                element(&mut out, "keyword", k);
            }
            out.push_str("</keywords>");
        }
        if !r.year().is_empty() || !r.get(Field::Date).is_empty() {
            out.push_str("<dates>");
            element(&mut out, "year", r.year());
            if !r.get(Field::Date).is_empty() {
                out.push_str("<pub-dates>");
                element(&mut out, "date", r.get(Field::Date));
                out.push_str("</pub-dates>");
            }
            out.push_str("</dates>");
        }
        for f in [Field::Isbn, Field::Issn] {
            element(&mut out, "isbn", r.get(f));
        }
        if !r.get(Field::Url).is_empty() {
            out.push_str("<urls><related-urls>");
            element(&mut out, "url", r.get(Field::Url));
            out.push_str("</related-urls></urls>");
        }
        write_extras(&mut out, r);
        out.push_str("</record>");
    }
    out.push_str("</records></xml>\n");
    out
}

/// Extras read from EndNote XML go back into the element they came from, one element per
/// value kept (a repeated element's values were joined with line breaks).
fn write_extras(out: &mut String, r: &Reference) {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    for (name, value) in r.extras_in_order() {
        let Some(path) = name.strip_prefix(NS) else {
            continue;
        };
        let parts: Vec<&str> = path.split('/').collect();
        if !parts.iter().all(|p| valid(p)) {
            continue;
        }
        let v = value;
        {
            match parts.as_slice() {
                [one] => element(out, one, v),
                ["urls", kind] => {
                    let _ = write!(out, "<urls><{kind}>");
                    element(out, "url", v);
                    let _ = write!(out, "</{kind}></urls>");
                }
                ["dates", "pub-dates"] => {
                    out.push_str("<dates><pub-dates>");
                    element(out, "date", v);
                    out.push_str("</pub-dates></dates>");
                }
                [outer, inner] => {
                    let _ = write!(out, "<{outer}>");
                    element(out, inner, v);
                    let _ = write!(out, "</{outer}>");
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, Name};

    fn run(text: &str) -> Import {
        crate::formats::import_text(crate::formats::Format::EndnoteXml, text)
    }

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8" ?><xml><records><record><database name="x.enl">x.enl</database><ref-type
name="Journal Article">17</ref-type><contributors><authors><author><style face="normal" font="default" size="100%">Chapman,
A. G.</style></author><author>World Health Organization,</author></authors></contributors><titles><title><style face="normal">An ecological</style><style face="italic"> basis &amp; more</style></title><secondary-title>Ecology</secondary-title></titles><periodical><full-title>Ecology</full-title><abbr-2>Ecol.</abbr-2></periodical><number>3</number><keywords><keyword>forests</keyword><keyword></keyword></keywords><dates><year>1935</year><pub-dates><date>Jan</date></pub-dates></dates><urls><related-urls><url>http://a</url><url>http://b</url></related-urls><pdf-urls><url>internal-pdf://x.pdf</url></pdf-urls></urls><abstract>Line one&#xD;Line two</abstract><modified-date>2020</modified-date></record>
<record><titles><title>Broken <b>record</titles></record><record><titles><title>Second</title></titles></record></records></xml>"#;

    #[test]
    fn reads_styled_wrapped_values_and_keeps_the_rest() {
        let got = run(SAMPLE);
        let r = &got.references[0];
        assert_eq!(r.ref_type, RefType::JournalArticle);
        assert_eq!(r.title(), "An ecological basis & more");
        assert_eq!(r.creators[0].name, Name::person("Chapman", "A. G."));
        assert_eq!(
            r.creators[1].name,
            Name::Literal("World Health Organization".into())
        );
        assert_eq!(r.get(Field::Issue), "3");
        assert_eq!(r.get(Field::Abstract), "Line one\nLine two");
        assert_eq!(r.keywords, vec!["forests"]);
        assert_eq!(r.get(Field::Url), "http://a");
        assert_eq!(
            r.extra.get("endnote:urls/related-urls").map(String::as_str),
            Some("http://b")
        );
        assert_eq!(
            r.extra.get("endnote:periodical/abbr-2").map(String::as_str),
            Some("Ecol.")
        );
        assert_eq!(
            got.references.len(),
            3,
            "a record with a stray tag is still read"
        );
        assert_eq!(got.references[1].title(), "Broken record");
    }

    #[test]
    fn an_unclosed_tag_skips_only_its_record() {
        let got = run("<xml><records><record><titles><title>One</title></titles></record><record><titles><title a=\"1>Two</title></titles></record><record><titles><title>Three</title></titles></record></records></xml>");
        let titles: Vec<&str> = got.references.iter().map(Reference::title).collect();
        assert_eq!(titles, vec!["One", "Three"]);
        assert_eq!(got.report.skipped.len(), 1);
    }

    #[test]
    fn export_then_import_gives_the_same_references() {
        let got = run(SAMPLE);
        let again = run(&export(&got.references));
        let strip = |r: &Reference| Reference {
            key: Key::default(),
            ..r.clone()
        };
        for (a, b) in got.references.iter().zip(&again.references) {
            assert_eq!(strip(b), strip(a));
        }
    }
}
