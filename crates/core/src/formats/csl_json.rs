//! CSL-JSON, the data format of citeproc, Zotero, Pandoc and Manubot.
//!
//! Input may be an array of items, one item, or an object whose values are items or arrays
//! of items (Crossref's DOI content negotiation keyed by DOI). A file that is not valid JSON
//! is scanned item by item so that one broken item does not lose the others. Keys refsync has
//! no field for are kept as `csl:<key>` (strings) or `csl.json:<key>` (any other JSON, as
//! text) and written back: at the top level when the CSL schema knows the key, inside
//! `custom` otherwise, so that every export validates against the schema.

use super::text::{one_line, put_first_free, put_or_append, year_in};
use super::{Import, ImportContext};
use crate::{Creator, CreatorRole, Field, Name, RefType, Reference};
use serde_json::{Map, Value};

const NS_STR: &str = "csl:";
const NS_JSON: &str = "csl.json:";

/// Every key of an item in the CSL-JSON schema (csl-data.json, CSL 1.0.2).
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "id",
    "citation-key",
    "categories",
    "language",
    "journalAbbreviation",
    "shortTitle",
    "author",
    "chair",
    "collection-editor",
    "compiler",
    "composer",
    "container-author",
    "contributor",
    "curator",
    "director",
    "editor",
    "editorial-director",
    "executive-producer",
    "guest",
    "host",
    "interviewer",
    "illustrator",
    "narrator",
    "organizer",
    "original-author",
    "performer",
    "producer",
    "recipient",
    "reviewed-author",
    "script-writer",
    "series-creator",
    "translator",
    "accessed",
    "available-date",
    "event-date",
    "issued",
    "original-date",
    "submitted",
    "abstract",
    "annote",
    "archive",
    "archive_collection",
    "archive_location",
    "archive-place",
    "authority",
    "call-number",
    "chapter-number",
    "citation-number",
    "citation-label",
    "collection-number",
    "collection-title",
    "container-title",
    "container-title-short",
    "dimensions",
    "division",
    "DOI",
    "edition",
    "event",
    "event-title",
    "event-place",
    "first-reference-note-number",
    "genre",
    "ISBN",
    "ISSN",
    "issue",
    "jurisdiction",
    "keyword",
    "locator",
    "medium",
    "note",
    "number",
    "number-of-pages",
    "number-of-volumes",
    "original-publisher",
    "original-publisher-place",
    "original-title",
    "page",
    "page-first",
    "part",
    "part-title",
    "PMCID",
    "PMID",
    "printing",
    "publisher",
    "publisher-place",
    "references",
    "reviewed-genre",
    "reviewed-title",
    "scale",
    "section",
    "source",
    "status",
    "supplement",
    "title",
    "title-short",
    "URL",
    "version",
    "volume",
    "volume-title",
    "volume-title-short",
    "year-suffix",
    "custom",
];

/// Simple text keys and the field each fills.
const TEXT_KEYS: &[(&str, Field)] = &[
    ("title", Field::Title),
    ("container-title", Field::SecondaryTitle),
    ("collection-title", Field::TertiaryTitle),
    ("title-short", Field::ShortTitle),
    ("shortTitle", Field::ShortTitle),
    ("container-title-short", Field::AlternateTitle),
    ("journalAbbreviation", Field::AlternateTitle),
    ("original-title", Field::OriginalTitle),
    ("volume", Field::Volume),
    ("issue", Field::Issue),
    ("number", Field::Number),
    ("page", Field::Pages),
    ("number-of-volumes", Field::NumberOfVolumes),
    ("edition", Field::Edition),
    ("section", Field::Section),
    ("publisher", Field::Publisher),
    ("publisher-place", Field::Place),
    ("genre", Field::TypeOfWork),
    ("DOI", Field::Doi),
    ("PMID", Field::Pmid),
    ("PMCID", Field::Pmcid),
    ("URL", Field::Url),
    ("ISBN", Field::Isbn),
    ("ISSN", Field::Issn),
    ("abstract", Field::Abstract),
    ("note", Field::Notes),
    ("annote", Field::ResearchNotes),
    ("language", Field::Language),
    ("call-number", Field::CallNumber),
    ("archive", Field::DatabaseName),
    ("source", Field::DatabaseProvider),
    ("citation-label", Field::Label),
    ("chapter-number", Field::Section),
    ("collection-number", Field::Number),
];

const NAME_KEYS: &[(&str, CreatorRole)] = &[
    ("author", CreatorRole::Author),
    ("editor", CreatorRole::Editor),
    ("translator", CreatorRole::Translator),
    ("collection-editor", CreatorRole::SeriesEditor),
    ("container-author", CreatorRole::BookAuthor),
    ("contributor", CreatorRole::Contributor),
];

/// The RefType of a CSL type: the first type in the table that exports to it, so that export
/// then import keeps the type.
pub fn type_from_csl(csl: &str) -> RefType {
    if csl == RefType::Generic.csl_type() {
        return RefType::Generic;
    }
    if let Some(t) = RefType::ALL.iter().copied().find(|t| t.csl_type() == csl) {
        return t;
    }
    match csl {
        "review" | "review-book" => RefType::JournalArticle,
        "broadcast" => RefType::FilmOrBroadcast,
        "post" => RefType::Blog,
        "entry" => RefType::Encyclopedia,
        "collection" => RefType::EditedBook,
        "classic" => RefType::Book,
        "musical_score" | "performance" => RefType::Music,
        "speech" => RefType::ConferencePaper,
        "treaty" | "regulation" => RefType::Statute,
        _ => RefType::Generic,
    }
}

pub fn import(file: &str, text: &str, ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut items = Vec::new();
            collect_items(value, &mut items);
            for item in items {
                read_item(file, 0, item, ctx, &mut out);
            }
        }
        Err(e) => {
            out.report.warn(
                file,
                e.line(),
                format!("the file is not valid JSON ({e}); items were read one by one"),
            );
            for (line, chunk) in object_spans(text) {
                match serde_json::from_str::<Value>(chunk) {
                    Ok(item) => read_item(file, line, item, ctx, &mut out),
                    Err(e) => out.report.skip(
                        file,
                        line + e.line().saturating_sub(1),
                        format!("item is not valid JSON: {e}"),
                    ),
                }
            }
        }
    }
    out
}

fn collect_items(value: Value, items: &mut Vec<Value>) {
    match value {
        Value::Array(xs) => items.extend(xs),
        Value::Object(map)
            if map.contains_key("type") || map.contains_key("title") || map.contains_key("id") =>
        {
            items.push(Value::Object(map));
        }
        // Keyed by DOI or id: each value is an item or a list of items.
        Value::Object(map) => {
            for (_, v) in map {
                match v {
                    Value::Array(xs) => items.extend(xs),
                    other => items.push(other),
                }
            }
        }
        other => items.push(other),
    }
}

/// The top-level `{...}` objects inside the outer array, found by brace counting outside
/// strings, with the line each starts on. Used only when the whole file does not parse.
fn object_spans(text: &str) -> Vec<(usize, &str)> {
    let mut spans = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut start, mut line, mut start_line) = (0usize, 1usize, 1usize);
    let outer = text.trim_start().starts_with('[');
    let base = usize::from(outer);
    for (i, c) in text.char_indices() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                if depth == base && c == '{' {
                    start = i;
                    start_line = line;
                }
                depth += 1;
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == base && c == '}' {
                    spans.push((start_line, &text[start..=i]));
                }
            }
            _ => {}
        }
    }
    spans
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn read_item(file: &str, line: usize, item: Value, ctx: &mut ImportContext<'_>, out: &mut Import) {
    let Value::Object(mut map) = item else {
        out.report.skip(file, line, "item is not a JSON object");
        return;
    };
    let mut r = ctx.new_reference();
    r.ref_type = match map.remove("type") {
        Some(Value::String(t)) => type_from_csl(&t),
        _ => RefType::Generic,
    };
    if let Some(Value::Object(custom)) = map.remove("custom") {
        for (k, v) in custom {
            keep(&mut r, &k, &v);
        }
    }
    let id = map.remove("id");
    let citation_key = map.remove("citation-key");
    match (
        id.as_ref().and_then(text_of),
        citation_key.as_ref().and_then(text_of),
    ) {
        (Some(id), Some(key)) => {
            r.set(Field::CitationKey, one_line(&key));
            r.add_extra(&format!("{NS_STR}id"), &id);
        }
        // An id that is a refsync key was made by an export for an item with no citation key.
        (Some(key), None) if crate::Key::parse(&key).is_ok() => {}
        (Some(key), None) | (None, Some(key)) => r.set(Field::CitationKey, one_line(&key)),
        (None, None) => {}
    }
    for (key, value) in map {
        read_key(&mut r, &key, value);
    }
    if r.fields.is_empty() && r.creators.is_empty() {
        out.report.skip(file, line, "item has no fields");
        return;
    }
    out.push(r);
}

fn read_key(r: &mut Reference, key: &str, value: Value) {
    if let Some(&(_, field)) = TEXT_KEYS.iter().find(|(k, _)| *k == key) {
        if let Some(text) = text_of(&value) {
            let stored = if field == Field::Notes {
                put_or_append(r, field, &text)
            } else {
                put_first_free(r, &[field], &text)
            };
            if stored {
                return;
            }
        }
    } else if let Some(&(_, role)) = NAME_KEYS.iter().find(|(k, _)| *k == key) {
        if let Some((names, complete)) = read_names(&value) {
            r.creators
                .extend(names.into_iter().map(|name| Creator { role, name }));
            if complete {
                return;
            }
            // Keys refsync has no place for (ORCID, affiliation, ...): the whole list is kept
            // too, so nothing is lost.
        }
    } else {
        match key {
            "issued" => {
                if let Some((year, date, exact)) = read_date(&value) {
                    r.set(Field::Year, year);
                    r.set(Field::Date, date);
                    if exact {
                        return;
                    }
                }
            }
            "accessed" => {
                if let Some((_, date, exact)) = read_date(&value) {
                    r.set(Field::AccessDate, date);
                    if exact {
                        return;
                    }
                }
            }
            "keyword" => {
                if let Some(text) = text_of(&value) {
                    r.keywords.extend(
                        text.split([',', ';'])
                            .map(one_line)
                            .filter(|k| !k.is_empty()),
                    );
                    return;
                }
            }
            _ => {}
        }
    }
    keep(r, key, &value);
}

fn keep(r: &mut Reference, key: &str, value: &Value) {
    match value {
        Value::String(s) => r.add_extra(&format!("{NS_STR}{key}"), s),
        Value::Null => {}
        other => r.add_extra(&format!("{NS_JSON}{key}"), &other.to_string()),
    }
}

/// The names in a list, and whether they say all the list says.
fn read_names(value: &Value) -> Option<(Vec<Name>, bool)> {
    let Value::Array(xs) = value else { return None };
    let mut names = Vec::new();
    let mut complete = true;
    for x in xs {
        let Value::Object(n) = x else { return None };
        let get = |k: &str| {
            n.get(k)
                .and_then(text_of)
                .map(|s| one_line(&s))
                .unwrap_or_default()
        };
        let known = [
            "family",
            "given",
            "literal",
            "non-dropping-particle",
            "dropping-particle",
            "suffix",
        ];
        complete &= n
            .iter()
            .all(|(k, v)| known.contains(&k.as_str()) && v.is_string());
        let literal = get("literal");
        let name = if !literal.is_empty() {
            Name::Literal(literal)
        } else {
            let particle = [get("dropping-particle"), get("non-dropping-particle")]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            Name::Person {
                family: get("family"),
                given: get("given"),
                particle,
                suffix: get("suffix"),
            }
        };
        if !name.is_empty() {
            names.push(name);
        }
    }
    Some((names, complete))
}

/// (year, date text, whether the date is fully represented by the two).
fn read_date(value: &Value) -> Option<(String, String, bool)> {
    let Value::Object(d) = value else {
        let text = text_of(value)?;
        return Some((
            year_in(&text).unwrap_or("").to_string(),
            text.clone(),
            false,
        ));
    };
    let plain = d
        .keys()
        .all(|k| k == "date-parts" || k == "raw" || k == "literal")
        && d.len() == 1;
    if let Some(Value::Array(ranges)) = d.get("date-parts") {
        let parts: Option<Vec<Vec<String>>> = ranges
            .iter()
            .map(|range| match range {
                Value::Array(p) => p
                    .iter()
                    .map(|x| text_of(x).map(|s| s.trim().to_string()))
                    .collect(),
                _ => None,
            })
            .collect();
        let parts = parts?;
        let first = parts.first()?;
        let year = first.first()?.clone();
        let date_text: Vec<String> = parts.iter().map(|p| iso(p)).collect();
        let date = if parts.len() == 1 && first.len() == 1 {
            String::new()
        } else {
            date_text.join("/")
        };
        let exact = plain
            && parse_date_text(&date_text.join("/")).is_some_and(|p| p == parts_as_numbers(&parts));
        return Some((year, date, exact));
    }
    for key in ["raw", "literal"] {
        if let Some(text) = d.get(key).and_then(text_of) {
            let year = year_in(&text).unwrap_or("").to_string();
            let date = if year == text {
                String::new()
            } else {
                text.clone()
            };
            // Exact when export writes the same thing back: a raw date that is not ISO.
            let exact = plain && key == "raw" && parse_date_text(&date).is_none();
            return Some((year, date, exact));
        }
    }
    None
}

fn parts_as_numbers(parts: &[Vec<String>]) -> Vec<Vec<i64>> {
    parts
        .iter()
        .map(|p| p.iter().map(|x| x.parse().unwrap_or(i64::MIN)).collect())
        .collect()
}

fn iso(parts: &[String]) -> String {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.clone()
            } else {
                format!("{:0>2}", p)
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// "2020", "2020-05", "2020-05-03", and intervals of those joined by `/`, as date-parts.
fn parse_date_text(s: &str) -> Option<Vec<Vec<i64>>> {
    let ranges: Vec<&str> = s.split('/').collect();
    if s.is_empty() || ranges.len() > 2 {
        return None;
    }
    ranges
        .iter()
        .map(|r| {
            // A time of day says nothing more about the date; EDTF's uncertainty marks
            // (?, ~, %) are dropped.
            let r = r
                .split_once('T')
                .map_or(*r, |(d, _)| d)
                .trim_end_matches(['?', '~', '%']);
            // A leading minus is a year before 1 (BC dates).
            let (negative, r) = match r.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, r),
            };
            let parts: Vec<&str> = r.split('-').collect();
            if parts.len() > 3
                || parts[0].is_empty()
                || parts[0].len() > 4
                || parts.iter().skip(1).any(|p| p.len() != 2)
            {
                return None;
            }
            let mut numbers: Vec<i64> = parts
                .iter()
                .map(|p| p.parse::<i64>().ok())
                .collect::<Option<_>>()?;
            if negative {
                numbers[0] = -numbers[0];
            }
            Some(numbers)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Export

fn date_value(year: &str, date: &str) -> Option<Value> {
    if let Some(parts) = parse_date_text(date) {
        return Some(serde_json::json!({ "date-parts": parts }));
    }
    if !date.is_empty() {
        return Some(serde_json::json!({ "raw": date }));
    }
    match year.parse::<i64>() {
        Ok(y) if year.len() == 4 => Some(serde_json::json!({ "date-parts": [[y]] })),
        _ if !year.is_empty() => Some(serde_json::json!({ "literal": year })),
        _ => None,
    }
}

fn name_value(name: &Name) -> Value {
    let mut m = Map::new();
    match name {
        Name::Literal(n) => {
            m.insert("literal".into(), n.clone().into());
        }
        Name::Person {
            family,
            given,
            particle,
            suffix,
        } => {
            for (k, v) in [
                ("family", family),
                ("given", given),
                ("non-dropping-particle", particle),
                ("suffix", suffix),
            ] {
                if !v.is_empty() {
                    m.insert(k.into(), v.clone().into());
                }
            }
        }
    }
    Value::Object(m)
}

/// One reference as a CSL-JSON item.
pub fn to_item(r: &Reference) -> Value {
    let mut m = Map::new();
    let key = r.get(Field::CitationKey);
    let id = if key.is_empty() {
        r.key.to_string()
    } else {
        key.to_string()
    };
    m.insert("id".into(), id.into());
    m.insert("type".into(), r.ref_type.csl_type().into());
    // Each field under the first key the table gives it.
    let mut written = Vec::new();
    for &(csl, field) in TEXT_KEYS {
        let v = r.get(field);
        if !v.is_empty() && !written.contains(&field) {
            written.push(field);
            m.insert(csl.into(), v.into());
        }
    }
    for &(csl, role) in NAME_KEYS {
        let names: Vec<Value> = r.creators_with(role).map(|c| name_value(&c.name)).collect();
        if !names.is_empty() {
            m.insert(csl.into(), Value::Array(names));
        }
    }
    if let Some(d) = date_value(r.year(), r.get(Field::Date)) {
        m.insert("issued".into(), d);
    }
    if let Some(d) = date_value("", r.get(Field::AccessDate)) {
        m.insert("accessed".into(), d);
    }
    if !r.keywords.is_empty() {
        m.insert("keyword".into(), r.keywords.join(", ").into());
    }
    // A book section's section is its chapter; a book's number is its number in the series.
    if matches!(
        r.ref_type,
        RefType::BookSection | RefType::ElectronicBookSection
    ) {
        if let Some(v) = m.remove("section") {
            m.insert("chapter-number".into(), v);
        }
    }
    if matches!(
        r.ref_type,
        RefType::Book | RefType::EditedBook | RefType::ElectronicBook
    ) && !r.get(Field::TertiaryTitle).is_empty()
    {
        if let Some(v) = m.remove("number") {
            m.insert("collection-number".into(), v);
        }
    }
    from_bibtex_extras(r, &mut m);
    let mut custom = Map::new();
    for (name, value) in r.extras_in_order() {
        let (key, v) = if let Some(k) = name.strip_prefix(NS_STR) {
            (k, Value::String(value.to_string()))
        } else if let Some(k) = name.strip_prefix(NS_JSON) {
            (
                k,
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string())),
            )
        } else {
            continue;
        };
        if key == "id" {
            m.insert(
                "citation-key".into(),
                m.get("id").cloned().unwrap_or(Value::Null),
            );
        }
        // Only text goes back to the top level (what the schema allows there); anything else
        // is kept under `custom`, which takes any JSON.
        let text_key = SCHEMA_KEYS.contains(&key)
            && !matches!(key, "custom" | "type")
            && !NAME_KEYS.iter().any(|(k, _)| *k == key)
            && !matches!(
                key,
                "accessed"
                    | "available-date"
                    | "event-date"
                    | "issued"
                    | "original-date"
                    | "submitted"
            );
        if text_key && v.is_string() {
            m.insert(key.into(), v);
        } else {
            custom.insert(key.into(), v);
        }
    }
    if !custom.is_empty() {
        m.insert("custom".into(), Value::Object(custom));
    }
    Value::Object(m)
}

/// BibLaTeX fields kept as extras that CSL has a variable for.
fn from_bibtex_extras(r: &Reference, m: &mut Map<String, Value>) {
    for (name, value) in r.extras_in_order() {
        let Some(field) = name.strip_prefix("bibtex:") else {
            continue;
        };
        let (key, v) = match field {
            "version" => ("version", Value::String(value.to_string())),
            "eventtitle" => ("event-title", Value::String(value.to_string())),
            "venue" => ("event-place", Value::String(value.to_string())),
            "pubstate" => (
                "status",
                Value::String(if value == "inpress" {
                    "in press".into()
                } else {
                    value.to_string()
                }),
            ),
            "eventdate" | "origdate" => {
                let key = if field == "eventdate" {
                    "event-date"
                } else {
                    "original-date"
                };
                match date_value(year_in(value).unwrap_or(""), value) {
                    Some(d) => (key, d),
                    None => continue,
                }
            }
            "pagetotal" => ("number-of-pages", Value::String(value.to_string())),
            _ => continue,
        };
        m.entry(key).or_insert(v);
    }
}

pub fn export(references: &[Reference]) -> String {
    let items: Vec<Value> = references.iter().map(to_item).collect();
    serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn run(text: &str) -> Import {
        crate::formats::import_text(crate::formats::Format::CslJson, text)
    }

    #[test]
    fn reads_names_dates_and_keeps_unknown_keys() {
        let got = run(
            r#"[{"id":"a","type":"article-journal","title":"T","author":[{"family":"Gogh","given":"Vincent","non-dropping-particle":"van"},{"literal":"WHO"}],"issued":{"date-parts":[[2020,5,3]]},"volume":5,"event":"Conf","dimensions":"2 pages","custom":{"x":1}}]"#,
        );
        let r = &got.references[0];
        assert_eq!(r.ref_type, RefType::JournalArticle);
        assert_eq!(r.creators[0].name.to_string(), "van Gogh, Vincent");
        assert_eq!((r.year(), r.get(Field::Date)), ("2020", "2020-05-03"));
        assert_eq!(r.get(Field::Volume), "5");
        assert_eq!(r.extra.get("csl:event").map(String::as_str), Some("Conf"));
        assert_eq!(r.extra.get("csl.json:x").map(String::as_str), Some("1"));
        let again = run(&export(&got.references));
        let strip = |r: &Reference| Reference {
            key: Key::default(),
            ..r.clone()
        };
        assert_eq!(strip(&again.references[0]), strip(r));
    }

    #[test]
    fn a_broken_item_does_not_lose_the_others() {
        let got = run(
            "[{\"type\":\"book\",\"title\":\"One\"},\n{\"title\": oops},\n{\"title\":\"Three\"}]",
        );
        let titles: Vec<&str> = got.references.iter().map(Reference::title).collect();
        assert_eq!(titles, vec!["One", "Three"]);
        assert_eq!(got.report.skipped.len(), 1);
    }

    #[test]
    fn items_keyed_by_doi_are_read() {
        let got = run(
            r#"{"10.1/x":[{"type":"article-journal","title":"A"}],"10.1/y":[{"type":"book","title":"B"}]}"#,
        );
        assert_eq!(got.references.len(), 2);
    }
}
