//! Several tabs of the app on one library: each tells the others when it changed the library
//! or synced (a BroadcastChannel), and they read it again, so every view stays current. That
//! only one of them syncs at a time is the Web Lock around each sync (`super::sync_quietly`).
//!
//! Invariant: a tab never reloads for its own messages (a BroadcastChannel does not deliver
//! to its sender), so messages cannot loop.

use super::{load_saved, Account};
use crate::browser;
use crate::features::library::Library;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// A tab synced (the library, the history and perhaps the session changed).
pub const SYNCED: &str = "synced";
/// A tab changed the library, or signed in or out.
pub const CHANGED: &str = "changed";
/// A tab synced and nothing arrived: only Sync Status changed.
pub const HISTORY: &str = "history";
const CHANNEL: &str = "refsync-library";
/// Messages that come together cost one reload.
const SETTLE: Duration = Duration::from_millis(150);

thread_local! {
    static OTHERS: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
}

/// Tell the other tabs.
pub fn tell_others(message: &str) {
    OTHERS.with(|c| {
        if let Some(channel) = c.borrow().as_ref() {
            // A tab that cannot be told reloads on its next start; nothing is lost.
            let _ = channel.post_message(&JsValue::from_str(message));
        }
    });
}

pub fn start(lib: Library, account: Account) {
    let Some(channel) = browser::channel(CHANNEL) else {
        return;
    };
    let generation = StoredValue::new(0u64);
    // Whether a message since the last reload said the library changed.
    let library_moved = StoredValue::new(false);
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if ev.data().as_string().as_deref() != Some(HISTORY) {
                library_moved.set_value(true);
            }
            generation.update_value(|g| *g += 1);
            let mine = generation.get_value();
            set_timeout(
                move || {
                    if generation.try_get_value() != Some(mine) {
                        return;
                    }
                    let reload = library_moved.get_value();
                    library_moved.set_value(false);
                    spawn_local(async move {
                        if reload {
                            if let Err(e) = lib.reload().await {
                                lib.fail(e.to_string());
                            }
                        }
                        load_saved(lib, account).await;
                    });
                },
                SETTLE,
            );
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Lives as long as the page, like the channel.
    on_message.forget();
    OTHERS.with(|c| *c.borrow_mut() = Some(channel));

    Effect::new(move |first: Option<()>| {
        lib.changed.track();
        if first.is_some() {
            tell_others(CHANGED);
        }
    });
}
