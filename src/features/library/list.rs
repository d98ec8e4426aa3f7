//! The middle pane: the chosen collection's references, searched and sorted, as a list that
//! renders only the rows in view (a 50,000-row library keeps a few dozen rows in the DOM),
//! with click, shift and ctrl selection and keyboard navigation.

mod actions;
mod keys;
mod rows;

pub use rows::date_text;

use super::collections::{Collection, Listing};
use super::{use_library, LoadState};
use crate::browser;
use crate::features::ui::thousands;
use actions::{Confirm, ConfirmDelete, ListActions};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use refsync_core::query::SortField;
use rows::{Row, RowData, SortHeader, OVERSCAN, ROW_HEIGHT, ROW_PX};

/// The list pane; `extra_actions` are buttons the app adds to its toolbar (import, export...),
/// and `downloading` says a first sync is filling an empty library (its progress bar shows).
#[component]
pub fn ReferenceList(
    #[prop(optional)] extra_actions: ViewFn,
    #[prop(optional, into)] downloading: Signal<bool>,
) -> impl IntoView {
    let lib = use_library();
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
        <ListActions extra=extra_actions confirm=confirm total=Signal::derive(total) />
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
