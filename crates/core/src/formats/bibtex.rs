//! BibTeX and BibLaTeX: import with `@string` macros shared across the files imported
//! together, crossref inheritance, LaTeX to Unicode, name lists; export with unique citation
//! keys, as UTF-8 or LaTeX-escaped ASCII.
//!
//! Mapping rule that keeps export-then-import stable: the importer puts each field in the
//! first free refsync field its name maps to and keeps the rest as `bibtex:<name>` extras;
//! the exporter writes every refsync field under a name that maps back to it, then the
//! extras. The original entry type is kept (`bibtex:entrytype`) when refsync's type would
//! export under another name (`@conference` stays `@conference`).

mod latex;
mod names;
mod parser;

pub use latex::{escape, to_unicode};

use super::text::{multi_line, one_line, put_first_free, year_in};
use super::{decode, Import, ImportContext, Report, Source};
use crate::{Creator, CreatorRole, Field, RefType, Reference};
use parser::{Item, Parser, Part};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

const NS: &str = "bibtex:";
const ENTRY_TYPE: &str = "bibtex:entrytype";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The RefType of an entry type, and whether that type writes back under the same name.
pub fn type_from_bibtex(entry_type: &str) -> RefType {
    use RefType as T;
    match entry_type {
        "article" => T::JournalArticle,
        "book" | "mvbook" | "manual" => T::Book,
        "inbook" | "bookinbook" | "suppbook" | "incollection" | "suppcollection" => T::BookSection,
        "inproceedings" | "conference" => T::ConferencePaper,
        "proceedings" | "mvproceedings" => T::ConferenceProceedings,
        "collection" | "mvcollection" => T::EditedBook,
        "phdthesis" | "mastersthesis" | "thesis" => T::Thesis,
        "techreport" | "report" => T::Report,
        "online" | "www" | "electronic" | "webpage" => T::WebPage,
        "unpublished" => T::UnpublishedWork,
        "booklet" => T::Pamphlet,
        "patent" => T::Patent,
        "dataset" | "data" => T::Dataset,
        "software" | "code" => T::ComputerProgram,
        "periodical" => T::Serial,
        "reference" | "mvreference" | "inreference" => T::Encyclopedia,
        "artwork" => T::Artwork,
        "image" => T::Figure,
        "audio" | "music" => T::Music,
        "video" | "movie" => T::FilmOrBroadcast,
        "letter" => T::PersonalCommunication,
        "standard" => T::Standard,
        "legislation" | "legal" => T::Statute,
        "jurisdiction" => T::Case,
        "map" => T::Map,
        "interview" => T::Interview,
        "blogpost" => T::Blog,
        _ => T::Generic,
    }
}

fn journalish(t: RefType) -> bool {
    matches!(
        t,
        RefType::JournalArticle
            | RefType::ElectronicArticle
            | RefType::MagazineArticle
            | RefType::NewspaperArticle
    )
}

/// Fields whose values are not LaTeX (URLs, DOIs, file paths).
fn is_verbatim(name: &str) -> bool {
    matches!(
        name,
        "url"
            | "doi"
            | "eprint"
            | "file"
            | "pdf"
            | "urlraw"
            | "verba"
            | "verbb"
            | "verbc"
            | "howpublished_url"
    )
}

/// Where a BibTeX field goes.
enum Target {
    Names(CreatorRole),
    Fields(&'static [Field]),
    Keywords,
    /// Read together in [`dates`].
    Dates,
    Special,
    Extra,
}

fn target(name: &str, t: RefType) -> Target {
    use Field as F;
    use Target::*;
    match name {
        "author" => Names(CreatorRole::Author),
        "editor" => Names(CreatorRole::Editor),
        "translator" => Names(CreatorRole::Translator),
        "bookauthor" => Names(CreatorRole::BookAuthor),
        "serieseditor" => Names(CreatorRole::SeriesEditor),
        "contributor" => Names(CreatorRole::Contributor),
        "title" => Fields(&[F::Title]),
        "journal" | "journaltitle" | "booktitle" => Fields(&[F::SecondaryTitle]),
        "series" => Fields(&[F::TertiaryTitle]),
        "shorttitle" => Fields(&[F::ShortTitle]),
        "shortjournal" => Fields(&[F::AlternateTitle]),
        "origtitle" => Fields(&[F::OriginalTitle]),
        "translatedtitle" => Fields(&[F::TranslatedTitle]),
        "volume" => Fields(&[F::Volume]),
        "number" if journalish(t) => Fields(&[F::Issue]),
        "number" => Fields(&[F::Number]),
        "issue" => Fields(&[F::Issue]),
        "volumes" => Fields(&[F::NumberOfVolumes]),
        "edition" => Fields(&[F::Edition]),
        "chapter" => Fields(&[F::Section]),
        "publisher" | "institution" | "school" | "organization" => Fields(&[F::Publisher]),
        "address" | "location" => Fields(&[F::Place]),
        "type" => Fields(&[F::TypeOfWork]),
        "isbn" => Fields(&[F::Isbn]),
        "issn" => Fields(&[F::Issn]),
        "doi" => Fields(&[F::Doi]),
        "pmid" => Fields(&[F::Pmid]),
        "pmcid" => Fields(&[F::Pmcid]),
        "url" => Fields(&[F::Url]),
        "urldate" => Fields(&[F::AccessDate]),
        "abstract" => Fields(&[F::Abstract]),
        "note" => Fields(&[F::Notes]),
        "annote" | "annotation" => Fields(&[F::ResearchNotes]),
        "label" => Fields(&[F::Label]),
        "language" => Fields(&[F::Language]),
        "langid" | "hyphenation" => Special,
        "keywords" => Keywords,
        "year" | "date" | "month" | "day" => Dates,
        "pages" | "subtitle" | "journalsubtitle" | "booksubtitle" | "titleaddon" => Special,
        other => match Field::from_id(other) {
            // Fields BibTeX has no name for are written under refsync's own id.
            Some(f) if !matches!(f, F::Year | F::Date | F::Pages | F::CitationKey) => {
                Fields(field_slice(f))
            }
            _ => Extra,
        },
    }
}

/// A one-element slice for any field (the table needs `'static` slices).
fn field_slice(f: Field) -> &'static [Field] {
    let i = Field::ALL.iter().position(|&x| x == f).unwrap_or(0);
    &Field::ALL[i..=i]
}

/// One entry after macros are expanded (raw LaTeX still in the values).
#[derive(Clone, Debug)]
struct Entry {
    file: usize,
    entry_type: String,
    key: String,
    fields: Vec<(String, String)>,
    /// Fields named a second time in the entry: kept as extras.
    repeated: Vec<(String, String)>,
    line: usize,
}

impl Entry {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Export options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportOptions {
    /// Write non-ASCII letters as LaTeX commands (`{\"u}`) for classic BibTeX.
    pub ascii: bool,
}

pub fn import(sources: &[Source<'_>], ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    let mut names: Vec<&str> = Vec::new();
    let mut raw_entries = Vec::new();
    let mut strings: Vec<(String, Vec<Part>)> = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        names.push(source.name);
        let decoded = decode(source.bytes);
        if let Some(w) = decoded.warning {
            out.report.warn(source.name, 0, w);
        }
        for item in Parser::new(&decoded.text).items() {
            match item {
                Item::Entry(e) => raw_entries.push((i, e)),
                Item::String { name, value, .. } => strings.push((name, value)),
                Item::Error { line, message } => out.report.skip(source.name, line, message),
                Item::Warning { line, message } => out.report.warn(source.name, line, message),
                Item::Preamble | Item::Comment => {}
            }
        }
    }
    let macros = Macros::new(strings);
    let mut undefined: HashSet<String> = HashSet::new();
    let entries: Vec<Entry> = raw_entries
        .into_iter()
        .map(|(file, e)| {
            let mut seen = HashSet::new();
            let mut fields = Vec::with_capacity(e.fields.len());
            let mut repeated = Vec::new();
            for (name, parts) in e.fields {
                let value = macros.expand(&parts, &mut undefined);
                if seen.insert(name.clone()) {
                    fields.push((name, value));
                } else {
                    repeated.push((name, value));
                }
            }
            Entry {
                file,
                entry_type: e.entry_type,
                key: e.key,
                fields,
                repeated,
                line: e.line,
            }
        })
        .collect();
    if !undefined.is_empty() {
        let mut list: Vec<&String> = undefined.iter().collect();
        crate::sort::sort(&mut list);
        let shown: Vec<&str> = list.iter().take(10).map(|s| s.as_str()).collect();
        out.report.warn(
            names.first().copied().unwrap_or(""),
            0,
            format!(
                "{} undefined macro(s) kept as their names: {}{}",
                list.len(),
                shown.join(", "),
                if list.len() > 10 { ", ..." } else { "" }
            ),
        );
    }
    let mut keys_seen: HashMap<&str, usize> = HashMap::new();
    let mut refs = Vec::with_capacity(entries.len());
    for e in &entries {
        if !e.key.is_empty() {
            let n = keys_seen.entry(&e.key).or_insert(0);
            *n += 1;
            if *n == 2 {
                out.report.warn(
                    names[e.file],
                    e.line,
                    format!("citation key {:?} is used by more than one entry", e.key),
                );
            }
        }
        refs.push(to_reference(e, ctx));
    }
    resolve_crossrefs(&entries, &mut refs, &names, &mut out.report);
    for r in refs {
        out.push(r);
    }
    out
}

/// `@string` macros plus the month names, expanded on demand.
struct Macros {
    raw: HashMap<String, Vec<Part>>,
}

impl Macros {
    fn new(strings: Vec<(String, Vec<Part>)>) -> Macros {
        let mut raw = HashMap::new();
        for m in MONTHS {
            raw.insert(m[..3].to_ascii_lowercase(), vec![Part::Text(m.to_string())]);
        }
        // A later definition replaces an earlier one (and the month names), as in BibTeX.
        for (name, value) in strings {
            raw.insert(name, value);
        }
        Macros { raw }
    }

    fn expand(&self, parts: &[Part], undefined: &mut HashSet<String>) -> String {
        let mut out = String::new();
        let mut stack = Vec::new();
        self.expand_into(parts, &mut out, undefined, &mut stack);
        out
    }

    /// Expand into `out`. A macro that refers back to itself (directly or not) is undefined at
    /// that point, and expansion stops at [`MAX_VALUE`] bytes, so that neither a cycle nor a
    /// chain of doublings (`a = b # b`, `b = c # c`, ...) can run away.
    fn expand_into<'a>(
        &'a self,
        parts: &[Part],
        out: &mut String,
        undefined: &mut HashSet<String>,
        stack: &mut Vec<&'a str>,
    ) {
        for p in parts {
            if out.len() > MAX_VALUE {
                return;
            }
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Macro(name) => match self.raw.get_key_value(name) {
                    Some((key, value)) if !stack.contains(&key.as_str()) => {
                        stack.push(key);
                        self.expand_into(value, out, undefined, stack);
                        stack.pop();
                    }
                    _ => {
                        undefined.insert(name.clone());
                        out.push_str(name);
                    }
                },
            }
        }
    }
}

/// The longest value macro expansion makes (256 KB); no real field comes near.
const MAX_VALUE: usize = 1 << 18;

/// Fill each reference's empty fields from its crossref target (recursively, targets first),
/// BibLaTeX style: the parent's title becomes a part's book title; creators of a role the
/// child lacks are inherited. Done on references rather than raw fields so that an exported
/// child, which already holds what it inherited, inherits nothing more when read again.
fn resolve_crossrefs(
    entries: &[Entry],
    refs: &mut [Reference],
    names: &[&str],
    report: &mut Report,
) {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_key.entry(e.key.to_lowercase()).or_insert(i);
    }
    let mut done = vec![false; entries.len()];
    for i in 0..entries.len() {
        let mut chain = Vec::new();
        resolve_one(
            i, entries, refs, &by_key, &mut done, &mut chain, names, report,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_one(
    i: usize,
    entries: &[Entry],
    refs: &mut [Reference],
    by_key: &HashMap<String, usize>,
    done: &mut [bool],
    chain: &mut Vec<usize>,
    names: &[&str],
    report: &mut Report,
) {
    if done[i] {
        return;
    }
    done[i] = true;
    let e = &entries[i];
    let Some(target) = e.get("crossref").map(|k| k.trim().to_lowercase()) else {
        return;
    };
    let Some(&parent) = by_key.get(&target) else {
        report.warn(
            names[e.file],
            e.line,
            format!(
                "crossref target {target:?} of {:?} is not in the file",
                e.key
            ),
        );
        return;
    };
    if parent == i || chain.contains(&parent) {
        report.warn(
            names[e.file],
            e.line,
            format!("crossref cycle through {:?}; not followed", e.key),
        );
        return;
    }
    chain.push(i);
    if chain.len() < 64 {
        // The parent may not be resolved yet (it comes later, or is itself a child).
        done[parent] = done[parent] && !chain.contains(&parent);
        resolve_one(parent, entries, refs, by_key, done, chain, names, report);
    }
    chain.pop();
    let p = refs[parent].clone();
    let is_part = e.entry_type.starts_with("in")
        || matches!(
            e.entry_type.as_str(),
            "bookinbook" | "suppbook" | "suppcollection"
        );
    let child = &mut refs[i];
    if is_part && child.get(Field::SecondaryTitle).is_empty() {
        child.set(Field::SecondaryTitle, p.title());
    }
    for (id, value) in &p.fields {
        let skip = [
            Field::Title,
            Field::ShortTitle,
            Field::CitationKey,
            Field::Label,
        ]
        .iter()
        .any(|f| f.id() == id);
        if !skip && !child.fields.contains_key(id) {
            child.fields.insert(id.clone(), value.clone());
        }
    }
    // A month-only date becomes a full one once the year is inherited, as it would have been
    // with the year in the entry itself.
    let year = child.year().to_string();
    if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(m) = month_number(child.get(Field::Date))
            .filter(|_| !child.get(Field::Date).contains(char::is_whitespace))
        {
            child.set(Field::Date, format!("{year}-{m:02}"));
        }
    }
    let roles: HashSet<CreatorRole> = child.creators.iter().map(|c| c.role).collect();
    let inherited: Vec<Creator> = p
        .creators
        .iter()
        .filter(|c| !roles.contains(&c.role))
        .cloned()
        .collect();
    if !inherited.is_empty() {
        child.creators.extend(inherited);
        child.sort_creators();
    }
}

/// BibLaTeX list fields: "Durham and London" is two places.
fn is_list(name: &str) -> bool {
    name == "location"
}

fn convert(name: &str, raw: &str) -> String {
    if is_list(name) {
        let items = names::split_list(raw);
        if items.len() > 1 {
            return items
                .iter()
                .map(|i| one_line(&to_unicode(i)))
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    if is_verbatim(name) {
        let raw = raw.trim();
        let raw = raw
            .strip_prefix("\\url{")
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(raw);
        one_line(raw)
    } else {
        let text = to_unicode(raw);
        match Field::from_id(name) {
            _ if matches!(name, "abstract" | "note" | "annote" | "annotation") => multi_line(&text),
            _ => one_line(&text),
        }
    }
}

fn month_number(text: &str) -> Option<u32> {
    let t = text.trim().trim_end_matches('.');
    if let Ok(n) = t.parse::<u32>() {
        return (1..=12).contains(&n).then_some(n);
    }
    MONTHS
        .iter()
        .position(|m| t.len() >= 3 && m.to_ascii_lowercase().starts_with(&t.to_ascii_lowercase()))
        .map(|i| i as u32 + 1)
}

fn to_reference(e: &Entry, ctx: &mut ImportContext<'_>) -> Reference {
    let mut r = ctx.new_reference();
    r.ref_type = type_from_bibtex(&e.entry_type);
    if r.ref_type.bibtex_type() != e.entry_type {
        r.add_extra(ENTRY_TYPE, &e.entry_type);
    }
    r.set(Field::CitationKey, e.key.clone());
    // Subtitles join their titles, so they wait until the titles are in.
    let is_subtitle = |n: &str| {
        matches!(
            n,
            "subtitle" | "journalsubtitle" | "booksubtitle" | "titleaddon"
        )
    };
    let ordered = e
        .fields
        .iter()
        .filter(|(n, _)| !is_subtitle(n))
        .chain(e.fields.iter().filter(|(n, _)| is_subtitle(n)));
    for (name, raw) in ordered {
        let stored = match target(name, r.ref_type) {
            Target::Names(role) => {
                r.creators.extend(
                    names::parse_names(raw)
                        .into_iter()
                        .map(|name| Creator { role, name }),
                );
                true
            }
            Target::Keywords => {
                r.keywords.extend(
                    convert(name, raw)
                        .split([',', ';'])
                        .map(one_line)
                        .filter(|k| !k.is_empty()),
                );
                true
            }
            Target::Fields(fields) => put_first_free(&mut r, fields, &convert(name, raw)),
            Target::Special => special(&mut r, name, raw),
            Target::Dates => true,
            Target::Extra => false,
        };
        if !stored {
            r.add_extra(&format!("{NS}{name}"), &convert(name, raw));
        }
    }
    dates(&mut r, e);
    // BibLaTeX's localisation keys in `type`, and the kind of thesis an entry type implies.
    let work = r.get(Field::TypeOfWork).to_string();
    if let Some(text) = bibstring(&work) {
        r.set(Field::TypeOfWork, text);
    } else if work.is_empty() {
        match e.entry_type.as_str() {
            "phdthesis" => r.set(Field::TypeOfWork, "PhD thesis"),
            "mastersthesis" => r.set(Field::TypeOfWork, "Master’s thesis"),
            _ => {}
        }
    }
    for (name, raw) in &e.repeated {
        r.add_extra(&format!("{NS}{name}"), &convert(name, raw));
    }
    r
}

/// The words BibLaTeX prints for a localisation key used as a `type`.
fn bibstring(key: &str) -> Option<&'static str> {
    Some(match key {
        "phdthesis" => "PhD thesis",
        "mathesis" | "mastersthesis" => "Master’s thesis",
        "candthesis" => "Candidate thesis",
        "techreport" => "technical report",
        "resreport" => "research report",
        "software" => "computer software",
        "datacd" => "CD-ROM",
        "audiocd" => "audio CD",
        "patent" => "patent",
        "patentus" => "U.S. patent",
        "patentde" => "German patent",
        "patenteu" => "European patent",
        "patentfr" => "French patent",
        "patentuk" => "British patent",
        _ => return None,
    })
}

/// Year and date from `year`, `date`, `month` and `day` together: the year from `year` (or
/// the date), the date from `date` when it says more than the year, else from the month (as
/// `YYYY-MM[-DD]` when the year is a number and the month a month), else nothing. What was
/// not used is kept as extras.
fn dates(r: &mut Reference, e: &Entry) {
    let get = |n: &str| e.get(n).map(|v| convert(n, v)).filter(|v| !v.is_empty());
    let (year, date, month, day) = (get("year"), get("date"), get("month"), get("day"));
    let year_value = year
        .clone()
        .or_else(|| date.as_deref().and_then(year_in).map(str::to_string));
    if let Some(y) = &year_value {
        r.set(Field::Year, y.clone());
    }
    let mut unused: Vec<(&str, String)> = Vec::new();
    match date.filter(|d| Some(d) != year_value.as_ref()) {
        Some(d) => {
            r.set(Field::Date, d);
            unused.extend(month.map(|m| ("month", m)));
            unused.extend(day.map(|d| ("day", d)));
        }
        None => {
            let numeric_year = year_value
                .as_deref()
                .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
            match (month, numeric_year) {
                (Some(m), Some(y)) if month_number(&m).is_some() => {
                    let mut date = format!("{y}-{:02}", month_number(&m).unwrap_or(1));
                    match day.as_deref().map(|d| d.parse::<u32>()) {
                        Some(Ok(d)) if (1..=31).contains(&d) => {
                            let _ = write!(date, "-{d:02}");
                        }
                        _ => unused.extend(day.map(|d| ("day", d))),
                    }
                    r.set(Field::Date, date);
                }
                (Some(m), _) => {
                    r.set(Field::Date, m);
                    unused.extend(day.map(|d| ("day", d)));
                }
                (None, _) => unused.extend(day.map(|d| ("day", d))),
            }
        }
    }
    for (name, value) in unused {
        r.add_extra(&format!("{NS}{name}"), &value);
    }
}

/// Pages and subtitles.
fn special(r: &mut Reference, name: &str, raw: &str) -> bool {
    let value = convert(name, raw);
    match name {
        // BibLaTeX's babel language names become language tags, as CSL wants them.
        "langid" | "hyphenation" => {
            let tag = super::text::language_tag(&value).map_or(value.clone(), str::to_string);
            put_first_free(r, &[Field::Language], &tag)
        }
        "pages" => {
            let pages = value.replace(['–', '—'], "-").replace("--", "-");
            put_first_free(r, &[Field::Pages], &pages)
        }
        "subtitle" | "journalsubtitle" | "booksubtitle" | "titleaddon" => {
            let field = if matches!(name, "subtitle" | "titleaddon") {
                Field::Title
            } else {
                Field::SecondaryTitle
            };
            let main = r.get(field).to_string();
            if main.is_empty() || value.is_empty() {
                return false;
            }
            // The main title alone is the short title (as EndNote and CSL keep it).
            if name == "subtitle" && r.get(Field::ShortTitle).is_empty() {
                r.set(Field::ShortTitle, main.clone());
            }
            let sep = match name {
                _ if main.ends_with(['?', '!', ':', '.']) => " ",
                "titleaddon" => ". ",
                _ => ": ",
            };
            r.set(field, format!("{main}{sep}{value}"));
            true
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Export

fn bibtex_name(field: Field, t: RefType) -> Option<&'static str> {
    use Field as F;
    Some(match field {
        F::Title => "title",
        F::SecondaryTitle if journalish(t) => "journal",
        F::SecondaryTitle => "booktitle",
        F::TertiaryTitle => "series",
        F::ShortTitle => "shorttitle",
        F::AlternateTitle => "shortjournal",
        F::OriginalTitle => "origtitle",
        F::TranslatedTitle => "translatedtitle",
        F::Volume => "volume",
        F::Issue if journalish(t) => "number",
        F::Issue => "issue",
        F::Number if journalish(t) => return None,
        F::Number => "number",
        F::NumberOfVolumes => "volumes",
        F::Edition => "edition",
        F::Section => "chapter",
        F::Publisher if t == RefType::Thesis => "school",
        F::Publisher if t == RefType::Report => "institution",
        F::Publisher => "publisher",
        F::Place => "address",
        F::TypeOfWork => "type",
        F::Isbn => "isbn",
        F::Issn => "issn",
        F::Doi => "doi",
        F::Pmid => "pmid",
        F::Pmcid => "pmcid",
        F::Url => "url",
        F::AccessDate => "urldate",
        F::Abstract => "abstract",
        F::Notes => "note",
        F::ResearchNotes => "annote",
        F::Label => "label",
        F::Language => "language",
        F::Year | F::Date | F::Pages | F::CitationKey => return None,
        other => other.id(),
    })
}

/// A citation key BibTeX accepts: no spaces, commas, braces, double quotes, `#`, `%`, `~`,
/// `=` or backslashes.
fn clean_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !",{}\"#%~=\\".contains(*c))
        .collect()
}

fn generated_key(r: &Reference) -> String {
    let family = r
        .creators
        .first()
        .map(|c| c.name.sort_name().to_string())
        .unwrap_or_default();
    let word = r
        .title()
        .split_whitespace()
        .find(|w| w.chars().count() > 3)
        .unwrap_or("");
    let ascii = |s: &str| -> String {
        use unicode_normalization::UnicodeNormalization;
        s.nfd().filter(|c| c.is_ascii_alphanumeric()).collect()
    };
    let key = format!(
        "{}{}{}",
        ascii(&family),
        ascii(r.year()),
        ascii(word).to_lowercase()
    );
    if key.is_empty() {
        "ref".into()
    } else {
        key
    }
}

fn write_field(out: &mut String, name: &str, value: &str, opts: ExportOptions) {
    if value.is_empty() {
        return;
    }
    let body = if is_verbatim(name) {
        verbatim(value)
    } else {
        escape(value, opts.ascii)
    };
    let _ = writeln!(out, "  {name} = {{{body}}},");
}

/// Verbatim fields only need their braces balanced.
fn verbatim(value: &str) -> String {
    let mut depth = 0i32;
    let balanced = value.chars().all(|c| {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        depth >= 0
    }) && depth == 0;
    if balanced {
        value.to_string()
    } else {
        value.replace(['{', '}'], "")
    }
}

pub fn export(references: &[Reference], opts: ExportOptions) -> String {
    let mut out = String::new();
    // Keys as they are, so that a suffix made for a repeated key never takes one of them.
    let wanted: Vec<String> = references
        .iter()
        .map(|r| {
            let key = clean_key(r.get(Field::CitationKey));
            if key.is_empty() {
                generated_key(r)
            } else {
                key
            }
        })
        .collect();
    let taken: HashSet<String> = wanted.iter().map(|k| k.to_lowercase()).collect();
    let mut used: HashSet<String> = HashSet::new();
    for (r, base) in references.iter().zip(&wanted) {
        let entry_type = r
            .extra
            .get(ENTRY_TYPE)
            .cloned()
            .unwrap_or_else(|| r.ref_type.bibtex_type().to_string());
        let mut key = base.clone();
        let mut n = 0u32;
        while !used.insert(key.to_lowercase()) {
            loop {
                n += 1;
                key = format!("{base}{}", suffix(n));
                if !taken.contains(&key.to_lowercase()) {
                    break;
                }
            }
        }
        let _ = writeln!(out, "@{entry_type}{{{key},");
        // In CreatorRole's order, which is the order creators are kept in.
        for (role, name) in [
            (CreatorRole::Author, "author"),
            (CreatorRole::Editor, "editor"),
            (CreatorRole::Translator, "translator"),
            (CreatorRole::SeriesEditor, "serieseditor"),
            (CreatorRole::BookAuthor, "bookauthor"),
            (CreatorRole::Contributor, "contributor"),
        ] {
            let list: Vec<String> = r
                .creators_with(role)
                .map(|c| names::format_name(&c.name, opts.ascii))
                .collect();
            if !list.is_empty() {
                let _ = writeln!(out, "  {name} = {{{}}},", list.join(" and "));
            }
        }
        write_dates(&mut out, r, opts);
        let pages = r.get(Field::Pages);
        if !pages.is_empty() {
            write_field(
                &mut out,
                "pages",
                &pages.replacen('-', "--", 1).replace("---", "--"),
                opts,
            );
        }
        for &field in Field::ALL {
            if let Some(name) = bibtex_name(field, r.ref_type) {
                write_field(&mut out, name, r.get(field), opts);
            }
        }
        if !r.keywords.is_empty() {
            write_field(&mut out, "keywords", &r.keywords.join(", "), opts);
        }
        for (name, value) in r.extras_in_order() {
            let Some(name) = name.strip_prefix(NS) else {
                continue;
            };
            // Any name the reader accepts (Scopus even puts a no-break space in some).
            let valid = !name.is_empty()
                && !name.starts_with(' ')
                && name.chars().all(|c| {
                    !c.is_ascii()
                        || c.is_ascii_alphanumeric()
                        || "_-:.+/ '!?*&<>;[]`|^$".contains(c)
                });
            if valid && name != "entrytype" {
                write_field(&mut out, name, value, opts);
            }
        }
        out.push_str("}\n\n");
    }
    out
}

fn suffix(mut n: u32) -> String {
    // a, b, ..., z, aa, ab, ...
    let mut s = Vec::new();
    while n > 0 {
        n -= 1;
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn write_dates(out: &mut String, r: &Reference, opts: ExportOptions) {
    let year = r.year();
    let date = r.get(Field::Date);
    write_field(out, "year", year, opts);
    if date.is_empty() {
        return;
    }
    let parts: Vec<&str> = date.split('-').collect();
    let iso = parts.len() >= 2
        && parts.len() <= 3
        && parts[0] == year
        && parts[1..]
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()));
    let month = parts
        .get(1)
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| (1..=12).contains(m));
    match month {
        Some(m) if iso => {
            let _ = writeln!(
                out,
                "  month = {},",
                MONTHS[m - 1][..3].to_ascii_lowercase()
            );
            if let Some(d) = parts
                .get(2)
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|d| (1..=31).contains(d))
            {
                let _ = writeln!(out, "  day = {{{d}}},");
            } else if parts.len() == 3 {
                write_field(out, "date", date, opts);
            }
        }
        // A month alone; with a numeric year it would read back as YYYY-MM, so then it is
        // written as a date.
        _ if month_number(date).is_some()
            && !date.contains(char::is_whitespace)
            && !(year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())) =>
        {
            write_field(out, "month", date, opts);
        }
        _ => write_field(out, "date", date, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;
    use crate::Name;

    fn run(files: &[&str]) -> Import {
        let sources: Vec<Source<'_>> = files
            .iter()
            .map(|f| Source {
                name: "t.bib",
                bytes: f.as_bytes(),
            })
            .collect();
        super::super::import_with_sequential_keys(super::super::Format::Bibtex, &sources)
    }

    #[test]
    fn macros_months_and_concatenation() {
        let got = run(&["@string{jgr = \"J. Geophys. Res.\"}\n@article{a, journal = jgr, title = \"A \" # {{B}}, year = 2020, month = may}"]);
        let r = &got.references[0];
        assert_eq!(r.get(Field::SecondaryTitle), "J. Geophys. Res.");
        assert_eq!(r.title(), "A B");
        assert_eq!(r.get(Field::Date), "2020-05");
        assert_eq!(r.get(Field::CitationKey), "a");
    }

    #[test]
    fn field_names_with_spaces_are_read_and_written_back() {
        let got = run(&["@article{x,\nfunding_text 1={The Special Fund},\ntitle={T}}"]);
        let r = &got.references[0];
        assert_eq!(
            r.extra.get("bibtex:funding_text 1").map(String::as_str),
            Some("The Special Fund")
        );
        assert!(export(&got.references, ExportOptions::default())
            .contains("funding_text 1 = {The Special Fund}"));
    }

    #[test]
    fn macros_are_shared_across_files() {
        let got = run(&[
            "@string{ieee = {IEEE Press}}\n@string{jan = {Januar}}",
            "@book{b, publisher = ieee, title = {T}, year = 2000, month = jan # {~3}}",
        ]);
        assert_eq!(got.references[0].get(Field::Publisher), "IEEE Press");
        // A definition of a month name replaces the built-in one.
        assert_eq!(got.references[0].get(Field::Date), "Januar 3");
        assert!(got.report.warnings.is_empty(), "{:?}", got.report.warnings);
    }

    #[test]
    fn crossref_fills_missing_fields_and_cycles_are_reported() {
        let got = run(&["@inproceedings{c, title={Paper}, crossref={p}}\n@proceedings{p, title={Proc}, year=1999, publisher={ACM}}\n@misc{x, crossref={y}}\n@misc{y, crossref={x}, title={Y}}\n@misc{z, crossref={missing}, title={Z}}"]);
        let c = &got.references[0];
        assert_eq!(c.get(Field::SecondaryTitle), "Proc");
        assert_eq!((c.year(), c.get(Field::Publisher)), ("1999", "ACM"));
        assert_eq!(got.references.len(), 5);
        let messages: Vec<&str> = got
            .report
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        assert!(messages.iter().any(|m| m.contains("cycle")), "{messages:?}");
        assert!(
            messages.iter().any(|m| m.contains("missing")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_broken_entry_is_skipped_and_the_rest_imports() {
        let got = run(&["@article{ok1, title={One}}\n@article{bad, title={Two}\n@article{ok2, title={Three}}\n@article{nocomma title={x}}\n@article{ok3, title={Four} year={2000}}"]);
        let titles: Vec<&str> = got.references.iter().map(Reference::title).collect();
        assert_eq!(titles, vec!["One", "Three", "x", "Four"]);
        assert_eq!(got.report.skipped.len(), 1);
        assert_eq!(got.references[2].get(Field::CitationKey), "nocomma");
        assert_eq!(got.references[3].year(), "2000");
    }

    #[test]
    fn names_types_and_unknown_fields() {
        let got = run(&["@conference{k, author={{World Health Organization} and van Gogh, Vincent}, lgcode={fra}, pages={10--20}}"]);
        let r = &got.references[0];
        assert_eq!(r.ref_type, RefType::ConferencePaper);
        assert_eq!(
            r.creators[0].name,
            Name::Literal("World Health Organization".into())
        );
        assert_eq!(
            r.extra.get("bibtex:lgcode").map(String::as_str),
            Some("fra")
        );
        assert_eq!(r.get(Field::Pages), "10-20");
        let text = export(&got.references, ExportOptions::default());
        assert!(text.starts_with("@conference{k,"), "{text}");
    }

    #[test]
    fn export_keys_are_unique_and_round_trip() {
        let got = run(&["@article{same, title={Ünïcode \\& more}, author={Müller, J.}, year={2020}, month={5}, day={3}, abstract={Para one.\n\nPara two.}}\n@article{same, title={B}}"]);
        assert_eq!(
            got.references[0].get(Field::Abstract),
            "Para one.\n\nPara two."
        );
        for ascii in [false, true] {
            let text = export(&got.references, ExportOptions { ascii });
            assert!(
                text.contains("@article{same,") && text.contains("@article{samea,"),
                "{text}"
            );
            let again = run(&[&text]);
            let strip = |r: &Reference| Reference {
                key: Key::default(),
                fields: r
                    .fields
                    .iter()
                    .filter(|(k, _)| *k != "citation_key")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..r.clone()
            };
            for (a, b) in got.references.iter().zip(&again.references) {
                assert_eq!(strip(b), strip(a), "{text}");
            }
        }
    }
}
