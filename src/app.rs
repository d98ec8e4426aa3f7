//! The application shell: the three-pane window and what every feature shares.

use crate::features::connection::ConnectionStatus;
use crate::features::library::{
    provide_library, DetailPane, LibraryNav, ReferenceList, StorageStatus,
};
use crate::storage::DB_NAME;
use leptos::prelude::*;

/// Mount the app on the page.
pub fn run() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    provide_library(DB_NAME);
    view! {
        <div class="app">
            <header class="topbar">
                <span class="brand">"refsync"</span>
                <span class="brand-sub">"Reference library"</span>
                <span class="spacer"></span>
                <ConnectionStatus />
            </header>
            <div class="panes">
                <nav class="pane sidebar" aria-label="Library">
                    <LibraryNav />
                </nav>
                <main class="pane list-pane">
                    <ReferenceList />
                </main>
                <aside class="pane detail-pane" aria-label="Reference">
                    <DetailPane />
                </aside>
            </div>
            <footer class="statusbar">
                <StorageStatus />
            </footer>
        </div>
    }
}
