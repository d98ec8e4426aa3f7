//! The keyboard shortcuts that work anywhere in the window, and the sheet listing every
//! shortcut ("?").
//!
//! Invariant: in a box the person types in, keys are text and Ctrl+Z is the box's own undo;
//! the shortcuts here act only outside such boxes (and never while a dialog is open, except
//! its own Escape).

use super::{use_library, Library};
use crate::browser;
use crate::features::ui::{dialog_open, Modal};
use leptos::prelude::*;

/// Every shortcut, as the sheet lists them.
const SHEET: &[(&str, &str)] = &[
    ("N", "New reference"),
    ("/", "Search this list"),
    ("Ctrl+Z", "Undo the last action"),
    ("Ctrl+Shift+Z or Ctrl+Y", "Redo"),
    ("↑ ↓, Page Up/Down, Home, End", "Move in the list"),
    ("Shift with a move, Shift-click", "Extend the selection"),
    ("Ctrl+A", "Select every reference in the list"),
    ("Enter", "Edit the selected reference"),
    (
        "Delete",
        "Move to the Trash (in the Trash: delete permanently, after asking)",
    ),
    (
        "Ctrl+Shift+C",
        "Copy the selection's bibliography in the style used last",
    ),
    ("Escape", "Close a dialog; clear the search"),
    (
        "Tab, Shift+Tab",
        "Next and previous control (inside a dialog while it is open)",
    ),
    ("?", "This list"),
];

/// Listen for the window's shortcuts.
pub fn listen(lib: Library) {
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if browser::typing_in(ev.target()) || dialog_open() {
            return;
        }
        let ctrl = ev.ctrl_key() || ev.meta_key();
        match (ev.key().as_str(), ctrl, ev.shift_key()) {
            ("z" | "Z", true, false) => lib.undo(),
            ("z" | "Z", true, true) | ("y" | "Y", true, false) => lib.redo(),
            ("n" | "N", false, _) if !ev.alt_key() => {
                lib.selected.set(Vec::new());
                lib.new_form.set(true);
            }
            ("/", false, _) => focus("#quick-search"),
            ("?", false, _) => lib.help.set(true),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
}

fn focus(css: &str) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(css).ok().flatten())
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(el) = el {
        let _ = el.focus();
    }
}

/// The "?" sheet.
#[component]
pub fn ShortcutsHelp() -> impl IntoView {
    let lib = use_library();
    let close = Callback::new(move |_| lib.help.set(false));
    move || {
        lib.help.get().then(|| {
            view! {
                <Modal id="shortcuts-dialog" title="Keyboard shortcuts" on_close=close>
                    <table class="shortcuts">
                        <tbody>
                            {SHEET.iter().map(|(keys, what)| view! {
                                <tr><th scope="row"><kbd>{*keys}</kbd></th><td>{*what}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </Modal>
            }
        })
    }
}
