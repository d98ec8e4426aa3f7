//! EndNote tagged format (Refer-style `.enw`: `%0 Journal Article`, `%A Family, Given`, ...).
//!
//! Records are separated by blank lines; a second `%0` inside a block also starts a new record
//! (JabRef's sample files run records together), but a `%0` after other tags of a record with
//! no `%0` yet belongs to it (AIS eLibrary writes `%T` first). A record without `%0` is a
//! Journal Article when it names a journal (`%J`), otherwise Generic. Lines that do not start
//! with a tag continue the value before them.

use super::ris::name_text;
use super::text::{
    isbn_or_issn, one_line, put_first_free, put_or_append, tagged_records, Line, TaggedRecord,
};
use super::{Import, ImportContext};
use crate::{parse_name, Creator, CreatorRole, Field, RefType, Reference};
use std::fmt::Write as _;

enum Target {
    Creator(CreatorRole),
    Keyword,
    Fields(&'static [Field]),
    Append(Field),
    IsbnIssn,
    Journal,
    Extra,
}

fn target(tag: char) -> Target {
    use Field as F;
    use Target::*;
    match tag {
        'A' => Creator(CreatorRole::Author),
        'E' => Creator(CreatorRole::Editor),
        'Y' => Creator(CreatorRole::SeriesEditor),
        '?' => Creator(CreatorRole::Translator),
        'K' => Keyword,
        'T' => Fields(&[F::Title]),
        'B' => Fields(&[F::SecondaryTitle]),
        'J' => Journal,
        'S' => Fields(&[F::TertiaryTitle]),
        '!' => Fields(&[F::ShortTitle]),
        'O' => Fields(&[F::AlternateTitle]),
        'Q' => Fields(&[F::TranslatedTitle]),
        '(' => Fields(&[F::OriginalTitle]),
        ')' => Fields(&[F::ReprintEdition]),
        '*' => Fields(&[F::ReviewedItem]),
        'D' => Fields(&[F::Year]),
        '8' => Fields(&[F::Date]),
        '[' => Fields(&[F::AccessDate]),
        'V' => Fields(&[F::Volume]),
        'N' => Fields(&[F::Issue]),
        '6' => Fields(&[F::NumberOfVolumes]),
        'P' => Fields(&[F::Pages]),
        '7' => Fields(&[F::Edition]),
        '&' => Fields(&[F::Section]),
        'I' => Fields(&[F::Publisher]),
        'C' => Fields(&[F::Place]),
        '9' => Fields(&[F::TypeOfWork]),
        '@' => IsbnIssn,
        'R' => Fields(&[F::Doi]),
        'U' => Fields(&[F::Url]),
        'X' => Fields(&[F::Abstract]),
        'Z' => Append(F::Notes),
        '<' => Fields(&[F::ResearchNotes]),
        'F' => Fields(&[F::Label]),
        'G' => Fields(&[F::Language]),
        'M' => Fields(&[F::AccessionNumber]),
        'L' => Fields(&[F::CallNumber]),
        '~' => Fields(&[F::DatabaseName]),
        'W' => Fields(&[F::DatabaseProvider]),
        '+' => Append(F::AuthorAddress),
        '^' => Fields(&[F::Caption]),
        '1' => Fields(&[F::Custom1]),
        '2' => Fields(&[F::Custom2]),
        '3' => Fields(&[F::Custom3]),
        '4' => Fields(&[F::Custom4]),
        '#' => Fields(&[F::Custom5]),
        '$' => Fields(&[F::Custom6]),
        ']' => Fields(&[F::Custom7]),
        _ => Extra,
    }
}

/// `%X value`: the tag character and the value (empty when the line is just `%X`).
fn split_tag(line: &str) -> Option<(char, &str)> {
    let rest = line.strip_prefix('%')?;
    let mut chars = rest.chars();
    let tag = chars.next()?;
    if tag.is_whitespace() {
        return None;
    }
    let after = chars.as_str();
    match after.strip_prefix(' ') {
        Some(v) => Some((tag, v)),
        None if after.trim().is_empty() => Some((tag, "")),
        None => None,
    }
}

/// A tag line (the tag as text: `%` and one character), or more of the value before it.
fn classify(line: &str) -> Line<'_> {
    match split_tag(line) {
        Some((tag, value)) => Line::Tag(&line[1..1 + tag.len_utf8()], value),
        None => Line::Continuation,
    }
}

pub fn import(file: &str, text: &str, ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    let records = tagged_records(text, classify, "0", file, &mut out.report);
    for record in records {
        finish(file, record, ctx, &mut out);
    }
    out
}

fn finish(file: &str, raw: TaggedRecord<'_>, ctx: &mut ImportContext<'_>, out: &mut Import) {
    let mut r = ctx.new_reference();
    let type_name = raw
        .tags
        .iter()
        .find(|(t, _)| *t == "0")
        .map(|(_, v)| one_line(v));
    r.ref_type = match type_name.as_deref() {
        Some(name) => type_from_enw(name).unwrap_or_else(|| {
            out.report.warn(
                file,
                raw.line,
                format!("unknown type {name:?} read as Generic"),
            );
            RefType::Generic
        }),
        None if raw.tags.iter().any(|(t, _)| *t == "J") => RefType::JournalArticle,
        None => RefType::Generic,
    };
    for (tag, value) in &raw.tags {
        match tag.chars().next() {
            Some('0') | None => {}
            Some(tag) => apply(&mut r, tag, value),
        }
    }
    if r.fields.is_empty() && r.creators.is_empty() && r.keywords.is_empty() && r.extra.is_empty() {
        out.report.skip(file, raw.line, "record has no fields");
        return;
    }
    out.push(r);
}

/// EndNote's type names, plus the short forms older Refer files use.
pub fn type_from_enw(name: &str) -> Option<RefType> {
    RefType::from_label(name).or(match name.to_ascii_lowercase().as_str() {
        "journal" => Some(RefType::JournalArticle),
        "conference" => Some(RefType::ConferencePaper),
        "review" => Some(RefType::JournalArticle),
        "electronic source" => Some(RefType::WebPage),
        "generic" => Some(RefType::Generic),
        _ => None,
    })
}

fn apply(r: &mut Reference, tag: char, value: &str) {
    let stored = match target(tag) {
        Target::Creator(role) => {
            let v = one_line(value);
            if !v.is_empty() {
                r.creators.push(Creator {
                    role,
                    name: parse_name(&v),
                });
            }
            true
        }
        Target::Keyword => {
            r.keywords
                .extend(value.lines().map(one_line).filter(|k| !k.is_empty()));
            true
        }
        Target::Fields(fields) => put_first_free(r, fields, value),
        Target::Append(field) => put_or_append(r, field, value),
        Target::IsbnIssn => put_first_free(r, &[isbn_or_issn(value)], value),
        Target::Journal => {
            put_first_free(r, &[Field::SecondaryTitle, Field::AlternateTitle], value)
        }
        Target::Extra => false,
    };
    if !stored {
        r.add_extra(&format!("enw:%{tag}"), &super::text::multi_line(value));
    }
}

fn enw_tag(field: Field, t: RefType) -> Option<char> {
    use Field as F;
    Some(match field {
        F::Title => 'T',
        F::SecondaryTitle if t == RefType::JournalArticle => 'J',
        F::SecondaryTitle => 'B',
        F::TertiaryTitle => 'S',
        F::ShortTitle => '!',
        F::AlternateTitle => 'O',
        F::TranslatedTitle => 'Q',
        F::OriginalTitle => '(',
        F::ReprintEdition => ')',
        F::ReviewedItem => '*',
        F::Year => 'D',
        F::Date => '8',
        F::AccessDate => '[',
        F::Volume => 'V',
        F::Issue => 'N',
        F::NumberOfVolumes => '6',
        F::Pages => 'P',
        F::Edition => '7',
        F::Section => '&',
        F::Publisher => 'I',
        F::Place => 'C',
        F::TypeOfWork => '9',
        F::Isbn | F::Issn => '@',
        F::Doi => 'R',
        F::Url => 'U',
        F::Abstract => 'X',
        F::Notes => 'Z',
        F::ResearchNotes => '<',
        F::Label => 'F',
        F::Language => 'G',
        F::AccessionNumber => 'M',
        F::CallNumber => 'L',
        F::DatabaseName => '~',
        F::DatabaseProvider => 'W',
        F::AuthorAddress => '+',
        F::Caption => '^',
        F::Custom1 => '1',
        F::Custom2 => '2',
        F::Custom3 => '3',
        F::Custom4 => '4',
        F::Custom5 => '#',
        F::Custom6 => '$',
        F::Custom7 => ']',
        F::Number | F::Pmid | F::Pmcid | F::CitationKey | F::Custom8 => return None,
    })
}

fn write_tag(out: &mut String, tag: char, value: &str) {
    // A blank line would end the record, so blank lines inside a value are dropped.
    let mut lines = value.lines().filter(|l| !l.trim().is_empty());
    let _ = writeln!(out, "%{tag} {}", lines.next().unwrap_or(""));
    for line in lines {
        // A continued line that starts with "%" would read as a tag; a leading space (which
        // the reader trims) keeps it a continuation.
        let pad = if line.starts_with('%') { " " } else { "" };
        let _ = writeln!(out, "{pad}{line}");
    }
}

pub fn export(references: &[Reference]) -> String {
    let mut out = String::new();
    for r in references {
        write_tag(&mut out, '0', r.ref_type.label());
        for c in &r.creators {
            let tag = match c.role {
                CreatorRole::Author => 'A',
                CreatorRole::Editor | CreatorRole::BookAuthor => 'E',
                CreatorRole::SeriesEditor => 'Y',
                CreatorRole::Translator | CreatorRole::Contributor => '?',
            };
            write_tag(&mut out, tag, &name_text(&c.name));
        }
        for &field in Field::ALL {
            let value = r.get(field);
            if let Some(tag) = enw_tag(field, r.ref_type).filter(|_| !value.is_empty()) {
                write_tag(&mut out, tag, value);
            }
        }
        if !r.keywords.is_empty() {
            write_tag(&mut out, 'K', &r.keywords.join("\n"));
        }
        for (name, value) in r.extras_in_order() {
            let Some(name) = name.strip_prefix("enw:") else {
                continue;
            };
            let mut chars = name.chars();
            if let (Some('%'), Some(tag), None) = (chars.next(), chars.next(), chars.next()) {
                if tag != '0' && !tag.is_whitespace() {
                    write_tag(&mut out, tag, value);
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Import {
        crate::formats::import_text(crate::formats::Format::Enw, text)
    }

    #[test]
    fn title_before_type_stays_in_the_record_and_a_second_type_starts_a_new_one() {
        let got = run("%T First\n%0 Journal Article\n%A Guo, Wenbo\n%0 Book\n%T Second\n\n%T Third\n%J Journal\n");
        let titles: Vec<&str> = got.references.iter().map(Reference::title).collect();
        assert_eq!(titles, vec!["First", "Second", "Third"]);
        assert_eq!(got.references[0].ref_type, RefType::JournalArticle);
        assert_eq!(got.references[1].ref_type, RefType::Book);
        assert_eq!(got.references[2].ref_type, RefType::JournalArticle);
    }

    #[test]
    fn type_only_records_are_skipped_and_reported() {
        let got = run("%0 Journal\n%0 Book\n%T Kept\n");
        assert_eq!(got.references.len(), 1);
        assert_eq!(got.report.skipped.len(), 1);
        assert_eq!(got.report.read, 2);
    }

    #[test]
    fn export_then_import_gives_the_same_reference() {
        let got = run("%0 Book\n%A Preißel, René\n%A CERN,\n%K Versionsverwaltung\nGit\n%@ 978-3-86490-311-3\n%= 20151125\n%X Para one\nline two\n");
        let again = run(&export(&got.references));
        let strip = |r: &Reference| Reference {
            key: crate::Key::default(),
            ..r.clone()
        };
        assert_eq!(strip(&again.references[0]), strip(&got.references[0]));
        assert_eq!(
            got.references[0].keywords,
            vec!["Versionsverwaltung", "Git"]
        );
    }
}
