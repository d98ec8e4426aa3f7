//! Several tabs of the app on one library: each tells the others when it changed the library
//! or synced (a BroadcastChannel), and they read it again, so every view stays current. That
//! only one of them syncs at a time is the Web Lock around each sync (`super::sync_quietly`).
//!
//! A change of a few objects names them, and the other tabs read just those; a sync that
//! brought something, an import or a sign-in makes them read everything.
//!
//! Invariant: a tab never reloads for its own messages (a BroadcastChannel does not deliver
//! to its sender), so messages cannot loop.

use super::{load_saved, Account};
use crate::browser;
use crate::features::library::Library;
use crate::storage::sync_id;
use crate::storage::sync_store::parse_id;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::{Key, ObjectKind};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// A tab synced (the library, the history and perhaps the session changed).
pub const SYNCED: &str = "synced";
/// A tab changed the library, or signed in or out.
pub const CHANGED: &str = "changed";
/// A tab synced and nothing arrived: only Sync Status changed.
pub const HISTORY: &str = "history";
/// A tab changed a few objects: this, then their sync ids separated by spaces.
const OBJECTS: &str = "objects ";
/// More changed objects than this are announced as [`CHANGED`] (read everything).
const LIST_AT_MOST: usize = 500;
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
    // Whether a message since the last reload said the library changed, and which objects
    // the other messages named.
    let library_moved = StoredValue::new(false);
    let named = StoredValue::new(Vec::<(ObjectKind, Key)>::new());
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let text = ev.data().as_string().unwrap_or_default();
            if let Some(ids) = text.strip_prefix(OBJECTS) {
                named.update_value(|n| n.extend(ids.split(' ').filter_map(parse_id)));
            } else if text != HISTORY {
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
                    let objects = named.try_update_value(std::mem::take).unwrap_or_default();
                    spawn_local(async move {
                        let shown = if reload {
                            lib.reload().await
                        } else if !objects.is_empty() {
                            lib.refresh(&objects).await
                        } else {
                            Ok(())
                        };
                        if let Err(e) = shown {
                            lib.fail(e.to_string());
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
        if first.is_none() {
            return;
        }
        match lib.last_changed.get_value() {
            Some(objects) if objects.len() <= LIST_AT_MOST => {
                let ids: Vec<String> = objects
                    .iter()
                    .map(|(kind, key)| sync_id(*kind, *key))
                    .collect();
                tell_others(&format!("{OBJECTS}{}", ids.join(" ")));
            }
            _ => tell_others(CHANGED),
        }
    });
}
