//! The application shell: the three-pane window and what every feature shares.

use crate::features::account::{provide_account, use_account, AccountBar, SyncProgressBar};
use crate::features::cite::{provide_cite, CiteButtons, CiteDialogs, CiteSelectedButton};
use crate::features::connection::{provide_connection, ConnectionStatus, OfflineBanner};
use crate::features::duplicates::{duplicate_sets, DuplicatesNotice};
use crate::features::library::{
    provide_library, use_library, Collection, DetailPane, KeywordPane, Pane, ReferenceList,
    ShortcutsHelp, StorageStatus,
};
use crate::features::sharing::{CopyToButton, InvitationsNotice, LibrariesPane, SharedTitle};
use crate::features::theme::ThemeSwitch;
use crate::features::transfer::{
    provide_transfer, ExportSelectedButton, TransferButtons, TransferDialogs,
};
use crate::later::loaded;
use leptos::prelude::*;

/// Mount the app on the page.
pub fn run() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// Keep the app shell for offline starts (sw.js). Without a service worker (an insecure
/// origin, a private window) the app still works; it just needs the network to open.
fn register_service_worker() {
    if let Some(window) = web_sys::window() {
        let registering = window.navigator().service_worker().register("/sw.js");
        leptos::task::spawn_local(async move {
            // Handled here, so a refusal is not reported as an unhandled rejection.
            let _ = wasm_bindgen_futures::JsFuture::from(registering).await;
        });
    }
}

#[component]
fn App() -> impl IntoView {
    // Here, not before mounting: the mount sets up the executor it spawns on.
    register_service_worker();
    provide_connection();
    crate::features::libraries::remove_deleted();
    // One library per window: the one chosen last (features/libraries.rs). Leaked once per
    // page load: the library's context lives as long as the window.
    let db: &'static str = Box::leak(
        crate::features::libraries::db_name(&crate::features::libraries::chosen().id)
            .into_boxed_str(),
    );
    // The personal library, or the shared one shown last (features/sharing.rs).
    provide_library(db, crate::features::sharing::shown(db));
    provide_account();
    crate::features::sharing::provide_sharing();
    let account = use_account();
    provide_transfer();
    provide_cite();
    let lib = use_library();
    view! {
        <div class="app" data-pane=move || lib.pane.get().id()>
            <header class="topbar">
                <span class="brand">"refsync"</span>
                <crate::features::libraries::LibrarySwitcher />
                <SharedTitle />
                <span class="spacer"></span>
                <AccountBar />
                <ThemeSwitch />
                <ConnectionStatus />
            </header>
            <OfflineBanner />
            <InvitationsNotice />
            <DuplicatesNotice />
            <SyncProgressBar />
            <div class="panes">
                <nav class="pane sidebar" aria-label="Library">
                    <LibrariesPane />
                    <KeywordPane />
                </nav>
                <main class="pane list-pane">
                    <Show
                        when=move || lib.collection.get() != Collection::Duplicates
                        fallback=|| loaded(duplicate_sets)
                    >
                        <ReferenceList
                            extra_actions=ViewFn::from(|| view! { <TransferButtons /><CiteButtons /><CopyToButton /> })
                            downloading=Signal::derive(move || account.progress.with(Option::is_some))
                        />
                    </Show>
                </main>
                <aside class="pane detail-pane" aria-label="Reference">
                    <button id="back-to-list" class="btn phone-only back-btn" on:click=move |_| lib.pane.set(Pane::List)>
                        "← References"
                    </button>
                    <DetailPane selection_actions=ViewFn::from(|| view! { <ExportSelectedButton /><CiteSelectedButton /> }) />
                </aside>
            </div>
            <footer class="statusbar">
                <StorageStatus />
            </footer>
            <TransferDialogs />
            <CiteDialogs />
            <ShortcutsHelp />
        </div>
    }
}
