//! The list's keyboard: arrows, page keys, Home/End, Shift to extend, Ctrl+A, Enter to the
//! editor, Delete to the Trash (or, in the Trash, to be asked about deleting for good).

use super::actions::Confirm;
use super::rows::ROW_HEIGHT;
use crate::features::library::collections::Collection;
use crate::features::library::Library;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use refsync_core::Key;

/// Handle a key on the list; `Some(true)` when it was ours.
pub fn keyboard(
    lib: Library,
    keys: &[Key],
    ev: &KeyboardEvent,
    viewport: f64,
    confirm: RwSignal<Option<Confirm>>,
) -> Option<bool> {
    let ctrl = ev.ctrl_key() || ev.meta_key();
    let page = ((viewport / ROW_HEIGHT) as usize).saturating_sub(2).max(1);
    let current = lib
        .anchor
        .get_untracked()
        .and_then(|a| keys.iter().position(|k| *k == a));
    let last = keys.len().checked_sub(1)?;
    let target = match ev.key().as_str() {
        "ArrowDown" => Some(current.map_or(0, |i| (i + 1).min(last))),
        "ArrowUp" => Some(current.map_or(0, |i| i.saturating_sub(1))),
        "PageDown" => Some(current.map_or(0, |i| (i + page).min(last))),
        "PageUp" => Some(current.map_or(0, |i| i.saturating_sub(page))),
        "Home" => Some(0),
        "End" => Some(last),
        "a" | "A" if ctrl => {
            lib.selected.set(keys.to_vec());
            return Some(true);
        }
        "Enter" => {
            focus_editor();
            return Some(true);
        }
        "Delete" | "Backspace" => {
            if lib.selected.with_untracked(Vec::is_empty) {
                return Some(false);
            }
            if lib.collection.get_untracked() == Collection::Trash {
                confirm.set(Some(Confirm::DeleteForever));
            } else {
                lib.trash(lib.selected.get_untracked());
            }
            return Some(true);
        }
        _ => None,
    }?;
    let key = keys[target];
    if ev.shift_key() {
        let from = current.unwrap_or(target);
        extend_to(lib, keys, from, target);
        lib.anchor.set(Some(key));
    } else {
        lib.new_form.set(false);
        lib.selected.set(vec![key]);
        lib.anchor.set(Some(key));
    }
    lib.reveal.update(|n| *n += 1);
    Some(true)
}

/// Add the rows between `from` and `to` (inclusive) to the selection.
pub fn extend_to(lib: Library, keys: &[Key], from: usize, to: usize) {
    let (a, b) = if from <= to { (from, to) } else { (to, from) };
    lib.selected.update(|s| {
        for k in &keys[a..=b] {
            if !s.contains(k) {
                s.push(*k);
            }
        }
    });
}

pub fn focus_editor() {
    let first = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("#reference-editor input, #reference-editor textarea")
                .ok()
                .flatten()
        })
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(el) = first {
        let _ = el.focus();
    }
}
