//! Citations and bibliographies in CSL styles (`refsync cite`, `bibliography`, `format-paper`,
//! `styles`), formatted by the `refsync-cite` crate, the formatter the web app's worker runs.
//!
//! Invariant: only `styles --add`/`--remove` write the library (a style added is checked by the
//! formatter first, so no file that is not CSL is kept and synced); the rest only read it.

use crate::args::{ListView, StyleArgs};
use crate::context::{find_reference, new_key, now_millis, Context};
use crate::error::{CliError, Result};
use crate::output::count;
use crate::store::{LibraryFile, Snapshot, StoreError};
use refsync_cite::{Cite, Manuscript, Output, Style};
use refsync_core::edit::Write;
use refsync_core::protocol::Object;
use refsync_core::{Key, ObjectKind, Reference};
use std::path::Path;

/// The library's style `name` names: `lib:KEY`, its key, its title or its file's name (with
/// or without `.csl`), any case.
fn library_style<'a>(snap: &'a Snapshot, name: &str) -> Option<&'a refsync_core::Style> {
    let wanted = name.trim();
    let key = refsync_core::Style::key_in_name(wanted).or_else(|| Key::parse(wanted).ok());
    let mut all: Vec<&refsync_core::Style> = snap.styles.values().collect();
    all.sort_by_key(|s| s.key);
    all.into_iter().find(|s| {
        Some(s.key) == key
            || s.title.eq_ignore_ascii_case(wanted)
            || s.file_name.eq_ignore_ascii_case(wanted)
            || s.file_name
                .strip_suffix(".csl")
                .is_some_and(|stem| stem.eq_ignore_ascii_case(wanted))
    })
}

/// The style `--style` names: a `.csl` file, one of the library's own (added with `refsync
/// styles --add`, or in the web app, and synced), or a built-in one.
fn style_of(args: &StyleArgs, snap: &Snapshot) -> Result<(Style, Output)> {
    let out = Output::from_id(&args.format).ok_or_else(|| {
        CliError::bad_input(format!(
            "“{}” is not an output (text, html or rtf)",
            args.format
        ))
    })?;
    let path = Path::new(&args.style);
    let style = if path.is_file() {
        let xml = std::fs::read_to_string(path).map_err(|e| {
            CliError::bad_input(format!("cannot read the style {}: {e}", path.display()))
        })?;
        Style::from_xml(&xml)
    } else if let Some(own) = library_style(snap, &args.style) {
        Style::from_xml(&own.xml)
    } else if args.style.to_ascii_lowercase().ends_with(".csl") {
        return Err(CliError::bad_input(format!(
            "there is no style file {} and no style of that name in the library",
            path.display()
        )));
    } else {
        Style::builtin(&args.style)
    }
    .map_err(|e| CliError::bad_input(e.0))?;
    Ok((style, out))
}

pub async fn cite(cx: &Context, keys: &[String], args: &StyleArgs) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let (style, out) = style_of(args, &snap)?;
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
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let (style, out) = style_of(args, &snap)?;
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
            "{} is not a manuscript Format Paper reads (Word .docx, OpenDocument .odt, RTF, or Markdown .md or .txt)",
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
    let bytes = std::fs::read(input)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", input.display())))?;
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    lib.close().await;
    let (style, _) = style_of(args, &snap)?;
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

/// `refsync styles`: the library's own styles (when there is a library), then the built-in
/// ones, as far as `filter` narrows them.
pub async fn styles(cx: &Context, filter: Option<&str>) -> Result<()> {
    let wanted = filter.map(str::to_lowercase);
    let hit = |text: &str| {
        wanted
            .as_deref()
            .is_none_or(|w| text.to_lowercase().contains(w))
    };
    let snap = match LibraryFile::open(&cx.library_path).await {
        Ok(lib) => {
            let snap = lib.snapshot().await?;
            lib.close().await;
            snap
        }
        // The built-in styles need no library.
        Err(StoreError::Missing(_)) => Snapshot::default(),
        Err(e) => return Err(e.into()),
    };
    let mut own: Vec<&refsync_core::Style> = snap
        .styles
        .values()
        .filter(|s| hit(&s.title) || hit(&s.file_name))
        .collect();
    own.sort_by_key(|s| s.title.to_lowercase());
    for s in own {
        println!(
            "{:<45} {} (in this library: {})",
            s.name(),
            s.title,
            s.file_name
        );
    }
    for s in refsync_cite::builtin_styles() {
        if hit(s.title) || s.aliases.iter().any(|a| hit(a)) {
            println!("{:<45} {}", s.name, s.title);
        }
    }
    Ok(())
}

/// `refsync styles --add FILE`: the `.csl` file kept in the library (it syncs to every device
/// linked to it); a style already there with the same text is not added twice.
pub async fn add_style(cx: &Context, path: &Path) -> Result<()> {
    let xml = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let style = Style::from_xml(&xml).map_err(|e| {
        CliError::bad_input(format!("{} is not a CSL style: {}", path.display(), e.0))
    })?;
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    if let Some(same) = snap.styles.values().find(|s| s.xml == xml) {
        lib.close().await;
        println!(
            "“{}” is already in the library ({}).",
            same.title,
            same.name()
        );
        return Ok(());
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kept = refsync_core::Style {
        key: new_key(),
        title: style.title(),
        file_name,
        xml,
        date_modified: now_millis(),
    };
    lib.write(vec![Write::Put(Object::Style(kept.clone()))])
        .await?;
    lib.close().await;
    println!(
        "Added “{}” to the library as {} (it syncs to your other devices).",
        kept.title,
        kept.name()
    );
    Ok(())
}

/// `refsync styles --remove NAME`: one of the library's own styles deleted, on every device.
pub async fn remove_style(cx: &Context, name: &str) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let Some(style) = library_style(&snap, name) else {
        lib.close().await;
        return Err(CliError::not_found(format!(
            "no style “{name}” in the library (`refsync styles` lists them)"
        )));
    };
    lib.write(vec![Write::Delete(ObjectKind::Style, style.key)])
        .await?;
    lib.close().await;
    println!("Removed “{}” from the library.", style.title);
    Ok(())
}
