//! Pieces every feature's views share: the modal dialog, the question before something that
//! cannot be undone, a dialog's row of buttons, a labelled field and the progress bar.
//!
//! Invariant: a dialog keeps the keyboard inside while it is open (Tab cycles through it) and
//! gives the focus back to where it was when it closes; Escape or its Cancel button always
//! closes it, and it is announced as a dialog to screen readers.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

/// A modal dialog. `on_close` runs on Escape, on the backdrop and on the close button.
#[component]
pub fn Modal(
    #[prop(into)] id: String,
    #[prop(into)] title: Signal<String>,
    on_close: Callback<()>,
    children: Children,
    #[prop(optional, into)] wide: bool,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let dialog_ref = NodeRef::<leptos::html::Div>::new();
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            on_close.run(());
        } else if ev.key() == "Tab" {
            if let Some(el) = dialog_ref.get_untracked() {
                keep_focus_inside(&el, &ev);
            }
        }
    };
    // Focus goes back where it was (the button that opened the dialog) when it closes.
    let opener = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    let opener = StoredValue::new_local(opener);
    on_cleanup(move || {
        if let Some(Some(el)) = opener.try_get_value() {
            if el.is_connected() {
                let _ = el.focus();
            }
        }
    });
    // Focus the first field (or the dialog) so the keyboard lands inside.
    Effect::new(move |_| {
        if let Some(el) = dialog_ref.get() {
            let first = el
                .query_selector("input, select, textarea, button.btn-primary")
                .ok()
                .flatten()
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
            match first {
                Some(f) => {
                    let _ = f.focus();
                }
                None => {
                    let _ = el.focus();
                }
            }
        }
    });
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())></div>
        <div
            id=id
            class="dialog"
            class:dialog-wide=wide
            role="dialog"
            aria-modal="true"
            aria-labelledby=labelled_by
            tabindex="-1"
            node_ref=dialog_ref
            on:keydown=on_key
        >
            <div class="dialog-head">
                <h2 id=title_id class="dialog-title">{title}</h2>
                <button class="icon-btn" aria-label="Close" on:click=move |_| on_close.run(())>
                    "×"
                </button>
            </div>
            <div class="dialog-body">{children()}</div>
        </div>
    }
}

/// Tab from the last focusable element of a dialog goes to its first, Shift+Tab from the first
/// to the last: the keyboard stays in the dialog while it is open.
fn keep_focus_inside(dialog: &web_sys::HtmlDivElement, ev: &KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let Ok(list) = dialog.query_selector_all(
        "button:not([disabled]), input:not([disabled]):not([type=hidden]):not([hidden]), select:not([disabled]), textarea:not([disabled]), a[href], summary, [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let focusable: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .filter(|e| e.offset_parent().is_some())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = |e: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>())
    };
    let outside = active.as_ref().is_none_or(|a| !dialog.contains(Some(a)));
    if ev.shift_key() && (at(first) || outside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || outside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// A dialog's row of buttons (Cancel first, the action last).
#[component]
pub fn DialogFooter(children: Children) -> impl IntoView {
    view! { <div class="form-actions">{children()}</div> }
}

/// A label and its input, in a form's two-column grid: `id` is the input's.
#[component]
pub fn LabelledField(
    #[prop(into)] id: String,
    #[prop(into)] label: Signal<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <label class="field-label" for=id>{move || label.get()}</label>
        {children()}
    }
}

/// A question before something that cannot be undone: `on_confirm` runs on the button
/// `confirm` (red when `danger`), then the dialog closes; Cancel and Escape only close it.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] id: String,
    #[prop(into)] confirm_id: String,
    #[prop(into)] title: String,
    #[prop(into)] text: String,
    #[prop(into)] confirm: String,
    #[prop(optional)] danger: bool,
    on_confirm: Callback<()>,
    on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <Modal id=id title=title on_close=on_close>
            <p>{text}</p>
            <DialogFooter>
                <button class="btn" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button
                    id=confirm_id
                    class="btn"
                    class:btn-danger=danger
                    class:btn-primary=!danger
                    on:click=move |_| {
                        on_confirm.run(());
                        on_close.run(());
                    }
                >{confirm}</button>
            </DialogFooter>
        </Modal>
    }
}

/// A progress bar with a line of text ("12,400 of 50,000 references").
#[component]
pub fn Progress(
    #[prop(into)] done: Signal<usize>,
    #[prop(into)] total: Signal<usize>,
    #[prop(into)] label: Signal<String>,
) -> impl IntoView {
    let percent = move || tenths(done.get().min(total.get()) as u64 * 100, total.get() as u64);
    view! {
        <div class="progress">
            <div
                class="progress-track"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax=move || total.get().to_string()
                aria-valuenow=move || done.get().to_string()
            >
                <div class="progress-fill" style:width=move || format!("{}%", percent())></div>
            </div>
            <p class="progress-label">{move || label.get()}</p>
        </div>
    }
}

/// 50000 as "50,000" (core's words, for the `usize` counts of lists).
pub fn thousands(n: usize) -> String {
    refsync_core::sync::words::thousands(n as u64)
}

/// `numerator / denominator` to one decimal place (`"12.5"`; `"0.0"` for a zero denominator).
/// Integer arithmetic: formatting a float would pull the float printer into the download.
pub fn tenths(numerator: u64, denominator: u64) -> String {
    if denominator == 0 {
        return "0.0".to_string();
    }
    let t = (numerator * 10 + denominator / 2) / denominator;
    format!("{}.{}", t / 10, t % 10)
}

/// A file name's stem from a collection's name: letters and digits kept (any script), runs of
/// anything else one hyphen, at most 60 characters; "refsync-export" if nothing is left.
pub fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_alphanumeric() {
            out.extend(ch.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "refsync-export".into()
    } else {
        out.to_string()
    }
}

/// Whether a dialog is open (the window's shortcuts then leave the keys to it).
pub fn dialog_open() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("[role=dialog]").ok().flatten())
        .is_some()
}

#[cfg(test)]
mod tests {
    // The web crate's tests run in the browser: `#[test]` would never run there.
    use super::file_stem;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn an_export_is_named_for_its_group() {
        assert_eq!(file_stem("To read: 2024 / Ü"), "to-read-2024-ü");
        assert_eq!(file_stem("///"), "refsync-export");
        assert_eq!(file_stem("All References"), "all-references");
    }
}
