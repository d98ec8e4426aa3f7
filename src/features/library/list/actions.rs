//! What can be done to the list's selection from the toolbar: new reference, the caller's
//! extra buttons (import, export, backup), add to or remove from a group, the Trash, and the
//! question asked before deleting for good.

use crate::features::library::collections::Collection;
use crate::features::library::use_library;
use crate::features::ui::ConfirmDialog;
use leptos::prelude::*;
use refsync_core::sync::Resolution;
use refsync_core::{Group, Key};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirm {
    EmptyTrash,
    DeleteForever,
    /// Every conflict settled one way: `true` keeps this browser's versions.
    KeepAll {
        local: bool,
    },
}

/// The action buttons above the list; `extra` is what the caller adds after "New reference".
#[component]
pub fn ListActions(
    extra: ViewFn,
    confirm: RwSignal<Option<Confirm>>,
    #[prop(into)] total: Signal<usize>,
) -> impl IntoView {
    let lib = use_library();
    let in_trash = move || lib.collection.get() == Collection::Trash;
    let in_conflicts = move || lib.collection.get() == Collection::Conflicts;
    let has_selection = move || lib.selected.with(|s| !s.is_empty());
    let custom_group = move || lib.data.with(|d| lib.collection.get().custom_group(d));
    // A viewer is offered no change at all (and one made anyway is refused: `Library::writable`).
    let writable = move || lib.read_only.with(Option::is_none);
    view! {
        <div class="toolbar actions">
            <Show when=writable>
                <button id="new-reference" class="btn btn-primary" on:click=move |_| {
                    lib.selected.set(Vec::new());
                    lib.new_form.set(true);
                }>"New reference"</button>
            </Show>
            {extra.run()}
            <span class="spacer"></span>
            <Show when={move || has_selection() && !in_trash() && writable()}>
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
            <Show when=move || in_trash() && writable()>
                <Show when=has_selection>
                    <button id="restore-selected" class="btn" on:click=move |_| lib.restore(lib.selected.get_untracked())>"Restore"</button>
                    <button id="delete-selected" class="btn btn-danger" on:click=move |_| confirm.set(Some(Confirm::DeleteForever))>"Delete permanently"</button>
                </Show>
                <button id="empty-trash" class="btn btn-danger" disabled={move || total.get() == 0} on:click=move |_| confirm.set(Some(Confirm::EmptyTrash))>"Empty Trash"</button>
            </Show>
            <Show when=move || in_conflicts() && lib.data.with(|d| !d.conflicts.is_empty())>
                <button id="keep-all-local" class="btn" on:click=move |_| confirm.set(Some(Confirm::KeepAll { local: true }))>"Keep all of this browser's"</button>
                <button id="keep-all-online" class="btn" on:click=move |_| confirm.set(Some(Confirm::KeepAll { local: false }))>"Keep all online"</button>
            </Show>
        </div>
    }
}

/// What a permanent delete does beyond this browser.
const EVERYWHERE: &str =
    "It is deleted on every device synced with this library too, and this cannot be undone.";

/// The selected references by title (the first three), for the question before deleting.
fn named(lib: crate::features::library::Library) -> String {
    let (titles, n) = lib.selected.with_untracked(|keys| {
        lib.data.with_untracked(|d| {
            let titles: Vec<String> = keys
                .iter()
                .take(3)
                .filter_map(|k| d.refs.get(k))
                .map(|r| match r.title() {
                    "" => "an untitled reference".to_string(),
                    t => format!("“{t}”"),
                })
                .collect();
            (titles, keys.len())
        })
    });
    match n {
        0..=3 => titles.join(", "),
        _ => format!("{} and {} more", titles.join(", "), n - titles.len()),
    }
}

/// The question before deleting for good, while `confirm` holds one.
#[component]
pub fn ConfirmDelete(
    confirm: RwSignal<Option<Confirm>>,
    #[prop(into)] total: Signal<usize>,
) -> impl IntoView {
    let lib = use_library();
    move || {
        confirm.get().map(|c| {
            let (title, text, button) = match c {
                Confirm::EmptyTrash => (
                    "Empty the Trash?",
                    format!(
                        "Delete the {} in the Trash permanently, with their attachments? {EVERYWHERE}",
                        crate::features::library::count_refs(total.get_untracked())
                    ),
                    "Empty Trash",
                ),
                Confirm::DeleteForever => (
                    "Delete permanently?",
                    format!(
                        "Delete {} permanently, with its attachments? {EVERYWHERE}",
                        named(lib)
                    ),
                    "Delete permanently",
                ),
                Confirm::KeepAll { local } => {
                    let n = crate::features::library::count_refs(
                        lib.data.with_untracked(|d| d.conflicts.len()),
                    );
                    if local {
                        (
                            "Keep this browser's versions?",
                            format!("Keep this browser's version of all {n} in Sync Conflicts? Their online versions are replaced on every device."),
                            "Keep all of this browser's",
                        )
                    } else {
                        (
                            "Keep the online versions?",
                            format!("Keep the online version of all {n} in Sync Conflicts? What was changed on them in this browser is dropped."),
                            "Keep all online",
                        )
                    }
                }
            };
            let keeps = matches!(c, Confirm::KeepAll { .. });
            view! {
                <ConfirmDialog
                    id="confirm-dialog"
                    confirm_id=if keeps { "confirm-keep-all" } else { "confirm-delete" }
                    title=title
                    text=text
                    confirm=button
                    danger=!keeps
                    on_confirm=Callback::new(move |_| match c {
                        Confirm::EmptyTrash => lib.empty_trash(),
                        Confirm::DeleteForever => lib.delete_forever(lib.selected.get_untracked()),
                        Confirm::KeepAll { local: true } => lib.resolve_all(Resolution::KeepLocal),
                        Confirm::KeepAll { local: false } => lib.resolve_all(Resolution::KeepOnline),
                    })
                    on_close=Callback::new(move |_| confirm.set(None))
                />
            }
        })
    }
}

/// The "Add to group" menu for the selection.
#[component]
pub fn AddToGroup() -> impl IntoView {
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
