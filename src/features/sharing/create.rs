//! A new shared library: made on the service (the account owns it), then filled here with
//! copies of the selection or of a group of the window's library, and sent by a sync. The
//! person invites co-authors from its Share… dialog.

use super::{keep, service_error, Known};
use crate::features::account::{sync_now, use_account};
use crate::features::library::use_library;
use crate::features::ui::{DialogFooter, Modal};
use crate::sync::remote::sharing as service;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::check_library_name;
use refsync_core::sync::{words, LibraryId};
use refsync_core::Key;

/// What the new library starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Empty,
    Selection,
    Group,
}

#[component]
pub fn CreateDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let name = RwSignal::new(String::new());
    let selected = lib.selected.get_untracked();
    let groups = lib.data.with_untracked(|d| d.custom_groups());
    let start = RwSignal::new(if selected.is_empty() {
        Start::Empty
    } else {
        Start::Selection
    });
    let group = RwSignal::new(groups.first().map(|g| g.key));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let n_selected = selected.len();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(session) = account.session.get_untracked() else {
            error.set(Some("Sign in to share a library.".into()));
            return;
        };
        let wanted = match check_library_name(&name.get_untracked()) {
            Ok(n) => n,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        let keys: Vec<Key> = match start.get_untracked() {
            Start::Empty => Vec::new(),
            Start::Selection => selected.clone(),
            Start::Group => match group.get_untracked() {
                Some(g) => lib.data.with_untracked(|d| {
                    d.refs
                        .references()
                        .filter(|r| !r.trashed && r.groups.contains(&g))
                        .map(|r| r.key)
                        .collect()
                }),
                None => Vec::new(),
            },
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let made = match service::create_library(&session.token, &wanted).await {
                Ok(m) => m,
                Err(e) => {
                    busy.set(false);
                    error.set(Some(service_error(&e)));
                    return;
                }
            };
            let id = LibraryId::Shared {
                id: made.id.clone(),
            };
            let mut list = account.sharing.libraries.get_untracked();
            list.push(Known {
                summary: made,
                gone: false,
            });
            keep(lib, account, list).await;
            let copied = if keys.is_empty() {
                Ok(0)
            } else {
                lib.copy_into(&keys, &id).await
            };
            busy.set(false);
            match copied {
                Ok(n) => {
                    lib.tell(format!(
                        "Made the shared library “{wanted}”{}. Open it under Shared by me and choose Share… to invite co-authors.",
                        if n == 0 {
                            String::new()
                        } else {
                            format!(" with copies of {}", words::count(n as u64, "reference", "references"))
                        }
                    ));
                    close.run(());
                    sync_now(lib, account);
                }
                Err(e) => error.set(Some(format!(
                    "The library “{wanted}” was made, but the references could not be copied into it: {e}"
                ))),
            }
        });
    };
    let radio = move |value: Start, id: &'static str, label: String, enabled: bool| {
        view! {
            <label class="check" class:disabled=!enabled>
                <input type="radio" name="new-shared-start" id=id disabled=!enabled
                    prop:checked=move || start.get() == value
                    on:change=move |_| start.set(value) />
                {label}
            </label>
        }
    };
    let has_groups = !groups.is_empty();
    view! {
        <Modal id="new-shared-dialog" title="New shared library" on_close=close>
            <form class="form" on:submit=submit>
                <p class="hint">"A shared library is synced to everyone you invite, in the role you give them. It starts with copies: the references here stay as they are."</p>
                <label for="new-shared-name">"Name"</label>
                <input id="new-shared-name" type="text" maxlength="200" placeholder="e.g. Review paper 2027" bind:value=name />
                <fieldset class="combo">
                    <legend>"Start with"</legend>
                    {radio(Start::Empty, "new-shared-empty", "Nothing (an empty library)".into(), true)}
                    {radio(Start::Selection, "new-shared-selection", if n_selected > 0 {
                        format!("Copies of the {n_selected} selected")
                    } else {
                        "Copies of the selection (nothing is selected)".into()
                    }, n_selected > 0)}
                    {radio(Start::Group, "new-shared-group", "Copies of a group's references".into(), has_groups)}
                    <Show when=move || start.get() == Start::Group>
                        <select id="new-shared-group-choice" aria-label="Group" on:change=move |ev| {
                            group.set(Key::parse(&event_target_value(&ev)).ok());
                        }>
                            {groups.iter().map(|g| view! { <option value=g.key.to_string()>{g.name.clone()}</option> }).collect_view()}
                        </select>
                    </Show>
                </fieldset>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="new-shared-create" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Making it…" } else { "Make the shared library" }}
                    </button>
                </DialogFooter>
            </form>
        </Modal>
    }
}
