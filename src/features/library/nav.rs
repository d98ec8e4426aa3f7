//! The left pane: the library's collections.

use super::use_library;
use leptos::prelude::*;

#[component]
pub fn LibraryNav() -> impl IntoView {
    let lib = use_library();
    let count = move || lib.references.with(Vec::len);
    view! {
        <h2 class="pane-title">"My Library"</h2>
        <ul class="nav-tree" role="tree" aria-label="Collections">
            <li role="treeitem" aria-selected="true" class="nav-item selected">
                <span class="nav-label">"All References"</span>
                <span id="count-all" class="count">{count}</span>
            </li>
        </ul>
    }
}
