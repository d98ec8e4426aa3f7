//! The BibTeX file grammar: entries, `@string`, `@preamble`, `@comment`, values made of
//! braced or quoted text, numbers and macro names joined by `#`.
//!
//! Written here rather than taken from the `biblatex` crate because that crate parses a whole
//! file or fails, and the corpus is full of files with one broken entry among thousands
//! (missing commas, unclosed braces, stray text) whose other entries must still import. This
//! parser recovers at the next `@` that starts a line. It never recurses on input, so deeply
//! nested braces cannot overflow the stack.

/// One piece of a field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text from `{...}` or `"..."`, inner braces kept.
    Text(String),
    /// A bare name: an `@string` macro (or a month).
    Macro(String),
}

#[derive(Clone, Debug)]
pub struct RawEntry {
    /// Lower case.
    pub entry_type: String,
    pub key: String,
    /// Lower-case field names with their value parts, in file order.
    pub fields: Vec<(String, Vec<Part>)>,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub enum Item {
    Entry(RawEntry),
    String {
        name: String,
        value: Vec<Part>,
    },
    Preamble,
    Comment,
    /// An entry that could not be read, with where and why.
    Error {
        line: usize,
        message: String,
    },
    /// A problem worth telling that did not lose the entry.
    Warning {
        line: usize,
        message: String,
    },
}

pub struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line_starts: Vec<usize>,
    pending_warnings: Vec<Item>,
}

type PResult<T> = Result<T, String>;

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Parser<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            line_starts,
            pending_warnings: Vec::new(),
        }
    }

    fn line_of(&self, pos: usize) -> usize {
        match self.line_starts.binary_search(&pos) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else if b == b'%' {
                // A comment outside values runs to the end of the line.
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b"_-:.+/'!?*&<>;[]`|^$".contains(&b) || b >= 0x80 {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.src[start..self.pos]
    }

    /// Every item in the file, in order.
    pub fn items(mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(at) = self.src[self.pos..].find('@') {
            self.pos += at;
            let start = self.pos;
            let line = self.line_of(start);
            self.pos += 1;
            match self.item(line) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {}
                Err(message) => {
                    items.push(Item::Error { line, message });
                    self.recover(start + 1);
                }
            }
            items.append(&mut self.pending_warnings);
        }
        items
    }

    /// Move to the next `@` that starts a line (after optional spaces), past `from`.
    fn recover(&mut self, from: usize) {
        let mut i = from;
        loop {
            match self.src[i..].find('\n') {
                Some(nl) => {
                    i += nl + 1;
                    let rest = self.src[i..].trim_start_matches([' ', '\t']);
                    if rest.starts_with('@') {
                        self.pos = self.src.len() - rest.len();
                        return;
                    }
                }
                None => {
                    self.pos = self.src.len();
                    return;
                }
            }
        }
    }

    fn item(&mut self, line: usize) -> PResult<Option<Item>> {
        self.skip_ws();
        let entry_type = self.ident().to_ascii_lowercase();
        self.skip_ws();
        let close = match self.peek() {
            Some(b'{') => b'}',
            Some(b'(') => b')',
            // "@" in running text (an e-mail address in a comment): not an entry.
            _ => return Ok(None),
        };
        if entry_type.is_empty() {
            return Ok(None);
        }
        self.pos += 1;
        match entry_type.as_str() {
            "comment" => {
                self.skip_balanced(close)?;
                Ok(Some(Item::Comment))
            }
            "preamble" => {
                self.skip_ws();
                self.value(close)?;
                self.skip_ws();
                self.expect_close(close)?;
                Ok(Some(Item::Preamble))
            }
            "string" => {
                self.skip_ws();
                let name = self.ident().to_ascii_lowercase();
                self.skip_ws();
                if self.peek() != Some(b'=') {
                    return Err("@string has no \"=\"".into());
                }
                self.pos += 1;
                self.skip_ws();
                let value = self.value(close)?;
                self.skip_ws();
                if self.peek() == Some(b',') {
                    self.pos += 1;
                    self.skip_ws();
                }
                self.expect_close(close)?;
                Ok(Some(Item::String { name, value }))
            }
            _ => self
                .entry(entry_type, close, line)
                .map(|e| Some(Item::Entry(e))),
        }
    }

    fn expect_close(&mut self, close: u8) -> PResult<()> {
        if self.peek() == Some(close) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected \"{}\"", close as char))
        }
    }

    /// Skip to the matching close of an `@comment{...}`.
    fn skip_balanced(&mut self, close: u8) -> PResult<()> {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'{' => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                b if b == close && depth == 0 => return Ok(()),
                _ => {}
            }
        }
        Err("@comment is not closed".into())
    }

    fn entry(&mut self, entry_type: String, close: u8, line: usize) -> PResult<RawEntry> {
        self.skip_ws();
        // The key runs to the first comma (or the close, for an entry with no fields).
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b',' || b == close || b == b'\n' && self.src[start..self.pos].contains('=') {
                break;
            }
            if b == b'=' {
                // No key at all: "@article{title = ...".
                self.pos = start;
                break;
            }
            self.pos += 1;
        }
        let mut key = self.src[start..self.pos].trim().to_string();
        if key.contains(char::is_whitespace) {
            self.pending_warnings.push(Item::Warning {
                line,
                message: format!("entry key {key:?} contains spaces"),
            });
        }
        let mut fields: Vec<(String, Vec<Part>)> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(RawEntry {
                        entry_type,
                        key,
                        fields,
                        line,
                    });
                }
                // Opened with one delimiter and closed with the other.
                Some(b'}' | b')') => {
                    self.pos += 1;
                    self.pending_warnings.push(Item::Warning {
                        line,
                        message: "entry opened and closed with different delimiters".into(),
                    });
                    return Ok(RawEntry {
                        entry_type,
                        key,
                        fields,
                        line,
                    });
                }
                None => return Err("entry is not closed before the end of the file".into()),
                Some(b'@') if self.at_line_start() => {
                    return Err("entry is not closed before the next entry".into());
                }
                _ => {}
            }
            let name_pos = self.pos;
            let mut name = self.ident().to_ascii_lowercase();
            // Names with spaces up to the "=": Scopus writes "funding_text 1", ProQuest
            // "key words".
            loop {
                let save = self.pos;
                while self.peek() == Some(b' ') {
                    self.pos += 1;
                }
                let more = self.ident();
                if more.is_empty() {
                    self.pos = save;
                    break;
                }
                name.push(' ');
                name.push_str(&more.to_ascii_lowercase());
            }
            // "@article{key title = ...": the comma after the key is missing.
            if key.is_empty() && fields.is_empty() {
                if let Some((first, rest)) = name.split_once(' ') {
                    key = self.src[name_pos..name_pos + first.len()].to_string();
                    name = rest.to_string();
                    self.pending_warnings.push(Item::Warning {
                        line,
                        message: "a comma is missing after the entry key".into(),
                    });
                }
            }
            if name.is_empty() {
                return Err(format!(
                    "unexpected {:?} where a field name should be",
                    self.src
                        .get(self.pos..)
                        .and_then(|s| s.chars().next())
                        .unwrap_or(' ')
                ));
            }
            self.skip_ws();
            if self.peek() != Some(b'=') {
                return Err(format!("field {name:?} has no \"=\""));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(close)?;
            fields.push((name, value));
            self.skip_ws();
            // Tolerate a missing comma between fields: the next thing is a field name.
            if let Some(b) = self.peek() {
                if b != b',' && b != close && b != b'@' {
                    let line = self.line_of(name_pos);
                    self.pending_warnings.push(Item::Warning {
                        line,
                        message: "a comma is missing between two fields".into(),
                    });
                }
            }
        }
    }

    fn at_line_start(&self) -> bool {
        // The line's start from the index (not a backward scan, which would make a long
        // line full of "@" quadratic).
        let line_start = self.line_starts[self.line_of(self.pos).saturating_sub(1)];
        self.src
            .get(line_start..self.pos)
            .is_some_and(|s| s.trim().is_empty())
    }

    /// `part (# part)*`
    fn value(&mut self, close: u8) -> PResult<Vec<Part>> {
        let mut parts = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    parts.push(Part::Text(self.until_brace_close()?));
                }
                Some(b'"') => {
                    self.pos += 1;
                    parts.push(Part::Text(self.until_quote()?));
                }
                Some(b) if b.is_ascii_digit() => {
                    let start = self.pos;
                    while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    parts.push(Part::Text(self.src[start..self.pos].to_string()));
                }
                Some(b) if b != close && b != b',' && b != b'#' => {
                    let name = self.ident();
                    if name.is_empty() {
                        return Err(format!("unexpected {:?} in a value", b as char));
                    }
                    parts.push(Part::Macro(name.to_ascii_lowercase()));
                }
                _ => return Err("a field has no value".into()),
            }
            self.skip_ws();
            if self.peek() == Some(b'#') {
                self.pos += 1;
            } else {
                return Ok(parts);
            }
        }
    }

    /// The text up to the brace that closes the one just read, inner braces kept.
    fn until_brace_close(&mut self) -> PResult<String> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos += 1,
                b'{' => depth += 1,
                b'}' if depth == 0 => {
                    let text = self.src[start..self.pos].to_string();
                    self.pos += 1;
                    return Ok(text);
                }
                b'}' => depth -= 1,
                b'@' if depth == 0 && self.at_line_start() && self.looks_like_entry() => {
                    return Err("a value's braces are not closed".into());
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err("a value's braces are not closed".into())
    }

    /// `"..."`: ends at a quote outside inner braces.
    fn until_quote(&mut self) -> PResult<String> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos += 1,
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b'"' if depth == 0 => {
                    let text = self.src[start..self.pos].to_string();
                    self.pos += 1;
                    return Ok(text);
                }
                b'@' if depth == 0 && self.at_line_start() && self.looks_like_entry() => {
                    return Err("a quoted value is not closed".into());
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err("a quoted value is not closed".into())
    }

    fn looks_like_entry(&self) -> bool {
        let rest = &self.src[self.pos + 1..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].trim_start().starts_with(['{', '('])
    }
}
