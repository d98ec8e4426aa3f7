//! The middle pane: the chosen collection's references, searched and sorted, as a list that
//! renders only the rows in view (a 50,000-row library keeps a few dozen rows in the DOM),
//! with click, shift and ctrl selection and keyboard navigation.

mod actions;
mod columns;
mod keys;
mod rows;

pub use rows::date_text;

use super::collections::{Collection, Listing};
use super::{use_library, LoadState};
use crate::browser;
use crate::features::ui::thousands;
use actions::{Confirm, ConfirmDelete, ListActions};
use columns::{Column, ColumnsMenu};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use refsync_core::Key;
use rows::{ColumnHeader, Row, RowData, OVERSCAN, ROW_HEIGHT, ROW_PX};
use std::collections::HashSet;

/// The list pane; `extra_actions` are buttons the app adds to its toolbar (import, export...),
/// and `downloading` says a first sync is filling an empty library (its progress bar shows).
#[component]
pub fn ReferenceList(
    #[prop(optional)] extra_actions: ViewFn,
    #[prop(optional, into)] downloading: Signal<bool>,
) -> impl IntoView {
    let lib = use_library();
    // What the shown listing was made for: the same collection and search again (the
    // library changed) keep the selected rows that were listed, as Zotero keeps the item being
    // edited while its title stops matching the search; a new search starts afresh.
    let listed_for = StoredValue::new(None::<(Collection, String, Option<String>)>);
    let listing: Memo<Listing> = Memo::new(move |prev: Option<&Listing>| {
        let collection = lib.collection.get();
        let sort = lib.sort.get();
        let search = lib.search.get();
        let keyword = lib.keyword.get();
        let query = (collection, search.clone(), keyword.clone());
        let same = listed_for.with_value(|f| f.as_ref() == Some(&query));
        let keep: Vec<Key> = match prev {
            Some(prev) if same && !search.trim().is_empty() => lib.selected.with_untracked(|s| {
                let selected: HashSet<&Key> = s.iter().collect();
                prev.keys
                    .iter()
                    .filter(|k| selected.contains(k))
                    .copied()
                    .collect()
            }),
            _ => Vec::new(),
        };
        // Read (and followed) only while they are what is listed.
        let duplicates = if collection == Collection::Duplicates {
            lib.duplicates.get().unwrap_or_default()
        } else {
            Vec::new()
        };
        let listing = lib.data.with(|d| {
            collection.listing(
                d,
                &duplicates,
                &search,
                sort,
                browser::now_millis(),
                &keep,
                keyword.as_deref(),
            )
        });
        listed_for.set_value(Some(query));
        browser::mark("list-updated");
        listing
    });
    let columns = RwSignal::new(columns::load());
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(800.0_f64);
    let scroller = NodeRef::<leptos::html::Div>::new();
    let head = NodeRef::<leptos::html::Div>::new();
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
                            cells: columns
                                .with(|c| c.0.iter().map(|(col, _)| (*col, col.text(r))).collect()),
                            attachments: r.attachments.len(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let total = move || listing.with(|l| l.keys.len());
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
        if let Some(handled) = keys::keyboard(lib, &keys, &ev, viewport.get_untracked(), confirm) {
            if handled {
                ev.prevent_default();
            }
        }
    };

    let title = move || lib.data.with(|d| lib.collection.get().title(d));

    view! {
        <div class="toolbar">
            <button id="show-collections" class="btn phone-only" aria-label="Collections and groups"
                on:click=move |_| lib.pane.set(super::Pane::Nav)>"☰"</button>
            <h2 id="list-title" class="pane-title">{title}</h2>
            {move || lib.keyword.get().map(|k| view! {
                <button id="keyword-filter-chip" class="chip chip-btn" title="Show every reference again"
                    on:click=move |_| lib.keyword.set(None)>
                    {format!("Keyword: {k}")}<span aria-hidden="true">" ×"</span>
                </button>
            })}
            <span id="list-count" class="count">{move || {
                let n = total();
                // While a large library opens only its newest are in memory: no count rather
                // than "0 references" or the newest's (the status bar says how far it is).
                if lib.load.with(|l| *l == LoadState::Ready) {
                    format!("{} {}", thousands(n), super::plural(n, "reference", "references"))
                } else {
                    String::new()
                }
            }}</span>
            <span class="spacer"></span>
            <ColumnsMenu columns=columns />
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
        <ListActions extra=extra_actions confirm=confirm total=Signal::derive(total) />
        {move || listing.with(|l| l.problem.clone()).map(|p| view! { <p class="banner error" role="alert">{p}</p> })}
        <div
            id="reference-list"
            class="list-scroll"
            role="grid"
            aria-label="References"
            aria-multiselectable="true"
            aria-rowcount=move || (total() + 1).to_string()
            style=move || format!("--list-columns: {}", columns.with(|c| c.template()))
            tabindex="0"
            node_ref=scroller
            on:scroll=move |ev| {
                let el: web_sys::HtmlElement = event_target(&ev);
                scroll_top.set(f64::from(el.scroll_top()));
            }
            on:keydown=on_key
        >
            <div class="list-head" role="row" aria-rowindex="1" node_ref=head>
                <For
                    each=move || columns.with(|c| c.0.iter().enumerate().map(|(i, (col, _))| (i, *col)).collect::<Vec<(usize, Column)>>())
                    key=|(i, col)| (*i, *col)
                    children=move |(i, col)| view! { <ColumnHeader column=col index=i columns=columns head=head /> }
                />
            </div>
            <div class="list-body" style:height=move || format!("{}px", total() * ROW_PX)>
                <div class="list-window" style:transform=move || format!("translateY({}px)", offset())>
                    <For each=rows key=|r: &RowData| r.clone() children=move |r: RowData| view! { <Row row=r listing=listing /> } />
                </div>
            </div>
            <EmptyList downloading=downloading total=Signal::derive(total) />
        </div>
        <ConfirmDelete confirm=confirm total=Signal::derive(total) />
    }
}

/// What an empty list says: the library is empty (or still downloading), or nothing matches.
#[component]
fn EmptyList(downloading: Signal<bool>, total: Signal<usize>) -> impl IntoView {
    let lib = use_library();
    let is_empty_library =
        move || lib.load.get() == LoadState::Ready && lib.data.with(|d| d.refs.is_empty());
    view! {
        <Show when=is_empty_library>
            <div class="empty-state">
                {move || if downloading.get() {
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
        <Show when={move || !is_empty_library() && lib.load.get() == LoadState::Ready && total.get() == 0}>
            <div class="empty-state">
                <p>{move || if lib.search.with(|s| s.trim().is_empty()) {
                    "Nothing here yet.".to_string()
                } else {
                    format!("No references match “{}”.", lib.search.get())
                }}</p>
            </div>
        </Show>
    }
}
