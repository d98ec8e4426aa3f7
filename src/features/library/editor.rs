//! The reference editor: every field of the reference's type, creators, keywords, groups,
//! attachments and the figure, saved as the person types.
//!
//! Invariants: an edit is saved within [`SAVE_DELAY_MS`] of the last keystroke, and at once
//! when the editor closes (another reference chosen), so nothing typed is lost; while an edit
//! waits to be saved, changes arriving from elsewhere do not overwrite what is being typed;
//! otherwise the editor shows the library's current copy.

mod attachments;
mod creators;
mod fields;
mod groups;

use super::{use_library, Library, SaveState};
use crate::browser;
use crate::features::ui::LabelledField;
use crate::later::later;
use crate::storage::Write;
use attachments::AttachmentsEditor;
use creators::CreatorsEditor;
use fields::{Extras, FieldGrid};
use groups::GroupsEditor;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::Object;
use refsync_core::{Field, Key, RefType, Reference};
use std::rc::Rc;
use std::time::Duration;

/// How long after the last keystroke an edit is saved.
pub const SAVE_DELAY_MS: u64 = 400;

/// The edit waiting to be saved, shared by the timer and the editor's clean-up: the library's
/// copy the draft started from, and the draft. Saved as a change from the one to the other, so
/// that what a sync brought meanwhile to fields not typed in stays.
type Pending = StoredValue<Option<(Reference, Reference)>>;

/// Apply an edit to the draft (and schedule its save): a `Copy` handle, so every view
/// closure can hold it.
type Edit = StoredValue<Rc<dyn Fn(&dyn Fn(&mut Reference))>, LocalStorage>;

fn apply(edit: Edit, f: &dyn Fn(&mut Reference)) {
    if let Some(e) = edit.try_get_value() {
        e(f);
    }
}

fn save(lib: Library, pending: Pending) {
    let Some((from, mut r)) = pending.try_update_value(Option::take).flatten() else {
        return;
    };
    r.date_modified = browser::now_millis();
    lib.save_state.set(SaveState::Saving);
    spawn_local(async move {
        let write = Write::change(Object::Reference(from), Object::Reference(r));
        match lib.commit(vec![write]).await {
            Ok(()) => lib.save_state.set(SaveState::Saved),
            Err(e) => {
                lib.save_state.set(SaveState::Failed);
                lib.fail(e.to_string());
            }
        }
    });
}

/// Run `save` once typing has paused for [`SAVE_DELAY_MS`]: each call restarts the wait (a
/// later keystroke's timer saves instead).
pub(super) fn save_after_pause(generation: StoredValue<u64>, save: impl FnOnce() + 'static) {
    generation.update_value(|g| *g += 1);
    let mine = generation.get_value();
    set_timeout(
        move || {
            if generation.try_get_value() == Some(mine) {
                save();
            }
        },
        Duration::from_millis(SAVE_DELAY_MS),
    );
}

later! { editor;
    /// The selected reference's editor, loaded the first time a reference is selected.
    pub fn reference_editor(key: Key) -> AnyView {
        view! { <ReferenceEditor key=key /> }.into_any()
    }
}

#[component]
fn ReferenceEditor(key: Key) -> impl IntoView {
    let lib = use_library();
    let Some(initial) = lib.get_untracked(&key) else {
        return ().into_any();
    };
    // The library's copy the draft follows: what a save is a change from.
    let origin = StoredValue::new(initial.clone());
    let draft = RwSignal::new(initial);
    let pending: Pending = StoredValue::new(None);
    let generation = StoredValue::new(0u64);
    lib.save_state.set(SaveState::Idle);

    // Follow the library's copy while nothing typed here waits to be saved.
    Effect::new(move |_| {
        let current = lib.get(&key);
        if let Some(current) = current {
            let typing = pending.try_with_value(Option::is_some).unwrap_or(true);
            if !typing {
                if draft.with_untracked(|d| *d != current) {
                    draft.set(current.clone());
                }
                origin.set_value(current);
            }
        }
    });

    // Cleanups run before the editor's values are dropped: the last edit is still there.
    on_cleanup(move || save(lib, pending));

    let edit: Edit = StoredValue::new_local(Rc::new(move |f: &dyn Fn(&mut Reference)| {
        draft.update(|r| f(r));
        pending.set_value(Some((origin.get_value(), draft.get_untracked())));
        lib.save_state.set(SaveState::Pending);
        save_after_pause(generation, move || save(lib, pending));
    }));

    let trashed = move || draft.with(|r| r.trashed);
    let shared = lib.id.get_value() != refsync_core::sync::LibraryId::Personal;
    view! {
        <article id="reference-editor" class="detail editor" aria-label="Reference">
            {move || lib.read_only.get().map(|why| view! { <p id="read-only-banner" class="banner">{why}</p> })}
            // A viewer's editor: every field shown, none editable (a disabled fieldset disables
            // all it holds); a change that got through anyway is refused at `Library::writable`.
            <fieldset class="editor-fields" disabled=move || lib.read_only.with(Option::is_some)>
            <EditorHead draft=draft edit=edit />
            <p id="editor-summary" class="editor-summary">{move || draft.with(Reference::citation_line)}</p>
            {shared.then(|| view! { <crate::features::sharing::LastChanged key=key /> })}
            <Show when=trashed>
                <p id="trash-banner" class="banner">{move || {
                    let into = draft.with(|r| r.merged_into);
                    match into.and_then(|k| lib.get(&k)) {
                        Some(kept) => format!(
                            "Merged into “{}”: it waits in the Trash. Restore it to undo the merge.",
                            kept.title()
                        ),
                        None => "This reference is in the Trash.".to_string(),
                    }
                }}</p>
            </Show>
            <TitleField draft=draft edit=edit />

            <CreatorsEditor draft=draft edit=edit />

            <FieldGrid draft=draft edit=edit />
            <GroupsEditor draft=draft edit=edit />
            </fieldset>
            <AttachmentsEditor key=key />
            <Extras draft=draft />

            <EditorFoot draft=draft key=key />
        </article>
    }
    .into_any()
}

/// The reference's type and whether what was typed is saved.
#[component]
fn EditorHead(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let lib = use_library();
    let ref_type = move || draft.with(|r| r.ref_type);
    view! {
            <div class="editor-head">
                <select
                    id="ref-type-edit"
                    class="type-select"
                    aria-label="Reference type"
                    on:change=move |ev| {
                        let t = RefType::from_id(&event_target_value(&ev));
                        apply(edit, &|r| r.ref_type = t);
                    }
                >
                    {RefType::ALL.iter().map(|t| {
                        let t = *t;
                        view! { <option value=t.id() selected={move || ref_type() == t}>{t.label()}</option> }
                    }).collect_view()}
                </select>
                <span id="save-state" class="save-state" role="status" aria-live="polite">
                    {move || match lib.save_state.get() {
                        SaveState::Idle => "",
                        SaveState::Pending => "Editing…",
                        SaveState::Saving => "Saving…",
                        SaveState::Saved => "Saved",
                        SaveState::Failed => "Not saved",
                    }}
                </span>
            </div>
    }
}

#[component]
fn TitleField(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let ref_type = move || draft.with(|r| r.ref_type);
    view! {
        <LabelledField id="field-title" label=Signal::derive(move || ref_type().field_label(Field::Title).to_string())>
            <textarea
                id="field-title"
                class="title-input"
                rows="2"
                prop:value=move || draft.with(|r| r.title().to_string())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    apply(edit, &|r| r.set(Field::Title, v.clone()));
                }
            ></textarea>
        </LabelledField>
    }
}

/// Duplicate, trash or restore, and when the reference was added and last changed.
#[component]
fn EditorFoot(draft: RwSignal<Reference>, key: Key) -> impl IntoView {
    let lib = use_library();
    // Memoised, so the buttons are not rebuilt on every keystroke in the editor.
    let trashed = Memo::new(move |_| draft.with(|r| r.trashed));
    view! {
            <div class="editor-actions" class:hidden=move || lib.read_only.with(Option::is_some)>
                <button id="duplicate-reference" class="btn" on:click=move |_| duplicate(lib, key)>"Duplicate"</button>
                {move || if trashed.get() {
                    view! {
                        <button id="restore-reference" class="btn" on:click=move |_| lib.restore(vec![key])>"Restore"</button>
                    }.into_any()
                } else {
                    view! {
                        <button id="trash-reference" class="btn" on:click=move |_| lib.trash(vec![key])>"Move to Trash"</button>
                    }.into_any()
                }}
            </div>
            <p class="dates hint">
                {move || draft.with(|r| format!(
                    "Added {} · Last updated {}",
                    super::list::date_text(r.date_added),
                    super::list::date_text(r.date_modified.max(r.date_added))
                ))}
            </p>
    }
}

/// A copy of the reference (new key, added now), without its attachments, shown at once.
fn duplicate(lib: Library, key: Key) {
    let Some(mut copy) = lib.get_untracked(&key) else {
        return;
    };
    let now = browser::now_millis();
    copy.key = browser::new_key();
    copy.attachments.clear();
    copy.trashed = false;
    copy.date_added = now;
    copy.date_modified = now;
    spawn_local(async move {
        match lib.add(copy).await {
            Ok(()) => lib.tell("Made a copy; it is selected now."),
            Err(e) => lib.fail(e.to_string()),
        }
    });
}
