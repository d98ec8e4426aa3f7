//! The right pane: the selected reference, or the form for a new one.

use super::new_reference::NewReferenceForm;
use super::{use_library, Detail};
use leptos::prelude::*;
use refsync_core::Reference;

#[component]
pub fn DetailPane() -> impl IntoView {
    let lib = use_library();
    move || match lib.detail.get() {
        Detail::Nothing => view! {
            <div class="detail-empty">
                <p>"Select a reference to see it here."</p>
            </div>
        }
        .into_any(),
        Detail::NewReference => view! { <NewReferenceForm /> }.into_any(),
        Detail::Reference(key) => match lib.get(&key) {
            Some(r) => view! { <ReferenceView reference=r /> }.into_any(),
            None => view! {
                <div class="detail-empty"><p>"This reference is no longer in the library."</p></div>
            }
            .into_any(),
        },
    }
}

#[component]
fn ReferenceView(reference: Reference) -> impl IntoView {
    let creators = reference
        .creators
        .iter()
        .map(|c| c.name.to_string())
        .collect::<Vec<_>>();
    let added = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        reference.date_added as f64,
    ))
    .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
    .as_string()
    .unwrap_or_default();
    view! {
        <article id="reference-detail" class="detail">
            <p class="detail-type">{reference.ref_type.label()}</p>
            <h2 class="detail-title">{reference.title().to_string()}</h2>
            <dl class="fields">
                <dt>"Authors"</dt>
                <dd>
                    <ul class="creators">
                        {creators.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                    </ul>
                </dd>
                <dt>"Year"</dt>
                <dd>{reference.year().to_string()}</dd>
                <dt>"Added"</dt>
                <dd>{added}</dd>
            </dl>
        </article>
    }
}
