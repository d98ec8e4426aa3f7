//! Copy to…: references (with their attachments and files' bytes) copied from the window's
//! library into another one this account may write to — a shared library into the personal
//! one and back, or between shared ones. A copy is a new reference (new key) that remembers
//! where it came from (core's `actions::copy_to`), and is sent by the next sync.
//!
//! Invariant: the target's objects are written in one transaction of its own database, marked
//! changed, so a closed tab leaves the copy whole or not there at all (`Library::copy_into`).

use super::{copy_targets, use_sharing};
use crate::features::account::{sync_quietly, use_account};
use crate::features::library::use_library;
use crate::features::ui::{DialogFooter, Modal};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::sync::words;

/// "Copy to…" above the list, while references are selected.
#[component]
pub fn CopyToButton() -> impl IntoView {
    let lib = use_library();
    let open = RwSignal::new(false);
    view! {
        <Show when=move || lib.selected.with(|s| !s.is_empty())>
            <button id="copy-to" class="btn" title="Copy the selected references into another library" on:click=move |_| open.set(true)>"Copy to…"</button>
        </Show>
        <Show when=move || open.get()>
            <CopyToDialog close=Callback::new(move |_| open.set(false)) />
        </Show>
    }
}

#[component]
fn CopyToDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let sharing = use_sharing();
    let targets = copy_targets(lib, sharing);
    let choice = RwSignal::new(targets.first().map(|(id, _)| id.clone()));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let keys = lib.selected.get_untracked();
    let n = keys.len();
    let names = targets.clone();
    let copy = move |_| {
        let Some(target) = choice.get_untracked() else {
            return;
        };
        let name = names
            .iter()
            .find(|(id, _)| *id == target)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let keys = keys.clone();
        busy.set(true);
        spawn_local(async move {
            match lib.copy_into(&keys, &target).await {
                Ok(copied) => {
                    lib.tell(format!(
                        "Copied {} into “{name}”; the next sync sends {}.",
                        words::count(copied as u64, "reference", "references"),
                        if copied == 1 { "it" } else { "them" }
                    ));
                    close.run(());
                    sync_quietly(lib, account);
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                }
            }
        });
    };
    let empty = targets.is_empty();
    view! {
        <Modal id="copy-to-dialog" title="Copy to another library" on_close=close>
            <p class="hint">{format!(
                "{} copied as new references, with their attachments; the originals stay where they are.",
                words::count(n as u64, "reference is", "references are")
            )}</p>
            {if empty {
                view! { <p class="hint">"There is no other library you can add to: sign in and accept an invitation, or make a shared library."</p> }.into_any()
            } else {
                view! {
                    <fieldset class="combo" id="copy-targets">
                        <legend>"Into"</legend>
                        {targets.into_iter().map(|(id, name)| {
                            let (value, value2) = (id.clone(), id);
                            view! {
                                <label class="check">
                                    <input type="radio" name="copy-target" data-library=name.clone()
                                        prop:checked=move || choice.get().as_ref() == Some(&value)
                                        on:change=move |_| choice.set(Some(value2.clone())) />
                                    {name}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                }.into_any()
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <DialogFooter>
                <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                <button id="copy-to-confirm" type="button" class="btn btn-primary"
                    disabled=move || busy.get() || empty || n == 0 on:click=copy>
                    {move || if busy.get() { "Copying…" } else { "Copy" }}
                </button>
            </DialogFooter>
        </Modal>
    }
}
