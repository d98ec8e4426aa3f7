//! The right pane: the selected reference's editor, the form for a new one, or what to do
//! with several selected.

use super::conflict::conflict_card;
use super::editor::reference_editor;
use super::new_reference::new_reference_form;
use super::use_library;
use crate::later::loaded;
use leptos::prelude::*;

/// The detail pane; `selection_actions` are what the app offers for several selected
/// references besides the list's buttons (export).
#[component]
pub fn DetailPane(#[prop(optional)] selection_actions: ViewFn) -> impl IntoView {
    let lib = use_library();
    // Only a change of which reference is shown rebuilds the editor, not every edit.
    let single = Memo::new(move |_| {
        lib.selected.with(|s| match s.as_slice() {
            [k] => Some(*k),
            _ => None,
        })
    });
    // A conflicted reference shows the conflict until it is settled, then the editor.
    let in_conflict = Memo::new(move |_| {
        single
            .get()
            .is_some_and(|k| lib.data.with(|d| d.conflicts.contains_key(&k)))
    });
    let count = move || lib.selected.with(Vec::len);
    move || {
        if lib.new_form.get() {
            return loaded(new_reference_form).into_any();
        }
        if let (Some(key), true) = (single.get(), in_conflict.get()) {
            return loaded(move || conflict_card(key)).into_any();
        }
        if let Some(key) = single.get() {
            return match lib.data.with_untracked(|d| d.refs.get(&key).is_some()) {
                true => loaded(move || reference_editor(key)).into_any(),
                false => view! {
                    <div class="detail-empty"><p>"This reference is no longer in the library."</p></div>
                }
                .into_any(),
            };
        }
        if count() > 1 {
            return view! {
                <div id="selection-summary" class="detail-empty">
                    <p class="empty-title">{move || format!("{} references selected", count())}</p>
                    <p>"Add them to a group, export them or move them to the Trash with the buttons above the list."</p>
                    {selection_actions.run()}
                </div>
            }
            .into_any();
        }
        view! {
            <div class="detail-empty">
                <p>"Select a reference to see and edit it here."</p>
                <p class="hint">"Keyboard: ↑ ↓ to move, Shift to extend, Enter to edit, Delete to move to the Trash."</p>
            </div>
        }
        .into_any()
    }
}
