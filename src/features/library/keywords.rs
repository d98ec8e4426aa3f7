//! The keyword pane: every keyword of the library with how many references hold it; a click
//! filters the open collection by it (again to stop), and a keyword can be renamed across the
//! library, or merged into another by renaming it to that one's name (it syncs like any edit).
//!
//! Invariant: the counts are of references outside the Trash, as All References counts.

use super::use_library;
use crate::features::ui::{DialogFooter, Modal};
use leptos::prelude::*;
use refsync_core::edit::actions;

/// The most keywords listed at once; the filter box finds the rest.
const SHOWN: usize = 300;

#[component]
pub fn KeywordPane() -> impl IntoView {
    let lib = use_library();
    let counts = Memo::new(move |_| lib.data.with(actions::keyword_counts));
    let filter = RwSignal::new(String::new());
    let renaming = RwSignal::new(None::<String>);
    let shown = move || {
        let wanted = filter.with(|f| f.trim().to_lowercase());
        counts.with(|c| {
            c.iter()
                .filter(|(k, _)| wanted.is_empty() || k.to_lowercase().contains(&wanted))
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="nav-section">
            <h2 class="pane-title">"Keywords"</h2>
        </div>
        <Show
            when=move || counts.with(|c| !c.is_empty())
            fallback=|| view! { <p class="hint nav-hint">"Keywords you give references appear here."</p> }
        >
            <input id="keyword-filter" class="keyword-filter" type="search" placeholder="Filter keywords"
                aria-label="Filter keywords" bind:value=filter />
            <ul id="keyword-list" class="keyword-list">
                <For each=shown key=|(k, n)| (k.clone(), *n) children=move |(k, n)| {
                    let name = k.clone();
                    let active = {
                        let name = name.clone();
                        move || lib.keyword.with(|f| f.as_deref() == Some(name.as_str()))
                    };
                    let pick = {
                        let name = name.clone();
                        move |_| lib.keyword.update(|f| {
                            *f = if f.as_deref() == Some(name.as_str()) { None } else { Some(name.clone()) };
                        })
                    };
                    let rename = name.clone();
                    view! {
                        <li class="keyword-item" data-keyword=name.clone()>
                            <button class="keyword-btn" class:active=active.clone()
                                aria-pressed=move || active().to_string() on:click=pick>
                                <span class="keyword-name">{k}</span>
                                <span class="count">{n}</span>
                            </button>
                            <button class="icon-btn" aria-label=format!("Rename keyword {name}")
                                title="Rename or merge" on:click=move |_| renaming.set(Some(rename.clone()))>"✎"</button>
                        </li>
                    }
                } />
            </ul>
        </Show>
        {move || renaming.get().map(|from| view! { <RenameKeyword from=from renaming=renaming /> })}
    }
}

#[component]
fn RenameKeyword(from: String, renaming: RwSignal<Option<String>>) -> impl IntoView {
    let lib = use_library();
    let name = RwSignal::new(from.clone());
    let close = Callback::new(move |_| renaming.set(None));
    let from = StoredValue::new(from);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        renaming.set(None);
        lib.rename_keyword(from.get_value(), name.get_untracked());
    };
    view! {
        <Modal id="keyword-dialog" title="Rename keyword" on_close=close>
            <form class="form" on:submit=save>
                <p class="hint">{move || format!(
                    "Renames “{}” in every reference. To merge it into another keyword, give it that keyword's name.",
                    from.get_value()
                )}</p>
                <label for="keyword-name">"New name"</label>
                <input id="keyword-name" type="text" bind:value=name />
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="keyword-save" type="submit" class="btn btn-primary">"Rename"</button>
                </DialogFooter>
            </form>
        </Modal>
    }
}
