//! Getting references in and out: import (file picker or drop) of every format core reads,
//! with progress and a report of what was skipped and why; export of the selection, the list
//! shown or the whole library in every format core writes; backup of the whole library with
//! its attachments to one `.zip` (core's backup format, which the CLI reads too) and restore
//! of one into an empty library.
//!
//! Invariant: an import is all-or-nothing per batch of [`crate::storage::BULK_BATCH`]; the
//! report says how many were saved if a batch fails, and nothing imported is half-written.

mod worker;

use crate::browser;
use crate::features::library::{use_library, Collection, Library, Scope, ScopeChoice};
use crate::features::ui::{file_stem, thousands, DialogFooter, Modal, Progress};
use crate::later::{later, loaded};
use leptos::ev::DragEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::backup::Manifest;
use refsync_core::formats::{Format, Report};
use refsync_core::protocol::Object;
use refsync_core::{GroupKind, Key, Reference};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferDialog {
    Import,
    Export,
    Backup,
    Restore,
}

/// The list toolbar's buttons for import, export, back up and restore.
#[component]
pub fn TransferButtons() -> impl IntoView {
    let transfer = use_transfer();
    view! {
        <button id="import-button" class="btn" on:click=move |_| transfer.open(TransferDialog::Import)>"Import"</button>
        <button id="export-button" class="btn" on:click=move |_| transfer.open(TransferDialog::Export)>"Export"</button>
        <button id="backup-button" class="btn" title="Back up the whole library with its attachments" on:click=move |_| transfer.open(TransferDialog::Backup)>"Back up"</button>
        <button id="restore-button" class="btn" title="Restore a backup into this (empty) library" on:click=move |_| transfer.open(TransferDialog::Restore)>"Restore backup"</button>
    }
}

/// "Export selected", for the detail pane when several references are selected.
#[component]
pub fn ExportSelectedButton() -> impl IntoView {
    let transfer = use_transfer();
    view! {
        <button class="btn" on:click=move |_| transfer.open(TransferDialog::Export)>"Export selected"</button>
    }
}

#[derive(Clone, Copy)]
pub struct Transfer {
    dialog: RwSignal<Option<TransferDialog>>,
    /// Files dropped on the window, waiting for the import dialog.
    dropped: RwSignal<Vec<SendFile>, LocalStorage>,
    /// Records pasted on the list (Ctrl+V), waiting for the import dialog.
    pasted: RwSignal<String>,
}

/// A browser file (not `Send`; kept in local storage signals only).
#[derive(Clone, Debug)]
pub struct SendFile(pub web_sys::File);

impl Transfer {
    pub fn open(self, dialog: TransferDialog) {
        self.dialog.set(Some(dialog));
    }
}

pub fn provide_transfer() {
    let transfer = Transfer {
        dialog: RwSignal::new(None),
        dropped: RwSignal::new_local(Vec::new()),
        pasted: RwSignal::new(String::new()),
    };
    provide_context(transfer);
    // Files dropped anywhere on the window go to the import dialog.
    let over = window_event_listener(leptos::ev::dragover, move |ev: DragEvent| {
        if carries_files(&ev) {
            ev.prevent_default();
        }
    });
    let drop = window_event_listener(leptos::ev::drop, move |ev: DragEvent| {
        if !carries_files(&ev) {
            return;
        }
        ev.prevent_default();
        let files = browser::files_of(ev.data_transfer().and_then(|d| d.files()));
        if !files.is_empty() {
            transfer
                .dropped
                .set(files.into_iter().map(SendFile).collect());
            transfer.open(TransferDialog::Import);
        }
    });
    // Records pasted anywhere but a text box (Ctrl+V on the list) go to the import dialog:
    // RIS, BibTeX, EndNote tagged, MEDLINE or CSL-JSON text, read like a file.
    let paste = window_event_listener(leptos::ev::paste, move |ev: web_sys::ClipboardEvent| {
        if typing_somewhere(&ev) || transfer.dialog.get_untracked().is_some() {
            return;
        }
        let text = ev
            .clipboard_data()
            .and_then(|d| d.get_data("text/plain").ok())
            .unwrap_or_default();
        if text.trim().is_empty() {
            return;
        }
        ev.prevent_default();
        transfer.pasted.set(text);
        transfer.open(TransferDialog::Import);
    });
    on_cleanup(move || {
        over.remove();
        drop.remove();
        paste.remove();
    });
}

/// A paste into a text box is that box's.
fn typing_somewhere(ev: &web_sys::ClipboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        .is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || el.is_content_editable()
        })
}

fn carries_files(ev: &DragEvent) -> bool {
    ev.data_transfer().is_some_and(|d| {
        let types = d.types();
        (0..types.length()).any(|i| types.get(i).as_string().as_deref() == Some("Files"))
    })
}

pub fn use_transfer() -> Transfer {
    use_context::<Transfer>().unwrap_or_else(|| {
        panic!("use_transfer called outside the App component (provide_transfer not run)")
    })
}

/// The open dialog, if any.
#[component]
pub fn TransferDialogs() -> impl IntoView {
    let transfer = use_transfer();
    let close = Callback::new(move |_| transfer.dialog.set(None));
    move || {
        transfer
            .dialog
            .get()
            .map(|which| loaded(move || transfer_dialog(which, close)))
    }
}

later! { transfer;
    /// The dialogs, loaded the first time one opens.
    fn transfer_dialog(which: TransferDialog, close: Callback<()>) -> AnyView {
        match which {
            TransferDialog::Import => view! { <ImportDialog close=close /> }.into_any(),
            TransferDialog::Export => view! { <ExportDialog close=close /> }.into_any(),
            TransferDialog::Backup => view! { <BackupDialog close=close /> }.into_any(),
            TransferDialog::Restore => view! { <RestoreDialog close=close /> }.into_any(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Choosing,
    Reading,
    /// Some records read are already in the library: import them, skip them or merge them?
    Deciding {
        found: usize,
        read: usize,
    },
    Saving {
        done: usize,
        total: usize,
    },
    Done(Report, Option<String>),
    Failed(String),
}

/// What an import does with records the library already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Existing {
    ImportAll,
    Skip,
    Merge,
}

/// Records read and checked, waiting for the person's choice.
struct Pending {
    references: Vec<Reference>,
    report: Report,
    already: Vec<Option<(Key, refsync_core::query::DuplicateReason)>>,
    target: Target,
}

#[component]
fn ImportDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let transfer = use_transfer();
    let files = RwSignal::new_local(transfer.dropped.get_untracked());
    transfer.dropped.set(Vec::new());
    let format = RwSignal::new(String::from("auto"));
    let group = RwSignal::new(String::new());
    let new_group = RwSignal::new(String::new());
    let phase = RwSignal::new(Phase::Choosing);
    let drop_over = RwSignal::new(false);

    let groups = move || lib.data.with(|d| d.custom_groups());
    let file_names =
        move || files.with(|f| f.iter().map(|f| f.0.name()).collect::<Vec<_>>().join(", "));
    let pasted = RwSignal::new(transfer.pasted.get_untracked());
    transfer.pasted.set(String::new());
    let pending: StoredValue<Option<Pending>, LocalStorage> = StoredValue::new_local(None);
    let start = move |_| {
        let picked = files.get_untracked();
        let text = pasted.get_untracked();
        if picked.is_empty() && text.trim().is_empty() {
            phase.set(Phase::Failed(
                "Choose one or more files to import, or paste records, first.".into(),
            ));
            return;
        }
        let format = Format::from_id(&format.get_untracked());
        let target = match group.get_untracked().as_str() {
            "" => Target::None,
            "new" => Target::New(new_group.get_untracked().trim().to_string()),
            k => Key::parse(k).map_or(Target::None, Target::Existing),
        };
        if matches!(&target, Target::New(n) if n.is_empty()) {
            phase.set(Phase::Failed("Give the new group a name.".into()));
            return;
        }
        phase.set(Phase::Reading);
        spawn_local(async move {
            match read_import(lib, picked, text, format).await {
                Err(e) => phase.set(Phase::Failed(e)),
                Ok((references, report, already)) => {
                    let found = already.iter().flatten().count();
                    let read = references.len();
                    pending.set_value(Some(Pending {
                        references,
                        report,
                        already,
                        target,
                    }));
                    if found == 0 {
                        finish_import(lib, pending, Existing::ImportAll, phase).await;
                    } else {
                        phase.set(Phase::Deciding { found, read });
                    }
                }
            }
        });
    };
    let decide = move |choice: Existing| {
        spawn_local(finish_import(lib, pending, choice, phase));
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        ev.stop_propagation();
        drop_over.set(false);
        let dropped = browser::files_of(ev.data_transfer().and_then(|d| d.files()));
        if !dropped.is_empty() {
            files.set(dropped.into_iter().map(SendFile).collect());
            phase.set(Phase::Choosing);
        }
    };
    let busy = move || {
        matches!(
            phase.get(),
            Phase::Reading | Phase::Saving { .. } | Phase::Deciding { .. }
        )
    };
    // Once the chosen files are imported, Import waits for other files: a second press
    // would import every reference again.
    let imported = move || matches!(phase.get(), Phase::Done(..));
    let progress_done = Signal::derive(move || match phase.get() {
        Phase::Saving { done, .. } => done,
        _ => 0,
    });
    let progress_total = Signal::derive(move || match phase.get() {
        Phase::Saving { total, .. } => total,
        _ => 0,
    });
    let progress_label = Signal::derive(move || match phase.get() {
        Phase::Reading => "Reading the files…".to_string(),
        Phase::Saving { done, total } => format!(
            "Saved {} of {} references",
            thousands(done),
            thousands(total)
        ),
        _ => String::new(),
    });

    view! {
        <Modal id="import-dialog" title="Import references" on_close=close wide=true>
            <div
                id="drop-zone"
                class="drop-zone"
                class:drop-over=move || drop_over.get()
                on:dragover=move |ev: DragEvent| { ev.prevent_default(); drop_over.set(true); }
                on:dragleave=move |_| drop_over.set(false)
                on:drop=on_drop
            >
                <p>"Drop files here, or "
                    <label class="link-btn file-btn">"choose files"
                        <input id="import-file" type="file" multiple
                            accept=".ris,.bib,.bibtex,.xml,.enw,.txt,.nbib,.json"
                            on:change=move |ev| {
                                let input: web_sys::HtmlInputElement = event_target(&ev);
                                files.set(browser::files_of(input.files()).into_iter().map(SendFile).collect());
                                phase.set(Phase::Choosing);
                            } />
                    </label>
                </p>
                <p id="import-files" class="hint">{move || {
                    let names = file_names();
                    if names.is_empty() { "RIS, BibTeX, EndNote XML, EndNote tagged, MEDLINE or CSL-JSON.".to_string() } else { names }
                }}</p>
            </div>
            <details class="paste-box" open=move || !pasted.with(String::is_empty)>
                <summary>"Paste records"</summary>
                <label for="import-paste" class="hint">"Paste RIS, BibTeX, EndNote tagged, MEDLINE or CSL-JSON text (Ctrl+V on the list opens this too)."</label>
                <textarea id="import-paste" rows="6" spellcheck="false"
                    placeholder="@article{kuhn1962, title = {The Structure of Scientific Revolutions}, ...}"
                    prop:value=move || pasted.get()
                    on:input=move |ev| { pasted.set(event_target_value(&ev)); phase.set(Phase::Choosing); }></textarea>
            </details>
            <div class="form">
                <label for="import-format">"Format"</label>
                <select id="import-format" on:change=move |ev| format.set(event_target_value(&ev))>
                    <option value="auto">"Recognise automatically"</option>
                    {Format::ALL.iter().map(|f| view! { <option value=f.id()>{f.label()}</option> }).collect_view()}
                </select>
                <label for="import-group">"Put the imported references in"</label>
                <select id="import-group" on:change=move |ev| group.set(event_target_value(&ev))>
                    <option value="">"No group"</option>
                    <For each=groups key=|g| (g.key, g.name.clone()) children=|g| view! {
                        <option value=g.key.to_string()>{g.name.clone()}</option>
                    } />
                    <option value="new">"A new group…"</option>
                </select>
                <Show when={move || group.get() == "new"}>
                    <input id="import-new-group" type="text" placeholder="New group's name" aria-label="New group's name" bind:value=new_group />
                </Show>
            </div>
            <Show when=busy>
                <Progress done=progress_done total=progress_total label=progress_label />
            </Show>
            {move || match phase.get() {
                Phase::Deciding { found, read } => view! {
                    <div id="import-existing" class="report" role="status">
                        <p><strong>{format!(
                            "{} of the {} {} read {} already in your library",
                            thousands(found), thousands(read), if read == 1 { "record" } else { "records" },
                            if found == 1 { "is" } else { "are" }
                        )}</strong>" (same DOI, PubMed ID or ISBN, or nearly the same title, year and first author)."</p>
                        <p class="hint">"Nothing is saved until you choose."</p>
                        <div class="dialog-actions">
                            <button id="import-skip-existing" class="btn btn-primary" on:click=move |_| decide(Existing::Skip)>
                                {format!("Skip {}", if found == 1 { "it" } else { "those" })}
                            </button>
                            <button id="import-merge-existing" class="btn" on:click=move |_| decide(Existing::Merge)>
                                "Import and merge into the copies here"
                            </button>
                            <button id="import-everything" class="btn" on:click=move |_| decide(Existing::ImportAll)>
                                "Import all anyway"
                            </button>
                        </div>
                    </div>
                }.into_any(),
                Phase::Done(report, existing) => view! {
                    <ImportReport report=report />
                    {existing.map(|t| view! { <p id="import-existing-done" class="hint">{t}</p> })}
                }.into_any(),
                Phase::Failed(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                _ => ().into_any(),
            }}
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>
                    {move || if matches!(phase.get(), Phase::Done(..)) { "Close" } else { "Cancel" }}
                </button>
                <button id="import-start" class="btn btn-primary" disabled=move || busy() || imported()
                    title=move || imported().then_some("Imported. Choose other files to import more.")
                    on:click=start>"Import"</button>
            </DialogFooter>
        </Modal>
    }
}

#[component]
fn ImportReport(report: Report) -> impl IntoView {
    let shown: Vec<String> = report
        .skipped
        .iter()
        .take(200)
        .map(|s| {
            if s.line > 0 {
                format!("{}, line {}: {}", s.file, s.line, s.reason)
            } else {
                format!("{}: {}", s.file, s.reason)
            }
        })
        .collect();
    let more = report.skipped.len().saturating_sub(shown.len());
    let warnings = report.warnings.len();
    view! {
        <div id="import-report" class="report" role="status">
            <p class="report-summary"><strong>{report.summary()}</strong></p>
            {(!shown.is_empty()).then(|| view! {
                <details open>
                    <summary>"What was skipped, and why"</summary>
                    <ul class="skipped">{shown.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ul>
                    {(more > 0).then(|| view! { <p class="hint">{format!("…and {more} more.")}</p> })}
                </details>
            })}
            {(warnings > 0).then(|| view! {
                <details>
                    <summary>{format!("{warnings} {}", if warnings == 1 { "note" } else { "notes" })}</summary>
                    <ul class="skipped">{report.warnings.iter().take(200).map(|w| view! {
                        <li>{format!("{}, line {}: {}", w.file, w.line, w.message)}</li>
                    }).collect_view()}</ul>
                </details>
            })}
        </div>
    }
}

enum Target {
    None,
    Existing(Key),
    New(String),
}

/// Read the chosen files and the pasted text, and find which records the library already
/// holds (core's duplicate rules).
async fn read_import(
    lib: Library,
    files: Vec<SendFile>,
    pasted: String,
    format: Option<Format>,
) -> Result<
    (
        Vec<Reference>,
        Report,
        Vec<Option<(Key, refsync_core::query::DuplicateReason)>>,
    ),
    String,
> {
    browser::mark("import-start");
    let started = browser::perf_now();
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    for f in &files {
        sources.push((f.0.name(), browser::read_file(&f.0).await?));
    }
    browser::measure("import-files", started);
    if !pasted.trim().is_empty() {
        sources.push(("Pasted text".to_string(), pasted.into_bytes()));
    }
    let started = browser::perf_now();
    let (references, report) = worker::import(sources, format, browser::now_millis()).await?;
    browser::measure("import-read", started);
    let started = browser::perf_now();
    let already = lib
        .data
        .with_untracked(|d| d.refs.already_here(&references));
    browser::measure("import-check", started);
    Ok((references, report, already))
}

/// Save what was read, as the person chose for the records already here.
async fn finish_import(
    lib: Library,
    pending: StoredValue<Option<Pending>, LocalStorage>,
    choice: Existing,
    phase: RwSignal<Phase>,
) {
    let Some(Pending {
        references,
        mut report,
        already,
        target,
    }) = pending.try_update_value(Option::take).flatten()
    else {
        return;
    };
    let result = save_import(lib, references, &already, choice, target, phase).await;
    phase.set(match result {
        Ok((saved, merged)) => {
            let found = already.iter().flatten().count();
            report.imported = saved;
            lib.tell(format!("Import finished: {}.", report.summary()));
            let existing = (found > 0).then(|| match choice {
                Existing::ImportAll => format!(
                    "{} already in your library {} imported anyway: see Possible Duplicates.",
                    thousands(found),
                    if found == 1 { "was" } else { "were" }
                ),
                Existing::Skip => format!(
                    "{} already in your library {} left out.",
                    thousands(found),
                    if found == 1 { "was" } else { "were" }
                ),
                Existing::Merge => format!(
                    "{} already in your library {} merged into the {} there.",
                    thousands(found),
                    if found == 1 { "was" } else { "were" },
                    if merged == 1 { "copy" } else { "copies" }
                ),
            });
            Phase::Done(report, existing)
        }
        Err(e) => Phase::Failed(e),
    });
}

/// Write the import: new records whole; with [`Existing::Merge`], each record already here
/// merged into the copy here (its empty fields filled, groups and keywords joined). The
/// number of records saved new, and of copies here merged into.
async fn save_import(
    lib: Library,
    mut references: Vec<Reference>,
    already: &[Option<(Key, refsync_core::query::DuplicateReason)>],
    choice: Existing,
    target: Target,
    phase: RwSignal<Phase>,
) -> Result<(usize, usize), String> {
    let group = match target {
        Target::None => None,
        Target::Existing(k) => Some(k),
        Target::New(name) if !references.is_empty() => Some(
            lib.create_group(name, GroupKind::Custom, None)
                .await
                .map_err(|e| e.to_string())?,
        ),
        Target::New(_) => None,
    };
    if let Some(g) = group {
        for r in &mut references {
            r.groups.insert(g);
        }
    }
    let now = browser::now_millis();
    let mut fresh = Vec::new();
    let mut merges = Vec::new();
    for (r, here) in references.into_iter().zip(already) {
        match (here, choice) {
            (Some(_), Existing::Skip) => {}
            (Some((into, _)), Existing::Merge) => {
                if let Some(kept) = lib.get_untracked(into) {
                    let mut to =
                        refsync_core::edit::merge::merged(&kept, &[&r], &Default::default());
                    to.attachments = kept.attachments.clone();
                    to.date_modified = now;
                    merges.push(refsync_core::edit::Write::change(
                        Object::Reference(kept),
                        Object::Reference(to),
                    ));
                }
            }
            _ => fresh.push(r),
        }
    }
    let total = fresh.len();
    phase.set(Phase::Saving { done: 0, total });
    browser::yield_now().await;
    let objects: Vec<Object> = fresh.into_iter().map(Object::Reference).collect();
    lib.commit_bulk(objects, true, |done| {
        phase.set(Phase::Saving { done, total })
    })
    .await
    .map_err(|e| e.to_string())?;
    let merged = merges.len();
    lib.commit(merges).await.map_err(|e| e.to_string())?;
    browser::mark("import-done");
    if let Some(g) = group {
        lib.collection.set(Collection::Group(g));
    }
    Ok((total, merged))
}

#[component]
fn ExportDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let scope = RwSignal::new(lib.default_scope());
    let format = RwSignal::new(Format::Ris);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let export = move |_| {
        let refs = lib.scope_references(scope.get_untracked());
        if refs.is_empty() {
            error.set(Some("There is nothing to export here.".into()));
            return;
        }
        // The file is named for what it holds: the group or collection, the selection, or the
        // library.
        let stem = match scope.get_untracked() {
            Scope::Selection => "refsync-selection".to_string(),
            Scope::List => lib
                .data
                .with_untracked(|d| file_stem(&lib.collection.get_untracked().title(d))),
            Scope::Library => "refsync-library".to_string(),
        };
        let f = format.get_untracked();
        let media = match f {
            Format::CslJson => "application/json",
            Format::EndnoteXml => "application/xml",
            _ => "text/plain",
        };
        busy.set(true);
        spawn_local(async move {
            let saved = match worker::export(f, &refs).await {
                Ok(text) => {
                    browser::download(&format!("{stem}.{}", f.extension()), media, text.as_bytes())
                        .map_err(|e| format!("Could not save the file: {e}."))
                }
                Err(e) => Err(format!("Could not export: {e}.")),
            };
            busy.set(false);
            match saved {
                Ok(()) => {
                    lib.tell(format!("Exported {} as {}.", refs.len(), f.label()));
                    close.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Modal id="export-dialog" title="Export references" on_close=close>
            <div class="form">
                <ScopeChoice scope=scope id="export" legend="Export" whole_library=true />
                <label for="export-format">"Format"</label>
                <select id="export-format" on:change=move |ev| {
                    if let Some(f) = Format::from_id(&event_target_value(&ev)) { format.set(f) }
                }>
                    {Format::EXPORTABLE.iter().map(|f| view! { <option value=f.id()>{f.label()}</option> }).collect_view()}
                </select>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                <button id="export-start" class="btn btn-primary" disabled=move || busy.get() on:click=export>
                    {move || if busy.get() { "Exporting…" } else { "Export" }}
                </button>
            </DialogFooter>
        </Modal>
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Work {
    Idle,
    Busy {
        done: usize,
        total: usize,
        what: String,
    },
    Done(String),
    Failed(String),
}

fn work_signals(work: RwSignal<Work>) -> (Signal<usize>, Signal<usize>, Signal<String>) {
    (
        Signal::derive(move || match work.get() {
            Work::Busy { done, .. } => done,
            _ => 0,
        }),
        Signal::derive(move || match work.get() {
            Work::Busy { total, .. } => total,
            _ => 0,
        }),
        Signal::derive(move || match work.get() {
            Work::Busy { what, .. } => what,
            _ => String::new(),
        }),
    )
}

#[component]
fn WorkState(work: RwSignal<Work>) -> impl IntoView {
    let (done, total, label) = work_signals(work);
    view! {
        <Show when={move || matches!(work.get(), Work::Busy { .. })}>
            <Progress done=done total=total label=label />
        </Show>
        {move || match work.get() {
            Work::Done(text) => view! { <p id="work-done" class="report" role="status">{text}</p> }.into_any(),
            Work::Failed(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            _ => ().into_any(),
        }}
    }
}

#[component]
fn BackupDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let work = RwSignal::new(Work::Idle);
    let (refs, files) = lib
        .data
        .with_untracked(|d| (d.refs.len(), d.attachments.len()));
    let start = move |_| {
        spawn_local(async move {
            work.set(match make_backup(lib, work).await {
                Ok(text) => Work::Done(text),
                Err(e) => Work::Failed(e),
            });
        });
    };
    let busy = move || matches!(work.get(), Work::Busy { .. });
    view! {
        <Modal id="backup-dialog" title="Back up the library" on_close=close>
            <p>{format!(
                "Saves the whole library — {}, the Trash, every group and {} — to one compressed file you can keep anywhere, and restore here or with the refsync command.",
                count_of(refs, "reference", "references"),
                count_of(files, "attachment", "attachments"),
            )}</p>
            <WorkState work=work />
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>"Close"</button>
                <button id="backup-start" class="btn btn-primary" disabled=busy on:click=start>"Download backup"</button>
            </DialogFooter>
        </Modal>
    }
}

/// When this library was last backed up from this browser (Unix milliseconds), in `meta`.
pub const LAST_BACKUP: &str = "last_backup";

/// The offer of a backup before something that changes the library as a whole (a first
/// link, linking again): one click makes and downloads it, with its progress in place;
/// going on without pressing it skips it.
#[component]
pub fn BackupOffer(#[prop(into)] id: String, #[prop(into)] text: String) -> impl IntoView {
    let lib = use_library();
    let work = RwSignal::new(Work::Idle);
    let start = move |_| {
        spawn_local(async move {
            work.set(match make_backup(lib, work).await {
                Ok(text) => Work::Done(text),
                Err(e) => Work::Failed(e),
            });
        });
    };
    view! {
        <div class="backup-offer">
            <p class="hint">{text}</p>
            <button id=id type="button" class="btn"
                disabled=move || matches!(work.get(), Work::Busy { .. }) on:click=start>
                "Download a backup first"
            </button>
            <WorkState work=work />
        </div>
    }
}

/// [`backup_loaded`], where a writer that could not be fetched says so.
async fn make_backup(lib: Library, work: RwSignal<Work>) -> Result<String, String> {
    backup_loaded(lib, work)
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
}

later! { transfer;
    /// Make and download a backup of the window's library (the writer is loaded the first
    /// time, with the dialogs).
    async fn backup_loaded(lib: Library, work: RwSignal<Work>) -> Result<String, String> {
        let store = lib.open_store().map_err(|e| e.to_string())?;
        let manifest = lib.data.with_untracked(|d| {
            let objects = d
                .refs
                .references()
                .cloned()
                .map(Object::Reference)
                .chain(d.groups.values().cloned().map(Object::Group))
                .chain(d.sets.values().cloned().map(Object::GroupSet))
                .chain(d.attachments.values().cloned().map(Object::Attachment))
                .chain(d.styles.values().cloned().map(Object::Style));
            Manifest::of(browser::now_millis(), objects)
        });
        let total = manifest.attachments.len();
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        for (i, a) in manifest.attachments.iter().enumerate() {
            work.set(Work::Busy {
                done: i,
                total,
                what: format!(
                    "Reading attachment {} of {}",
                    thousands(i + 1),
                    thousands(total)
                ),
            });
            if files.contains_key(&a.sha256) {
                continue;
            }
            let blob = store
                .get_blob(&a.sha256)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("The bytes of “{}” are not in this browser (sync first), so no backup was made.", a.file_name))?;
            let bytes = blob_bytes(&blob).await?;
            files.insert(a.sha256.clone(), bytes);
        }
        work.set(Work::Busy {
            done: total,
            total,
            what: "Compressing…".into(),
        });
        browser::yield_now().await;
        // Zipped in the formats worker: the window stays responsive, and the zip code is not
        // part of the app's download.
        let zip = worker::backup(&manifest, files)
            .await
            .map_err(|e| format!("Could not make the backup: {e}."))?;
        let day = js_sys::Date::new_0()
            .to_iso_string()
            .as_string()
            .unwrap_or_default();
        let name = format!("refsync-backup-{}.zip", day.get(..10).unwrap_or("today"));
        browser::download(&name, "application/zip", &zip)
            .map_err(|e| format!("Could not save the backup: {e}."))?;
        let now = browser::now_millis();
        lib.last_backup.set(Some(now));
        // Only the reminder's date: a backup that was saved is not undone by a lost line.
        let _ = store.set_meta(LAST_BACKUP, &now.to_string()).await;
        Ok(format!("Saved {name}: {}.", manifest.describe()))
    }
}

fn count_of(n: usize, one: &'static str, many: &'static str) -> String {
    format!(
        "{} {}",
        thousands(n),
        crate::features::library::plural(n, one, many)
    )
}

async fn blob_bytes(blob: &web_sys::Blob) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "could not read an attachment".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[component]
fn RestoreDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let work = RwSignal::new(Work::Idle);
    let empty = lib.data.with_untracked(|d| {
        d.refs.is_empty() && d.groups.is_empty() && d.sets.is_empty() && d.attachments.is_empty()
    });
    let pick = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = browser::files_of(input.files()).into_iter().next() else {
            return;
        };
        spawn_local(async move {
            work.set(match restore(lib, &file, work).await {
                Ok(text) => Work::Done(text),
                Err(e) => Work::Failed(e),
            });
        });
    };
    view! {
        <Modal id="restore-dialog" title="Restore a backup" on_close=close>
            {if empty {
                view! {
                    <p>"Choose a refsync backup (.zip). Everything in it — references, the Trash, groups and attachments — comes back exactly as it was."</p>
                    <label class="btn btn-primary file-btn">
                        "Choose backup…"
                        <input id="restore-file" type="file" accept=".zip,application/zip" on:change=pick />
                    </label>
                }.into_any()
            } else {
                view! {
                    <p id="restore-refused">"A backup restores into an empty library only, so that nothing here is overwritten or mixed with it. Restore it in a new browser profile, or empty this library first (after backing it up)."</p>
                }.into_any()
            }}
            <WorkState work=work />
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>"Close"</button>
            </DialogFooter>
        </Modal>
    }
}

async fn restore(
    lib: Library,
    file: &web_sys::File,
    work: RwSignal<Work>,
) -> Result<String, String> {
    work.set(Work::Busy {
        done: 0,
        total: 0,
        what: "Reading the backup…".into(),
    });
    browser::yield_now().await;
    let bytes = browser::read_file(file).await?;
    let (manifest, files) = worker::restore(&bytes)
        .await
        .map_err(|e| format!("Nothing was restored: {e}."))?;
    let store = lib.open_store().map_err(|e| e.to_string())?;
    let total_files = files.len();
    for (i, (sha, data)) in files.iter().enumerate() {
        work.set(Work::Busy {
            done: i,
            total: total_files,
            what: format!(
                "Restoring attachment {} of {}",
                thousands(i + 1),
                thousands(total_files)
            ),
        });
        let array = js_sys::Uint8Array::from(data.as_slice());
        let blob = web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&array))
            .map_err(|_| "The browser could not keep an attachment.".to_string())?;
        store
            .put_blob(sha, &blob)
            .await
            .map_err(|e| e.to_string())?;
    }
    let what = manifest.describe();
    let objects = manifest.into_objects();
    let total = objects.len();
    lib.commit_bulk(objects, false, |done| {
        work.set(Work::Busy {
            done,
            total,
            what: format!(
                "Restored {} of {} records",
                thousands(done),
                thousands(total)
            ),
        })
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(format!("Restored {what}."))
}
