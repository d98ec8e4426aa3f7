//! Several libraries in one browser (issue 24, item 9): the library in use is named in the
//! header, where a person makes a new empty one, renames one, opens another, or deletes one
//! (with a backup offered first). Each is an IndexedDB database of its own, with its own
//! session: linked to at most one account, as the guide's "to sync a different library with
//! the account, open that library" needs.
//!
//! Invariants: the list and the choice live in localStorage (`refsync-libraries`,
//! `refsync-library`); "My Library" (the database `refsync`, from before there were several)
//! is always in the list; opening another library reloads the window, so one window holds one
//! library; a deleted library's database is removed at the next start, when no window of
//! this one has it open any more.

use crate::browser;
use crate::features::library::use_library;
use crate::features::transfer::BackupOffer;
use crate::features::ui::{DialogFooter, Modal};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const LIST: &str = "refsync-libraries";
const CHOSEN: &str = "refsync-library";
const DOOMED: &str = "refsync-libraries-deleted";
/// The first library's id (its database is `refsync`).
const FIRST: &str = "";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalLibrary {
    pub id: String,
    pub name: String,
}

/// The IndexedDB database of library `id`.
pub fn db_name(id: &str) -> String {
    match id {
        FIRST => crate::storage::DB_NAME.to_string(),
        id => format!("{}-local-{id}", crate::storage::DB_NAME),
    }
}

fn list() -> Vec<LocalLibrary> {
    let mut list: Vec<LocalLibrary> = browser::pref(LIST)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    if !list.iter().any(|l| l.id == FIRST) {
        list.insert(
            0,
            LocalLibrary {
                id: FIRST.into(),
                name: "My Library".into(),
            },
        );
    }
    list
}

fn save_list(list: &[LocalLibrary]) {
    browser::set_pref(LIST, serde_json::to_string(list).ok().as_deref());
}

/// The library this window opens: the one chosen last, if it still exists.
pub fn chosen() -> LocalLibrary {
    let list = list();
    let id = browser::pref(CHOSEN).unwrap_or_default();
    list.iter()
        .find(|l| l.id == id)
        .or(list.first())
        .cloned()
        .unwrap_or(LocalLibrary {
            id: FIRST.into(),
            name: "My Library".into(),
        })
}

/// Remove the databases of libraries deleted earlier (none is open in this window yet).
pub fn remove_deleted() {
    let doomed: Vec<String> = browser::pref(DOOMED)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    if doomed.is_empty() {
        return;
    }
    let open = chosen().id;
    let left: Vec<String> = doomed
        .into_iter()
        .filter(|id| *id == open || !browser::delete_database(&db_name(id)))
        .collect();
    browser::set_pref(DOOMED, serde_json::to_string(&left).ok().as_deref());
}

fn open_library(id: &str) {
    browser::set_pref(CHOSEN, Some(id));
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The header's library name, opening the libraries dialog.
#[component]
pub fn LibrarySwitcher() -> impl IntoView {
    let open = RwSignal::new(false);
    let name = chosen().name;
    view! {
        <button id="library-switcher" class="btn btn-top library-name" title="Libraries in this browser"
            aria-haspopup="dialog" on:click=move |_| open.set(true)>
            {name}" ▾"
        </button>
        {move || open.get().then(|| view! { <LibrariesDialog close=Callback::new(move |_| open.set(false)) /> })}
    }
}

#[component]
fn LibrariesDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let libraries = RwSignal::new(list());
    let current = chosen();
    let new_name = RwSignal::new(String::new());
    let rename = RwSignal::new(current.name.clone());
    let confirm_delete = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let current_id = current.id.clone();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_name.get_untracked().trim().to_string();
        if name.is_empty() {
            error.set(Some("Give the new library a name.".into()));
            return;
        }
        let id = browser::new_key().to_string();
        let mut all = libraries.get_untracked();
        all.push(LocalLibrary {
            id: id.clone(),
            name,
        });
        save_list(&all);
        open_library(&id);
    };
    let id_for_rename = current_id.clone();
    let save_name = move |_| {
        let name = rename.get_untracked().trim().to_string();
        if name.is_empty() {
            error.set(Some("A library needs a name.".into()));
            return;
        }
        let mut all = libraries.get_untracked();
        if let Some(l) = all.iter_mut().find(|l| l.id == id_for_rename) {
            l.name = name;
        }
        save_list(&all);
        open_library(&id_for_rename);
    };
    let id_for_delete = current_id.clone();
    let delete = Callback::new(move |_: ()| {
        let mut all = libraries.get_untracked();
        all.retain(|l| l.id != id_for_delete);
        let Some(next) = all.first().cloned() else {
            return;
        };
        let mut doomed: Vec<String> = browser::pref(DOOMED)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        doomed.push(id_for_delete.clone());
        browser::set_pref(DOOMED, serde_json::to_string(&doomed).ok().as_deref());
        save_list(&all);
        open_library(&next.id);
    });
    let held = move || lib.counts.with(|c| c.all + c.trash);
    let deletable = current_id != FIRST;
    let open_id = current_id.clone();
    view! {
        <Modal id="libraries-dialog" title="Libraries in this browser" on_close=close wide=true>
            <p class="hint">"Each library is kept apart in this browser, and can be linked to its own refsync account. The window shows one at a time."</p>
            <ul id="library-list" class="library-list">
                <For each=move || libraries.get() key=|l: &LocalLibrary| l.id.clone() children=move |l: LocalLibrary| {
                    let here = l.id == open_id;
                    let id = l.id.clone();
                    view! {
                        <li class="library-item" class:current=here data-library=l.name.clone()>
                            <span class="nav-label">{l.name.clone()}</span>
                            {if here {
                                view! { <span class="badge">"open"</span> }.into_any()
                            } else {
                                view! { <button class="btn btn-small open-library" on:click=move |_| open_library(&id)>"Open"</button> }.into_any()
                            }}
                        </li>
                    }
                } />
            </ul>
            <form class="form form-inline" on:submit=create>
                <label for="new-library-name">"New empty library"</label>
                <input id="new-library-name" type="text" maxlength="200" placeholder="e.g. Thesis" bind:value=new_name />
                <button id="new-library-create" type="submit" class="btn btn-primary">"Create and open"</button>
            </form>
            <div class="form form-inline">
                <label for="library-rename">"Name of this library"</label>
                <input id="library-rename" type="text" maxlength="200" bind:value=rename />
                <button id="library-rename-save" type="button" class="btn" on:click=save_name>"Rename"</button>
            </div>
            {deletable.then(|| view! {
                <div class="settings-section">
                    <button id="delete-library" type="button" class="btn btn-danger" on:click=move |_| confirm_delete.set(true)>"Delete this library…"</button>
                    <Show when=move || confirm_delete.get()>
                        <BackupOffer id="delete-library-backup" text=format!(
                            "Deleting removes this library and its {} from this browser (its online copy, if linked, stays).",
                            refsync_core::sync::words::count(held() as u64, "reference", "references")
                        ) />
                        <DialogFooter>
                            <button type="button" class="btn" on:click=move |_| confirm_delete.set(false)>"Keep it"</button>
                            <button id="delete-library-confirm" type="button" class="btn btn-danger" on:click=move |_| delete.run(())>"Delete this library"</button>
                        </DialogFooter>
                    </Show>
                </div>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </Modal>
    }
}
