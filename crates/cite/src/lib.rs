//! Citations and bibliographies in Citation Style Language styles, from refsync's references:
//! what the CLI's `refsync cite` and `refsync bibliography` print (and, later, the web app's
//! formatter worker).
//!
//! Formatting is typst's `hayagriva` (docs/decisions.md, "Citations"): a CSL 1.0.2 processor
//! over CSL-JSON items. A reference goes in through core's own CSL-JSON mapping
//! (`formats::csl_json::to_item`), the same one the CSL-JSON export writes, so what a citation
//! shows is what an export carries. The most used styles and every CSL locale are built in
//! (`hayagriva::archive`), so formatting never needs a network; any other style is its `.csl`
//! XML, given by the caller.
//!
//! Invariants: pure (no I/O, no clock); nothing here panics on a style or reference a person
//! supplies: a style that cannot be read, or depends on one that is not at hand, is a
//! [`CiteError`] in plain words.

mod output;
pub mod paper;

pub use output::{document, Output};
pub use paper::{format_paper, Manuscript, PaperReport};

use hayagriva::archive::{locales, ArchivedStyle};
use hayagriva::citationberg::json as csl_json;
use hayagriva::citationberg::taxonomy::{Locator, NumberVariable, Variable};
use hayagriva::citationberg::{IndependentStyle, Locale, LocaleCode, SortKey, Style as CslStyle};
use hayagriva::{
    BibliographyDriver, BibliographyRequest, CitationItem, CitationRequest, CitePurpose,
    LocatorPayload, SpecificLocator,
};
use refsync_core::formats::csl_json::to_item;
use refsync_core::{Key, Reference};
use std::fmt;
use std::str::FromStr;

/// Why formatting could not be done, in words for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiteError(pub String);

impl fmt::Display for CiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CiteError {}

/// A built-in style, as a style picker lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StyleInfo {
    /// The short name `refsync cite --style` takes ("apa").
    pub name: &'static str,
    /// Its title ("APA Style 7th edition").
    pub title: &'static str,
    /// Every name it answers to ("apa", "american-psychological-association").
    pub aliases: &'static [&'static str],
}

/// Every built-in style, by title.
pub fn builtin_styles() -> Vec<StyleInfo> {
    let mut all: Vec<StyleInfo> = ArchivedStyle::all()
        .iter()
        .map(|s| {
            let names = s.names();
            StyleInfo {
                // The shortest name is the one people type ("apa", "ieee", "mla").
                name: names.iter().min_by_key(|n| n.len()).copied().unwrap_or(""),
                title: s.display_name(),
                aliases: names,
            }
        })
        .collect();
    refsync_core::sort::sort_by_key(&mut all, |s| s.title.to_lowercase());
    all
}

/// A style ready to format with.
#[derive(Clone, Debug)]
pub struct Style {
    style: IndependentStyle,
}

impl Style {
    /// A built-in style by any of its names ("apa", "chicago-author-date", "ieee"...).
    ///
    /// Each is decoded once and kept: decoding APA from the archive takes most of a style
    /// switch in the browser otherwise (docs/bench.md, "Citations").
    pub fn builtin(name: &str) -> Result<Style, CiteError> {
        static DECODED: std::sync::OnceLock<std::sync::Mutex<Vec<(ArchivedStyle, Style)>>> =
            std::sync::OnceLock::new();
        let wanted = name.trim().to_ascii_lowercase();
        let found = ArchivedStyle::by_name(&wanted).ok_or_else(|| {
            CiteError(format!(
                "“{name}” is not a built-in style (see `refsync styles`), nor a .csl file"
            ))
        })?;
        let decoded = DECODED.get_or_init(Default::default);
        let kept = decoded
            .lock()
            .ok()
            .and_then(|d| d.iter().find(|(s, _)| *s == found).map(|(_, s)| s.clone()));
        if let Some(style) = kept {
            return Ok(style);
        }
        let style = Style::independent(found.get())?;
        if let Ok(mut d) = decoded.lock() {
            d.push((found, style.clone()));
        }
        Ok(style)
    }

    /// A style from its CSL XML (a `.csl` file). A dependent style (a journal that uses
    /// another's rules) is resolved to its parent when that parent is built in.
    pub fn from_xml(xml: &str) -> Result<Style, CiteError> {
        let style = CslStyle::from_xml(xml)
            .map_err(|e| CiteError(format!("This is not a CSL style that can be read ({e}).")))?;
        Style::independent(style)
    }

    fn independent(style: CslStyle) -> Result<Style, CiteError> {
        match style {
            CslStyle::Independent(style) => Ok(Style { style }),
            CslStyle::Dependent(dep) => {
                let parent = dep.parent_link.href.to_string();
                ArchivedStyle::by_id(&parent)
                    .map(ArchivedStyle::get)
                    .and_then(|s| match s {
                        // The parent's rules under the journal's own name and language: the
                        // person picked "Journal of X", not APA.
                        CslStyle::Independent(mut style) => {
                            style.info = dep.info;
                            if dep.default_locale.is_some() {
                                style.default_locale = dep.default_locale;
                            }
                            Some(Style { style })
                        }
                        CslStyle::Dependent(_) => None,
                    })
                    .ok_or_else(|| {
                        CiteError(format!(
                            "This style uses the rules of another ({parent}), which is not built in: add that style's .csl file instead."
                        ))
                    })
            }
        }
    }

    /// The style's title ("APA Style 7th edition").
    pub fn title(&self) -> String {
        self.style.info.title.value.clone()
    }

    /// Whether citations are footnotes (Chicago notes) rather than in the text.
    pub fn is_note_style(&self) -> bool {
        self.style.settings.class == hayagriva::citationberg::StyleClass::Note
    }
}

/// One cited reference within a citation, with what a person adds to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cite {
    pub key: Key,
    /// Where in the work: a locator term ("page", "chapter", "figure"...; CSL's names) and
    /// its value ("12", "3-5"). Without a term, a page.
    pub locator: Option<(Option<String>, String)>,
    /// Leave the author out ("(1962)" for "Kuhn (1962) argues...").
    pub suppress_author: bool,
    /// The author in the sentence, the rest after it ("Kuhn (1962)", pandoc's bare `@key`).
    pub narrative: bool,
}

impl Cite {
    pub fn of(key: Key) -> Cite {
        Cite {
            key,
            ..Cite::default()
        }
    }
}

/// What one formatting produced: each citation asked for, then the bibliography's entries
/// (in the style's order), in the chosen output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Formatted {
    pub citations: Vec<String>,
    pub bibliography: Vec<String>,
    /// The reference each bibliography entry is of.
    pub entries: Vec<Key>,
    /// The bibliography is set with a hanging indent (APA, Chicago...).
    pub hanging_indent: bool,
}

/// The CSL locales built in, decoded once (~45 ms natively: not per call).
fn all_locales() -> &'static [Locale] {
    static ALL: std::sync::OnceLock<Vec<Locale>> = std::sync::OnceLock::new();
    ALL.get_or_init(locales)
}

/// The locales a formatting can use: the language asked for, the style's own, and English
/// (CSL's last fallback); the processor scans what it is given for every term, and the other
/// sixty never answer.
fn locales_for(wanted: Option<&LocaleCode>, style: &IndependentStyle) -> Vec<Locale> {
    let language = |code: &LocaleCode| code.0.split('-').next().unwrap_or("").to_ascii_lowercase();
    let mut languages = vec!["en".to_string()];
    languages.extend(wanted.map(language));
    languages.extend(style.default_locale.as_ref().map(language));
    all_locales()
        .iter()
        .filter(|l| {
            l.lang
                .as_ref()
                .is_some_and(|c| languages.contains(&language(c)))
        })
        .cloned()
        .collect()
}

fn locale_code(locale: Option<&str>) -> Result<Option<LocaleCode>, CiteError> {
    match locale.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) if l.len() <= 12 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            Ok(Some(LocaleCode(l.to_string())))
        }
        Some(l) => Err(CiteError(format!(
            "“{l}” is not a locale (for example en-US, en-GB, de-DE, fr-FR)"
        ))),
    }
}

/// A reference as the CSL-JSON item the processor is given: core's CSL-JSON mapping, with the
/// reference's key as its id (a citation key can be shared by two references; a key cannot).
pub fn csl_item(r: &Reference) -> serde_json::Value {
    let mut item = to_item(r);
    item["id"] = r.key.to_string().into();
    if let Some(map) = item.as_object_mut() {
        for names in map.values_mut().filter_map(serde_json::Value::as_array_mut) {
            for name in names
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                if let Some(given) = name.get("given").and_then(serde_json::Value::as_str) {
                    let spaced = space_initials(given);
                    name.insert("given".into(), spaced.into());
                }
            }
        }
        for date in [
            "issued",
            "accessed",
            "event-date",
            "original-date",
            "submitted",
        ] {
            match map.get(date).map(raw_date) {
                Some(Some(Some(plain))) => {
                    map.insert(date.to_string(), plain);
                }
                Some(Some(None)) => {
                    map.remove(date);
                }
                _ => {}
            }
        }
    }
    item
}

/// "F.H." as "F. H.", as citeproc-js reads initials (hayagriva keeps them as typed, so an
/// unspaced pair would print unspaced in every style).
fn space_initials(given: &str) -> String {
    let mut out = String::with_capacity(given.len() + 4);
    let mut chars = given.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '.' && chars.peek().is_some_and(|n| n.is_alphabetic()) {
            out.push(' ');
        }
    }
    out
}

/// A date core could not read into parts ("29-30 November 2011", "in press") is written
/// `{"raw": …}` or `{"literal": …}`, which CSL-JSON allows but hayagriva does not read: its
/// year, as the processor needs it (`Some(Some(..))`), or no date at all (`Some(None)`: the
/// style then says "n.d."); `None` for a date already in parts.
fn raw_date(value: &serde_json::Value) -> Option<Option<serde_json::Value>> {
    if value.get("date-parts").is_some() {
        return None;
    }
    let text = value
        .get("raw")
        .or_else(|| value.get("literal"))
        .and_then(serde_json::Value::as_str)?;
    let year = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|d| d.len() == 4)
        .and_then(|d| d.parse::<i64>().ok());
    Some(year.map(|y| serde_json::json!({ "date-parts": [[y]] })))
}

/// Format `citations` (each a list of cited references: one in-text citation or footnote) and
/// the bibliography of every reference in `references`, in `style`, in `locale` (default:
/// the style's own, else en-US).
pub fn format(
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
    citations: &[Vec<Cite>],
    out: Output,
) -> Result<Formatted, CiteError> {
    format_each(references, style, locale, citations, &[out])?
        .pop()
        .ok_or_else(|| CiteError("nothing was formatted".into()))
}

/// [`format`] written in each of `outs`, from one run of the processor (the preview's HTML and
/// the clipboard's plain text cost one formatting, not two).
pub fn format_each(
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
    citations: &[Vec<Cite>],
    outs: &[Output],
) -> Result<Vec<Formatted>, CiteError> {
    let items: Vec<csl_json::Item> = references
        .iter()
        .map(|r| {
            serde_json::from_value(csl_item(r)).map_err(|e| {
                CiteError(format!(
                    "“{}” could not be prepared for citing ({e})",
                    r.title()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let index = |key: &Key| references.iter().position(|r| r.key == *key);
    let locale = locale_code(locale)?;
    let locales = locales_for(locale.as_ref(), &style.style);
    let mut driver: BibliographyDriver<'_, csl_json::Item> = BibliographyDriver::new();
    // The order most styles sort by (first author, year, title): given in it, the style's own
    // sort meets runs already in order, and its comparisons, which render the sort keys each
    // time, fall from n log n to about n (docs/bench.md, "Citations").
    let order_key = |i: &usize| {
        let r = &references[*i];
        let first = r
            .creators
            .first()
            .map(|c| c.name.sort_name().to_lowercase())
            .unwrap_or_default();
        (first, r.year().to_string(), r.title().to_lowercase())
    };
    // Only a sort by what the references are: one by citation number keeps the order given
    // (numbers go by first citation, so moving items would renumber them).
    let sorted_citations = style.style.citation.sort.as_ref().is_some_and(|sort| {
        !sort.keys.iter().any(|key| {
            matches!(
                key,
                SortKey::Variable {
                    variable: Variable::Number(NumberVariable::CitationNumber),
                    ..
                }
            )
        })
    });
    for (n, citation) in citations.iter().enumerate() {
        let mut cited = Vec::new();
        let mut order: Vec<usize> = Vec::new();
        for cite in citation {
            let i = index(&cite.key).ok_or_else(|| {
                CiteError(format!("{} is not among the references given", cite.key))
            })?;
            let locator = match &cite.locator {
                Some((term, value)) => {
                    let term = match term.as_deref() {
                        None => Locator::Page,
                        Some(t) => Locator::from_str(t).map_err(|_| {
                            CiteError(format!(
                                "“{t}” is not a locator (for example page, chapter, section, figure, paragraph)"
                            ))
                        })?,
                    };
                    Some(SpecificLocator(term, LocatorPayload::Str(value)))
                }
                None => None,
            };
            // A footnote has no narrative form (hayagriva's "prose" purpose garbles one).
            let purpose = if cite.suppress_author {
                Some(CitePurpose::Year)
            } else if cite.narrative && !style.is_note_style() {
                Some(CitePurpose::Prose)
            } else {
                None
            };
            cited.push(CitationItem::new(&items[i], locator, None, false, purpose));
            order.push(i);
        }
        // A style that sorts a citation's items sorts them anyway; one that does not (numeric
        // styles) numbers them in the order given, which must stay.
        if sorted_citations && cited.len() > 2 {
            let mut pairs: Vec<(usize, CitationItem<'_, csl_json::Item>)> =
                order.into_iter().zip(cited).collect();
            refsync_core::sort::sort_by_key(&mut pairs, |(i, _)| order_key(i));
            cited = pairs.into_iter().map(|(_, c)| c).collect();
        }
        driver.citation(CitationRequest::new(
            cited,
            &style.style,
            locale.clone(),
            &locales,
            Some(n + 1),
        ));
    }
    // Every reference belongs in the bibliography, cited or not (as "Create Bibliography"):
    // each in a hidden citation of its own. One hidden citation of them all would be sorted
    // by the style's citation sort, which hayagriva does by rendering sort keys inside every
    // comparison: 2.8 s for 1,000 in APA in the browser (docs/bench.md, "Citations").
    //
    // They go in `order_key`'s order, for the same reason.
    let mut uncited: Vec<usize> = (0..items.len()).collect();
    refsync_core::sort::sort_by_key(&mut uncited, order_key);
    for item in uncited.into_iter().map(|i| &items[i]) {
        driver.citation(CitationRequest::new(
            vec![CitationItem::new(item, None, None, true, None)],
            &style.style,
            locale.clone(),
            &locales,
            None,
        ));
    }
    // A defect in the processor is an error for these references, not a crash of the program
    // (natively; in the browser's worker a panic ends the worker, which the app reports).
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        driver.finish(BibliographyRequest::new(&style.style, locale, &locales))
    }))
    .map_err(|_| {
        CiteError(
            "The citation processor failed on these references (a defect in refsync: please report it with the style's name)."
                .into(),
        )
    })?;
    // One processor run, written in each output asked for (the writing is the cheap part).
    Ok(outs
        .iter()
        .map(|&out| {
            let mut formatted = Formatted {
                citations: rendered
                    .citations
                    .iter()
                    .take(citations.len())
                    .map(|c| out.render(&c.citation))
                    .collect(),
                ..Formatted::default()
            };
            if let Some(bib) = &rendered.bibliography {
                formatted.hanging_indent = bib.hanging_indent;
                formatted.entries = bib
                    .items
                    .iter()
                    .filter_map(|item| Key::parse(&item.key).ok())
                    .collect();
                formatted.bibliography = bib
                    .items
                    .iter()
                    .map(|item| {
                        let mut entry = String::new();
                        if let Some(first) = &item.first_field {
                            entry.push_str(&out.render_child(first));
                            entry.push(' ');
                        }
                        entry.push_str(&out.render(&item.content));
                        entry
                    })
                    .collect();
            }
            formatted
        })
        .collect())
}

/// The bibliography alone of `references` (as EndNote's Bibliography, Zotero's "Create
/// Bibliography").
pub fn bibliography(
    references: &[Reference],
    style: &Style,
    locale: Option<&str>,
    out: Output,
) -> Result<Formatted, CiteError> {
    format(references, style, locale, &[], out)
}

#[cfg(test)]
mod tests;
