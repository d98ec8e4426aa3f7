//! Text as search compares it: lower case, accents removed, letters with no decomposition
//! spelled out ("ß" as "ss"), split into words of letters and digits.

use unicode_normalization::char::decompose_canonical;

/// Append the folded form of `c` to `out`.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let special = match c {
        'ß' | 'ẞ' => Some("ss"),
        'æ' | 'Æ' => Some("ae"),
        'œ' | 'Œ' => Some("oe"),
        'ø' | 'Ø' => Some("o"),
        'ł' | 'Ł' => Some("l"),
        'đ' | 'Đ' | 'ð' | 'Ð' => Some("d"),
        'þ' | 'Þ' => Some("th"),
        'ı' => Some("i"),
        _ => None,
    };
    if let Some(s) = special {
        out.push_str(s);
        return;
    }
    decompose_canonical(c, |d| {
        // Combining marks (accents) are dropped; everything else is kept, lower-cased.
        if !('\u{300}'..='\u{36F}').contains(&d) {
            out.extend(d.to_lowercase());
        }
    });
}

/// `s` folded: "Müller" and "MULLER" both give "muller".
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Fold `s` into `out` (cleared first), reusing its allocation.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    // Most text is ASCII: one copy and one pass.
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
        return;
    }
    for c in s.chars() {
        fold_char(c, out);
    }
}

/// The folded words of `s`, in order.
pub fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    let folded = fold(s);
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_accents_fold_away() {
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("ÉCOLE Normale"), "ecole normale");
        assert_eq!(fold("Straße Ørsted Łódź"), "strasse orsted lodz");
        assert_eq!(fold("Nguyễn"), "nguyen");
    }

    #[test]
    fn words_split_on_anything_but_letters_and_digits() {
        let w: Vec<String> = words("10.1016/j.cell — Smith's \"test\"").collect();
        assert_eq!(w, vec!["10", "1016", "j", "cell", "smith", "s", "test"]);
        let cjk: Vec<String> = words("中文 标题").collect();
        assert_eq!(cjk, vec!["中文", "标题"]);
    }
}
