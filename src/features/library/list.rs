//! The middle pane: the reference list, newest first.

use super::{use_library, Detail, LoadState};
use leptos::prelude::*;
use refsync_core::Reference;

#[component]
pub fn ReferenceList() -> impl IntoView {
    let lib = use_library();
    let rows = move || {
        let mut refs = lib.references.get();
        // Newest first; the key breaks ties so the order is stable.
        refs.sort_by(|a, b| {
            b.date_added
                .cmp(&a.date_added)
                .then_with(|| b.key.cmp(&a.key))
        });
        refs
    };
    let is_empty = move || lib.load.get() == LoadState::Ready && lib.references.with(Vec::is_empty);

    view! {
        <div class="toolbar">
            <h2 class="pane-title">"All References"</h2>
            <span class="spacer"></span>
            <button
                id="new-reference"
                class="btn btn-primary"
                on:click=move |_| lib.detail.set(Detail::NewReference)
            >
                "New reference"
            </button>
        </div>
        <div class="list-scroll">
            <table id="reference-list" class="ref-table" aria-label="References">
                <thead>
                    <tr>
                        <th scope="col" class="col-author">"Author"</th>
                        <th scope="col" class="col-year">"Year"</th>
                        <th scope="col" class="col-title">"Title"</th>
                        <th scope="col" class="col-type">"Type"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=rows
                        key=|r: &Reference| (r.key, r.date_modified)
                        children=move |r: Reference| view! { <Row reference=r /> }
                    />
                </tbody>
            </table>
            <Show when=is_empty>
                <div class="empty-state">
                    <p class="empty-title">"Your library is empty"</p>
                    <p>"Add your first reference with “New reference”. It is kept in this browser, even offline."</p>
                </div>
            </Show>
        </div>
    }
}

#[component]
fn Row(reference: Reference) -> impl IntoView {
    let lib = use_library();
    let key = reference.key;
    let selected = move || {
        lib.detail
            .with(|d| matches!(d, Detail::Reference(k) if *k == key))
    };
    let select = move || lib.detail.set(Detail::Reference(key));
    let select_on_key = select;
    view! {
        <tr
            class="ref-row"
            class:selected=selected
            aria-selected=move || selected().to_string()
            tabindex="0"
            on:click=move |_| select()
            on:keydown=move |ev| {
                if ev.key() == "Enter" {
                    select_on_key()
                }
            }
        >
            <td class="col-author">{reference.author_summary()}</td>
            <td class="col-year">{reference.year().to_string()}</td>
            <td class="col-title">{reference.title().to_string()}</td>
            <td class="col-type">{reference.ref_type.label()}</td>
        </tr>
    }
}
