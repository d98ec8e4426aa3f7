//! One row of the list and the sortable column heads.
//!
//! Invariant: a row re-renders only when what it shows ([`RowData`]) changes.

use super::keys::{extend_to, focus_editor};
use crate::features::library::collections::Listing;
use crate::features::library::nav::DRAG_TYPE;
use crate::features::library::use_library;
use leptos::ev::{DragEvent, MouseEvent};
use leptos::prelude::*;
use refsync_core::query::{Sort, SortField};
use refsync_core::Key;

/// Each row's height in pixels (CSS `.ref-row` says the same).
pub const ROW_HEIGHT: f64 = 30.0;
pub const ROW_PX: usize = 30;
/// Rows rendered beyond each edge of the view, so fast scrolling shows no gaps.
pub const OVERSCAN: usize = 8;

/// What one row shows; rows re-render only when this changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowData {
    pub key: Key,
    pub index: usize,
    pub author: String,
    pub year: String,
    pub title: String,
    pub journal: String,
    pub ref_type: &'static str,
    pub added: u64,
    pub attachments: usize,
}

#[component]
pub fn SortHeader(field: SortField, label: &'static str, class: &'static str) -> impl IntoView {
    let lib = use_library();
    let state = move || {
        let s = lib.sort.get();
        (s.field == field).then_some(s.descending)
    };
    let click = move |_| {
        lib.sort.update(|s| {
            if s.field == field {
                s.descending = !s.descending;
            } else {
                *s = Sort {
                    field,
                    descending: field == SortField::DateAdded,
                };
            }
        })
    };
    view! {
        <div
            role="columnheader"
            class=format!("cell head {class}")
            aria-sort=move || match state() {
                Some(true) => "descending",
                Some(false) => "ascending",
                None => "none",
            }
        >
            <button class="sort-btn" on:click=click>
                {label}
                <span class="sort-mark" aria-hidden="true">{move || match state() {
                    Some(true) => " ▼",
                    Some(false) => " ▲",
                    None => "",
                }}</span>
            </button>
        </div>
    }
}

#[component]
pub fn Row(row: RowData, listing: Memo<Listing>) -> impl IntoView {
    let lib = use_library();
    let key = row.key;
    let selected = move || lib.selected.with(|s| s.contains(&key));
    let click = move |ev: MouseEvent| {
        lib.new_form.set(false);
        if ev.shift_key() {
            let keys = listing.with_untracked(|l| l.keys.clone());
            let to = keys.iter().position(|k| *k == key);
            let from = lib
                .anchor
                .get_untracked()
                .and_then(|a| keys.iter().position(|k| *k == a));
            if let (Some(from), Some(to)) = (from, to) {
                if !(ev.ctrl_key() || ev.meta_key()) {
                    lib.selected.set(Vec::new());
                }
                extend_to(lib, &keys, from, to);
                return;
            }
        }
        if ev.ctrl_key() || ev.meta_key() {
            lib.selected.update(|s| {
                if let Some(i) = s.iter().position(|k| *k == key) {
                    s.remove(i);
                } else {
                    s.push(key);
                }
            });
        } else {
            lib.selected.set(vec![key]);
        }
        lib.anchor.set(Some(key));
    };
    let drag = move |ev: DragEvent| {
        let keys = if lib.selected.with_untracked(|s| s.contains(&key)) {
            lib.selected.get_untracked()
        } else {
            vec![key]
        };
        let text: Vec<String> = keys.iter().map(Key::to_string).collect();
        if let Some(dt) = ev.data_transfer() {
            let _ = dt.set_data(DRAG_TYPE, &text.join("\n"));
            dt.set_effect_allowed("copy");
        }
    };
    let added = date_text(row.added);
    view! {
        <div
            class="ref-row"
            class:selected=selected
            role="row"
            aria-rowindex=(row.index + 2).to_string()
            aria-selected=move || selected().to_string()
            data-key=key.to_string()
            draggable="true"
            on:click=click
            on:dblclick=move |_| focus_editor()
            on:dragstart=drag
        >
            <div role="gridcell" class="cell col-author">{row.author}</div>
            <div role="gridcell" class="cell col-year">{row.year}</div>
            <div role="gridcell" class="cell col-title">
                {row.title}
                {(row.attachments > 0).then(|| view! { <span class="badge" title="Has attachments">"file"</span> })}
            </div>
            <div role="gridcell" class="cell col-journal">{row.journal}</div>
            <div role="gridcell" class="cell col-type">{row.ref_type}</div>
            <div role="gridcell" class="cell col-added">{added}</div>
        </div>
    }
}

/// A date added as the browser's locale writes short dates.
pub fn date_text(millis: u64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
        .to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}
