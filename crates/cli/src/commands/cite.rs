//! Citations and bibliographies in CSL styles (`refsync cite`, `bibliography`, `styles`),
//! formatted by the `refsync-cite` crate, the same formatter the web app will use.
//!
//! Invariant: read-only; nothing here writes the library.

use crate::args::{ListView, StyleArgs};
use crate::context::{find_reference, Context};
use crate::error::{CliError, Result};
use crate::output::count;
use refsync_cite::{Cite, Manuscript, Output, Style};
use refsync_core::Reference;
use std::path::Path;

/// The style `--style` names: a built-in one, or a `.csl` file.
fn style_of(args: &StyleArgs) -> Result<(Style, Output)> {
    let out = Output::from_id(&args.format).ok_or_else(|| {
        CliError::bad_input(format!(
            "“{}” is not an output (text, html or rtf)",
            args.format
        ))
    })?;
    let path = Path::new(&args.style);
    let style = if args.style.to_ascii_lowercase().ends_with(".csl") || path.is_file() {
        let xml = std::fs::read_to_string(path).map_err(|e| {
            CliError::bad_input(format!("cannot read the style {}: {e}", path.display()))
        })?;
        Style::from_xml(&xml)
    } else {
        Style::builtin(&args.style)
    }
    .map_err(|e| CliError::bad_input(e.0))?;
    Ok((style, out))
}

pub async fn cite(cx: &Context, keys: &[String], args: &StyleArgs) -> Result<()> {
    let (style, out) = style_of(args)?;
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let mut cites = Vec::new();
    let mut refs: Vec<Reference> = Vec::new();
    for text in keys {
        // KEY or KEY:PAGES (keys are letters and digits, so the colon is free).
        let (key, page) = match text.split_once(':') {
            Some((k, p)) if !p.trim().is_empty() => (k, Some(p.trim().to_string())),
            _ => (text.as_str(), None),
        };
        let key = find_reference(&snap, key)?;
        if let Some(r) = snap.references.iter().find(|r| r.key == key) {
            if !refs.iter().any(|x| x.key == key) {
                refs.push(r.clone());
            }
        }
        cites.push(Cite {
            key,
            locator: page.map(|p| (None, p)),
            suppress_author: false,
            narrative: false,
        });
    }
    let formatted = refsync_cite::format(&refs, &style, args.locale.as_deref(), &[cites], out)
        .map_err(|e| CliError::bad_input(e.0))?;
    for c in &formatted.citations {
        println!("{c}");
    }
    println!();
    for entry in &formatted.bibliography {
        println!("{entry}");
    }
    Ok(())
}

pub async fn bibliography(
    cx: &Context,
    group: Option<&str>,
    args: &StyleArgs,
    output: Option<&Path>,
) -> Result<()> {
    let (style, out) = style_of(args)?;
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let view = ListView::by_author(group);
    let (library, keys) = super::library::selection(&snap, &view, None)?;
    let refs: Vec<Reference> = keys
        .iter()
        .filter_map(|k| library.get(k).cloned())
        .collect();
    let formatted = refsync_cite::bibliography(&refs, &style, args.locale.as_deref(), out)
        .map_err(|e| CliError::bad_input(e.0))?;
    match output {
        Some(path) => {
            let doc = refsync_cite::document(&formatted, out, &style.title());
            std::fs::write(path, doc)
                .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "Wrote a bibliography of {} in {} to {}.",
                count(refs.len(), "reference", "references"),
                style.title(),
                path.display()
            );
        }
        None => {
            for entry in &formatted.bibliography {
                println!("{entry}");
            }
        }
    }
    Ok(())
}

/// `refsync format-paper`: the manuscript at `input` with its temporary citations formatted
/// against the library, written to `output`; the report on standard error. Citations left as
/// typed make the exit status 1, so a script notices.
pub async fn format_paper(
    cx: &Context,
    input: &Path,
    output: &Path,
    args: &StyleArgs,
) -> Result<()> {
    let kind = Manuscript::from_name(&input.to_string_lossy()).ok_or_else(|| {
        CliError::bad_input(format!(
            "{} is not a manuscript Format Paper reads (Markdown .md or .txt, or .rtf)",
            input.display()
        ))
    })?;
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(CliError::bad_input(
            "the formatted manuscript must go to another file than the one read (it keeps the temporary citations)",
        ));
    }
    let (style, _) = style_of(args)?;
    let bytes = std::fs::read(input)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", input.display())))?;
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let (doc, report) = refsync_cite::format_paper(
        kind,
        &bytes,
        &snap.references,
        &style,
        args.locale.as_deref(),
    )
    .map_err(|e| CliError::bad_input(e.0))?;
    std::fs::write(output, doc)
        .map_err(|e| CliError::other(format!("cannot write {}: {e}", output.display())))?;
    eprintln!("{}", report.words());
    eprintln!("Wrote {} in {}.", output.display(), style.title());
    if report.unformatted.is_empty() {
        Ok(())
    } else {
        Err(CliError::bad_input(format!(
            "{} left as typed (listed above)",
            count(report.unformatted.len(), "citation was", "citations were")
        )))
    }
}

pub fn styles(filter: Option<&str>) {
    let wanted = filter.map(str::to_lowercase);
    for s in refsync_cite::builtin_styles() {
        let hit = wanted.as_deref().is_none_or(|w| {
            s.title.to_lowercase().contains(w) || s.aliases.iter().any(|a| a.contains(w))
        });
        if hit {
            println!("{:<45} {}", s.name, s.title);
        }
    }
}
