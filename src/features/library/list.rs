//! The middle pane: the chosen collection's references, searched and sorted, as a list that
//! renders only the rows in view (a 50,000-row library keeps a few dozen rows in the DOM),
//! with click, shift and ctrl selection and keyboard navigation.

use super::collections::{Collection, Listing};
use super::nav::DRAG_TYPE;
use super::{use_library, Library, LoadState};
use crate::browser;
use crate::features::transfer::{use_transfer, TransferDialog};
use crate::features::ui::{thousands, Modal};
use leptos::ev::{DragEvent, KeyboardEvent, MouseEvent};
use leptos::prelude::*;
use refsync_core::query::{Sort, SortField};
use refsync_core::{Group, Key};

/// Each row's height in pixels (CSS `.ref-row` says the same).
const ROW_HEIGHT: f64 = 30.0;
const ROW_PX: usize = 30;
/// Rows rendered beyond each edge of the view, so fast scrolling shows no gaps.
const OVERSCAN: usize = 8;

/// What one row shows; rows re-render only when this changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowData {
    key: Key,
    index: usize,
    author: String,
    year: String,
    title: String,
    journal: String,
    ref_type: &'static str,
    added: u64,
    attachments: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Confirm {
    EmptyTrash,
    DeleteForever,
}

#[component]
pub fn ReferenceList() -> impl IntoView {
    let lib = use_library();
    let transfer = use_transfer();
    let listing: Memo<Listing> = Memo::new(move |_| {
        let collection = lib.collection.get();
        let sort = lib.sort.get();
        let listing = lib.search.with(|search| {
            lib.data
                .with(|d| collection.listing(d, search, sort, browser::now_millis()))
        });
        browser::mark("list-updated");
        listing
    });
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(800.0_f64);
    let scroller = NodeRef::<leptos::html::Div>::new();
    let confirm = RwSignal::new(None::<Confirm>);

    // Keep the viewport's height current (window resizes change it).
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(f64::from(el.client_height()));
        }
    };
    Effect::new(move |_| {
        if scroller.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    // A new collection or search starts at the top.
    Effect::new(move |prev: Option<(Collection, String)>| {
        let now = (lib.collection.get(), lib.search.get());
        if prev.is_some_and(|p| p != now) {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(0);
            }
            scroll_top.set(0.0);
        }
        now
    });

    // Bring the anchor row into view when asked (keyboard moves, a new reference).
    Effect::new(move |_| {
        lib.reveal.track();
        let Some(anchor) = lib.anchor.get_untracked() else {
            return;
        };
        let Some(index) = listing.with_untracked(|l| l.keys.iter().position(|k| *k == anchor))
        else {
            return;
        };
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let top = index as f64 * ROW_HEIGHT;
        let header = ROW_HEIGHT;
        let view_h = f64::from(el.client_height()) - header;
        let current = f64::from(el.scroll_top());
        if top < current {
            el.set_scroll_top(top as i32);
        } else if top + ROW_HEIGHT > current + view_h {
            el.set_scroll_top((top + ROW_HEIGHT - view_h) as i32);
        }
    });

    let rows = move || {
        let first = (scroll_top.get() / ROW_HEIGHT) as usize;
        let start = first.saturating_sub(OVERSCAN);
        let visible = (viewport.get() / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
        listing.with(|l| {
            let end = (start + visible).min(l.keys.len());
            let start = start.min(end);
            lib.data.with(|d| {
                l.keys[start..end]
                    .iter()
                    .enumerate()
                    .filter_map(|(i, k)| {
                        let r = d.shown_reference(k)?;
                        Some(RowData {
                            key: *k,
                            index: start + i,
                            author: r.author_summary(),
                            year: r.year().to_string(),
                            title: r.title().to_string(),
                            journal: r.get(refsync_core::Field::SecondaryTitle).to_string(),
                            ref_type: r.ref_type.label(),
                            added: r.date_added,
                            attachments: r.attachments.len(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let total = move || listing.with(|l| l.keys.len());
    // A first sync is filling an empty library (the account's progress bar is showing).
    let account = use_context::<crate::features::account::Account>();
    let downloading = move || account.is_some_and(|a| a.progress.with(Option::is_some));
    // The benchmark's "first rows painted": the frame after the first rows are in the page.
    Effect::new(move |marked: Option<bool>| {
        if marked == Some(true) {
            return true;
        }
        let shown = matches!(lib.load.get(), LoadState::Ready | LoadState::Partial { .. });
        let any = shown && listing.with(|l| !l.keys.is_empty());
        if any {
            request_animation_frame(|| browser::mark("first-rows"));
        }
        any
    });
    // Whole pixels, as integers: formatting a float would pull the float printer into the
    // download for nothing.
    let offset = move || {
        let first = (scroll_top.get() / ROW_HEIGHT) as usize;
        first.saturating_sub(OVERSCAN).min(total()) * ROW_PX
    };

    let on_key = move |ev: KeyboardEvent| {
        let keys = listing.with_untracked(|l| l.keys.clone());
        if let Some(handled) = keyboard(lib, &keys, &ev, viewport.get_untracked(), confirm) {
            if handled {
                ev.prevent_default();
            }
        }
    };

    let in_trash = move || lib.collection.get() == Collection::Trash;
    let has_selection = move || lib.selected.with(|s| !s.is_empty());
    let custom_group = move || lib.data.with(|d| lib.collection.get().custom_group(d));
    let title = move || lib.data.with(|d| lib.collection.get().title(d));
    let is_empty_library =
        move || lib.load.get() == LoadState::Ready && lib.data.with(|d| d.refs.is_empty());

    view! {
        <div class="toolbar">
            <h2 id="list-title" class="pane-title">{title}</h2>
            <span id="list-count" class="count">{move || {
                let n = total();
                format!("{} {}", thousands(n), super::plural(n, "reference", "references"))
            }}</span>
            <span class="spacer"></span>
            <input
                id="quick-search"
                class="search"
                type="search"
                placeholder="Search this list"
                aria-label="Quick search"
                prop:value=move || lib.search.get()
                on:input=move |ev| lib.search.set(event_target_value(&ev))
                on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" { lib.search.set(String::new()) }
            />
        </div>
        <div class="toolbar actions">
            <button id="new-reference" class="btn btn-primary" on:click=move |_| {
                lib.selected.set(Vec::new());
                lib.new_form.set(true);
            }>"New reference"</button>
            <button id="import-button" class="btn" on:click=move |_| transfer.open(TransferDialog::Import)>"Import"</button>
            <button id="export-button" class="btn" on:click=move |_| transfer.open(TransferDialog::Export)>"Export"</button>
            <button id="backup-button" class="btn" title="Back up the whole library with its attachments" on:click=move |_| transfer.open(TransferDialog::Backup)>"Back up"</button>
            <button id="restore-button" class="btn" title="Restore a backup into this (empty) library" on:click=move |_| transfer.open(TransferDialog::Restore)>"Restore"</button>
            <span class="spacer"></span>
            <Show when={move || has_selection() && !in_trash()}>
                <AddToGroup />
                {move || custom_group().map(|g| view! {
                    <button id="remove-from-group" class="btn" on:click=move |_| lib.remove_from_group(lib.selected.get_untracked(), g)>
                        "Remove from group"
                    </button>
                })}
                <button id="trash-selected" class="btn" title="Move to Trash (Delete)" on:click=move |_| lib.trash(lib.selected.get_untracked())>
                    "Move to Trash"
                </button>
            </Show>
            <Show when=move || in_trash()>
                <Show when=has_selection>
                    <button id="restore-selected" class="btn" on:click=move |_| lib.restore(lib.selected.get_untracked())>"Restore"</button>
                    <button id="delete-selected" class="btn btn-danger" on:click=move |_| confirm.set(Some(Confirm::DeleteForever))>"Delete permanently"</button>
                </Show>
                <button id="empty-trash" class="btn btn-danger" disabled={move || total() == 0} on:click=move |_| confirm.set(Some(Confirm::EmptyTrash))>"Empty Trash"</button>
            </Show>
        </div>
        {move || listing.with(|l| l.problem.clone()).map(|p| view! { <p class="banner error" role="alert">{p}</p> })}
        <div
            id="reference-list"
            class="list-scroll"
            role="grid"
            aria-label="References"
            aria-multiselectable="true"
            aria-rowcount=move || (total() + 1).to_string()
            tabindex="0"
            node_ref=scroller
            on:scroll=move |ev| {
                let el: web_sys::HtmlElement = event_target(&ev);
                scroll_top.set(f64::from(el.scroll_top()));
            }
            on:keydown=on_key
        >
            <div class="list-head" role="row" aria-rowindex="1">
                <SortHeader field=SortField::Author label="Author" class="col-author" />
                <SortHeader field=SortField::Year label="Year" class="col-year" />
                <SortHeader field=SortField::Title label="Title" class="col-title" />
                <SortHeader field=SortField::Journal label="Journal" class="col-journal" />
                <SortHeader field=SortField::Type label="Type" class="col-type" />
                <SortHeader field=SortField::DateAdded label="Added" class="col-added" />
            </div>
            <div class="list-body" style:height=move || format!("{}px", total() * ROW_PX)>
                <div class="list-window" style:transform=move || format!("translateY({}px)", offset())>
                    <For each=rows key=|r: &RowData| r.clone() children=move |r: RowData| view! { <Row row=r listing=listing /> } />
                </div>
            </div>
            <Show when=is_empty_library>
                <div class="empty-state">
                    {move || if downloading() {
                        view! {
                            <p class="empty-title">"Downloading your library…"</p>
                            <p>"Your references appear here as soon as they are all in this browser."</p>
                        }.into_any()
                    } else {
                        view! {
                            <p class="empty-title">"Your library is empty"</p>
                            <p>"Add a reference with “New reference”, or import a file from EndNote, Zotero, PubMed or any BibTeX or RIS source. It is kept in this browser, even offline."</p>
                        }.into_any()
                    }}
                </div>
            </Show>
            <Show when={move || !is_empty_library() && lib.load.get() == LoadState::Ready && total() == 0}>
                <div class="empty-state">
                    <p>{move || if lib.search.with(|s| s.trim().is_empty()) {
                        "Nothing here yet.".to_string()
                    } else {
                        format!("No references match “{}”.", lib.search.get())
                    }}</p>
                </div>
            </Show>
        </div>
        {move || confirm.get().map(|c| {
            let close = Callback::new(move |_| confirm.set(None));
            let (title, text, button) = match c {
                Confirm::EmptyTrash => {
                    let n = total();
                    ("Empty the Trash?", format!("Delete the {} in the Trash permanently? This cannot be undone.", super::count_refs(n)), "Empty Trash")
                }
                Confirm::DeleteForever => {
                    let n = lib.selected.with_untracked(Vec::len);
                    ("Delete permanently?", format!("Delete {} permanently? This cannot be undone.", super::count_refs(n)), "Delete permanently")
                }
            };
            view! {
                <Modal id="confirm-dialog" title=title on_close=close>
                    <p>{text}</p>
                    <div class="form-actions">
                        <button class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                        <button id="confirm-delete" class="btn btn-danger" on:click=move |_| {
                            match c {
                                Confirm::EmptyTrash => lib.empty_trash(),
                                Confirm::DeleteForever => lib.delete_forever(lib.selected.get_untracked()),
                            }
                            close.run(());
                        }>{button}</button>
                    </div>
                </Modal>
            }
        })}
    }
}

/// Handle a key on the list; `Some(true)` when it was ours.
fn keyboard(
    lib: Library,
    keys: &[Key],
    ev: &KeyboardEvent,
    viewport: f64,
    confirm: RwSignal<Option<Confirm>>,
) -> Option<bool> {
    let ctrl = ev.ctrl_key() || ev.meta_key();
    let page = ((viewport / ROW_HEIGHT) as usize).saturating_sub(2).max(1);
    let current = lib
        .anchor
        .get_untracked()
        .and_then(|a| keys.iter().position(|k| *k == a));
    let last = keys.len().checked_sub(1)?;
    let target = match ev.key().as_str() {
        "ArrowDown" => Some(current.map_or(0, |i| (i + 1).min(last))),
        "ArrowUp" => Some(current.map_or(0, |i| i.saturating_sub(1))),
        "PageDown" => Some(current.map_or(0, |i| (i + page).min(last))),
        "PageUp" => Some(current.map_or(0, |i| i.saturating_sub(page))),
        "Home" => Some(0),
        "End" => Some(last),
        "a" | "A" if ctrl => {
            lib.selected.set(keys.to_vec());
            return Some(true);
        }
        "Enter" => {
            focus_editor();
            return Some(true);
        }
        "Delete" | "Backspace" => {
            if lib.selected.with_untracked(Vec::is_empty) {
                return Some(false);
            }
            if lib.collection.get_untracked() == Collection::Trash {
                confirm.set(Some(Confirm::DeleteForever));
            } else {
                lib.trash(lib.selected.get_untracked());
            }
            return Some(true);
        }
        _ => None,
    }?;
    let key = keys[target];
    if ev.shift_key() {
        let from = current.unwrap_or(target);
        extend_to(lib, keys, from, target);
        lib.anchor.set(Some(key));
    } else {
        lib.new_form.set(false);
        lib.selected.set(vec![key]);
        lib.anchor.set(Some(key));
    }
    lib.reveal.update(|n| *n += 1);
    Some(true)
}

/// Add the rows between `from` and `to` (inclusive) to the selection.
fn extend_to(lib: Library, keys: &[Key], from: usize, to: usize) {
    let (a, b) = if from <= to { (from, to) } else { (to, from) };
    lib.selected.update(|s| {
        for k in &keys[a..=b] {
            if !s.contains(k) {
                s.push(*k);
            }
        }
    });
}

fn focus_editor() {
    let first = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("#reference-editor input, #reference-editor textarea")
                .ok()
                .flatten()
        })
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(el) = first {
        let _ = el.focus();
    }
}

#[component]
fn SortHeader(field: SortField, label: &'static str, class: &'static str) -> impl IntoView {
    let lib = use_library();
    let state = move || {
        let s = lib.sort.get();
        (s.field == field).then_some(s.descending)
    };
    let click = move |_| {
        lib.sort.update(|s| {
            if s.field == field {
                s.descending = !s.descending;
            } else {
                *s = Sort {
                    field,
                    descending: field == SortField::DateAdded,
                };
            }
        })
    };
    view! {
        <div
            role="columnheader"
            class=format!("cell head {class}")
            aria-sort=move || match state() {
                Some(true) => "descending",
                Some(false) => "ascending",
                None => "none",
            }
        >
            <button class="sort-btn" on:click=click>
                {label}
                <span class="sort-mark" aria-hidden="true">{move || match state() {
                    Some(true) => " ▼",
                    Some(false) => " ▲",
                    None => "",
                }}</span>
            </button>
        </div>
    }
}

#[component]
fn Row(row: RowData, listing: Memo<Listing>) -> impl IntoView {
    let lib = use_library();
    let key = row.key;
    let selected = move || lib.selected.with(|s| s.contains(&key));
    let click = move |ev: MouseEvent| {
        lib.new_form.set(false);
        if ev.shift_key() {
            let keys = listing.with_untracked(|l| l.keys.clone());
            let to = keys.iter().position(|k| *k == key);
            let from = lib
                .anchor
                .get_untracked()
                .and_then(|a| keys.iter().position(|k| *k == a));
            if let (Some(from), Some(to)) = (from, to) {
                if !(ev.ctrl_key() || ev.meta_key()) {
                    lib.selected.set(Vec::new());
                }
                extend_to(lib, &keys, from, to);
                return;
            }
        }
        if ev.ctrl_key() || ev.meta_key() {
            lib.selected.update(|s| {
                if let Some(i) = s.iter().position(|k| *k == key) {
                    s.remove(i);
                } else {
                    s.push(key);
                }
            });
        } else {
            lib.selected.set(vec![key]);
        }
        lib.anchor.set(Some(key));
    };
    let drag = move |ev: DragEvent| {
        let keys = if lib.selected.with_untracked(|s| s.contains(&key)) {
            lib.selected.get_untracked()
        } else {
            vec![key]
        };
        let text: Vec<String> = keys.iter().map(Key::to_string).collect();
        if let Some(dt) = ev.data_transfer() {
            let _ = dt.set_data(DRAG_TYPE, &text.join("\n"));
            dt.set_effect_allowed("copy");
        }
    };
    let added = date_text(row.added);
    view! {
        <div
            class="ref-row"
            class:selected=selected
            role="row"
            aria-rowindex=(row.index + 2).to_string()
            aria-selected=move || selected().to_string()
            data-key=key.to_string()
            draggable="true"
            on:click=click
            on:dblclick=move |_| focus_editor()
            on:dragstart=drag
        >
            <div role="gridcell" class="cell col-author">{row.author}</div>
            <div role="gridcell" class="cell col-year">{row.year}</div>
            <div role="gridcell" class="cell col-title">
                {row.title}
                {(row.attachments > 0).then(|| view! { <span class="badge" title="Has attachments">"file"</span> })}
            </div>
            <div role="gridcell" class="cell col-journal">{row.journal}</div>
            <div role="gridcell" class="cell col-type">{row.ref_type}</div>
            <div role="gridcell" class="cell col-added">{added}</div>
        </div>
    }
}

/// The "Add to group" menu for the selection.
#[component]
fn AddToGroup() -> impl IntoView {
    let lib = use_library();
    let groups = move || lib.data.with(|d| d.custom_groups());
    view! {
        <select
            id="add-to-group"
            class="btn"
            aria-label="Add to group"
            prop:value=""
            on:change=move |ev| {
                let v = event_target_value(&ev);
                if let Ok(g) = Key::parse(&v) {
                    lib.add_to_group(lib.selected.get_untracked(), g);
                }
                let el: web_sys::HtmlSelectElement = event_target(&ev);
                el.set_value("");
            }
        >
            <option value="">"Add to group…"</option>
            <For each=groups key=|g: &Group| (g.key, g.name.clone()) children=|g: Group| view! {
                <option value=g.key.to_string()>{g.name.clone()}</option>
            } />
        </select>
    }
}

/// A date added as the browser's locale writes short dates.
pub fn date_text(millis: u64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
        .to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}
