//! The form that adds a reference: type, title, authors, year.

use super::use_library;
use crate::browser;
use crate::features::ui::DialogFooter;
use crate::later::later;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::{parse_creators, CreatorRole, Field, RefType, Reference};

later! { editor;
    /// The form for a new reference, loaded with the editor.
    pub fn new_reference_form() -> AnyView {
        view! { <NewReferenceForm /> }.into_any()
    }
}

#[component]
fn NewReferenceForm() -> impl IntoView {
    let lib = use_library();
    let ref_type = RwSignal::new(RefType::JournalArticle);
    let title = RwSignal::new(String::new());
    let authors = RwSignal::new(String::new());
    let year = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let creators = parse_creators(&authors.get_untracked(), CreatorRole::Author);
        let title_text = title.get_untracked().trim().to_string();
        if title_text.is_empty() && creators.is_empty() {
            error.set(Some(
                "Give the reference a title or at least one author.".into(),
            ));
            return;
        }
        let mut reference = Reference::new(
            browser::new_key(),
            ref_type.get_untracked(),
            browser::now_millis(),
        );
        reference.set(Field::Title, title_text);
        reference.creators = creators;
        reference.set(Field::Year, year.get_untracked().trim());
        saving.set(true);
        error.set(None);
        spawn_local(async move {
            // On success the library shows the new reference, which replaces this form.
            if let Err(e) = lib.add(reference).await {
                error.set(Some(e.to_string()));
                saving.set(false);
            }
        });
    };

    view! {
        <form id="reference-form" class="detail form" on:submit=on_submit novalidate>
            <h2 class="detail-title">"New reference"</h2>
            <label for="ref-type">"Reference type"</label>
            <select
                id="ref-type"
                on:change=move |ev| ref_type.set(RefType::from_id(&event_target_value(&ev)))
                prop:value=move || ref_type.get().id()
            >
                {RefType::ALL
                    .iter()
                    .map(|t| view! { <option value=t.id()>{t.label()}</option> })
                    .collect_view()}
            </select>

            <label for="ref-title">"Title"</label>
            <textarea id="ref-title" rows="2" bind:value=title autofocus></textarea>

            <label for="ref-authors">"Authors"</label>
            <textarea
                id="ref-authors"
                rows="3"
                placeholder="One per line: Family, Given"
                bind:value=authors
            ></textarea>
            <p class="hint">"One author per line, as “Family, Given”. End a company or organisation name with a comma."</p>

            <label for="ref-year">"Year"</label>
            <input id="ref-year" type="text" inputmode="numeric" maxlength="20" bind:value=year />

            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <DialogFooter>
                <button
                    type="button"
                    class="btn"
                    on:click=move |_| lib.new_form.set(false)
                >
                    "Cancel"
                </button>
                <button id="ref-save" type="submit" class="btn btn-primary" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Add reference" }}
                </button>
            </DialogFooter>
        </form>
    }
}
