//! BibTeX name lists: `and`-separated names in "First von Last", "von Last, First" or
//! "von Last, Jr, First" form, BibLaTeX's extended `family=..., given=...` form, and whole
//! braced names (`{World Health Organization}`) as corporate authors.
//!
//! Splitting works on the raw value (braces still in place), so that braces protect "and",
//! commas and spaces; each part is converted to Unicode afterwards.

use super::latex::{escape, to_unicode};
use crate::Name;

/// Split a raw name list on ` and ` at brace depth 0 (any case, as BibTeX does).
fn split_and(raw: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let words = tokens(raw);
    for w in words {
        if depth == 0 && w.text.eq_ignore_ascii_case("and") {
            names.push(std::mem::take(&mut current));
            continue;
        }
        let mut escaped = false;
        for c in w.text.chars() {
            match (escaped, c) {
                (false, '{') => depth += 1,
                (false, '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            escaped = !escaped && c == '\\';
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&w.text);
    }
    names.push(current);
    names
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

struct Token {
    text: String,
}

/// Whitespace-separated words, where whitespace inside braces does not separate.
fn tokens(raw: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut escaped = false;
    for c in raw.chars() {
        match (escaped, c) {
            (false, '{') => depth += 1,
            (false, '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        escaped = !escaped && c == '\\';
        // A tie (~) separates words of a name like a space does.
        if (c.is_whitespace() || c == '~') && depth == 0 {
            if !current.is_empty() {
                out.push(Token {
                    text: std::mem::take(&mut current),
                });
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(Token { text: current });
    }
    out
}

/// Split on commas at depth 0.
fn split_commas(raw: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut escaped = false;
    for c in raw.chars() {
        let was_escaped = escaped;
        escaped = !escaped && c == '\\';
        match (was_escaped, c) {
            (false, '{') => depth += 1,
            (false, '}') => depth = depth.saturating_sub(1),
            (false, ',') if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

/// BibTeX's test for a von-part word: its first letter is lower case. A brace group that
/// starts with a command (`{\"u}ber`, `{\o}`) is a special character judged by its letter;
/// any other brace group makes the word count as upper case (that is how braces protect).
fn is_lower(word: &str) -> bool {
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        let after_command = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let cmd: String =
                std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphabetic())).collect();
            // BibTeX's special characters (\oe, \ss, \o, ...) have the case of their name;
            // after any other command (accents, \sltt) the next letter decides.
            let special = matches!(
                cmd.as_str(),
                "i" | "j" | "oe" | "OE" | "ae" | "AE" | "ss" | "aa" | "AA" | "o" | "O" | "l" | "L"
            );
            if special {
                cmd.starts_with(char::is_lowercase)
            } else {
                chars
                    .find(|c| c.is_alphabetic())
                    .is_some_and(char::is_lowercase)
            }
        };
        match c {
            '{' if chars.peek() == Some(&'\\') => {
                chars.next();
                return after_command(&mut chars);
            }
            '{' => return false,
            '\\' => return after_command(&mut chars),
            c if c.is_alphabetic() => return c.is_lowercase(),
            _ => {}
        }
    }
    false
}

fn text(words: &[String]) -> String {
    super::super::text::one_line(&to_unicode(&words.join(" ")))
}

/// Parse one raw name.
pub fn parse_name(raw: &str) -> Name {
    let raw = raw.trim();
    // A whole name in braces is one literal name: a corporate author.
    if raw.starts_with('{')
        && raw.ends_with('}')
        && tokens(raw).len() == 1
        && split_commas(raw).len() == 1
    {
        let inner = &raw[1..raw.len() - 1];
        if balanced(inner) {
            return Name::Literal(super::super::text::one_line(&to_unicode(inner)));
        }
    }
    let parts = split_commas(raw);
    // BibLaTeX extended name format.
    if parts.iter().any(|p| p.contains('='))
        && parts.iter().all(|p| p.contains('=') || p.is_empty())
    {
        let mut name = (String::new(), String::new(), String::new(), String::new());
        for p in &parts {
            if let Some((k, v)) = p.split_once('=') {
                let v = text(&[v.trim().to_string()]);
                match k.trim().to_ascii_lowercase().as_str() {
                    "family" => name.0 = v,
                    "given" => name.1 = v,
                    "prefix" => name.2 = v,
                    "suffix" => name.3 = v,
                    _ => {}
                }
            }
        }
        return Name::Person {
            family: name.0,
            given: name.1,
            particle: name.2,
            suffix: name.3,
        };
    }
    let words = |s: &str| tokens(s).into_iter().map(|t| t.text).collect::<Vec<_>>();
    let (first, von_last, jr) = match parts.as_slice() {
        [one] => {
            let w = words(one);
            // First von Last: Last is at least the last word; von starts at the first
            // lower-case word (not the last word).
            let n = w.len();
            let von_start = (0..n.saturating_sub(1)).find(|&i| is_lower(&w[i]));
            match von_start {
                Some(s) => (w[..s].to_vec(), w[s..].to_vec(), Vec::new()),
                None => (
                    w[..n.saturating_sub(1)].to_vec(),
                    w[n.saturating_sub(1)..].to_vec(),
                    Vec::new(),
                ),
            }
        }
        [von_last, first] => (words(first), words(von_last), Vec::new()),
        [von_last, jr, first, ..] => (words(first), words(von_last), words(jr)),
        [] => (Vec::new(), Vec::new(), Vec::new()),
    };
    // von is the longest run of lower-case words at the start of von_last, leaving Last
    // at least one word.
    let n = von_last.len();
    let von_end = (0..n.saturating_sub(1))
        .rev()
        .find(|&i| is_lower(&von_last[i]))
        .map_or(0, |i| i + 1);
    Name::Person {
        family: text(&von_last[von_end..]),
        given: text(&first),
        particle: text(&von_last[..von_end]),
        suffix: text(&jr),
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Split a raw BibLaTeX list field on `and` at brace depth 0.
pub fn split_list(raw: &str) -> Vec<String> {
    split_and(raw)
}

/// Parse a raw name list.
pub fn parse_names(raw: &str) -> Vec<Name> {
    split_and(raw)
        .iter()
        .map(|n| {
            if n == "others" {
                Name::Literal("others".into())
            } else {
                parse_name(n)
            }
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// One name as BibTeX writes it, read back the same by [`parse_name`].
pub fn format_name(name: &Name, ascii: bool) -> String {
    match name {
        Name::Literal(n) if n == "others" => "others".into(),
        Name::Literal(n) => format!("{{{}}}", escape(n, ascii)),
        Name::Person {
            family,
            given,
            particle,
            suffix,
        } => {
            let needs_braces = |s: &str, is_family: bool| {
                let words: Vec<&str> = s.split_whitespace().collect();
                s.contains(',')
                    || s.contains('~')
                    || words.iter().any(|w| w.eq_ignore_ascii_case("and"))
                    // In a family name, a lower-case word before the last would be read as a
                    // particle.
                    || is_family && words.len() > 1 && words.iter().any(|w| is_lower(w))
            };
            let part = |s: &str, is_family: bool| {
                let e = escape(s, ascii);
                if needs_braces(s, is_family) && !e.is_empty() {
                    format!("{{{e}}}")
                } else {
                    e
                }
            };
            let mut out = String::new();
            if !particle.is_empty() {
                out.push_str(&part(particle, false));
                out.push(' ');
            }
            out.push_str(&part(family, true));
            if !suffix.is_empty() {
                out.push_str(", ");
                out.push_str(&part(suffix, false));
            }
            // "Last, First" (even with an empty First) whenever a one-part name would be
            // read differently: several words, or a braced family.
            let family_words = family.split_whitespace().count();
            if !given.is_empty()
                || !suffix.is_empty()
                || family_words != 1
                || needs_braces(family, true)
                || is_lower(family) && particle.is_empty()
            {
                out.push_str(", ");
                out.push_str(&part(given, false));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(family: &str, given: &str, particle: &str, suffix: &str) -> Name {
        Name::Person {
            family: family.into(),
            given: given.into(),
            particle: particle.into(),
            suffix: suffix.into(),
        }
    }

    #[test]
    fn the_three_bibtex_forms() {
        assert_eq!(
            parse_name("Ludwig van Beethoven"),
            person("Beethoven", "Ludwig", "van", "")
        );
        assert_eq!(
            parse_name("van Beethoven, Ludwig"),
            person("Beethoven", "Ludwig", "van", "")
        );
        assert_eq!(
            parse_name("King, Jr, Martin Luther"),
            person("King", "Martin Luther", "", "Jr")
        );
        assert_eq!(
            parse_name("Jean de La Fontaine"),
            person("La Fontaine", "Jean", "de", "")
        );
        assert_eq!(parse_name("Aristotle"), person("Aristotle", "", "", ""));
        assert_eq!(
            parse_name(r#"M{\"u}ller, J{\"o}rg"#),
            person("Müller", "Jörg", "", "")
        );
    }

    #[test]
    fn braced_names_are_corporate_and_braces_protect() {
        assert_eq!(
            parse_names("{World Health Organization} and {Barnes and Noble}"),
            vec![
                Name::Literal("World Health Organization".into()),
                Name::Literal("Barnes and Noble".into()),
            ]
        );
        assert_eq!(parse_names("A. Smith AND B. Jones and others").len(), 3);
        assert_eq!(
            parse_name("{van Gogh}, Vincent"),
            person("van Gogh", "Vincent", "", "")
        );
    }

    #[test]
    fn extended_name_format() {
        assert_eq!(
            parse_name("family=Doe, given=John, prefix=van"),
            person("Doe", "John", "van", "")
        );
    }

    #[test]
    fn formatted_names_read_back_the_same() {
        for n in [
            person("Beethoven", "Ludwig", "van", ""),
            person("King", "Martin Luther", "", "Jr."),
            person("van Gogh", "Vincent", "", ""),
            person("Müller", "", "", ""),
            Name::Literal("Barnes and Noble, Inc.".into()),
            person("Smith, Jones", "A", "", ""),
            person("d'Alembert", "Jean", "", ""),
        ] {
            for ascii in [false, true] {
                assert_eq!(
                    parse_names(&format_name(&n, ascii)),
                    vec![n.clone()],
                    "{}",
                    format_name(&n, ascii)
                );
            }
        }
    }
}
