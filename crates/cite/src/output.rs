//! Formatted citations as text, HTML, RTF and Markdown, and whole documents of a bibliography;
//! and as the runs of a Word or OpenDocument paragraph, for Format Paper's office manuscripts.
//!
//! Invariant: a reference's text is always escaped for the output (hayagriva's own HTML
//! writer passes text through as it is, so a title holding `<script>` would be markup);
//! italics, bold, small caps, underline, super- and subscript are the only markup written.

use crate::Formatted as Result;
use hayagriva::citationberg::{FontStyle, FontVariant, FontWeight, TextDecoration, VerticalAlign};
use hayagriva::{ElemChild, ElemChildren, Formatted, Formatting};

/// The kinds of output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Html,
    Rtf,
    /// Pandoc's Markdown (Format Paper's output for a Markdown manuscript).
    Markdown,
    /// WordprocessingML runs (`<w:r>`), for a paragraph of a `.docx` manuscript.
    Word,
    /// OpenDocument paragraph content (text and `<text:span>`s of the styles `office.rs`
    /// declares), for an `.odt` manuscript.
    Odf,
}

impl Output {
    /// "text", "html", "rtf" (as the CLI's `--format` takes them).
    pub fn from_id(id: &str) -> Option<Output> {
        match id.trim().to_ascii_lowercase().as_str() {
            "text" | "txt" | "plain" => Some(Output::Text),
            "html" | "htm" => Some(Output::Html),
            "rtf" => Some(Output::Rtf),
            "md" | "markdown" => Some(Output::Markdown),
            _ => None,
        }
    }

    /// The file extension a document in this output takes.
    pub fn extension(self) -> &'static str {
        match self {
            Output::Text => "txt",
            Output::Html => "html",
            Output::Rtf => "rtf",
            Output::Markdown => "md",
            Output::Word => "docx",
            Output::Odf => "odt",
        }
    }

    /// `text` as this output writes plain text (a prefix or suffix a person typed).
    pub fn escape(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        match self {
            // Markdown prefixes and suffixes come from the manuscript, already Markdown.
            Output::Text | Output::Markdown => out.push_str(text),
            Output::Html => escape_html(text, &mut out),
            Output::Rtf => escape_rtf(text, &mut out),
            Output::Word | Output::Odf => self.plain(text, &Formatting::default(), &mut out),
        }
        out
    }

    pub(crate) fn render(self, children: &ElemChildren) -> String {
        let mut runs = Vec::new();
        for child in &children.0 {
            self.collect(child, &mut runs);
        }
        self.write(runs)
    }

    pub(crate) fn render_child(self, child: &ElemChild) -> String {
        let mut runs = Vec::new();
        self.collect(child, &mut runs);
        self.write(runs)
    }

    /// The formatted tree as runs of text, neighbours with the same formatting joined: the
    /// processor splits "1,2" in three pieces, and Markdown would write superscripts
    /// `^1^^,^^2^` and two italics side by side `*a**b*` (bold) if each piece had its marks.
    fn collect(self, child: &ElemChild, runs: &mut Vec<Run>) {
        match child {
            ElemChild::Text(t) => push_text(runs, &t.text, t.formatting),
            ElemChild::Elem(e) => {
                for c in &e.children.0 {
                    self.collect(c, runs);
                }
            }
            // Typst markup: shown as the text it is.
            ElemChild::Markup(m) => push_text(runs, m, Formatting::default()),
            ElemChild::Link { text, url } => {
                let mut out = String::new();
                match self {
                    // Only web addresses become links (a `javascript:` URL never does).
                    Output::Html if url.starts_with("https://") || url.starts_with("http://") => {
                        out.push_str("<a href=\"");
                        escape_html(url, &mut out);
                        out.push_str("\">");
                        self.text(text, &mut out);
                        out.push_str("</a>");
                    }
                    // An address as an autolink (no escapes inside), other text as a link.
                    Output::Markdown
                        if url.starts_with("https://") || url.starts_with("http://") =>
                    {
                        if text.text == *url {
                            out.push('<');
                            out.push_str(url);
                            out.push('>');
                        } else {
                            out.push('[');
                            self.text(text, &mut out);
                            out.push_str("](");
                            out.push_str(url);
                            out.push(')');
                        }
                    }
                    _ => return push_text(runs, &text.text, text.formatting),
                }
                runs.push(Run::Written(out));
            }
            ElemChild::Transparent { .. } => {}
        }
    }

    fn write(self, runs: Vec<Run>) -> String {
        let mut out = String::new();
        for run in runs {
            match run {
                Run::Text(text, f) => self.plain(&text, &f, &mut out),
                Run::Written(text) => out.push_str(&text),
            }
        }
        out
    }

    fn text(self, t: &Formatted, out: &mut String) {
        self.plain(&t.text, &t.formatting, out);
    }

    fn plain(self, text: &str, f: &Formatting, out: &mut String) {
        match self {
            Output::Text => out.push_str(text),
            Output::Html => {
                let tags = html_tags(f);
                for t in &tags {
                    out.push('<');
                    out.push_str(t);
                    out.push('>');
                }
                escape_html(text, out);
                for t in tags.iter().rev() {
                    out.push_str("</");
                    out.push_str(t.split(' ').next().unwrap_or(t));
                    out.push('>');
                }
            }
            Output::Markdown => {
                let marks = markdown_marks(f);
                // Emphasis marks must hug the text: spaces at the edges go outside them.
                let inner = text.trim();
                if marks.is_empty() || inner.is_empty() {
                    escape_markdown(text, out);
                } else {
                    out.push_str(&text[..text.len() - text.trim_start().len()]);
                    for m in &marks {
                        out.push_str(m.0);
                    }
                    escape_markdown(inner, out);
                    for m in marks.iter().rev() {
                        out.push_str(m.1);
                    }
                    out.push_str(&text[text.trim_end().len()..]);
                }
            }
            Output::Rtf => {
                let codes = rtf_codes(f);
                if codes.is_empty() {
                    escape_rtf(text, out);
                } else {
                    out.push('{');
                    out.push_str(&codes);
                    out.push(' ');
                    escape_rtf(text, out);
                    out.push('}');
                }
            }
            Output::Word => {
                out.push_str("<w:r>");
                // In the order Word's schema lists them (bold before italic), which Word
                // holds a file to.
                let mut marks: Vec<&str> = markup(f).into_iter().map(|m| m.word).collect();
                marks.sort_by_key(|m| m != &"<w:b/>");
                let marks: String = marks.concat();
                if !marks.is_empty() {
                    out.push_str("<w:rPr>");
                    out.push_str(&marks);
                    out.push_str("</w:rPr>");
                }
                out.push_str("<w:t xml:space=\"preserve\">");
                escape_xml(text, out);
                out.push_str("</w:t></w:r>");
            }
            Output::Odf => {
                let marks = markup(f);
                for m in &marks {
                    out.push_str("<text:span text:style-name=\"");
                    out.push_str(m.odf);
                    out.push_str("\">");
                }
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        out.push_str("<text:line-break/>");
                    }
                    escape_xml(line, out);
                }
                for _ in &marks {
                    out.push_str("</text:span>");
                }
            }
        }
    }
}

/// A piece of formatted output: text with its formatting, or markup already written (a link).
enum Run {
    Text(String, Formatting),
    Written(String),
}

fn push_text(runs: &mut Vec<Run>, text: &str, f: Formatting) {
    if let Some(Run::Text(last, g)) = runs.last_mut() {
        if *g == f {
            last.push_str(text);
            return;
        }
    }
    runs.push(Run::Text(text.to_string(), f));
}

/// How one kind of formatting is written in each markup.
struct Markup {
    html: &'static str,
    rtf: &'static str,
    /// Pandoc Markdown's opening and closing marks (small caps and underline as spans).
    markdown: (&'static str, &'static str),
    /// A WordprocessingML run property.
    word: &'static str,
    /// The OpenDocument text style (`office.rs` declares each).
    odf: &'static str,
}

/// The OpenDocument text styles the `.odt` writer uses: (name, text properties).
pub(crate) const ODF_STYLES: [(&str, &str); 6] = [
    ("refsync-i", "fo:font-style=\"italic\""),
    ("refsync-b", "fo:font-weight=\"bold\""),
    ("refsync-sc", "fo:font-variant=\"small-caps\""),
    (
        "refsync-u",
        "style:text-underline-style=\"solid\" style:text-underline-width=\"auto\" style:text-underline-color=\"font-color\"",
    ),
    ("refsync-sup", "style:text-position=\"super 58%\""),
    ("refsync-sub", "style:text-position=\"sub 58%\""),
];

/// The markup a text's formatting takes, outermost first.
fn markup(f: &Formatting) -> Vec<Markup> {
    let mut out = Vec::new();
    let mut add = |html, rtf, markdown, word, odf| {
        out.push(Markup {
            html,
            rtf,
            markdown,
            word,
            odf,
        })
    };
    if f.font_style == FontStyle::Italic {
        add("i", "\\i", ("*", "*"), "<w:i/>", "refsync-i");
    }
    if f.font_weight == FontWeight::Bold {
        add("b", "\\b", ("**", "**"), "<w:b/>", "refsync-b");
    }
    if f.font_variant == FontVariant::SmallCaps {
        add(
            "span style=\"font-variant: small-caps\"",
            "\\scaps",
            ("[", "]{.smallcaps}"),
            "<w:smallCaps/>",
            "refsync-sc",
        );
    }
    if f.text_decoration == TextDecoration::Underline {
        add(
            "u",
            "\\ul",
            ("[", "]{.underline}"),
            "<w:u w:val=\"single\"/>",
            "refsync-u",
        );
    }
    match f.vertical_align {
        VerticalAlign::Sup => add(
            "sup",
            "\\super",
            ("^", "^"),
            "<w:vertAlign w:val=\"superscript\"/>",
            "refsync-sup",
        ),
        VerticalAlign::Sub => add(
            "sub",
            "\\sub",
            ("~", "~"),
            "<w:vertAlign w:val=\"subscript\"/>",
            "refsync-sub",
        ),
        _ => {}
    }
    out
}

fn html_tags(f: &Formatting) -> Vec<&'static str> {
    markup(f).into_iter().map(|m| m.html).collect()
}

fn rtf_codes(f: &Formatting) -> String {
    markup(f).into_iter().map(|m| m.rtf).collect()
}

fn markdown_marks(f: &Formatting) -> Vec<(&'static str, &'static str)> {
    markup(f).into_iter().map(|m| m.markdown).collect()
}

/// Characters Markdown would read as markup, backslash-escaped.
fn escape_markdown(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '`' | '<' | '>' | '^' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Text as XML character data (no character a document's XML cannot hold: controls are
/// dropped).
pub(crate) fn escape_xml(text: &str, out: &mut String) {
    escape_markup(text, out, false);
}

fn escape_html(text: &str, out: &mut String) {
    escape_markup(text, out, true);
}

/// `&`, `<`, `>` and `"` escaped; in HTML `'` too, in XML the control characters dropped.
fn escape_markup(text: &str, out: &mut String, html: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if html => out.push_str("&#39;"),
            c if !html && (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// RTF is 7-bit: anything else is `\uN?` (N the UTF-16 unit, signed), braces and backslashes
/// escaped.
fn escape_rtf(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\line "),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{}?", *u as i16));
                }
            }
        }
    }
}

/// A whole document of a bibliography: an HTML page (entries as paragraphs, hanging indent
/// where the style has one), an RTF file, or plain text (one entry a paragraph).
pub fn document(formatted: &Result, out: Output, title: &str) -> String {
    match out {
        // The office outputs are a paragraph's runs, never a document of their own.
        Output::Text | Output::Markdown | Output::Word | Output::Odf => {
            let mut s = formatted.bibliography.join("\n\n");
            s.push('\n');
            s
        }
        Output::Html => {
            let mut s =
                String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
            escape_html(title, &mut s);
            s.push_str("</title></head><body>\n<div class=\"csl-bib-body\">\n");
            let indent = if formatted.hanging_indent {
                " style=\"padding-left: 2em; text-indent: -2em\""
            } else {
                ""
            };
            for entry in &formatted.bibliography {
                s.push_str(&format!("<p class=\"csl-entry\"{indent}>{entry}</p>\n"));
            }
            s.push_str("</div>\n</body></html>\n");
            s
        }
        Output::Rtf => {
            let mut s =
                String::from("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0\\fs24\n");
            let indent = if formatted.hanging_indent {
                "\\fi-720\\li720"
            } else {
                ""
            };
            for entry in &formatted.bibliography {
                s.push_str(&format!("{{\\pard{indent}\\sa240 {entry}\\par}}\n"));
            }
            s.push_str("}\n");
            s
        }
    }
}
