//! Format Paper: a manuscript holding temporary citations goes in; the same manuscript comes
//! out with each citation formatted in a CSL style and the bibliography appended, with a report
//! of the citations that matched no reference or more than one (EndNote's Format Paper,
//! pandoc's citeproc).
//!
//! Temporary citations (docs/citations.md, "Format Paper" has the full grammar):
//! - EndNote's `{Author, Year #Record}`: several joined by `;`, a prefix before `\`, pages after
//!   `@`, `@@author-year` / `@@exclude-author` / `@@hidden` tags, `{Author, Year, Any Text}`;
//!   the record is a refsync key, a Label, an Accession Number or a citation key (EndNote lets
//!   the same fields stand for its record numbers); an EndNote record number refsync does not
//!   know falls back to the author and year.
//! - pandoc's `[@key]`, `[see @a, p. 12; -@b]` and a bare `@key` in the text (Markdown only).
//! - A DOI in either: `{10.1000/xyz}`, `[@doi:10.1000/xyz]`.
//!
//! Manuscripts are Markdown (UTF-8), RTF, Word (`.docx`) or OpenDocument (`.odt`); the office
//! formats are read and written by `office.rs` (the zip's other files are carried over as they
//! came).
//!
//! Invariants: every byte outside a formatted temporary citation is written back as it came
//! (the bibliography is only added at the end); a citation that matches nothing or several
//! references is left exactly as typed and reported, never guessed; pure, like the crate.

use crate::{format, Cite, CiteError, Formatted, Output, Style};
use refsync_core::query::fold::fold;
use refsync_core::query::normalize_doi;
use refsync_core::{Field, Key, Reference};
use std::fmt::Write as _;

/// The kinds of manuscript Format Paper reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manuscript {
    Markdown,
    Rtf,
    /// Word's `.docx` (Office Open XML).
    Docx,
    /// OpenDocument text, `.odt` (LibreOffice, Google Docs' export).
    Odt,
}

impl Manuscript {
    /// By the file's name: `.md`, `.markdown`, `.txt`, `.rtf`, `.docx` or `.odt`.
    pub fn from_name(name: &str) -> Option<Manuscript> {
        let lower = name.to_ascii_lowercase();
        match lower.rsplit_once('.')?.1 {
            "md" | "markdown" | "txt" | "text" => Some(Manuscript::Markdown),
            "rtf" => Some(Manuscript::Rtf),
            "docx" => Some(Manuscript::Docx),
            "odt" => Some(Manuscript::Odt),
            _ => None,
        }
    }

    /// The media type of a manuscript of this kind (for a download).
    pub fn media_type(self) -> &'static str {
        match self {
            Manuscript::Markdown => "text/markdown",
            Manuscript::Rtf => "application/rtf",
            Manuscript::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Manuscript::Odt => "application/vnd.oasis.opendocument.text",
        }
    }

    fn output(self) -> Output {
        match self {
            Manuscript::Markdown => Output::Markdown,
            Manuscript::Rtf => Output::Rtf,
            Manuscript::Docx => Output::Word,
            Manuscript::Odt => Output::Odf,
        }
    }
}

/// Why a temporary citation was left as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No reference matches this part of it.
    NoMatch(String),
    /// This part matches this many references.
    Several(String, usize),
}

/// A temporary citation left as typed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unformatted {
    /// "line 12" (Markdown) or "paragraph 4" (RTF, Word, OpenDocument).
    pub place: String,
    /// The citation as typed.
    pub text: String,
    pub problem: Problem,
}

impl Unformatted {
    /// "line 12: {Smith, 2001}: no reference matches “Smith, 2001”".
    pub fn words(&self) -> String {
        let why = match &self.problem {
            Problem::NoMatch(part) => format!("no reference matches “{part}”"),
            Problem::Several(part, n) => {
                format!("“{part}” matches {n} references; add its key or record to choose one")
            }
        };
        format!("{}: {}: {why}", self.place, self.text)
    }
}

/// What Format Paper did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaperReport {
    /// Temporary citations found.
    pub found: usize,
    /// Of them, formatted.
    pub formatted: usize,
    /// References in the bibliography added.
    pub references: usize,
    pub unformatted: Vec<Unformatted>,
}

impl PaperReport {
    /// The summary a person reads, then one line per citation left as typed.
    pub fn words(&self) -> String {
        let mut out = if self.found == 0 {
            "No temporary citations were found: the manuscript is unchanged.".to_string()
        } else {
            format!(
                "{} of {} citation{} formatted; {} reference{} in the bibliography.",
                self.formatted,
                self.found,
                if self.found == 1 { "" } else { "s" },
                self.references,
                if self.references == 1 { "" } else { "s" },
            )
        };
        if !self.unformatted.is_empty() {
            let _ = write!(
                out,
                "\n{} left as typed:",
                if self.unformatted.len() == 1 {
                    "One citation was".to_string()
                } else {
                    format!("{} citations were", self.unformatted.len())
                }
            );
            for u in &self.unformatted {
                out.push_str("\n  ");
                out.push_str(&u.words());
            }
        }
        out
    }
}

/// The manuscript `bytes` of `kind` with its temporary citations formatted in `style` against
/// `references` (the library: trashed ones are never matched), and the bibliography of every
/// reference cited appended; with what was done.
pub fn format_paper(
    kind: Manuscript,
    bytes: &[u8],
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
) -> Result<(Vec<u8>, PaperReport), CiteError> {
    if kind == Manuscript::Markdown && std::str::from_utf8(bytes).is_err() {
        return Err(CiteError(
            "This Markdown file is not UTF-8 text: save it as UTF-8 and try again.".into(),
        ));
    }
    if kind == Manuscript::Rtf && !bytes.starts_with(b"{\\rtf") {
        return Err(CiteError(
            "This is not an RTF file (it does not begin with {\\rtf).".into(),
        ));
    }
    if matches!(kind, Manuscript::Docx | Manuscript::Odt) {
        return office::format_paper(kind, bytes, references, style, locale);
    }
    let mut spans = match kind {
        Manuscript::Rtf => rtf_spans(bytes),
        _ => markdown_spans(bytes),
    };
    for span in &mut spans {
        span.text = String::from_utf8_lossy(&bytes[span.start..span.end]).into_owned();
    }
    let Resolved {
        report,
        placed,
        formatted,
        out,
    } = resolve(kind, &spans, references, style, locale, &|at| {
        place(kind, bytes, at)
    })?;
    let note_style = style.is_note_style();
    let mut doc = Vec::with_capacity(bytes.len() + 4096);
    let mut notes: Vec<String> = Vec::new();
    let mut from = 0;
    for (n, Placed { span, hidden, .. }) in placed.iter().enumerate() {
        doc.extend_from_slice(&bytes[from..span.start]);
        from = span.end;
        if *hidden {
            continue;
        }
        let text = formatted
            .as_ref()
            .and_then(|f| f.citations.get(n))
            .cloned()
            .unwrap_or_default();
        let first = &span.items[0];
        let last = &span.items[span.items.len() - 1];
        let text = affix(&text, &first.prefix, &last.suffix, out);
        if note_style {
            let number = notes.len() + 1;
            let marker = match kind {
                Manuscript::Rtf => format!(
                    "{{\\super\\chftn}}{{\\footnote\\pard\\plain{{\\super\\chftn}} {text}}}"
                ),
                _ => format!("[^cite-{number}]"),
            };
            doc.extend_from_slice(marker.as_bytes());
            notes.push(text);
        } else {
            doc.extend_from_slice(text.as_bytes());
        }
    }
    let Some(formatted) = formatted else {
        return Ok((bytes.to_vec(), report));
    };
    let heading = if note_style {
        "Bibliography"
    } else {
        "References"
    };
    match kind {
        Manuscript::Markdown | Manuscript::Docx | Manuscript::Odt => {
            doc.extend_from_slice(&bytes[from..]);
            let mut tail = String::new();
            if !doc.ends_with(b"\n") {
                tail.push('\n');
            }
            if note_style {
                tail.push('\n');
                for (i, note) in notes.iter().enumerate() {
                    let _ = writeln!(tail, "[^cite-{}]: {note}", i + 1);
                }
            }
            let _ = write!(tail, "\n## {heading}\n");
            for entry in &formatted.bibliography {
                let _ = write!(tail, "\n{entry}\n");
            }
            doc.extend_from_slice(tail.as_bytes());
        }
        Manuscript::Rtf => {
            // Before the document's last closing brace.
            let end = bytes
                .iter()
                .rposition(|&b| b == b'}')
                .filter(|&e| e >= from)
                .unwrap_or(bytes.len());
            doc.extend_from_slice(&bytes[from..end]);
            let indent = if formatted.hanging_indent {
                "\\fi-720\\li720"
            } else {
                ""
            };
            let mut tail = format!("\n\\par\\pard\\plain\\sa240{{\\b {heading}}}\\par\n");
            for entry in &formatted.bibliography {
                let _ = writeln!(tail, "{{\\pard\\plain{indent}\\sa240 {entry}\\par}}");
            }
            doc.extend_from_slice(tail.as_bytes());
            doc.extend_from_slice(&bytes[end..]);
        }
    }
    Ok((doc, report))
}

/// The citations found, matched against the library and formatted together.
struct Resolved<'a> {
    report: PaperReport,
    placed: Vec<Placed<'a>>,
    /// The citations (one per placed, in order) and the bibliography; None when nothing
    /// matched.
    formatted: Option<Formatted>,
    out: Output,
}

/// Match each of `spans` against the live references, and format those that matched, in
/// the manuscript's own markup; `place` says where a byte offset is, in words.
fn resolve<'a>(
    kind: Manuscript,
    spans: &'a [Span],
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
    place: &dyn Fn(usize) -> String,
) -> Result<Resolved<'a>, CiteError> {
    let live: Vec<&Reference> = references
        .iter()
        .filter(|r| !r.trashed && r.merged_into.is_none())
        .collect();
    let mut report = PaperReport::default();
    let mut placed: Vec<Placed<'a>> = Vec::new();
    let mut cited: Vec<Reference> = Vec::new();
    for span in spans {
        let mut matched = Vec::new();
        let mut problem = None;
        for item in &span.items {
            let found = find(&live, &item.query);
            match found.as_slice() {
                [one] => {
                    let at = match cited.iter().position(|r| r.key == one.key) {
                        Some(at) => at,
                        None => {
                            cited.push((*one).clone());
                            cited.len() - 1
                        }
                    };
                    matched.push((at, item));
                }
                [] => problem = Some(Problem::NoMatch(item.raw.clone())),
                many => problem = Some(Problem::Several(item.raw.clone(), many.len())),
            }
            if problem.is_some() {
                break;
            }
        }
        // A bare `@word` that is no reference is someone's handle or an address, not a
        // citation: left alone without a word.
        if span.bare && problem.is_some() {
            continue;
        }
        report.found += 1;
        match problem {
            Some(problem) => report.unformatted.push(Unformatted {
                place: place(span.start),
                text: span.text.clone(),
                problem,
            }),
            None => {
                let cites = matched
                    .into_iter()
                    .map(|(at, item)| Cite {
                        key: cited[at].key,
                        locator: item.locator.clone(),
                        suppress_author: item.suppress_author,
                        narrative: item.narrative,
                    })
                    .collect();
                let hidden = span.items.iter().all(|i| i.hidden);
                placed.push(Placed {
                    span,
                    cites,
                    hidden,
                });
            }
        }
    }
    let out = kind.output();
    let citations: Vec<Vec<Cite>> = placed.iter().map(|p| p.cites.clone()).collect();
    let formatted = if cited.is_empty() {
        None
    } else {
        Some(format(&cited, style, locale, &citations, out)?)
    };
    report.formatted = placed.len();
    report.references = cited.len();

    Ok(Resolved {
        report,
        placed,
        formatted,
        out,
    })
}

/// A prefix and suffix the processor cannot place (hayagriva has no affixes): inside the
/// citation's own brackets when it has them ("(see Kuhn, 1962, for a review)"), else around it.
/// In Word's runs, "inside" is inside the first and last run's text.
fn affix(citation: &str, prefix: &str, suffix: &str, out: Output) -> String {
    if prefix.is_empty() && suffix.is_empty() {
        return citation.to_string();
    }
    let prefix = if prefix.is_empty() || prefix.ends_with(' ') {
        prefix.to_string()
    } else {
        format!("{prefix} ")
    };
    let (lead, trail) = match out {
        Output::Word => ("<w:r><w:t xml:space=\"preserve\">", "</w:t></w:r>"),
        _ => ("", ""),
    };
    // Inside a run's text, Word's affixes are text, not runs of their own.
    let inner_text = |s: &str| match out {
        Output::Word => {
            let mut text = String::new();
            crate::output::escape_xml(s, &mut text);
            text
        }
        _ => out.escape(s),
    };
    for (open, close) in [("(", ")"), ("[", "]"), ("\\[", "\\]")] {
        let (open, close) = (format!("{lead}{open}"), format!("{close}{trail}"));
        if let Some(inner) = citation
            .strip_prefix(&open)
            .and_then(|c| c.strip_suffix(&close))
        {
            return format!(
                "{open}{}{inner}{}{close}",
                inner_text(&prefix),
                inner_text(suffix)
            );
        }
    }
    format!("{}{citation}{}", out.escape(&prefix), out.escape(suffix))
}

/// Where `at` is, in words: the line in Markdown, the paragraph in RTF.
fn place(kind: Manuscript, bytes: &[u8], at: usize) -> String {
    let before = &bytes[..at];
    match kind {
        Manuscript::Markdown | Manuscript::Docx | Manuscript::Odt => {
            format!(
                "line {}",
                before.iter().filter(|&&b| b == b'\n').count() + 1
            )
        }
        Manuscript::Rtf => {
            let paragraphs = before
                .windows(5)
                .filter(|w| w.starts_with(b"\\par") && !w[4].is_ascii_alphabetic())
                .count();
            format!("paragraph {}", paragraphs + 1)
        }
    }
}

/// A temporary citation that matched: what the processor is asked to cite for it.
struct Placed<'a> {
    span: &'a Span,
    cites: Vec<Cite>,
    /// In the bibliography only: the citation itself is removed.
    hidden: bool,
}

/// One temporary citation found in the manuscript: its bytes and what it asks for.
#[derive(Debug, Default)]
struct Span {
    start: usize,
    end: usize,
    items: Vec<Item>,
    /// A bare `@key` (not in brackets).
    bare: bool,
    /// The citation as the person typed it (for the report).
    text: String,
}

/// One cited reference within a temporary citation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Item {
    query: Query,
    /// The item as typed (for the report).
    raw: String,
    locator: Option<(Option<String>, String)>,
    prefix: String,
    suffix: String,
    suppress_author: bool,
    narrative: bool,
    /// In the bibliography only.
    hidden: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Query {
    #[default]
    Nothing,
    /// A pandoc citation key (the Citation Key field, else a refsync key, else a DOI).
    Key(String),
    Doi(String),
    EndNote {
        author: String,
        year: String,
        record: String,
        text: String,
    },
}

/// The live references `query` names.
fn find<'a>(refs: &[&'a Reference], query: &Query) -> Vec<&'a Reference> {
    let by = |test: &dyn Fn(&Reference) -> bool| -> Vec<&'a Reference> {
        refs.iter().copied().filter(|r| test(r)).collect()
    };
    match query {
        Query::Nothing => Vec::new(),
        Query::Key(key) => {
            let exact = by(&|r| r.get(Field::CitationKey) == key);
            if !exact.is_empty() {
                return exact;
            }
            let folded = by(&|r| r.get(Field::CitationKey).eq_ignore_ascii_case(key));
            if !folded.is_empty() {
                return folded;
            }
            if let Ok(own) = Key::parse(key) {
                let own = by(&|r| r.key == own);
                if !own.is_empty() {
                    return own;
                }
            }
            match normalize_doi(key) {
                Some(doi) => find(refs, &Query::Doi(doi)),
                None => Vec::new(),
            }
        }
        Query::Doi(doi) => by(&|r| normalize_doi(r.get(Field::Doi)).as_deref() == Some(doi)),
        Query::EndNote {
            author,
            year,
            record,
            text,
        } => {
            if !record.is_empty() {
                let own = Key::parse(record).ok();
                let named = by(&|r| {
                    Some(r.key) == own
                        || [Field::Label, Field::AccessionNumber, Field::CitationKey]
                            .iter()
                            .any(|f| r.get(*f).trim() == record)
                });
                if !named.is_empty() {
                    return named;
                }
            }
            let author = fold(author);
            let words: Vec<String> = refsync_core::query::fold::words(text).collect();
            // The year first: it rules out nearly every reference without folding a name.
            by(&|r| {
                let year_ok = || year.is_empty() || year_matches(r.year(), year);
                let author_ok = || {
                    author.is_empty()
                        || r.creators.iter().any(|c| {
                            fold(&c.name.full_family()) == author
                                || fold(c.name.sort_name()) == author
                        })
                };
                let text_ok = || {
                    words.is_empty() || {
                        let haystack = fold(&format!(
                            "{} {} {}",
                            r.title(),
                            r.keywords.join(" "),
                            r.get(Field::Abstract)
                        ));
                        words.iter().all(|w| haystack.contains(w.as_str()))
                    }
                };
                year_ok() && author_ok() && text_ok()
            })
        }
    }
}

/// "2001" matches "2001", and "2001a" (a year a style made unique) matches "2001" too.
fn year_matches(have: &str, typed: &str) -> bool {
    let have = have.trim();
    have == typed || typed.trim_end_matches(|c: char| c.is_ascii_lowercase()) == have
}

// ---- reading temporary citations ----

/// An EndNote temporary citation's content (between the braces), or None when it is not one
/// (a citation needs a comma or a `#`, so `{braces}` in prose stay prose).
fn endnote_items(content: &str) -> Option<Vec<Item>> {
    let content = content.trim();
    if content.is_empty()
        || content.contains(['\n', '{', '}'])
        || !(content.contains(',') || content.contains('#') || looks_like_doi(content))
    {
        return None;
    }
    content.split(';').map(endnote_item).collect()
}

fn looks_like_doi(s: &str) -> bool {
    let s = s.trim();
    (s.starts_with("10.") || s.to_ascii_lowercase().starts_with("doi:")) && s.contains('/')
}

fn endnote_item(raw: &str) -> Option<Item> {
    let raw = raw.trim();
    let mut item = Item {
        raw: raw.to_string(),
        ..Item::default()
    };
    if looks_like_doi(raw) {
        item.query = Query::Doi(normalize_doi(raw)?);
        return Some(item);
    }
    let rest = match raw.split_once('\\') {
        Some((prefix, rest)) => {
            item.prefix = prefix.trim().to_string();
            rest
        }
        None => raw,
    };
    let (head, tail) = match rest.split_once('#') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    let mut record = String::new();
    if let Some(tail) = tail {
        let end = tail.find(['@', ' ']).unwrap_or(tail.len());
        record = tail[..end].trim().to_string();
        let after = &tail[end..];
        if let Some(marks) = after.strip_prefix('@') {
            let mut parts = marks.split('@');
            let pages = parts.next().unwrap_or("").trim();
            if !pages.is_empty() {
                let (locator, suffix) = locator(pages);
                item.locator = locator;
                item.suffix = suffix;
            }
            for tag in parts.map(|t| t.trim().to_ascii_lowercase()) {
                match tag.as_str() {
                    "author-year" => item.narrative = true,
                    "exclude-author" => item.suppress_author = true,
                    "hidden" => item.hidden = true,
                    _ => {}
                }
            }
        } else if !after.trim().is_empty() {
            item.suffix = format!(" {}", after.trim());
        }
    }
    let mut parts = head.splitn(4, ',');
    let mut author = parts.next().unwrap_or("").trim();
    if let Some(a) = author.strip_prefix('-') {
        item.suppress_author = true;
        author = a.trim();
    }
    let year = parts.next().unwrap_or("").trim();
    let text = parts.next().unwrap_or("").trim();
    if let Some(suffix) = parts.next().map(str::trim).filter(|s| !s.is_empty()) {
        item.suffix = format!(", {suffix}");
    }
    if author.is_empty() && year.is_empty() && text.is_empty() && record.is_empty() {
        return None;
    }
    // A year is four digits (perhaps with a letter), "in press", or "n.d.": anything else
    // after the first comma is prose in braces, not a citation.
    if !(year.is_empty() || is_year(year)) && record.is_empty() {
        return None;
    }
    item.query = Query::EndNote {
        author: author.to_string(),
        year: year.to_string(),
        record,
        text: text.to_string(),
    };
    Some(item)
}

fn is_year(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        || s.eq_ignore_ascii_case("in press")
        || s.eq_ignore_ascii_case("n.d.")
}

/// A pandoc citation's content (between the brackets), or None when it is not one: every item
/// must name a key with `@`.
fn pandoc_items(content: &str) -> Option<Vec<Item>> {
    if !content.contains('@') || content.contains('\n') && content.contains("\n\n") {
        return None;
    }
    content.split(';').map(pandoc_item).collect()
}

fn pandoc_item(raw: &str) -> Option<Item> {
    let raw = raw.trim();
    // The `@` that starts the key: at the start or after a space, or after `-`.
    let at = raw.char_indices().find_map(|(i, c)| {
        let before = raw[..i].chars().next_back();
        (c == '@' && before.is_none_or(|b| b.is_whitespace() || b == '-')).then_some(i)
    })?;
    let mut item = Item {
        raw: raw.to_string(),
        ..Item::default()
    };
    let mut prefix = &raw[..at];
    if let Some(p) = prefix.strip_suffix('-') {
        item.suppress_author = true;
        prefix = p;
    }
    item.prefix = prefix.trim().to_string();
    let (key, rest) = citation_key(&raw[at + 1..])?;
    item.query = if looks_like_doi(&key) {
        Query::Doi(normalize_doi(&key)?)
    } else {
        Query::Key(key)
    };
    if let Some(after_comma) = rest.strip_prefix(',') {
        let (locator, suffix) = locator(after_comma.trim());
        if locator.is_some() {
            item.locator = locator;
            item.suffix = suffix;
        } else {
            item.suffix = format!(",{after_comma}");
        }
    } else if !rest.trim().is_empty() {
        item.suffix = format!(" {}", rest.trim());
    }
    Some(item)
}

/// A pandoc citation key at the start of `s` (after the `@`), and what follows it. Keys start
/// with a letter, digit or `_`, and hold letters, digits and `_`, with `:.#$%&-+?<>~/` inside
/// (never last); `{...}` quotes any key.
fn citation_key(s: &str) -> Option<(String, &str)> {
    if let Some(quoted) = s.strip_prefix('{') {
        let end = quoted.find('}')?;
        return Some((quoted[..end].to_string(), &quoted[end + 1..]));
    }
    let first = s.chars().next()?;
    if !(first.is_alphanumeric() || first == '_') {
        return None;
    }
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() || c == '_' {
            end = i + c.len_utf8();
        } else if !":.#$%&-+?<>~/".contains(c) {
            break;
        }
    }
    Some((s[..end].to_string(), &s[end..]))
}

/// A locator at the start of `text` ("p. 12", "chap. 3", "33-35") and the suffix after it.
fn locator(text: &str) -> (Option<(Option<String>, String)>, String) {
    const LABELS: &[(&str, &str)] = &[
        ("p.", "page"),
        ("pp.", "page"),
        ("page", "page"),
        ("pages", "page"),
        ("chap.", "chapter"),
        ("ch.", "chapter"),
        ("chapter", "chapter"),
        ("sec.", "section"),
        ("section", "section"),
        ("§", "section"),
        ("§§", "section"),
        ("fig.", "figure"),
        ("figure", "figure"),
        ("para.", "paragraph"),
        ("¶", "paragraph"),
        ("vol.", "volume"),
        ("no.", "issue"),
        ("l.", "line"),
        ("ll.", "line"),
        ("n.", "note"),
        ("nn.", "note"),
        ("col.", "column"),
        ("bk.", "book"),
        ("pt.", "part"),
        ("v.", "verse"),
        ("vv.", "verse"),
        ("op.", "opus"),
    ];
    let text = text.trim_start();
    let first_word = text.split_whitespace().next().unwrap_or("");
    let (term, rest) = match LABELS
        .iter()
        .find(|(label, _)| first_word.eq_ignore_ascii_case(label))
    {
        Some((_, term)) => (
            Some(term.to_string()),
            text[first_word.len()..].trim_start(),
        ),
        None => (None, text),
    };
    let starts_value = rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || "ivxlcIVXLC".contains(c) && term.is_some());
    if !starts_value {
        return (None, text.to_string());
    }
    // The value runs over digits, numerals, ranges and lists ("3-5, 7"), up to a word.
    let mut end = 0;
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let list_goes_on = c == ','
            && rest[i + 1..]
                .trim_start()
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_digit());
        if c.is_ascii_alphanumeric() || "-–—".contains(c) || list_goes_on {
            end = i + c.len_utf8();
        } else if c == ' '
            && chars.peek().is_some_and(|(_, n)| n.is_ascii_digit())
            && list_goes_back(rest, i)
        {
            end = i + 1;
        } else {
            break;
        }
    }
    let value = rest[..end].trim().to_string();
    let suffix = rest[end..].to_string();
    let term = match term {
        Some(t) if t == "page" => None,
        t => t,
    };
    (Some((term, value)), suffix)
}

/// A space inside a value list ("3, 7"): the character before it was the list's comma.
fn list_goes_back(s: &str, space: usize) -> bool {
    s[..space].ends_with(',')
}

/// Temporary citations in Markdown: not in code blocks or code spans, not escaped.
fn markdown_spans(src: &[u8]) -> Vec<Span> {
    let text = std::str::from_utf8(src).unwrap_or("");
    let mut spans = Vec::new();
    let mut in_fence: Option<&str> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let start = line_start;
        line_start += line.len();
        let trimmed = line.trim_start();
        let fence = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f));
        match (in_fence, fence) {
            (None, Some(f)) => {
                in_fence = Some(f);
                continue;
            }
            (Some(open), Some(f)) if open == f => {
                in_fence = None;
                continue;
            }
            (Some(_), _) => continue,
            _ => {}
        }
        // Indented code (four spaces) is code too.
        if line.starts_with("    ") || line.starts_with('\t') {
            continue;
        }
        markdown_line(line, start, &mut spans);
    }
    spans
}

fn markdown_line(line: &str, offset: usize, spans: &mut Vec<Span>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let escaped = i > 0 && b[i - 1] == b'\\';
        match b[i] {
            b'`' => {
                // A code span: up to the same run of backticks.
                let run = b[i..].iter().take_while(|&&c| c == b'`').count();
                let fence = &line[i..i + run];
                i = match line[i + run..].find(fence) {
                    Some(end) => i + run + end + run,
                    None => i + run,
                };
                continue;
            }
            b'{' if !escaped => {
                if let Some(end) = line[i + 1..].find('}') {
                    if let Some(items) = endnote_items(&line[i + 1..i + 1 + end]) {
                        spans.push(Span {
                            start: offset + i,
                            end: offset + i + end + 2,
                            items,
                            bare: false,
                            text: String::new(),
                        });
                        i += end + 2;
                        continue;
                    }
                }
            }
            b'[' if !escaped && (i == 0 || b[i - 1] != b'!') => {
                if let Some(end) = line[i + 1..].find(']') {
                    let close = i + 1 + end;
                    // A link or a reference definition is not a citation.
                    let after = b.get(close + 1).copied();
                    let link = matches!(after, Some(b'(') | Some(b'[') | Some(b':'));
                    let content = &line[i + 1..close];
                    if !link && !content.contains('[') {
                        if let Some(items) = pandoc_items(content) {
                            spans.push(Span {
                                start: offset + i,
                                end: offset + close + 1,
                                items,
                                bare: false,
                                text: String::new(),
                            });
                            i = close + 1;
                            continue;
                        }
                    }
                }
            }
            b'@' if i == 0 || b[i - 1].is_ascii_whitespace() || b[i - 1] == b'(' => {
                if let Some((key, rest)) = citation_key(&line[i + 1..]) {
                    let end = line.len() - rest.len();
                    // A key followed by a bracket is pandoc's "@key [p. 3]": the locator.
                    let mut item = Item {
                        raw: format!("@{key}"),
                        query: Query::Key(key),
                        narrative: true,
                        ..Item::default()
                    };
                    let mut span_end = end;
                    if let Some(bracket) = rest.strip_prefix(" [") {
                        if let Some(close) = bracket.find(']') {
                            let (loc, suffix) = locator(&bracket[..close]);
                            if loc.is_some() {
                                item.locator = loc;
                                item.suffix = suffix;
                                span_end = end + 2 + close + 1;
                            }
                        }
                    }
                    spans.push(Span {
                        start: offset + i,
                        end: offset + span_end,
                        items: vec![item],
                        bare: true,
                        text: String::new(),
                    });
                    i = span_end;
                    continue;
                }
            }
            _ => {}
        }
        i += line[i..].chars().next().map_or(1, char::len_utf8);
    }
}

/// Temporary citations in RTF: EndNote's as escaped braces `\{...\}`, pandoc's in brackets,
/// both within one run of text (no group starts or ends inside, no paragraph break), outside
/// the header's tables and any `{\*...}` destination.
fn rtf_spans(src: &[u8]) -> Vec<Span> {
    // A citation opening at `start` (its opening `open` bytes long), read up to `close` by
    // `read`: kept, and where it ends; None when it is none.
    let citation = |spans: &mut Vec<Span>,
                    start: usize,
                    open: usize,
                    close: &[u8],
                    read: fn(&str) -> Option<Vec<Item>>| {
        let (end, text) = rtf_run(src, start + open, close)?;
        spans.push(Span {
            start,
            end,
            items: read(&text)?,
            bare: false,
            text: String::new(),
        });
        Some(end)
    };
    let mut spans = Vec::new();
    let mut i = 0;
    // The group depth at which a skipped destination began.
    let mut skipping: Option<usize> = None;
    let mut depth = 0usize;
    while i < src.len() {
        match src[i] {
            b'{' => {
                depth += 1;
                if skipping.is_none() && skipped_group(&src[i + 1..]) {
                    skipping = Some(depth);
                }
                i += 1;
            }
            b'}' => {
                if skipping == Some(depth) {
                    skipping = None;
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\\' if skipping.is_none() && src.get(i + 1) == Some(&b'{') => {
                i = match citation(&mut spans, i, 2, b"\\}", endnote_items) {
                    Some(end) => end,
                    None => i + 2,
                };
            }
            b'\\' => i += 2,
            b'[' if skipping.is_none() => {
                i = match citation(&mut spans, i, 1, b"]", pandoc_items) {
                    Some(end) => end,
                    None => i + 1,
                };
            }
            _ => i += 1,
        }
    }
    spans
}

/// Groups whose text is not the document's: font, colour and style tables, document
/// information, pictures, fields' instructions and every `\*` destination.
fn skipped_group(after_brace: &[u8]) -> bool {
    const SKIPPED: &[&[u8]] = &[
        b"\\*",
        b"\\fonttbl",
        b"\\colortbl",
        b"\\stylesheet",
        b"\\info",
        b"\\pict",
        b"\\fldinst",
        b"\\header",
        b"\\footer",
    ];
    SKIPPED.iter().any(|s| after_brace.starts_with(s))
}

/// The text from `from` to the closing `close` in one run of RTF text, decoded, and where the
/// run ends (after `close`); None when a group opens or closes, or a paragraph ends, first.
fn rtf_run(src: &[u8], from: usize, close: &[u8]) -> Option<(usize, String)> {
    let mut i = from;
    let mut text = String::new();
    // Characters to skip after a \uN (the fallback for readers without Unicode).
    let mut skip_after_unicode = 0;
    while i < src.len() {
        if src[i..].starts_with(close) {
            return Some((i + close.len(), text));
        }
        match src[i] {
            b'{' | b'}' => return None,
            b'\r' | b'\n' => i += 1,
            b'\\' => {
                let next = *src.get(i + 1)?;
                match next {
                    b'\\' | b'{' | b'}' => {
                        text.push(next as char);
                        i += 2;
                    }
                    b'~' => {
                        text.push(' ');
                        i += 2;
                    }
                    b'_' => {
                        text.push('-');
                        i += 2;
                    }
                    b'-' => i += 2,
                    b'\'' => {
                        let hex = std::str::from_utf8(src.get(i + 2..i + 4)?).ok()?;
                        let byte = u8::from_str_radix(hex, 16).ok()?;
                        if skip_after_unicode > 0 {
                            skip_after_unicode -= 1;
                        } else {
                            text.push(cp1252(byte));
                        }
                        i += 4;
                    }
                    c if c.is_ascii_alphabetic() => {
                        let word_end = i
                            + 1
                            + src[i + 1..]
                                .iter()
                                .take_while(|b| b.is_ascii_alphabetic())
                                .count();
                        let word = &src[i + 1..word_end];
                        let num_end = word_end
                            + src[word_end..]
                                .iter()
                                .enumerate()
                                .take_while(|(k, b)| b.is_ascii_digit() || *k == 0 && **b == b'-')
                                .count();
                        let number: Option<i32> = std::str::from_utf8(&src[word_end..num_end])
                            .ok()
                            .and_then(|n| n.parse().ok());
                        i = num_end;
                        if src.get(i) == Some(&b' ') {
                            i += 1;
                        }
                        match word {
                            b"par" | b"sect" | b"page" => return None,
                            b"u" => {
                                let unit = number.unwrap_or(0);
                                let unit = if unit < 0 { unit + 65536 } else { unit } as u32;
                                text.extend(char::from_u32(unit));
                                skip_after_unicode = 1;
                            }
                            b"tab" | b"line" | b"emspace" | b"enspace" => text.push(' '),
                            b"endash" => text.push('–'),
                            b"emdash" => text.push('—'),
                            b"lquote" => text.push('‘'),
                            b"rquote" => text.push('’'),
                            b"ldblquote" => text.push('“'),
                            b"rdblquote" => text.push('”'),
                            _ => {}
                        }
                    }
                    _ => i += 2,
                }
            }
            b => {
                if skip_after_unicode > 0 {
                    skip_after_unicode -= 1;
                } else {
                    text.push(cp1252(b));
                }
                i += 1;
            }
        }
    }
    None
}

/// A windows-1252 byte as a character (RTF's `\ansi` code page).
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[(b - 0x80) as usize],
        b => b as char,
    }
}

mod office;
#[cfg(test)]
mod tests;
