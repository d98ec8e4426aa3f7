//! Small text helpers the importers share.

use super::Report;
use crate::{Field, Reference};

/// How a tagged format reads one line.
pub enum Line<'a> {
    /// A tag and the value after it.
    Tag(&'a str, &'a str),
    /// More of the value before it.
    Continuation,
    /// Neither: reported and skipped.
    Invalid,
}

/// One record of a tagged format: the line it starts on and its tags in order, each value with
/// its continuation lines joined by line breaks.
pub struct TaggedRecord<'a> {
    pub line: usize,
    pub tags: Vec<(&'a str, String)>,
}

/// The records of a tagged format (.enw, MEDLINE): a blank line ends a record, and so does a
/// second `starter` tag in one record (files that run records together). `classify` says what
/// each non-blank line is; what cannot be used is reported as a warning about `file`.
pub fn tagged_records<'a>(
    text: &'a str,
    classify: impl Fn(&'a str) -> Line<'a>,
    starter: &str,
    file: &str,
    report: &mut Report,
) -> Vec<TaggedRecord<'a>> {
    let mut records = Vec::new();
    let mut current: Option<TaggedRecord<'a>> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            records.extend(current.take());
            continue;
        }
        match classify(line) {
            Line::Tag(tag, value) => {
                if tag == starter
                    && current
                        .as_ref()
                        .is_some_and(|r| r.tags.iter().any(|(t, _)| *t == starter))
                {
                    records.extend(current.take());
                }
                let record = current.get_or_insert_with(|| TaggedRecord {
                    line: i + 1,
                    tags: Vec::new(),
                });
                record.tags.push((tag, value.to_string()));
            }
            Line::Continuation => match current.as_mut().and_then(|r| r.tags.last_mut()) {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                None => report.warn(file, i + 1, "a line outside any record was ignored"),
            },
            Line::Invalid => {
                let shown: String = line.chars().take(60).collect();
                report.warn(
                    file,
                    i + 1,
                    format!("a line that is not a tag was ignored: {shown:?}"),
                );
            }
        }
    }
    records.extend(current);
    records
}

/// One line of text: runs of whitespace (line breaks included) become one space.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Multi-line text: spaces within each line collapsed, at most one blank line in a row,
/// blank lines at either end dropped.
pub fn multi_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for line in s.lines().map(one_line) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(&line);
    }
    out
}

/// The value as `field` keeps it (one line, or lines for abstracts and notes).
pub fn clean(field: Field, value: &str) -> String {
    if field.is_multiline() {
        multi_line(value)
    } else {
        one_line(value)
    }
}

/// Put `value` into the first of `candidates` that is still empty. Returns false when all
/// were taken (the caller then keeps the value elsewhere) or the value is blank, so that a
/// repeated tag never overwrites what came first.
pub fn put_first_free(r: &mut Reference, candidates: &[Field], value: &str) -> bool {
    for &field in candidates {
        let value = clean(field, value);
        if value.is_empty() {
            return true;
        }
        if r.get(field).is_empty() {
            r.set(field, value);
            return true;
        }
    }
    false
}

/// Like [`put_first_free`] for one field, but a multi-line field that is taken gets the
/// value appended on a new line (notes spread over several tags).
pub fn put_or_append(r: &mut Reference, field: Field, value: &str) -> bool {
    let value = clean(field, value);
    if value.is_empty() {
        return true;
    }
    let current = r.get(field);
    if current.is_empty() {
        r.set(field, value);
        true
    } else if field.is_multiline() {
        let joined = format!("{current}\n{value}");
        r.set(field, joined);
        true
    } else {
        false
    }
}

/// The first four-digit year (1000 to 2999) in `s`.
pub fn year_in(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|i| {
        let w = &bytes[i..i + 4];
        let digits = w.iter().all(u8::is_ascii_digit);
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after_ok = bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit());
        (digits && before_ok && after_ok && (w[0] == b'1' || w[0] == b'2')).then(|| &s[i..i + 4])
    })
}

/// ISSNs are eight characters (`1234-567X`); anything else in an ISBN/ISSN tag is an ISBN.
pub fn isbn_or_issn(value: &str) -> Field {
    let first = value.split_whitespace().next().unwrap_or("");
    let chars: Vec<char> = first
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
        .take(14)
        .collect();
    if chars.len() == 8 {
        Field::Issn
    } else {
        Field::Isbn
    }
}

/// A BCP 47 tag for the language names BibLaTeX and people use ("english", "ngerman").
pub fn language_tag(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "english" | "american" | "usenglish" => "en-US",
        "british" | "ukenglish" => "en-GB",
        "german" | "ngerman" | "deutsch" => "de-DE",
        "austrian" | "naustrian" => "de-AT",
        "french" | "francais" | "français" => "fr-FR",
        "italian" => "it-IT",
        "spanish" => "es-ES",
        "portuguese" | "portuges" => "pt-PT",
        "brazilian" => "pt-BR",
        "dutch" => "nl-NL",
        "latin" => "la",
        "greek" => "el-GR",
        "russian" => "ru-RU",
        "polish" => "pl-PL",
        "swedish" => "sv-SE",
        "danish" => "da-DK",
        "norwegian" | "norsk" => "nb-NO",
        "finnish" => "fi-FI",
        "czech" => "cs-CZ",
        "hungarian" | "magyar" => "hu-HU",
        "japanese" => "ja-JP",
        "chinese" => "zh-CN",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_years_but_not_parts_of_longer_numbers() {
        assert_eq!(year_in("2014//"), Some("2014"));
        assert_eq!(year_in("4-8 Aug. 2020"), Some("2020"));
        assert_eq!(year_in("12345"), None);
        assert_eq!(year_in("in press"), None);
    }

    #[test]
    fn tells_issn_from_isbn() {
        assert_eq!(isbn_or_issn("0964-6906 (Print)0964-6906"), Field::Issn);
        assert_eq!(isbn_or_issn("978-3-16-148410-0"), Field::Isbn);
    }
}
