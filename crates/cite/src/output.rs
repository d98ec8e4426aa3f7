//! Formatted citations as text, HTML and RTF, and whole documents of a bibliography.
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
}

impl Output {
    /// "text", "html", "rtf" (as the CLI's `--format` takes them).
    pub fn from_id(id: &str) -> Option<Output> {
        match id.trim().to_ascii_lowercase().as_str() {
            "text" | "txt" | "plain" => Some(Output::Text),
            "html" | "htm" => Some(Output::Html),
            "rtf" => Some(Output::Rtf),
            _ => None,
        }
    }

    /// The file extension a document in this output takes.
    pub fn extension(self) -> &'static str {
        match self {
            Output::Text => "txt",
            Output::Html => "html",
            Output::Rtf => "rtf",
        }
    }

    pub(crate) fn render(self, children: &ElemChildren) -> String {
        let mut out = String::new();
        for child in &children.0 {
            self.child(child, &mut out);
        }
        out
    }

    pub(crate) fn render_child(self, child: &ElemChild) -> String {
        let mut out = String::new();
        self.child(child, &mut out);
        out
    }

    fn child(self, child: &ElemChild, out: &mut String) {
        match child {
            ElemChild::Text(t) => self.text(t, out),
            ElemChild::Elem(e) => {
                for c in &e.children.0 {
                    self.child(c, out);
                }
            }
            // Typst markup: shown as the text it is.
            ElemChild::Markup(m) => self.plain(m, &Formatting::default(), out),
            ElemChild::Link { text, url } => match self {
                // Only web addresses become links (a `javascript:` URL never does).
                Output::Html if url.starts_with("https://") || url.starts_with("http://") => {
                    out.push_str("<a href=\"");
                    escape_html(url, out);
                    out.push_str("\">");
                    self.text(text, out);
                    out.push_str("</a>");
                }
                _ => self.text(text, out),
            },
            ElemChild::Transparent { .. } => {}
        }
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
        }
    }
}

/// The markup a text's formatting takes: its HTML tags (outermost first) and RTF codes.
fn markup(f: &Formatting) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if f.font_style == FontStyle::Italic {
        out.push(("i", "\\i"));
    }
    if f.font_weight == FontWeight::Bold {
        out.push(("b", "\\b"));
    }
    if f.font_variant == FontVariant::SmallCaps {
        out.push(("span style=\"font-variant: small-caps\"", "\\scaps"));
    }
    if f.text_decoration == TextDecoration::Underline {
        out.push(("u", "\\ul"));
    }
    match f.vertical_align {
        VerticalAlign::Sup => out.push(("sup", "\\super")),
        VerticalAlign::Sub => out.push(("sub", "\\sub")),
        _ => {}
    }
    out
}

fn html_tags(f: &Formatting) -> Vec<&'static str> {
    markup(f).into_iter().map(|(tag, _)| tag).collect()
}

fn rtf_codes(f: &Formatting) -> String {
    markup(f).into_iter().map(|(_, code)| code).collect()
}

fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
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
        Output::Text => {
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
