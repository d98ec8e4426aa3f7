//! The library's own commands: make it, import and export, list and search, show, add and
//! edit, the Trash and permanent deletes, attachments and duplicates.
//!
//! Invariant: a command checks everything it was given (every key, every field, every file)
//! before it writes, and writes in one transaction, so a mistake changes nothing.

use crate::args::{DuplicatesCommand, ExportFormat, ListView, SortBy};
use crate::context::{find_group, find_reference, find_references, new_key, now_millis, Context};
use crate::error::{CliError, Result};
use crate::output::{bar, confirm, count, table, thousands};
use crate::store::{sha256_hex, LibraryFile, Snapshot};
use refsync_core::edit::{actions, merge, Write};
use refsync_core::formats::{self, Format, ImportContext, Source};
use refsync_core::protocol::Object;
use refsync_core::query::{DuplicateSet, Library, Sort, SortField};
use refsync_core::{
    Attachment, AttachmentRole, CreatorRole, Field, Group, GroupKind, Key, RefType, Reference,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How many skipped records and notes an import lists.
const MAX_SKIPPED: usize = 50;
const MAX_NOTES: usize = 10;

pub async fn init(cx: &Context, path: Option<PathBuf>) -> Result<()> {
    let path = path.unwrap_or_else(|| cx.library_path.clone());
    let lib = LibraryFile::create(&path, new_key().as_str()).await?;
    lib.close().await;
    println!("Made an empty library at {}", path.display());
    Ok(())
}

/// A reference's custom groups and type as a person reads them.
fn type_label(r: &Reference) -> &'static str {
    r.ref_type.label()
}

/// What an import does with records the library already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Import them anyway (they then show in `refsync duplicates`).
    Import,
    Skip,
    /// Merge each into the copy already here.
    Merge,
}

pub async fn import(
    cx: &Context,
    files: &[PathBuf],
    group: Option<&str>,
    existing: Existing,
) -> Result<()> {
    let lib = cx.open().await?;
    // Read and recognize every file first: one that cannot be read stops the import before
    // anything is written.
    let mut read: Vec<(String, Format, Vec<u8>)> = Vec::new();
    for path in files {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", path.display())))?;
        let name = file_name(path);
        let format = Format::detect(&name, &bytes).ok_or_else(|| {
            CliError::bad_input(format!(
                "{} is not in a format refsync reads (RIS, BibTeX, EndNote XML, EndNote tagged, MEDLINE, CSL-JSON); nothing was imported",
                path.display()
            ))
        })?;
        read.push((name, format, bytes));
    }
    let snap = lib.snapshot().await?;
    let mut writes = Vec::new();
    let group_key = match group {
        Some(name) => Some(match find_group(&snap, name) {
            Ok(g) if matches!(g.kind, GroupKind::Custom) => g.key,
            Ok(_) => {
                return Err(CliError::bad_input(format!(
                    "“{name}” is a smart or combination group: references cannot be put in it"
                )))
            }
            Err(e) if e.code == crate::error::Code::NotFound => {
                let g = new_group(name);
                let key = g.key;
                writes.push(Write::Put(Object::Group(g)));
                key
            }
            Err(e) => return Err(e),
        }),
        None => None,
    };
    let reading = bar(read.len() as u64, "files read");
    let now = now_millis();
    let mut keys = new_key;
    let sources: Vec<Source<'_>> = read
        .iter()
        .map(|(name, _, bytes)| Source { name, bytes })
        .collect();
    let mut ctx = ImportContext {
        now,
        new_key: &mut keys,
    };
    let done = formats::import_files(&sources, None, &mut ctx, |n| reading.set_position(n as u64));
    let (imported, report) = (done.references, done.report);
    reading.finish_and_clear();
    let mut imported = imported;
    if let Some(g) = group_key {
        for r in &mut imported {
            r.groups.insert(g);
        }
    }
    let here = Library::from_references(snap.references.iter().cloned()).already_here(&imported);
    let found = here.iter().flatten().count();
    let mut merged_into = 0;
    let mut n = 0;
    for (r, already) in imported.into_iter().zip(here) {
        match (already, existing) {
            (Some(_), Existing::Skip) => {}
            (Some((into, _)), Existing::Merge) => {
                if let Some(kept) = snap.references.iter().find(|k| k.key == into) {
                    let mut to = merge::merged(kept, &[&r], &Default::default());
                    // The copy here keeps its own attachments; the import has none.
                    to.attachments = kept.attachments.clone();
                    to.date_modified = now;
                    writes.push(Write::change(
                        Object::Reference(kept.clone()),
                        Object::Reference(to),
                    ));
                    merged_into += 1;
                }
            }
            _ => {
                n += 1;
                writes.push(Write::Put(Object::Reference(r)));
            }
        }
    }
    let saving = bar(writes.len() as u64, "records saved");
    lib.write_with_progress(writes, |done| saving.set_position(done as u64))
        .await?;
    saving.finish_and_clear();
    lib.close().await;
    println!("{}", report.summary());
    if found > 0 {
        let what = count(found, "imported record was", "imported records were");
        println!(
            "{what} already in the library: {}.",
            match existing {
                Existing::Import => "imported anyway (see `refsync duplicates`)".to_string(),
                Existing::Skip => "left out".to_string(),
                Existing::Merge => format!(
                    "merged into {}",
                    count(merged_into, "reference there", "references there")
                ),
            }
        );
    }
    // Every reason a record was skipped matters; notes (what was guessed or worked around)
    // can run to thousands in a large file, so only the first few are shown.
    for s in report.skipped.iter().take(MAX_SKIPPED) {
        println!("  skipped {}{}: {}", s.file, line_suffix(s.line), s.reason);
    }
    if report.skipped.len() > MAX_SKIPPED {
        println!(
            "  ... and {} more skipped",
            report.skipped.len() - MAX_SKIPPED
        );
    }
    for w in report.warnings.iter().take(MAX_NOTES) {
        eprintln!("  note {}{}: {}", w.file, line_suffix(w.line), w.message);
    }
    if report.warnings.len() > MAX_NOTES {
        eprintln!(
            "  ... and {} more notes (records imported with something guessed or left out)",
            report.warnings.len() - MAX_NOTES
        );
    }
    if let (Some(name), true) = (group, n > 0) {
        println!("Added {} to “{name}”.", count(n, "reference", "references"));
    }
    Ok(())
}

fn line_suffix(line: usize) -> String {
    if line > 0 {
        format!(":{line}")
    } else {
        String::new()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

pub fn new_group(name: &str) -> Group {
    Group {
        key: new_key(),
        name: name.trim().to_string(),
        set: None,
        kind: GroupKind::Custom,
        shared: false,
        date_modified: now_millis(),
    }
}

fn format_of(f: ExportFormat) -> Format {
    match f {
        ExportFormat::Ris => Format::Ris,
        ExportFormat::Bibtex => Format::Bibtex,
        ExportFormat::EndnoteXml => Format::EndnoteXml,
        ExportFormat::Enw => Format::Enw,
        ExportFormat::CslJson => Format::CslJson,
    }
}

/// The keys a list shows: the library or the Trash, one group, a search; sorted.
pub fn selection(
    snap: &Snapshot,
    view: &ListView,
    query: Option<&str>,
) -> Result<(Library, Vec<Key>)> {
    let lib = Library::from_references(snap.references.iter().cloned());
    let trash = view.trash;
    let mut ids = lib.ids_where(|r| r.trashed == trash);
    if let Some(name) = &view.group {
        let g = find_group(snap, name)?;
        let members = lib
            .group_ids(&snap.groups, g.key)
            .map_err(|e| CliError::bad_input(format!("the group “{name}” cannot be shown: {e}")))?;
        ids.and(&members);
    }
    if let Some(found) = query.and_then(|q| lib.quick_search_ids(q)) {
        ids.and(&found);
    }
    let field = match view.sort {
        SortBy::Added => SortField::DateAdded,
        SortBy::Author => SortField::Author,
        SortBy::Year => SortField::Year,
        SortBy::Title => SortField::Title,
        SortBy::Journal => SortField::Journal,
        SortBy::Type => SortField::Type,
    };
    // Dates newest first, text A to Z, unless reversed.
    let descending = matches!(view.sort, SortBy::Added) != view.reverse;
    let keys = lib.sorted(Some(&ids), Sort { field, descending });
    Ok((lib, keys))
}

pub async fn export(
    cx: &Context,
    format: ExportFormat,
    group: Option<&str>,
    output: Option<&Path>,
) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let view = ListView::by_author(group);
    let (library, keys) = selection(&snap, &view, None)?;
    let refs: Vec<Reference> = keys
        .iter()
        .filter_map(|k| library.get(k).cloned())
        .collect();
    let text = formats::export(format_of(format), &refs);
    match output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "Exported {} to {}.",
                count(refs.len(), "reference", "references"),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

pub async fn list(cx: &Context, view: &ListView, query: Option<&str>) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let (library, keys) = selection(&snap, view, query)?;
    let refs: Vec<&Reference> = keys.iter().filter_map(|k| library.get(k)).collect();
    if view.json {
        let json =
            serde_json::to_string_pretty(&refs).map_err(|e| CliError::other(e.to_string()))?;
        println!("{json}");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = refs
        .iter()
        .map(|r| {
            vec![
                r.key.as_str().to_string(),
                r.author_summary(),
                r.year().to_string(),
                r.title().to_string(),
            ]
        })
        .collect();
    table(&["KEY", "AUTHOR", "YEAR", "TITLE"], &rows);
    eprintln!("{}", count(rows.len(), "reference", "references"));
    Ok(())
}

pub async fn show(cx: &Context, key: &str, json: bool) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let key = find_reference(&snap, key)?;
    let Some(r) = snap.references.iter().find(|r| r.key == key) else {
        return Err(CliError::not_found(format!(
            "no reference has the key {key}"
        )));
    };
    if json {
        let text = serde_json::to_string_pretty(r).map_err(|e| CliError::other(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let rows = describe(r, &snap);
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in rows {
        let mut lines = value.lines();
        println!("{label:>width$}  {}", lines.next().unwrap_or(""));
        for more in lines {
            println!("{:>width$}  {more}", "");
        }
    }
    Ok(())
}

/// A reference as `show` prints it: label and text, in the order a reference is read.
fn describe(r: &Reference, snap: &Snapshot) -> Vec<(String, String)> {
    let mut rows = vec![
        ("Key".to_string(), r.key.as_str().to_string()),
        ("Type".to_string(), type_label(r).to_string()),
    ];
    let roles = [
        (CreatorRole::Author, "Authors"),
        (CreatorRole::Editor, "Editors"),
        (CreatorRole::Translator, "Translators"),
        (CreatorRole::SeriesEditor, "Series editors"),
        (CreatorRole::BookAuthor, "Book authors"),
        (CreatorRole::Contributor, "Contributors"),
    ];
    for (role, label) in roles {
        let names: Vec<String> = r
            .creators_with(role)
            .map(|c| refsync_core::format_creators_for_editing(std::slice::from_ref(c)))
            .collect();
        if !names.is_empty() {
            rows.push((label.to_string(), names.join("\n")));
        }
    }
    for field in r.ref_type.fields() {
        let v = r.get(field);
        if !v.is_empty() {
            rows.push((r.ref_type.field_label(field).to_string(), v.to_string()));
        }
    }
    // Fields the type does not show are still the reference's: show them too.
    let shown: BTreeSet<&str> = r.ref_type.fields().iter().map(|f| f.id()).collect();
    for (id, v) in &r.fields {
        if !shown.contains(id.as_str()) {
            let label = Field::from_id(id).map_or(id.as_str(), |f| r.ref_type.field_label(f));
            rows.push((label.to_string(), v.clone()));
        }
    }
    if !r.keywords.is_empty() {
        rows.push(("Keywords".into(), r.keywords.join("\n")));
    }
    let groups: Vec<String> = r
        .groups
        .iter()
        .filter_map(|g| snap.groups.get(g).map(|g| g.name.clone()))
        .collect();
    if !groups.is_empty() {
        rows.push(("Groups".into(), groups.join("\n")));
    }
    let files: Vec<String> = r
        .attachments
        .iter()
        .filter_map(|a| snap.attachments.get(a))
        .map(|a| format!("{} ({} bytes)", a.file_name, thousands(a.size)))
        .collect();
    if !files.is_empty() {
        rows.push(("Attachments".into(), files.join("\n")));
    }
    if r.rating > 0 {
        rows.push(("Rating".into(), "★".repeat(usize::from(r.rating.min(5)))));
    }
    rows.push(("Read".into(), if r.read { "yes" } else { "no" }.into()));
    if r.trashed {
        rows.push(("Trash".into(), "in the Trash".into()));
    }
    for (name, v) in r.extras_in_order() {
        rows.push((name.to_string(), v.to_string()));
    }
    rows.push(("Added".into(), crate::output::date_time(r.date_added)));
    rows.push(("Modified".into(), crate::output::date_time(r.date_modified)));
    rows
}

/// Apply `field=value` pairs to `r`; an unknown field or a bad value is an error.
/// Set `FIELD=VALUE` pairs by core's rule ([`actions::set_named`]), as the web app's fields do.
pub fn set_fields(r: &mut Reference, pairs: &[String]) -> Result<()> {
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(CliError::bad_input(format!(
                "“{pair}” is not FIELD=VALUE (for example title=\"A title\")"
            )));
        };
        actions::set_named(r, name, value).map_err(CliError::bad_input)?;
    }
    Ok(())
}

pub async fn add(cx: &Context, pairs: &[String]) -> Result<()> {
    let lib = cx.open().await?;
    let now = now_millis();
    let mut r = Reference::new(new_key(), RefType::JournalArticle, now);
    set_fields(&mut r, pairs)?;
    let key = r.key;
    lib.write(vec![Write::Put(Object::Reference(r))]).await?;
    lib.close().await;
    println!("{key}");
    Ok(())
}

/// Change each of `keys` with `change` (core's [`actions::edit_each`]) and write it. How many
/// changed.
async fn edit_each(
    lib: &LibraryFile,
    snap: &Snapshot,
    keys: &[Key],
    change: impl FnMut(&mut Reference) -> Result<()>,
) -> Result<usize> {
    let writes = actions::edit_each(snap, keys, now_millis(), change)?;
    let n = writes.len();
    lib.write(writes).await?;
    Ok(n)
}

pub async fn edit(cx: &Context, key: &str, pairs: &[String]) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let key = find_reference(&snap, key)?;
    let n = edit_each(&lib, &snap, &[key], |r| set_fields(r, pairs)).await?;
    lib.close().await;
    if n == 0 {
        println!("Nothing changed.");
    } else {
        println!("Saved {key}.");
    }
    Ok(())
}

pub async fn trash(cx: &Context, keys: &[String], to_trash: bool) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let keys = find_references(&snap, keys)?;
    let writes = if to_trash {
        actions::trash(&snap, &keys, now_millis())
    } else {
        actions::restore(&snap, &keys, now_millis())
    };
    // A restore may also move attachments back (undoing a merge): count references.
    let n = writes
        .iter()
        .filter(|w| {
            w.target().0 == refsync_core::ObjectKind::Reference && keys.contains(&w.target().1)
        })
        .count();
    lib.write(writes).await?;
    lib.close().await;
    let what = count(n, "reference", "references");
    if to_trash {
        println!("Moved {what} to the Trash.");
    } else {
        println!("Restored {what}.");
    }
    Ok(())
}

/// Delete references for good, with their attachments (and the bytes no other attachment
/// shares), by core's rule.
pub async fn delete_forever(lib: &LibraryFile, snap: &Snapshot, keys: &[Key]) -> Result<()> {
    lib.write(actions::delete_forever(snap, keys).writes)
        .await?;
    lib.prune_files().await?;
    Ok(())
}

pub async fn delete(cx: &Context, keys: &[String], yes: bool) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let keys = find_references(&snap, keys)?;
    let what = count(keys.len(), "reference", "references");
    if !yes
        && !confirm(&format!(
        "Delete {what} for good, with their attachments, here and (after a sync) on every device?"
    ))? {
        println!("Nothing was deleted.");
        return Ok(());
    }
    delete_forever(&lib, &snap, &keys).await?;
    lib.close().await;
    println!("Deleted {what} permanently.");
    Ok(())
}

pub async fn empty_trash(cx: &Context, yes: bool) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let keys = actions::in_trash(&snap);
    if keys.is_empty() {
        println!("The Trash is empty.");
        return Ok(());
    }
    let what = count(keys.len(), "reference", "references");
    if !yes && !confirm(&format!("Delete the {what} in the Trash for good?"))? {
        println!("Nothing was deleted.");
        return Ok(());
    }
    delete_forever(&lib, &snap, &keys).await?;
    lib.close().await;
    println!("Deleted {what} permanently.");
    Ok(())
}

/// A media type from a file name, for the browser to open the file with.
fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "epub" => "application/epub+zip",
        _ => "application/octet-stream",
    }
}

pub async fn attach(cx: &Context, key: &str, file: &Path) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let key = find_reference(&snap, key)?;
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", file.display())))?;
    let name = file_name(file);
    let sha = sha256_hex(&bytes);
    let now = now_millis();
    let attachment = Attachment {
        key: new_key(),
        parent: key,
        file_name: name.clone(),
        media_type: media_type(&name).to_string(),
        size: bytes.len() as u64,
        sha256: sha.clone(),
        role: AttachmentRole::File,
        caption: String::new(),
        merged_from: None,
        date_modified: now,
    };
    let writes = actions::attach(&snap, attachment, now).map_err(CliError::not_found)?;
    lib.put_file(&sha, &bytes).await?;
    lib.write(writes).await?;
    lib.close().await;
    println!(
        "Attached {name} ({} bytes) to {key}.",
        thousands(bytes.len() as u64)
    );
    Ok(())
}

pub async fn duplicates(cx: &Context, action: Option<DuplicatesCommand>, json: bool) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let library = Library::from_references(snap.references.iter().cloned());
    let sets = library.duplicates();
    let result = match action {
        None => {
            list_duplicates(&library, &sets, json);
            Ok(())
        }
        Some(DuplicatesCommand::Merge { set, keep, picks }) => {
            merge_set(&lib, &snap, find_set(&sets, &set)?, &keep, &picks).await
        }
        Some(DuplicatesCommand::Not { set }) => {
            let set = find_set(&sets, &set)?;
            lib.write(merge::not_duplicates(&snap, &set.keys, now_millis()))
                .await?;
            println!(
                "Marked {} as not duplicates; they will not be listed together again (undo: refsync duplicates again {}).",
                count(set.keys.len(), "reference", "references"),
                set.keys
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            Ok(())
        }
        Some(DuplicatesCommand::Again { keys }) => {
            let keys = find_references(&snap, &keys)?;
            let writes = merge::duplicates_again(&snap, &keys, now_millis());
            let n = writes.len();
            lib.write(writes).await?;
            if n == 0 {
                println!("None of them was marked as not duplicates.");
            } else {
                println!("They may be listed as duplicates again.");
            }
            Ok(())
        }
    };
    lib.close().await;
    result
}

fn list_duplicates(library: &Library, sets: &[DuplicateSet], json: bool) {
    if json {
        let v: Vec<serde_json::Value> = sets
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id(),
                    "reason": format!("{:?}", s.reason).to_lowercase(),
                    "keys": s.keys.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return;
    }
    if sets.is_empty() {
        println!("No probable duplicates.");
        return;
    }
    for (i, set) in sets.iter().enumerate() {
        println!(
            "Set {} [{}] ({}):",
            i + 1,
            set.id(),
            lower_first(set.reason.words())
        );
        for k in &set.keys {
            if let Some(r) = library.get(k) {
                println!(
                    "  {}  {}  {}  {}",
                    k,
                    r.author_summary(),
                    r.year(),
                    r.title()
                );
            }
        }
    }
    println!("{}", count(sets.len(), "set", "sets"));
    println!("Merge one: refsync duplicates merge SET --keep KEY [FIELD=KEY ...]; or: refsync duplicates not SET");
}

/// "Same DOI" as the middle of a line: "same DOI".
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A set by its id or its number in the list.
fn find_set<'a>(sets: &'a [DuplicateSet], name: &str) -> Result<&'a DuplicateSet> {
    let name = name.trim();
    let by_number = name
        .parse::<usize>()
        .ok()
        .filter(|n| name.len() < 8 && *n >= 1)
        .and_then(|n| sets.get(n - 1));
    by_number
        .or_else(|| sets.iter().find(|s| s.id().eq_ignore_ascii_case(name)))
        .ok_or_else(|| {
            CliError::not_found(format!(
                "no set of duplicates is named {name} (see `refsync duplicates`)"
            ))
        })
}

async fn merge_set(
    lib: &LibraryFile,
    snap: &Snapshot,
    set: &DuplicateSet,
    keep: &str,
    picks: &[String],
) -> Result<()> {
    let keep = find_reference(snap, keep)?;
    if !set.keys.contains(&keep) {
        return Err(CliError::bad_input(format!(
            "{keep} is not in this set (its records: {})",
            set.keys
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let kept = snap
        .references
        .iter()
        .find(|r| r.key == keep)
        .ok_or_else(|| CliError::not_found(format!("no reference has the key {keep}")))?;
    let mut chosen = std::collections::BTreeMap::new();
    for pick in picks {
        let (name, from) = pick
            .split_once('=')
            .ok_or_else(|| CliError::bad_input(format!("“{pick}” is not FIELD=KEY")))?;
        let from = find_reference(snap, from)?;
        if !set.keys.contains(&from) {
            return Err(CliError::bad_input(format!("{from} is not in this set")));
        }
        let id = match name.trim().to_ascii_lowercase().as_str() {
            "type" => "type".to_string(),
            "author" | "authors" | "creators" => "creators".to_string(),
            "rating" => "rating".to_string(),
            "read" => "read".to_string(),
            other => kept
                .ref_type
                .field_named(other)
                .map(|f| f.id().to_string())
                .ok_or_else(|| {
                    CliError::bad_input(format!("“{name}” is not a field of a reference"))
                })?,
        };
        chosen.insert(id, merge::Take::From(from));
    }
    let others: Vec<Key> = set.keys.iter().copied().filter(|k| *k != keep).collect();
    let writes =
        merge::merge(snap, keep, &others, &chosen, now_millis()).map_err(CliError::bad_input)?;
    lib.write(writes).await?;
    println!(
        "Merged {} into {keep}; {} in the Trash (restore one to undo its merge).",
        count(others.len(), "record", "records"),
        if others.len() == 1 {
            "it waits"
        } else {
            "they wait"
        }
    );
    Ok(())
}
