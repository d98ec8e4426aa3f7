//! RIS (`TY  - JOUR` ... `ER  - `), as written by EndNote, Zotero, PubMed, Scopus, Web of
//! Science, EBSCO, Ovid and friends.
//!
//! Reading is tolerant: tags with one space before the dash, a record with no `ER` (the next
//! `TY` ends it), lines that are not tags continue the tag before them, a repeated tag never
//! overwrites the first value (the second is kept under its tag name), and a whole author
//! list crammed into one `AU` line is split. Unknown tags are kept under their own names and
//! written back on export.

use super::text::{isbn_or_issn, one_line, put_first_free, put_or_append, year_in};
use super::{Import, ImportContext};
use crate::{parse_name, Creator, CreatorRole, Field, Name, RefType, Reference};
use std::fmt::Write as _;

/// Unknown RIS tags are kept as `ris:<tag>`.
const NS: &str = "ris:";

/// The RefType a `TY` code names. Unknown codes are `None`.
pub fn type_from_ris(code: &str) -> Option<RefType> {
    let code = code.trim().to_ascii_uppercase();
    if let Some(t) = RefType::ALL.iter().copied().find(|t| t.ris_type() == code) {
        return Some(t);
    }
    Some(match code.as_str() {
        "ABST" | "INPR" | "JFULL" => RefType::JournalArticle,
        "WEB" | "ICOMM" => RefType::WebPage,
        "UNBILL" => RefType::Bill,
        "SLIDE" | "VIDEO" | "MULTI" => RefType::AudiovisualMaterial,
        "SOUND" => RefType::Music,
        "CHART" => RefType::ChartOrTable,
        "DBASE" | "AGGR" => RefType::Dataset,
        "LEGAL" => RefType::Statute,
        "CLSWK" | "ANCIENT" => RefType::Book,
        "EDITED" => RefType::EditedBook,
        _ => return None,
    })
}

/// Where a tag's value goes: creators, keywords, the first free of some fields, or special.
enum Target {
    Creator(CreatorRole),
    Keyword,
    Fields(&'static [Field]),
    Year,
    StartPage,
    EndPage,
    IsbnIssn,
    BookTitle,
    Extra,
}

fn target(tag: &str) -> Target {
    use Field as F;
    use Target::*;
    match tag {
        "AU" | "A1" => Creator(CreatorRole::Author),
        "A2" | "ED" => Creator(CreatorRole::Editor),
        "A3" => Creator(CreatorRole::SeriesEditor),
        "A4" => Creator(CreatorRole::Translator),
        "KW" => Keyword,
        "TI" | "T1" | "CT" => Fields(&[F::Title]),
        "BT" => BookTitle,
        "T2" => Fields(&[F::SecondaryTitle]),
        "JF" | "JO" => Fields(&[F::SecondaryTitle, F::AlternateTitle]),
        "JA" | "J2" | "J1" => Fields(&[F::AlternateTitle]),
        "T3" => Fields(&[F::TertiaryTitle]),
        "ST" => Fields(&[F::ShortTitle]),
        "TT" => Fields(&[F::TranslatedTitle]),
        "OP" => Fields(&[F::OriginalTitle]),
        "RP" => Fields(&[F::ReprintEdition]),
        "PY" | "Y1" => Year,
        "DA" => Fields(&[F::Date]),
        "Y2" => Fields(&[F::AccessDate]),
        "VL" | "VO" => Fields(&[F::Volume]),
        "IS" | "CP" => Fields(&[F::Issue]),
        "M1" => Fields(&[F::Number]),
        "NV" => Fields(&[F::NumberOfVolumes]),
        "SP" => StartPage,
        "EP" => EndPage,
        "ET" => Fields(&[F::Edition]),
        "SE" => Fields(&[F::Section]),
        "PB" => Fields(&[F::Publisher]),
        "CY" | "PP" => Fields(&[F::Place]),
        "M3" => Fields(&[F::TypeOfWork]),
        "SN" => IsbnIssn,
        "DO" => Fields(&[F::Doi]),
        "PMID" => Fields(&[F::Pmid]),
        "UR" => Fields(&[F::Url]),
        "AB" | "N2" => Fields(&[F::Abstract]),
        "RN" => Fields(&[F::ResearchNotes]),
        "LB" => Fields(&[F::Label]),
        "LA" => Fields(&[F::Language]),
        "AN" => Fields(&[F::AccessionNumber]),
        "CN" => Fields(&[F::CallNumber]),
        "DB" => Fields(&[F::DatabaseName]),
        "DP" => Fields(&[F::DatabaseProvider]),
        "CA" => Fields(&[F::Caption]),
        "ID" => Fields(&[F::CitationKey]),
        "C1" => Fields(&[F::Custom1]),
        "C2" => Fields(&[F::Custom2]),
        "C3" => Fields(&[F::Custom3]),
        "C4" => Fields(&[F::Custom4]),
        "C5" => Fields(&[F::Custom5]),
        "C6" => Fields(&[F::Custom6]),
        "C7" => Fields(&[F::Custom7]),
        "C8" => Fields(&[F::Custom8]),
        _ => Extra,
    }
}

/// Tags whose values are appended rather than overflowing (several notes, several addresses).
fn appends(tag: &str) -> Option<Field> {
    match tag {
        "N1" => Some(Field::Notes),
        "AD" => Some(Field::AuthorAddress),
        _ => None,
    }
}

/// `XX  - value` (also one space, or nothing after the dash). Tags are two to four
/// characters: letters and digits, starting with a letter.
fn split_tag(line: &str) -> Option<(&str, &str)> {
    let tag_len = line
        .bytes()
        .take(5)
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .count();
    if !(2..=4).contains(&tag_len) || !line.as_bytes()[0].is_ascii_uppercase() {
        return None;
    }
    let rest = &line[tag_len..];
    let spaces = rest.bytes().take_while(|&b| b == b' ').count();
    if !(1..=3).contains(&spaces) || tag_len + spaces > 6 {
        return None;
    }
    let rest = rest[spaces..].strip_prefix('-')?;
    let value = match rest.strip_prefix(' ') {
        Some(v) => v,
        None if rest.trim().is_empty() => "",
        None => return None,
    };
    Some((&line[..tag_len], value))
}

/// One record's tags and values, as read (continuation lines already joined).
struct RawRecord {
    line: usize,
    tags: Vec<(String, String)>,
}

pub fn import(file: &str, text: &str, ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    let mut current: Option<RawRecord> = None;
    let mut stray_lines = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        match split_tag(line) {
            // A TY right after a TY (nothing between) changes the type of the same record:
            // some files list several types for one record.
            Some(("TY", value)) if current.as_ref().is_some_and(|r| r.tags.len() == 1) => {
                if let Some(open) = current.as_mut() {
                    out.report.warn(
                        file,
                        line_no,
                        "several TY lines in one record; the last one is used",
                    );
                    open.tags[0].1 = value.trim().to_string();
                }
            }
            Some(("TY", value)) => {
                if let Some(open) = current.take() {
                    out.report.warn(
                        file,
                        open.line,
                        "record has no ER line; the next TY ends it",
                    );
                    finish(file, open, ctx, &mut out);
                }
                current = Some(RawRecord {
                    line: line_no,
                    tags: vec![("TY".into(), value.trim().to_string())],
                });
            }
            Some(("ER", _)) => match current.take() {
                Some(open) => finish(file, open, ctx, &mut out),
                None => out
                    .report
                    .warn(file, line_no, "ER line outside a record ignored"),
            },
            Some((tag, value)) => match current.as_mut() {
                Some(open) => open.tags.push((tag.to_string(), value.to_string())),
                None => stray_lines += 1,
            },
            None => match current.as_mut().and_then(|r| r.tags.last_mut()) {
                // A line that is not a tag continues the value before it.
                Some((_, value)) if !line.trim().is_empty() => {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                Some(_) => {}
                None if !line.trim().is_empty() => stray_lines += 1,
                None => {}
            },
        }
    }
    if let Some(open) = current.take() {
        out.report
            .warn(file, open.line, "the last record has no ER line");
        finish(file, open, ctx, &mut out);
    }
    if stray_lines > 0 {
        out.report.warn(
            file,
            0,
            format!(
                "{stray_lines} line(s) outside any record (before TY or after ER) were ignored"
            ),
        );
    }
    out
}

fn finish(file: &str, raw: RawRecord, ctx: &mut ImportContext<'_>, out: &mut Import) {
    let mut r = ctx.new_reference();
    let code = raw.tags.first().map(|(_, v)| v.as_str()).unwrap_or("");
    r.ref_type = match type_from_ris(code) {
        Some(t) => t,
        None => {
            out.report.warn(
                file,
                raw.line,
                format!("unknown RIS type {code:?} read as Generic"),
            );
            RefType::Generic
        }
    };
    for (tag, value) in raw.tags.iter().skip(1) {
        apply(&mut r, tag, value, file, raw.line, out);
    }
    if r.fields.is_empty() && r.creators.is_empty() && r.keywords.is_empty() && r.extra.is_empty() {
        out.report.skip(file, raw.line, "record has no fields");
        return;
    }
    out.push(r);
}

fn apply(r: &mut Reference, tag: &str, value: &str, file: &str, line: usize, out: &mut Import) {
    if let Some(field) = appends(tag) {
        put_or_append(r, field, value);
        return;
    }
    let stored = match target(tag) {
        Target::Creator(role) => {
            add_creators(r, role, value, file, line, out);
            true
        }
        Target::Keyword => {
            r.keywords
                .extend(value.lines().map(one_line).filter(|k| !k.is_empty()));
            true
        }
        Target::Fields(fields) => put_first_free(r, fields, value),
        Target::BookTitle => {
            let book_like = matches!(
                r.ref_type,
                RefType::Book | RefType::EditedBook | RefType::ElectronicBook
            );
            let field = if book_like {
                Field::Title
            } else {
                Field::SecondaryTitle
            };
            put_first_free(r, &[field], value)
        }
        Target::Year => {
            let value = one_line(value);
            let year = year_in(&value)
                .unwrap_or(value.trim_matches('/'))
                .to_string();
            if r.year().is_empty() {
                r.set(Field::Year, year.clone());
            }
            // "2014/05/03/" says more than the year: keep the rest as the date.
            let trimmed = value.trim_matches('/');
            if trimmed != year && !trimmed.is_empty() {
                put_first_free(r, &[Field::Date], trimmed);
            }
            true
        }
        Target::StartPage => put_first_free(r, &[Field::Pages], value),
        Target::EndPage => {
            let end = one_line(value);
            let pages = r.get(Field::Pages).to_string();
            if end.is_empty() {
                true
            } else if !pages.is_empty() && !pages.contains('-') {
                r.set(Field::Pages, format!("{pages}-{end}"));
                true
            } else if pages.is_empty() {
                r.set(Field::Pages, end);
                true
            } else {
                false
            }
        }
        Target::IsbnIssn => put_first_free(r, &[isbn_or_issn(value)], value),
        Target::Extra => false,
    };
    if !stored {
        r.add_extra(&format!("{NS}{tag}"), &super::text::multi_line(value));
    }
}

fn add_creators(
    r: &mut Reference,
    role: CreatorRole,
    value: &str,
    file: &str,
    line: usize,
    out: &mut Import,
) {
    let value = one_line(value);
    if value.is_empty() {
        return;
    }
    let names = split_run_on_authors(&value);
    if names.len() > 2 {
        out.report.warn(
            file,
            line,
            format!(
                "one author line held {} names; they were split",
                names.len()
            ),
        );
        r.creators
            .extend(names.into_iter().map(|name| Creator { role, name }));
    } else {
        r.creators.push(Creator {
            role,
            name: parse_name(&value),
        });
    }
}

/// "Wagner, Lamb B. T. Call L. M. Slunt H. H." (a whole list in one `AU` line, as some
/// exports write it) becomes one name per "Family Initials." run. A normal single name
/// yields one or no runs and is left to [`parse_name`].
fn split_run_on_authors(value: &str) -> Vec<Name> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let is_initials = |w: &str| {
        let w = w.trim_end_matches(',');
        !w.is_empty() && w.split_inclusive('.').all(|p| {
            let mut cs = p.chars();
            matches!((cs.next(), cs.next(), cs.next()), (Some(c), Some('.'), None) | (Some(c), None, None) if c.is_uppercase())
        })
    };
    let mut names = Vec::new();
    // A family name with no initials after it: one word is a person; several words (which
    // RIS could not write back as a person) are kept whole.
    let family_only = |family: &[&str]| {
        let text = family.join(" ");
        let text = text.trim_end_matches(',');
        if family.len() > 1 {
            Name::Literal(text.to_string())
        } else {
            Name::person(text, "")
        }
    };
    let mut family: Vec<&str> = Vec::new();
    let mut given: Vec<&str> = Vec::new();
    for w in words {
        if is_initials(w) && !family.is_empty() && !family.last().is_some_and(|f| f.ends_with(','))
        {
            given.push(w);
        } else {
            // "Wagner, Lamb B. T.": a family name ending in a comma with no initials after it
            // is a name of its own.
            if given.is_empty() && family.last().is_some_and(|f| f.ends_with(',')) {
                names.push(family_only(&family));
                family.clear();
            }
            if !given.is_empty() {
                names.push(Name::person(
                    family.join(" ").trim_end_matches(','),
                    given.join(" ").trim_end_matches(','),
                ));
                family.clear();
                given.clear();
            }
            family.push(w);
        }
    }
    if !family.is_empty() {
        if given.is_empty() {
            names.push(family_only(&family));
        } else {
            names.push(Name::person(
                family.join(" ").trim_end_matches(','),
                given.join(" ").trim_end_matches(','),
            ));
        }
    }
    names
}

// ---------------------------------------------------------------------------------------
// Export

fn ris_tag(field: Field) -> Option<&'static str> {
    use Field as F;
    Some(match field {
        F::Title => "TI",
        F::SecondaryTitle => "T2",
        F::TertiaryTitle => "T3",
        F::ShortTitle => "ST",
        F::AlternateTitle => "J2",
        F::TranslatedTitle => "TT",
        F::OriginalTitle => "OP",
        F::ReprintEdition => "RP",
        F::Year => "PY",
        F::Date => "DA",
        F::AccessDate => "Y2",
        F::Volume => "VL",
        F::Issue => "IS",
        F::Number => "M1",
        F::NumberOfVolumes => "NV",
        F::Edition => "ET",
        F::Section => "SE",
        F::Publisher => "PB",
        F::Place => "CY",
        F::TypeOfWork => "M3",
        F::Isbn | F::Issn => "SN",
        F::Doi => "DO",
        F::Pmid => "PMID",
        F::Url => "UR",
        F::Abstract => "AB",
        F::Notes => "N1",
        F::ResearchNotes => "RN",
        F::Label => "LB",
        F::Language => "LA",
        F::AccessionNumber => "AN",
        F::CallNumber => "CN",
        F::DatabaseName => "DB",
        F::DatabaseProvider => "DP",
        F::AuthorAddress => "AD",
        F::Caption => "CA",
        F::CitationKey => "ID",
        F::Custom1 => "C1",
        F::Custom2 => "C2",
        F::Custom3 => "C3",
        F::Custom4 => "C4",
        F::Custom5 => "C5",
        F::Custom6 => "C6",
        F::Custom7 => "C7",
        F::Custom8 => "C8",
        F::Pages | F::Pmcid | F::ReviewedItem => return None,
    })
}

fn creator_tag(role: CreatorRole) -> &'static str {
    match role {
        CreatorRole::Author => "AU",
        CreatorRole::Editor | CreatorRole::BookAuthor => "A2",
        CreatorRole::SeriesEditor => "A3",
        CreatorRole::Translator | CreatorRole::Contributor => "A4",
    }
}

/// The name as RIS writers put it: "Family, Given, Suffix"; a corporate name ends in a
/// comma so that it is read back whole.
pub(crate) fn name_text(name: &Name) -> String {
    match name {
        Name::Literal(n) => format!("{n},"),
        person => person.to_string(),
    }
}

fn write_tag(out: &mut String, tag: &str, value: &str) {
    let mut lines = value.lines();
    let first = lines.next().unwrap_or("");
    let pad = if tag.len() >= 4 {
        " "
    } else {
        &"  "[..4 - tag.len().min(2)]
    };
    let _ = writeln!(out, "{tag}{pad}- {first}");
    for line in lines {
        // Indented, so that a line that looks like a tag is still read as a continuation.
        let _ = writeln!(out, "  {line}");
    }
}

pub fn export(references: &[Reference]) -> String {
    let mut out = String::new();
    for r in references {
        write_tag(&mut out, "TY", r.ref_type.ris_type());
        for c in &r.creators {
            write_tag(&mut out, creator_tag(c.role), &name_text(&c.name));
        }
        for &field in Field::ALL {
            let value = r.get(field);
            if value.is_empty() {
                continue;
            }
            if field == Field::Pages {
                match value.split_once('-') {
                    Some((sp, ep)) if !sp.is_empty() && !ep.is_empty() => {
                        write_tag(&mut out, "SP", sp);
                        write_tag(&mut out, "EP", ep);
                    }
                    _ => write_tag(&mut out, "SP", value),
                }
            } else if let Some(tag) = ris_tag(field) {
                write_tag(&mut out, tag, value);
            }
        }
        for k in &r.keywords {
            write_tag(&mut out, "KW", k);
        }
        for (name, value) in r.extras_in_order() {
            let Some(name) = name.strip_prefix(NS) else {
                continue;
            };
            let valid = split_tag(&format!("{name}  - x")).is_some_and(|(t, _)| t == name);
            if valid && name != "TY" && name != "ER" {
                write_tag(&mut out, name, value);
            }
        }
        out.push_str("ER  - \n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn run(text: &str) -> Import {
        crate::formats::import_text(crate::formats::Format::Ris, text)
    }

    #[test]
    fn reads_a_record_with_continued_and_repeated_tags() {
        let got = run("TY  - JOUR\nTI  - A title\n  continued\nAU  - Smith, J.\nAU  - World Health Organization,\nKW  - one\ntwo\nSP  - 10\nEP  - 20\nUR  - http://a\nUR  - http://b\nN1  - first\nN1  - second\nER  - \n");
        assert_eq!(got.references.len(), 1);
        let r = &got.references[0];
        assert_eq!(r.ref_type, RefType::JournalArticle);
        assert_eq!(r.title(), "A title continued");
        assert_eq!(
            r.creators[1].name,
            Name::Literal("World Health Organization".into())
        );
        assert_eq!(r.keywords, vec!["one", "two"]);
        assert_eq!(r.get(Field::Pages), "10-20");
        assert_eq!(r.get(Field::Url), "http://a");
        assert_eq!(r.extra.get("ris:UR").map(String::as_str), Some("http://b"));
        assert_eq!(r.get(Field::Notes), "first\nsecond");
    }

    #[test]
    fn a_missing_er_is_survived_and_reported() {
        let got = run("TY  - JOUR\nTI  - One\nTY  - BOOK\nTI  - Two\n");
        assert_eq!(got.references.len(), 2);
        assert_eq!(got.report.warnings.len(), 2);
    }

    #[test]
    fn one_space_tags_and_unknown_tags_are_read() {
        let got = run("TY - JOUR\nKW - solo\nZZ  - kept\nER  -\n");
        let r = &got.references[0];
        assert_eq!(r.keywords, vec!["solo"]);
        assert_eq!(r.extra.get("ris:ZZ").map(String::as_str), Some("kept"));
        assert!(export(&got.references).contains("ZZ  - kept"));
    }

    #[test]
    fn an_author_list_in_one_line_is_split() {
        let got = run("TY  - JOUR\nAU  - Lamb B. T. Call L. M. Slunt H. H.\nER  - \n");
        let names: Vec<String> = got.references[0]
            .creators
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, vec!["Lamb, B. T.", "Call, L. M.", "Slunt, H. H."]);
        let single = run("TY  - JOUR\nAU  - Smith, John A.\nER  - \n");
        assert_eq!(single.references[0].creators.len(), 1);
    }

    #[test]
    fn export_then_import_gives_the_same_reference() {
        let got = run("TY  - CHAP\nTI  - T\nAU  - van Gogh, Vincent\nA2  - Ed, Ann\nPY  - 2014/05/03/\nSP  - 1535-41\nAB  - line one\n  ER  - line two\nSN  - 1234-5678\nSN  - 978-3-16-148410-0\nER  - \n");
        let again = run(&export(&got.references));
        let strip = |r: &Reference| Reference {
            key: Key::default(),
            ..r.clone()
        };
        assert_eq!(strip(&again.references[0]), strip(&got.references[0]));
        assert_eq!(
            got.references[0].get(Field::Abstract),
            "line one\nER - line two"
        );
    }
}
