//! Turning a file's bytes into text, whatever encoding it arrived in.
//!
//! Order of evidence: a byte-order mark; UTF-16 without a BOM (every other byte zero); valid
//! UTF-8 (trusted over a declaration, because files "declared windows-1252" that are really
//! UTF-8 are common); a declaration (`% Encoding:` as JabRef writes it, XML's `encoding=`);
//! then a guess between GB18030 and windows-1252 by how the high bytes pair up. Line ends are
//! normalised to `\n`. Decoding never fails: undecodable bytes become U+FFFD and a warning.

use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// Decoded text and what was decided about it.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub text: String,
    /// The encoding's WHATWG name ("UTF-8", "windows-1252", "gb18030", ...).
    pub encoding: &'static str,
    /// Said when the encoding was guessed or bytes were replaced.
    pub warning: Option<String>,
}

pub fn decode(bytes: &[u8]) -> Decoded {
    let (encoding, body, mut warning) = choose(bytes);
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        warning = Some(format!(
            "some bytes are not valid {}; they were replaced with \u{FFFD}",
            encoding.name()
        ));
    }
    let text = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.into_owned()
    };
    Decoded {
        text,
        encoding: encoding.name(),
        warning,
    }
}

fn choose(bytes: &[u8]) -> (&'static Encoding, &[u8], Option<String>) {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return (enc, &bytes[bom_len..], None);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return (enc, bytes, None);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (UTF_8, bytes, None);
    }
    if let Some(enc) = declared(bytes).filter(|&e| e != UTF_8 && e != UTF_16LE && e != UTF_16BE) {
        return (enc, bytes, None);
    }
    let guess = if looks_like_gb18030(bytes) {
        GB18030
    } else {
        WINDOWS_1252
    };
    let note = format!("the file is not UTF-8; it was read as {}", guess.name());
    (guess, bytes, Some(note))
}

/// UTF-16 text with no BOM shows as ASCII interleaved with zero bytes.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zeros_at = |offset: usize| {
        sample
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    if odd * 10 > pairs * 4 && even * 20 < pairs {
        Some(UTF_16LE)
    } else if even * 10 > pairs * 4 && odd * 20 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// An encoding named in the first few kilobytes.
fn declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    for marker in [&b"% encoding:"[..], b"encoding=", b"charset="] {
        if let Some(pos) = find(&lower, marker) {
            let rest = &head[pos + marker.len()..];
            let label: Vec<u8> = rest
                .iter()
                .copied()
                .skip_while(|b| b.is_ascii_whitespace() || *b == b'"' || *b == b'\'')
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                .collect();
            if let Some(enc) = Encoding::for_label(&label) {
                return Some(enc);
            }
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// GB18030 text is mostly pairs of high bytes (a lead byte and a trail byte both at or above
/// 0x80 for nearly every common character); windows-1252 text has single high bytes between
/// ASCII letters. Decoding must also succeed without errors.
fn looks_like_gb18030(bytes: &[u8]) -> bool {
    let (mut pairs, mut single) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] >= 0x81 {
            if bytes.get(i + 1).is_some_and(|&b| b >= 0x80) {
                pairs += 1;
                i += 2;
                continue;
            }
            single += 1;
        }
        i += 1;
    }
    pairs >= 2 && pairs > single * 3 && !GB18030.decode_without_bom_handling(bytes).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_decide_and_are_removed() {
        assert_eq!(decode(b"\xEF\xBB\xBFabc").text, "abc");
        let le: Vec<u8> = [0xFF, 0xFE, b'a', 0, b'b', 0].to_vec();
        assert_eq!(decode(&le).text, "ab");
        let be: Vec<u8> = [0xFE, 0xFF, 0, b'a', 0, b'b'].to_vec();
        assert_eq!(decode(&be).text, "ab");
    }

    #[test]
    fn utf16_without_a_bom_is_recognised() {
        let le: Vec<u8> = "@article{x,}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&le).text, "@article{x,}");
        let be: Vec<u8> = "@article{x,}"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decode(&be).text, "@article{x,}");
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_declaration() {
        let d = decode("% Encoding: windows-1252\nMüller".as_bytes());
        assert_eq!(d.text, "% Encoding: windows-1252\nMüller");
        assert_eq!(d.encoding, "UTF-8");
    }

    #[test]
    fn latin1_and_gbk_are_told_apart() {
        let latin = b"title = {M\xfcller and Fran\xe7ois}";
        let d = decode(latin);
        assert_eq!(d.text, "title = {Müller and François}");
        assert!(d.warning.is_some());
        let (gbk, _, _) = GB18030.encode("title = {中文标题测试}");
        assert_eq!(decode(&gbk).text, "title = {中文标题测试}");
    }

    #[test]
    fn line_ends_become_newlines() {
        assert_eq!(decode(b"a\r\nb\rc").text, "a\nb\nc");
    }
}
