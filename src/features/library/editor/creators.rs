//! The creators of a reference: one row per person or organisation, with its role, moved
//! up and down or removed, and a button to add one.

use super::{apply, Edit};
use leptos::prelude::*;
use refsync_core::{Creator, CreatorRole, Name, Reference};

const ROLES: [(CreatorRole, &str); 6] = [
    (CreatorRole::Author, "Author"),
    (CreatorRole::Editor, "Editor"),
    (CreatorRole::Translator, "Translator"),
    (CreatorRole::SeriesEditor, "Series Editor"),
    (CreatorRole::BookAuthor, "Book Author"),
    (CreatorRole::Contributor, "Contributor"),
];

#[component]
pub fn CreatorsEditor(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    // A row per position, made when the number of creators changes and not on each
    // keystroke: a row rebuilt under the cursor would take the focus from the box typed in.
    let count = Memo::new(move |_| draft.with(|r| r.creators.len()));
    // The row "Add creator" made: its first box takes the focus, so typing can start at once.
    let focus_row = StoredValue::new(None::<usize>);
    view! {
        <fieldset class="creators-edit">
            <legend>"Authors and other creators"</legend>
            <ol id="creators" class="creator-list">
                <For each=move || 0..count.get() key=|i| *i children=move |i| view! { <CreatorRow draft=draft index=i edit=edit focus_row=focus_row /> } />
            </ol>
            <button id="add-creator" type="button" class="btn btn-small" on:click=move |_| {
                focus_row.set_value(Some(draft.with_untracked(|r| r.creators.len())));
                apply(edit, &|r| r.creators.push(Creator { role: CreatorRole::Author, name: Name::person("", "") }));
            }>"Add creator"</button>
        </fieldset>
    }
}

#[component]
fn CreatorRow(
    draft: RwSignal<Reference>,
    index: usize,
    edit: Edit,
    focus_row: StoredValue<Option<usize>>,
) -> impl IntoView {
    let family = NodeRef::<leptos::html::Input>::new();
    // An effect runs once the row is in the page and before the browser hands over the next
    // key press; a timer may run after it, and the first letter typed lands on the button.
    Effect::new(move |_| {
        if let Some(el) = family.get() {
            if focus_row.get_value() == Some(index) {
                focus_row.set_value(None);
                let _ = el.focus();
            }
        }
    });
    let creator = move || draft.with(|r| r.creators.get(index).cloned());
    let is_literal = Memo::new(move |_| {
        draft.with(|r| {
            r.creators
                .get(index)
                .is_some_and(|c| matches!(c.name, Name::Literal(_)))
        })
    });
    let part = move |which: u8| {
        move || match creator().map(|c| c.name) {
            Some(Name::Person {
                family,
                given,
                particle,
                ..
            }) => match which {
                0 if particle.is_empty() => family,
                0 => format!("{particle} {family}"),
                _ => given,
            },
            Some(Name::Literal(n)) if which == 0 => n,
            _ => String::new(),
        }
    };
    let set_name = {
        move |which: u8, value: String| {
            apply(edit, &|r| {
                if let Some(c) = r.creators.get_mut(index) {
                    match &mut c.name {
                        Name::Person {
                            family,
                            given,
                            particle,
                            ..
                        } => {
                            if which == 0 {
                                *family = value.clone();
                                particle.clear();
                            } else {
                                *given = value.clone();
                            }
                        }
                        Name::Literal(n) => *n = value.clone(),
                    }
                }
            })
        }
    };
    let last = move || draft.with(|r| r.creators.len()).saturating_sub(1);
    view! {
        <li class="creator-row" class:literal=is_literal>
            <select class="creator-role" aria-label="Role" on:change=move |ev| {
                let v = event_target_value(&ev);
                let role = ROLES.iter().find(|(_, l)| *l == v).map_or(CreatorRole::Author, |r| r.0);
                apply(edit, &|r| if let Some(c) = r.creators.get_mut(index) { c.role = role });
            }>
                {ROLES.iter().map(|(role, label)| {
                    let role = *role;
                    view! { <option value=*label selected={move || creator().is_some_and(|c| c.role == role)}>{*label}</option> }
                }).collect_view()}
            </select>
            <input class="creator-family" type="text" node_ref=family
                placeholder=move || if is_literal.get() { "Organisation name" } else { "Family name" }
                aria-label=move || if is_literal.get() { "Organisation name" } else { "Family name" }
                prop:value=part(0)
                on:input=move |ev| set_name(0, event_target_value(&ev)) />
            <Show when={move || !is_literal.get()}>
                <input class="creator-given" type="text" placeholder="Given names" aria-label="Given names"
                    prop:value=part(1)
                    on:input=move |ev| set_name(1, event_target_value(&ev)) />
            </Show>
            <span class="creator-tools">
                <button type="button" class="icon-btn"
                    title=move || if is_literal.get() { "An organisation: click to make it a person" } else { "A person: click to make it an organisation" }
                    aria-label=move || if is_literal.get() { "Org: make it a person" } else { "Person: make it an organisation" }
                    on:click=move |_| apply(edit, &|r| if let Some(c) = r.creators.get_mut(index) {
                        c.name = match &c.name {
                            Name::Literal(n) => refsync_core::parse_name(n),
                            person => Name::Literal(person.to_string()),
                        };
                    })>
                    {move || if is_literal.get() { "Org" } else { "Person" }}
                </button>
                <button type="button" class="icon-btn" aria-label="Move up" disabled={move || index == 0}
                    on:click=move |_| apply(edit, &|r| if index > 0 && index < r.creators.len() { r.creators.swap(index - 1, index) })>"↑"</button>
                <button type="button" class="icon-btn" aria-label="Move down" disabled={move || index >= last()}
                    on:click=move |_| apply(edit, &|r| if index + 1 < r.creators.len() { r.creators.swap(index, index + 1) })>"↓"</button>
                <button type="button" class="icon-btn creator-remove" aria-label="Remove"
                    on:click=move |_| apply(edit, &|r| if index < r.creators.len() { r.creators.remove(index); })>"×"</button>
            </span>
        </li>
    }
}
