//! Citations and bibliographies in CSL styles (`refsync cite`, `bibliography`, `styles`),
//! formatted by the `refsync-cite` crate, the same formatter the web app will use.
//!
//! Invariant: read-only; nothing here writes the library.

use crate::args::{ListView, StyleArgs};
use crate::context::{find_reference, Context};
use crate::error::{CliError, Result};
use crate::output::count;
use refsync_cite::{Cite, Output, Style};
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
