//! MEDLINE / PubMed `.nbib` (`PMID- 123`, `TI  - ...`, continuation lines indented by six
//! spaces). Read only: exporting to MEDLINE is not something reference managers offer.
//!
//! Records are separated by blank lines, and a second `PMID-` also starts a new record. Full
//! author names (`FAU`) are preferred to the initials form (`AU`); `CN` is a corporate author.
//! ERIC's `.nbib` has no PMID (`OWN - ERIC`) and is read the same way.

use super::text::{
    one_line, put_first_free, put_or_append, tagged_records, year_in, Line, TaggedRecord,
};
use super::{Import, ImportContext};
use crate::{parse_name, person_from_parts, Creator, CreatorRole, Field, Name, RefType, Reference};

/// `TAG - value`, the tag two to four upper-case letters padded with spaces.
fn split_tag(line: &str) -> Option<(&str, &str)> {
    let tag_len = line
        .bytes()
        .take(5)
        .take_while(u8::is_ascii_uppercase)
        .count();
    if !(2..=4).contains(&tag_len) {
        return None;
    }
    let rest = line[tag_len..].trim_start_matches(' ');
    let value = rest.strip_prefix('-')?;
    Some((&line[..tag_len], value.strip_prefix(' ').unwrap_or(value)))
}

/// An indented line continues the value before it; anything else must be a tag.
fn classify(line: &str) -> Line<'_> {
    if line.starts_with([' ', '\t']) {
        Line::Continuation
    } else {
        split_tag(line).map_or(Line::Invalid, |(tag, value)| Line::Tag(tag, value))
    }
}

pub fn import(file: &str, text: &str, ctx: &mut ImportContext<'_>) -> Import {
    let mut out = Import::default();
    let records = tagged_records(text, classify, "PMID", file, &mut out.report);
    for record in records {
        finish(file, record, ctx, &mut out);
    }
    out
}

fn finish(file: &str, raw: TaggedRecord<'_>, ctx: &mut ImportContext<'_>, out: &mut Import) {
    let mut r = ctx.new_reference();
    let types: Vec<String> = raw
        .tags
        .iter()
        .filter(|(t, _)| *t == "PT")
        .map(|(_, v)| one_line(v))
        .collect();
    let has = |tag: &str| raw.tags.iter().any(|(t, _)| *t == tag);
    r.ref_type = if types.iter().any(|t| t.starts_with("Book")) || has("BTI") && !has("JT") {
        if has("BTI") && has("TI") {
            RefType::BookSection
        } else {
            RefType::Book
        }
    } else {
        RefType::JournalArticle
    };
    let full_names = has("FAU") || has("FED");
    for (tag, value) in &raw.tags {
        apply(&mut r, tag, value, full_names);
    }
    if r.fields.is_empty() && r.creators.is_empty() {
        out.report.skip(file, raw.line, "record has no fields");
        return;
    }
    out.push(r);
}

fn apply(r: &mut Reference, tag: &str, value: &str, full_names: bool) {
    use Field as F;
    let stored = match tag {
        "FAU" => push_name(r, CreatorRole::Author, value, true),
        "AU" if !full_names => push_name(r, CreatorRole::Author, value, false),
        "FED" => push_name(r, CreatorRole::Editor, value, true),
        "ED" if !full_names => push_name(r, CreatorRole::Editor, value, false),
        "AU" | "ED" => true,
        "CN" => {
            let v = one_line(value);
            if !v.is_empty() {
                r.creators.push(Creator {
                    role: CreatorRole::Author,
                    name: Name::Literal(v),
                });
            }
            true
        }
        "PMID" => put_first_free(r, &[F::Pmid], value),
        "TI" => {
            let v = one_line(value);
            let title = r.title().to_string();
            if title.is_empty() {
                r.set(F::Title, v)
            } else {
                r.set(F::Title, format!("{title} {v}"))
            }
            true
        }
        "BTI" => put_first_free(r, &[F::Title, F::SecondaryTitle], value),
        "JT" => put_first_free(r, &[F::SecondaryTitle], value),
        "TA" => put_first_free(r, &[F::AlternateTitle], value),
        "AB" => put_or_append(r, F::Abstract, value),
        "AD" => put_or_append(r, F::AuthorAddress, value),
        "VI" => put_first_free(r, &[F::Volume], value),
        "IP" => put_first_free(r, &[F::Issue], value),
        "PG" => put_first_free(r, &[F::Pages], value),
        "DP" => {
            let v = one_line(value);
            let year = year_in(&v).unwrap_or(&v).to_string();
            put_first_free(r, &[F::Year], &year);
            if v != year {
                put_first_free(r, &[F::Date], &v);
            }
            true
        }
        "LA" => put_first_free(r, &[F::Language], value),
        "PL" => put_first_free(r, &[F::Place], value),
        "PB" => put_first_free(r, &[F::Publisher], value),
        "ISBN" => put_first_free(r, &[F::Isbn], value),
        "IS" | "ISSN" => {
            let v = one_line(value);
            let issn = v
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_start_matches("ISSN-");
            // The same ISSN is listed once per medium; only a different one is kept apart.
            r.get(F::Issn) == issn || put_first_free(r, &[F::Issn], issn)
        }
        "PMC" => put_first_free(r, &[F::Pmcid], value),
        "AID" | "LID" => {
            let v = one_line(value);
            if let Some(doi) = v.strip_suffix("[doi]") {
                put_first_free(r, &[F::Doi], doi.trim()) || r.get(F::Doi) == doi.trim()
            } else if let Some(doi) = v.split_once("doi.org/").map(|(_, d)| d) {
                put_first_free(r, &[F::Doi], doi) || r.get(F::Doi) == doi
            } else {
                false
            }
        }
        "MH" | "OT" => {
            let v = one_line(value);
            if !v.is_empty() {
                r.keywords.push(v);
            }
            true
        }
        "PT" => put_first_free(r, &[F::TypeOfWork], value),
        _ => false,
    };
    if !stored {
        r.add_extra(&format!("medline:{tag}"), &super::text::multi_line(value));
    }
}

/// `FAU - Long, Vicky` (full) or `AU  - Long V` (family and initials, no comma).
fn push_name(r: &mut Reference, role: CreatorRole, value: &str, full: bool) -> bool {
    let v = one_line(value);
    if v.is_empty() {
        return true;
    }
    let name = if full || v.contains(',') {
        parse_name(&v)
    } else {
        match v.rsplit_once(' ') {
            Some((family, initials)) if initials.chars().all(char::is_uppercase) => {
                person_from_parts(family, initials, "")
            }
            _ => Name::person(v, ""),
        }
    };
    r.creators.push(Creator { role, name });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Import {
        crate::formats::import_text(crate::formats::Format::Medline, text)
    }

    #[test]
    fn reads_a_pubmed_record() {
        let got = run("PMID- 29657938\nIS  - 2277-9175 (Print)\nIS  - 2277-9175 (Electronic)\nDP  - 2018 Mar 5\nTI  - Formulation of Herbal Gel of\n      Antirrhinum majus Extract.\nLID - 10.4103/abr.abr_99_17 [doi]\nFAU - Long, Vicky\nAU  - Long V\nCN  - WHO Study Group\nMH  - Humans\n");
        let r = &got.references[0];
        assert_eq!(r.get(Field::Pmid), "29657938");
        assert_eq!(
            r.title(),
            "Formulation of Herbal Gel of Antirrhinum majus Extract."
        );
        assert_eq!(r.get(Field::Doi), "10.4103/abr.abr_99_17");
        assert_eq!(r.get(Field::Issn), "2277-9175");
        assert_eq!((r.year(), r.get(Field::Date)), ("2018", "2018 Mar 5"));
        assert_eq!(r.creators.len(), 2);
        assert_eq!(r.creators[1].name, Name::Literal("WHO Study Group".into()));
        assert!(
            !r.extra.contains_key("medline:IS"),
            "the repeated ISSN is not kept twice"
        );
    }

    #[test]
    fn records_without_blank_lines_and_bad_lines_are_handled() {
        let got = run("PMID- 1\nSO  invalid line\nTI  - One\nPMID- 2\nTI  -Two\n");
        let titles: Vec<&str> = got.references.iter().map(Reference::title).collect();
        assert_eq!(titles, vec!["One", "Two"]);
        assert_eq!(got.report.warnings.len(), 1);
    }

    #[test]
    fn initials_only_names_are_split() {
        let got = run("PMID- 1\nAU  - van der Berg JA\n");
        assert_eq!(
            got.references[0].creators[0].name.to_string(),
            "van der Berg, JA"
        );
    }
}
