//! The library: the references in this browser, loaded from IndexedDB at start and kept in
//! signals that every pane reads.
//!
//! Invariant: a change reaches the signals only after IndexedDB has committed it, so what the
//! window shows is always what a reload would show.

mod detail;
mod list;
mod nav;
mod new_reference;

pub use detail::DetailPane;
pub use list::ReferenceList;
pub use nav::LibraryNav;

use crate::storage::{Store, StoreError};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::{Key, Reference};
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadState {
    Loading,
    Ready,
    Failed(String),
}

/// What the right pane shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    Nothing,
    NewReference,
    Reference(Key),
}

/// The library context; `Copy`, so components and closures take it freely.
#[derive(Clone, Copy)]
pub struct Library {
    pub references: RwSignal<Vec<Reference>>,
    pub load: RwSignal<LoadState>,
    pub detail: RwSignal<Detail>,
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
}

impl Library {
    /// Save a new reference and show it. The error, if any, is worded for the user.
    pub async fn add(self, reference: Reference) -> Result<(), StoreError> {
        let Some(store) = self.store.get_value() else {
            return Err(StoreError::not_open());
        };
        store
            .put_references(std::slice::from_ref(&reference))
            .await?;
        let key = reference.key;
        self.references.update(|refs| refs.push(reference));
        self.detail.set(Detail::Reference(key));
        Ok(())
    }

    pub fn get(self, key: &Key) -> Option<Reference> {
        self.references
            .with(|refs| refs.iter().find(|r| &r.key == key).cloned())
    }
}

/// Open the library database `db_name` and load it; make it available to every component.
pub fn provide_library(db_name: &'static str) {
    let library = Library {
        references: RwSignal::new(Vec::new()),
        load: RwSignal::new(LoadState::Loading),
        detail: RwSignal::new(Detail::Nothing),
        store: StoredValue::new_local(None),
    };
    provide_context(library);
    spawn_local(async move {
        let loaded = async {
            let store = Store::open(db_name).await?;
            let refs = store.all_references().await?;
            Ok::<_, StoreError>((store, refs))
        };
        match loaded.await {
            Ok((store, refs)) => {
                library.store.set_value(Some(Rc::new(store)));
                library.references.set(refs);
                library.load.set(LoadState::Ready);
            }
            Err(e) => library.load.set(LoadState::Failed(e.to_string())),
        }
    });
}

pub fn use_library() -> Library {
    // Every component is mounted under App, which provides the library first.
    use_context::<Library>().unwrap_or_else(|| {
        panic!("use_library called outside the App component (provide_library not run)")
    })
}

/// The status bar's account of local storage.
#[component]
pub fn StorageStatus() -> impl IntoView {
    let lib = use_library();
    let text = move || match lib.load.get() {
        LoadState::Loading => "Opening your library…".to_string(),
        LoadState::Ready => {
            let n = lib.references.with(Vec::len);
            format!(
                "{n} {} stored in this browser",
                plural(n, "reference", "references")
            )
        }
        LoadState::Failed(msg) => msg,
    };
    let failed = move || matches!(lib.load.get(), LoadState::Failed(_));
    view! {
        <span
            id="storage-status"
            class:error=failed
            role=move || if failed() { "alert" } else { "status" }
        >
            {text}
        </span>
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
