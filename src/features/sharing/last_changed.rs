//! "Last changed by …" under a shared library's reference: who wrote the version this browser
//! holds and when, as its sync recorded it (`storage/authors.rs`), so it reads offline too.

use super::activity::ago;
use crate::browser;
use crate::features::account::use_account;
use crate::features::library::use_library;
use crate::storage::authors::LastChange;
use leptos::prelude::*;
use refsync_core::Key;

/// The line, in words; `me` is the signed-in account's email.
fn words(change: &LastChange, me: Option<&str>, now: u64) -> Option<String> {
    Some(match change {
        LastChange::New => "Added here; not sent to the others yet.".into(),
        LastChange::Waiting => "Changed here; not sent to the others yet.".into(),
        LastChange::By(a) => {
            let who = if a.by.is_empty() || Some(a.by.as_str()) == me {
                "you"
            } else {
                a.by.as_str()
            };
            format!("Last changed by {who}, {}.", ago(a.at, now))
        }
        LastChange::Unknown => return None,
    })
}

/// The line for reference `key`, read again whenever the reference changes here (an edit, a
/// sync) and after each sync.
#[component]
pub fn LastChanged(key: Key) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let change = LocalResource::new(move || {
        lib.get(&key);
        // A sync that sent it changes its state, not the reference.
        account.syncing.track();
        async move {
            match lib.open_store() {
                Ok(store) => store.last_change(key).await.ok().flatten(),
                Err(_) => None,
            }
        }
    });
    let text = move || {
        let me = account
            .session
            .with(|s| s.as_ref().map(|s| s.email.clone()));
        change
            .get()
            .flatten()
            .and_then(|c| words(&c, me.as_deref(), browser::now_millis()))
    };
    view! {
        {move || text().map(|t| view! { <p id="last-changed" class="hint last-changed">{t}</p> })}
    }
}

#[cfg(test)]
mod tests {
    // The web crate's tests run in the browser: `#[test]` would never run there.
    use super::*;
    use crate::storage::authors::Author;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_line_names_the_author_or_you_and_says_what_waits() {
        let now = 10 * 3_600_000;
        let by = |by: &str| {
            LastChange::By(Author {
                version: 7,
                by: by.into(),
                at: now - 2 * 3_600_000,
            })
        };
        let me = Some("me@example.org");
        assert_eq!(
            words(&by("ana@example.org"), me, now).as_deref(),
            Some("Last changed by ana@example.org, 2 hours ago.")
        );
        assert_eq!(
            words(&by("me@example.org"), me, now).as_deref(),
            Some("Last changed by you, 2 hours ago.")
        );
        assert_eq!(
            words(&by(""), me, now).as_deref(),
            Some("Last changed by you, 2 hours ago.")
        );
        assert!(words(&LastChange::Waiting, me, now)
            .unwrap()
            .contains("not sent"));
        assert_eq!(words(&LastChange::Unknown, me, now), None);
    }
}
