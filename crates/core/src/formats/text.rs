//! Small text helpers the importers share.

use crate::{Field, Reference};

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
