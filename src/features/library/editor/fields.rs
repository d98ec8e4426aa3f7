//! The fields of a reference's type (and any other field it holds text in), keywords, read
//! and rating, each a labelled input in the editor's grid.

use super::{apply, Edit};
use crate::features::ui::LabelledField;
use leptos::prelude::*;
use refsync_core::edit::actions;
use refsync_core::{Field, Reference};

/// Fields shown even when empty: what most references are cited with.
const ALWAYS: [Field; 11] = [
    Field::Year,
    Field::SecondaryTitle,
    Field::Volume,
    Field::Issue,
    Field::Pages,
    Field::Publisher,
    Field::Place,
    Field::Doi,
    Field::Url,
    Field::Abstract,
    Field::Notes,
];

#[component]
pub fn FieldGrid(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let ref_type = move || draft.with(|r| r.ref_type);
    // "Show all fields": the type's empty fields too. A field that held text stays while this
    // editor is open, so one emptied by typing does not vanish under the cursor.
    let all = RwSignal::new(false);
    let shown_once = StoredValue::new(Vec::<Field>::new());
    // The type's fields (the empty ones only when asked, or when usually cited), then any
    // other field this reference holds text in (kept from another type or an import), so
    // nothing it holds is hidden.
    let hidden = Memo::new(move |_| {
        draft.with(|r| {
            r.ref_type
                .fields()
                .into_iter()
                .filter(|f| *f != Field::Title && r.get(*f).is_empty() && !ALWAYS.contains(f))
                .count()
        })
    });
    let fields = move || {
        let everything = all.get();
        let mut list: Vec<Field> = draft.with(|r| {
            ref_type()
                .fields()
                .into_iter()
                .filter(|f| *f != Field::Title)
                .filter(|f| {
                    everything
                        || ALWAYS.contains(f)
                        || !r.get(*f).is_empty()
                        || shown_once.with_value(|s| s.contains(f))
                })
                .collect()
        });
        // Remember the fields with text now: emptied later, they stay in view.
        draft.with(|r| {
            shown_once.update_value(|s| {
                for f in &list {
                    if !r.get(*f).is_empty() && !s.contains(f) {
                        s.push(*f);
                    }
                }
            })
        });
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
                        let link = move || draft.with(|r| web_link(f, r.get(f)));
                        view! {
                            <LabelledField id=id.clone() label=Signal::derive(move || label().to_string())>
                                {if f.is_multiline() {
                                    view! { <textarea id=id rows="3" prop:value=value on:input=input></textarea> }.into_any()
                                } else if matches!(f, Field::Doi | Field::Url) {
                                    view! {
                                        <span class="field-with-link">
                                            <input id=id type="text" prop:value=value on:input=input />
                                            {move || link().map(|href| view! {
                                                <a class="field-link" href=href target="_blank" rel="noopener noreferrer">"Open"</a>
                                            })}
                                        </span>
                                    }.into_any()
                                } else {
                                    view! { <input id=id type="text" prop:value=value on:input=input /> }.into_any()
                                }}
                            </LabelledField>
                        }
                    }
                />
                <span></span>
                <button id="show-all-fields" type="button" class="link-btn show-fields"
                    on:click=move |_| all.update(|a| *a = !*a)>
                    {move || if all.get() {
                        "Show fewer fields".to_string()
                    } else {
                        match hidden.get() {
                            0 => "Show all fields".to_string(),
                            n => format!("Show all fields ({n} more)"),
                        }
                    }}
                </button>
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

/// Where a DOI or URL field's text opens: only web addresses (a `javascript:` URL is never a
/// link), a bare DOI at doi.org.
fn web_link(field: Field, text: &str) -> Option<String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(text.to_string());
    }
    match field {
        Field::Doi if text.starts_with("10.") => Some(format!("https://doi.org/{text}")),
        Field::Doi => lower
            .strip_prefix("doi:")
            .map(|d| format!("https://doi.org/{}", d.trim())),
        _ => None,
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
