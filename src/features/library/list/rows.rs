//! One row of the list and the column heads (sort, resize).
//!
//! Invariant: a row re-renders only when what it shows ([`RowData`]) changes.

use super::columns::{self, Column, Columns};
use super::keys::{extend_to, focus_editor};
use crate::features::library::collections::Listing;
use crate::features::library::nav::DRAG_TYPE;
use crate::features::library::use_library;
use leptos::ev::{DragEvent, KeyboardEvent, MouseEvent, PointerEvent};
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
    /// The shown columns' text, in their order.
    pub cells: Vec<(Column, String)>,
    pub attachments: usize,
}

/// A column's head: its name (a sort button where the list can sort by it) and, at its right
/// edge, a handle to drag (or move with the arrow keys) to make it wider or narrower.
#[component]
pub fn ColumnHeader(
    column: Column,
    index: usize,
    columns: RwSignal<Columns>,
    head: NodeRef<leptos::html::Div>,
) -> impl IntoView {
    let lib = use_library();
    let field = column.sort();
    let state = move || {
        let s = lib.sort.get();
        field.and_then(|f| (s.field == f).then_some(s.descending))
    };
    let click = move |_| {
        let Some(field) = field else { return };
        lib.sort.update(|s| {
            if s.field == field {
                s.descending = !s.descending;
            } else {
                *s = Sort {
                    field,
                    descending: field == SortField::DateAdded,
                };
            }
        });
        super::super::keep_sort(lib.sort.get_untracked());
    };
    // A drag: where it started and the columns then (each move resizes from those).
    let dragging = StoredValue::new(None::<(i32, Columns)>);
    let resize_by_px = move |start: &Columns, px: i32| {
        let width = head
            .get_untracked()
            .map_or(800, |h| h.client_width())
            .max(1);
        let share = (i64::from(px) * i64::from(start.share_total()) / i64::from(width)) as i32;
        let mut next = start.clone();
        next.resize(index, share);
        columns.set(next);
    };
    let label = column.label();
    view! {
        <div
            role="columnheader"
            class=format!("{} head", column.class())
            aria-sort=move || match state() {
                Some(true) => "descending",
                Some(false) => "ascending",
                None => "none",
            }
        >
            {match field {
                Some(_) => view! {
                    <button class="sort-btn" on:click=click title=format!("Sort by {label}")>
                        {label}
                        <span class="sort-mark" aria-hidden="true">{move || match state() {
                            Some(true) => " ▼",
                            Some(false) => " ▲",
                            None => "",
                        }}</span>
                    </button>
                }.into_any(),
                None => view! { <span class="head-label">{label}</span> }.into_any(),
            }}
            <span
                class="col-resize"
                role="separator"
                aria-orientation="vertical"
                aria-label=format!("Resize {label}")
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || columns.with(|c| {
                    let share = c.0.get(index).map_or(0, |(_, w)| u32::from(*w));
                    (share * 100 / c.share_total().max(1)).to_string()
                })
                tabindex="0"
                on:pointerdown=move |ev: PointerEvent| {
                    let el: web_sys::Element = event_target(&ev);
                    let _ = el.set_pointer_capture(ev.pointer_id());
                    dragging.set_value(Some((ev.client_x(), columns.get_untracked())));
                    ev.prevent_default();
                }
                on:pointermove=move |ev: PointerEvent| {
                    if let Some((x, start)) = dragging.get_value() {
                        resize_by_px(&start, ev.client_x() - x);
                    }
                }
                on:pointerup=move |_| {
                    if dragging.get_value().is_some() {
                        dragging.set_value(None);
                        columns.with_untracked(columns::save);
                    }
                }
                on:keydown=move |ev: KeyboardEvent| {
                    let step = match ev.key().as_str() {
                        "ArrowLeft" => -24,
                        "ArrowRight" => 24,
                        _ => return,
                    };
                    ev.prevent_default();
                    ev.stop_propagation();
                    resize_by_px(&columns.get_untracked(), step);
                    columns.with_untracked(columns::save);
                }
            ></span>
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
    let attachments = row.attachments;
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
            {row.cells.into_iter().map(|(col, text)| {
                // The whole text on hover: a cell cuts long titles short.
                let hover = (!text.is_empty()).then(|| text.clone());
                let badge = (col == Column::Title && attachments > 0)
                    .then(|| view! { <span class="badge" title="Has attachments">"file"</span> });
                view! {
                    <div role="gridcell" class=col.class() title=hover>{text}{badge}</div>
                }
            }).collect_view()}
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
