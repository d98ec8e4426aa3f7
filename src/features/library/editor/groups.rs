//! The groups a reference is in: chips to remove it from one, a menu to add it to another.

use super::{apply, Edit};
use crate::features::library::use_library;
use leptos::prelude::*;
use refsync_core::{Group, Key, Reference};

#[component]
pub fn GroupsEditor(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let lib = use_library();
    let member_of = move || {
        let keys = draft.with(|r| r.groups.clone());
        lib.data.with(|d| {
            let mut gs: Vec<Group> = keys
                .iter()
                .filter_map(|k| d.groups.get(k).cloned())
                .collect();
            refsync_core::sort::sort_by_key(&mut gs, |g| g.name.to_lowercase());
            gs
        })
    };
    let others = move || {
        let keys = draft.with(|r| r.groups.clone());
        lib.data.with(|d| {
            let mut gs = d.custom_groups();
            gs.retain(|g| !keys.contains(&g.key));
            gs
        })
    };
    view! {
        <section class="editor-section">
            <h3>"Groups"</h3>
            <ul id="reference-groups" class="chips">
                <For each=member_of key=|g: &Group| (g.key, g.name.clone()) children=move |g: Group| {
                    let k = g.key;
                    view! {
                        <li class="chip">
                            {g.name.clone()}
                            <button type="button" class="chip-x" aria-label=format!("Remove from {}", g.name)
                                on:click=move |_| apply(edit, &|r| { r.groups.remove(&k); })>"×"</button>
                        </li>
                    }
                } />
            </ul>
            <select id="editor-add-group" aria-label="Add to group" prop:value="" on:change=move |ev| {
                if let Ok(k) = Key::parse(&event_target_value(&ev)) {
                    apply(edit, &|r| { r.groups.insert(k); });
                }
                let el: web_sys::HtmlSelectElement = event_target(&ev);
                el.set_value("");
            }>
                <option value="">"Add to group…"</option>
                <For each=others key=|g: &Group| (g.key, g.name.clone()) children=|g: Group| view! {
                    <option value=g.key.to_string()>{g.name.clone()}</option>
                } />
            </select>
        </section>
    }
}
