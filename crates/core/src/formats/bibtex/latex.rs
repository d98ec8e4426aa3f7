//! LaTeX in BibTeX values to Unicode text, and back.
//!
//! `to_unicode` resolves accents (`{\"o}`, `\'{e}`, `\c c`, `\v{s}`, nested ones), named
//! letters and symbols (`\ss`, `\o`, `\aa`, `\textendash`), escapes (`\&`, `\%`, `\{`), TeX
//! ligatures (`--`, `---`, ` `` `, `''`), `~`, and drops brace protection and text-formatting
//! commands (`\emph{x}` gives `x`). Math (`$...$`) and commands it does not know are kept as
//! written, so nothing is lost. `escape` writes text back so that `to_unicode(escape(s)) == s`.

use unicode_normalization::UnicodeNormalization;

fn accent_mark(c: char) -> Option<char> {
    Some(match c {
        '`' => '\u{300}',
        '\'' => '\u{301}',
        '^' => '\u{302}',
        '~' => '\u{303}',
        '=' => '\u{304}',
        'u' => '\u{306}',
        '.' => '\u{307}',
        '"' => '\u{308}',
        'r' => '\u{30A}',
        'H' => '\u{30B}',
        'v' => '\u{30C}',
        'd' => '\u{323}',
        'c' => '\u{327}',
        'k' => '\u{328}',
        'b' => '\u{331}',
        't' => '\u{361}',
        _ => return None,
    })
}

/// Named commands that stand for one character or symbol.
fn named(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "ss" => "ß",
        "SS" => "SS",
        "o" => "ø",
        "O" => "Ø",
        "ae" => "æ",
        "AE" => "Æ",
        "oe" => "œ",
        "OE" => "Œ",
        "aa" => "å",
        "AA" => "Å",
        "l" => "ł",
        "L" => "Ł",
        "i" => "ı",
        "j" => "ȷ",
        "dh" => "ð",
        "DH" => "Ð",
        "dj" => "đ",
        "DJ" => "Đ",
        "th" => "þ",
        "TH" => "Þ",
        "ng" => "ŋ",
        "NG" => "Ŋ",
        "textendash" => "–",
        "textemdash" => "—",
        "textquoteleft" => "‘",
        "textquoteright" => "’",
        "textquotedblleft" => "“",
        "textquotedblright" => "”",
        "quotedblbase" => "„",
        "guillemotleft" | "guillemetleft" => "«",
        "guillemotright" | "guillemetright" => "»",
        "ldots" | "dots" | "textellipsis" => "…",
        "textbackslash" => "\\",
        "textbraceleft" => "{",
        "textbraceright" => "}",
        "textasciitilde" => "~",
        "textasciicircum" => "^",
        "textunderscore" => "_",
        "textbar" => "|",
        "textless" => "<",
        "textgreater" => ">",
        "copyright" | "textcopyright" => "©",
        "textregistered" => "®",
        "texttrademark" => "™",
        "pounds" | "textsterling" => "£",
        "euro" | "texteuro" => "€",
        "S" | "textsection" => "§",
        "P" | "textparagraph" => "¶",
        "dag" | "textdagger" => "†",
        "ddag" | "textdaggerdbl" => "‡",
        "textdegree" => "°",
        "textperthousand" => "‰",
        "textbullet" => "•",
        "textexclamdown" => "¡",
        "textquestiondown" => "¿",
        "LaTeX" => "LaTeX",
        "TeX" => "TeX",
        "BibTeX" => "BibTeX",
        "slash" => "/",
        "space" | "quad" | "qquad" | "," | ";" | ":" | " " | "\n" | "\t" => " ",
        "-" | "/" | "@" => "",
        "\\" | "newline" | "par" => " ",
        _ => return None,
    })
}

/// Commands whose argument is kept and the command itself dropped (formatting only).
fn is_formatting(cmd: &str) -> bool {
    matches!(
        cmd,
        "emph"
            | "textit"
            | "textbf"
            | "textsc"
            | "textrm"
            | "textsf"
            | "texttt"
            | "textup"
            | "textsl"
            | "textmd"
            | "textnormal"
            | "mbox"
            | "hbox"
            | "text"
            | "uppercase"
            | "lowercase"
            | "MakeUppercase"
            | "MakeLowercase"
            | "enquote"
            | "mkbibquote"
            | "mkbibemph"
            | "mkbibbold"
            | "mkbibitalic"
            | "textsuperscript"
            | "textsubscript"
            | "url"
            | "href"
            | "nolinkurl"
            | "protect"
            | "relax"
            | "noopsort"
            | "NoCaseChange"
            | "ensuremath"
            | "em"
            | "it"
            | "bf"
            | "sc"
            | "rm"
            | "sf"
            | "tt"
            | "small"
            | "normalfont"
            | "itshape"
            | "bfseries"
            | "scshape"
            | "upshape"
    )
}

/// Convert a BibTeX value (braces and all) to plain Unicode text.
pub fn to_unicode(s: &str) -> String {
    // Most values are plain ASCII on one line: nothing to convert but runs of spaces. (Line
    // breaks take the slow path, which keeps paragraph breaks.)
    let plain = s.is_ascii()
        && !s.contains(['\\', '{', '}', '$', '~', '\n'])
        && !["--", "``", "''", "!`", "?`"].iter().any(|l| s.contains(l));
    if plain {
        return s.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    convert(&chars, &mut i, &mut out, false);
    out.nfc().collect()
}

/// Convert from `*i` until the end, or until the `}` that closes the group we are in
/// (when `in_group`), which is consumed. Iterative over characters; recursion only per
/// brace group, and depth is capped.
fn convert(chars: &[char], i: &mut usize, out: &mut String, in_group: bool) {
    convert_depth(chars, i, out, in_group, 0);
}

const MAX_DEPTH: usize = 64;

fn convert_depth(chars: &[char], i: &mut usize, out: &mut String, in_group: bool, depth: usize) {
    while *i < chars.len() {
        let c = chars[*i];
        match c {
            '{' => {
                *i += 1;
                if depth < MAX_DEPTH {
                    convert_depth(chars, i, out, true, depth + 1);
                }
            }
            '}' => {
                *i += 1;
                if in_group {
                    return;
                }
            }
            '$' if !has_closing_dollar(chars, *i) => {
                out.push('$');
                *i += 1;
            }
            '$' => {
                // Math is kept as written, up to the closing dollar.
                let start = *i;
                *i += 1;
                while *i < chars.len() && chars[*i] != '$' {
                    if chars[*i] == '\\' {
                        *i += 1;
                    }
                    *i += 1;
                }
                *i = (*i + 1).min(chars.len());
                out.extend(&chars[start..*i]);
            }
            '~' => {
                out.push(' ');
                *i += 1;
            }
            '\\' => command(chars, i, out, depth),
            c if c.is_whitespace() => {
                // A blank line is a paragraph break; any other run of spaces is one space.
                let mut newlines = 0;
                while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
                    newlines += usize::from(chars[*i] == '\n');
                    *i += 1;
                }
                if newlines >= 2 {
                    while out.ends_with(' ') {
                        out.pop();
                    }
                    out.push_str("\n\n");
                } else if !out.ends_with(' ') && !out.ends_with('\n') {
                    out.push(' ');
                }
            }
            '-' | '`' | '\'' | '!' | '?' => {
                // TeX ligatures, made only from adjacent characters in the source.
                let next = chars.get(*i + 1).copied();
                let (text, len) = match (c, next, chars.get(*i + 2).copied()) {
                    ('-', Some('-'), Some('-')) => ("—", 3),
                    ('-', Some('-'), _) => ("–", 2),
                    ('`', Some('`'), _) => ("“", 2),
                    ('\'', Some('\''), _) => ("”", 2),
                    ('!', Some('`'), _) => ("¡", 2),
                    ('?', Some('`'), _) => ("¿", 2),
                    _ => ("", 1),
                };
                if text.is_empty() {
                    out.push(c);
                } else {
                    out.push_str(text);
                }
                *i += len;
            }
            c => {
                out.push(c);
                *i += 1;
            }
        }
    }
}

fn has_closing_dollar(chars: &[char], open: usize) -> bool {
    let mut j = open + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '$' => return true,
            _ => j += 1,
        }
    }
    false
}

fn command(chars: &[char], i: &mut usize, out: &mut String, depth: usize) {
    *i += 1; // the backslash
    let Some(&first) = chars.get(*i) else {
        out.push('\\');
        return;
    };
    // Escaped specials.
    if "&%$#_{}".contains(first) {
        out.push(first);
        *i += 1;
        return;
    }
    let name: String = if first.is_ascii_alphabetic() {
        chars[*i..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect()
    } else {
        first.to_string()
    };
    let after = *i + name.chars().count();
    let letter_cmd = first.is_ascii_alphabetic();
    // Accents: a one-character accent command, or a letter accent not followed by letters.
    if let Some(mark) = name
        .chars()
        .next()
        .filter(|_| name.chars().count() == 1)
        .and_then(accent_mark)
    {
        *i = after;
        // An accent's argument may follow a space (`\' a`), as a TeX macro argument can.
        skip_spaces(chars, i);
        let mut base = String::new();
        match chars.get(*i) {
            Some('{') => {
                *i += 1;
                if depth < MAX_DEPTH {
                    convert_depth(chars, i, &mut base, true, depth + 1);
                }
            }
            Some('\\') if depth < MAX_DEPTH => command(chars, i, &mut base, depth + 1),
            Some(&c) => {
                base.push(c);
                *i += 1;
            }
            None => {}
        }
        // An accent over a dotless i or j is an accent over i or j.
        let base = base.replace('ı', "i").replace('ȷ', "j");
        // The mark goes after everything already on the base, so stacked accents keep
        // their order (`\~{\^e}` is e, circumflex, tilde).
        out.push_str(&base);
        out.push(mark);
        return;
    }
    *i = after;
    if let Some(text) = named(&name) {
        out.push_str(text);
        if letter_cmd {
            // TeX eats spaces after a control word, and "{}" is often used to stop it.
            skip_spaces(chars, i);
            if chars.get(*i) == Some(&'{') && chars.get(*i + 1) == Some(&'}') {
                *i += 2;
            }
        }
        return;
    }
    if is_formatting(&name) {
        skip_spaces(chars, i);
        if name == "href" && chars.get(*i) == Some(&'{') {
            // \href{url}{text}: keep the text.
            skip_group(chars, i);
        }
        return;
    }
    // Unknown: keep the command as written, with its first argument's braces, so nothing
    // is lost and it reads back the same.
    out.push('\\');
    out.push_str(&name);
    if chars.get(*i) == Some(&'{') {
        *i += 1;
        out.push('{');
        if depth < MAX_DEPTH {
            convert_depth(chars, i, out, true, depth + 1);
        }
        out.push('}');
    } else if letter_cmd && chars.get(*i).is_some_and(|c| c.is_whitespace()) {
        out.push(' ');
        skip_spaces(chars, i);
    }
}

fn skip_spaces(chars: &[char], i: &mut usize) {
    while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
        *i += 1;
    }
}

fn skip_group(chars: &[char], i: &mut usize) {
    let mut depth = 0usize;
    while let Some(&c) = chars.get(*i) {
        *i += 1;
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

fn command_for_mark(mark: char) -> Option<char> {
    Some(match mark {
        '\u{300}' => '`',
        '\u{301}' => '\'',
        '\u{302}' => '^',
        '\u{303}' => '~',
        '\u{304}' => '=',
        '\u{306}' => 'u',
        '\u{307}' => '.',
        '\u{308}' => '"',
        '\u{30A}' => 'r',
        '\u{30B}' => 'H',
        '\u{30C}' => 'v',
        '\u{323}' => 'd',
        '\u{327}' => 'c',
        '\u{328}' => 'k',
        '\u{331}' => 'b',
        _ => return None,
    })
}

fn command_for_char(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "\\ss",
        'ø' => "\\o",
        'Ø' => "\\O",
        'æ' => "\\ae",
        'Æ' => "\\AE",
        'œ' => "\\oe",
        'Œ' => "\\OE",
        'å' => "\\aa",
        'Å' => "\\AA",
        'ł' => "\\l",
        'Ł' => "\\L",
        'ı' => "\\i",
        'ð' => "\\dh",
        'Ð' => "\\DH",
        'þ' => "\\th",
        'Þ' => "\\TH",
        '–' => "--",
        '—' => "---",
        '“' => "``",
        '”' => "''",
        '…' => "\\ldots",
        '§' => "\\S",
        '£' => "\\pounds",
        '©' => "\\copyright",
        _ => return None,
    })
}

/// Write `s` as a BibTeX value body (inside braces). With `ascii`, non-ASCII letters become
/// LaTeX commands where one exists (other characters stay UTF-8).
pub fn escape(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    let math = math_spans(&chars);
    let mut i = 0;
    while i < chars.len() {
        if let Some(&(_, end)) = math.iter().find(|(start, _)| *start == i) {
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let c = chars[i];
        i += 1;
        match c {
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            // A backslash before a command to_unicode does not know is written as is (it
            // keeps such commands); before anything it would read, it is spelled out.
            '\\' => {
                if reads_as_command(&chars[i..]) {
                    out.push_str("\\textbackslash{}");
                } else {
                    out.push('\\');
                }
            }
            // Ligatures the reader would make from plain characters.
            '-' if chars.get(i) == Some(&'-') => out.push_str("-{}"),
            '`' | '\'' if chars.get(i) == Some(&c) => {
                out.push(c);
                out.push_str("{}");
            }
            '!' | '?' if chars.get(i) == Some(&'`') => {
                out.push(c);
                out.push_str("{}");
            }
            c if ascii && !c.is_ascii() => {
                if let Some(cmd) = command_for_char(c) {
                    out.push('{');
                    out.push_str(cmd);
                    out.push('}');
                } else {
                    let decomposed: Vec<char> = c.to_string().nfd().collect();
                    match decomposed.as_slice() {
                        [base, marks @ ..]
                            if !marks.is_empty()
                                && marks.iter().all(|m| command_for_mark(*m).is_some()) =>
                        {
                            let mut inner = match base {
                                'i' => "\\i".to_string(),
                                'j' => "\\j".to_string(),
                                b => b.to_string(),
                            };
                            for m in marks {
                                let cmd = command_for_mark(*m).unwrap_or('"');
                                let sep = if cmd.is_ascii_alphabetic() { " " } else { "" };
                                inner = if inner.chars().count() == 1 {
                                    format!("\\{cmd}{sep}{inner}")
                                } else {
                                    format!("\\{cmd}{{{inner}}}")
                                };
                            }
                            out.push('{');
                            out.push_str(&inner);
                            out.push('}');
                        }
                        _ => out.push(c),
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `\` followed by `rest` would be read by [`to_unicode`] as something other than a
/// kept, unknown command.
fn reads_as_command(rest: &[char]) -> bool {
    let Some(&first) = rest.first() else {
        return true;
    };
    if !first.is_ascii_alphabetic() {
        return true;
    }
    let name: String = rest
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (name.len() == 1 && accent_mark(first).is_some())
        || named(&name).is_some()
        || is_formatting(&name)
}

/// `$...$` spans (start, end exclusive) that to_unicode kept verbatim: an unescaped dollar
/// with a closing one later.
fn math_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '$' {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            // Kept verbatim only with balanced braces: written as is, unbalanced ones would
            // swallow the rest of the file.
            if j < chars.len() && balanced(&chars[i..=j]) {
                spans.push((i, j + 1));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    spans
}

fn balanced(chars: &[char]) -> bool {
    let mut depth = 0i32;
    let mut escaped = false;
    for &c in chars {
        match (escaped, c) {
            (false, '{') => depth += 1,
            (false, '}') => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
        escaped = !escaped && c == '\\';
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_in_every_spelling() {
        assert_eq!(to_unicode(r#"M{\"u}ller"#), "Müller");
        assert_eq!(to_unicode(r#"M\"uller"#), "Müller");
        assert_eq!(to_unicode(r"Fran\c{c}ois \v Sko\v{d}a"), "François Škoďa");
        assert_eq!(to_unicode(r"\'{\i}ndice"), "índice");
        assert_eq!(to_unicode(r"Nguy\~{\^e}n"), "Nguyễn");
        assert_eq!(
            to_unicode(r#"{\ss}tra{\ss}e \o{} \AA ngstr\"om"#),
            "ßtraße ø Ångström"
        );
    }

    #[test]
    fn braces_escapes_ligatures_and_formatting() {
        assert_eq!(
            to_unicode(r"{{DNA}} and \& 50\% \emph{in vivo}"),
            "DNA and & 50% in vivo"
        );
        assert_eq!(
            to_unicode("pp. 10--20 --- ``quoted''"),
            "pp. 10–20 — “quoted”"
        );
        assert_eq!(to_unicode("D.~E. Knuth"), "D. E. Knuth");
    }

    #[test]
    fn math_and_unknown_commands_are_kept() {
        assert_eq!(
            to_unicode(r"The $\alpha_1$ {\foo} \bar{x}"),
            r"The $\alpha_1$ \foo \bar{x}"
        );
    }

    #[test]
    fn escape_reads_back_the_same() {
        for s in [
            "Müller & Sons: 50% of $5 {a} #1 x_y ~ ^",
            "Nguyễn Ångström ß ø – — “q” … $\\alpha$",
            "a--b ``c'' \\unknown{x} !` ?`",
            "C:\\o \\emph \\ \\",
            "İstanbul ǅ 中文",
            "$\\ell_1 = {x$ and } $y}$",
        ] {
            assert_eq!(to_unicode(&escape(s, false)), s, "utf-8: {s}");
            assert_eq!(
                to_unicode(&escape(s, true)),
                s,
                "ascii: {}",
                escape(s, true)
            );
        }
    }
}
