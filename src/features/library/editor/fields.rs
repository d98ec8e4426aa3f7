//! The fields of a reference's type (and any other field it holds text in), keywords, read
//! and rating, each a labelled input in the editor's grid.

use super::{apply, Edit};
use crate::features::ui::LabelledField;
use leptos::prelude::*;
use refsync_core::edit::actions;
use refsync_core::{Field, Reference};

#[component]
pub fn FieldGrid(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let ref_type = move || draft.with(|r| r.ref_type);
    // The type's fields, then any other field this reference holds text in (kept from
    // another type or an import), so nothing it holds is hidden.
    let fields = move || {
        let mut list: Vec<Field> = ref_type()
            .fields()
            .into_iter()
            .filter(|f| *f != Field::Title)
            .collect();
        draft.with(|r| {
            for (id, value) in &r.fields {
                if let Some(f) = Field::from_id(id) {
                    if f != Field::Title && !value.is_empty() && !list.contains(&f) {
                        list.push(f);
                    }
                }
            }
        });
        list
    };

    view! {
            <div class="field-grid">
                <For
                    each=fields
                    key=|f: &Field| *f
                    children=move |f: Field| {
                        let id = format!("field-{}", f.id());
                        let value = move || draft.with(|r| r.get(f).to_string());
                        let label = move || ref_type().field_label(f);
                        let input = move |ev: leptos::ev::Event| {
                            let v = event_target_value(&ev);
                            apply(edit, &|r| r.set(f, v.clone()));
                        };
                        view! {
                            <LabelledField id=id.clone() label=Signal::derive(move || label().to_string())>
                                {if f.is_multiline() {
                                    view! { <textarea id=id rows="3" prop:value=value on:input=input></textarea> }.into_any()
                                } else {
                                    view! { <input id=id type="text" prop:value=value on:input=input /> }.into_any()
                                }}
                            </LabelledField>
                        }
                    }
                />
                <KeywordsField draft=draft edit=edit />
                <span class="field-label">"Read"</span>
                <label class="check">
                    <input id="field-read" type="checkbox" prop:checked=move || draft.with(|r| r.read)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            apply(edit, &|r| r.read = on);
                        } />
                    "I have read it"
                </label>
                <LabelledField id="field-rating" label="Rating".to_string()>
                <select id="field-rating" on:change=move |ev| {
                    let n: u8 = event_target_value(&ev).parse().unwrap_or(0);
                    apply(edit, &|r| r.rating = n.min(5));
                }>
                    {(0..=5u8).map(|n| view! {
                        <option value=n.to_string() selected={move || draft.with(|r| r.rating == n)}>
                            {if n == 0 { "Not rated".to_string() } else { "★".repeat(n.into()) }}
                        </option>
                    }).collect_view()}
                </select>
                </LabelledField>
            </div>
    }
}

/// Keywords, one per line. The box keeps the text as typed (an empty line after Enter is
/// where the next keyword goes); the reference always holds core's tidy list of it, so a save
/// made between two keystrokes never stores an empty keyword. A change from elsewhere (a
/// sync, another tab) replaces the text only when it says something else.
#[component]
fn KeywordsField(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let text = RwSignal::new(draft.with_untracked(|r| r.keywords.join("\n")));
    Effect::new(move |_| {
        let held = draft.with(|r| r.keywords.clone());
        if text.with_untracked(|t| actions::keywords(t)) != held {
            text.set(held.join("\n"));
        }
    });
    view! {
        <LabelledField id="field-keywords" label="Keywords".to_string()>
            <textarea
                id="field-keywords"
                rows="3"
                placeholder="One per line"
                prop:value=move || text.get()
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    let words = actions::keywords(&v);
                    text.set(v);
                    if draft.with_untracked(|r| r.keywords != words) {
                        apply(edit, &|r| r.keywords = words.clone());
                    }
                }
                on:change=move |_| text.set(draft.with_untracked(|r| r.keywords.join("\n")))
            ></textarea>
        </LabelledField>
    }
}

/// Imported fields refsync has no place for, shown so nothing seems lost (export writes them
/// back).
#[component]
pub fn Extras(draft: RwSignal<Reference>) -> impl IntoView {
    let extras = move || {
        draft.with(|r| {
            r.extras_in_order()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <Show when={move || !extras().is_empty()}>
            <section class="editor-section">
                <h3>"Other imported fields"</h3>
                <dl class="fields">
                    {move || extras().into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            </section>
        </Show>
    }
}
