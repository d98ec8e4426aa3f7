//! When the browser syncs by itself: every N minutes (the person's setting, 15 by default),
//! when the network comes back, a few seconds after an edit, and when the service's change
//! hint says the library moved elsewhere.
//!
//! Invariant: these only ever call [`super::sync_quietly`], which runs one sync at a time and
//! does nothing when signed out, so triggers that fire together cost one sync.

use super::{sync_quietly, Account};
use crate::browser;
use crate::features::library::Library;
use leptos::prelude::*;
use refsync_core::protocol::API_V1;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// How long after an edit the sync starts (more edits in the meantime restart the wait).
const AFTER_EDIT: Duration = Duration::from_secs(5);

pub fn start(lib: Library, account: Account) {
    // The timer checks every 30 s whether the interval has passed since the last sync.
    let tick = move || {
        let minutes = account.interval.get_untracked();
        if minutes == 0 || account.session.with_untracked(Option::is_none) {
            return;
        }
        let last = account
            .history
            .with_untracked(|h| h.first().map(|r| r.at))
            .unwrap_or(0);
        if browser::now_millis().saturating_sub(last) >= u64::from(minutes) * 60_000 {
            sync_quietly(lib, account);
        }
    };
    let interval = set_interval_with_handle(tick, Duration::from_secs(30)).ok();
    let online = window_event_listener(leptos::ev::online, move |_| sync_quietly(lib, account));
    on_cleanup(move || {
        if let Some(i) = interval {
            i.clear();
        }
        online.remove();
    });

    // Soon after an edit.
    let generation = StoredValue::new(0u64);
    Effect::new(move |first: Option<()>| {
        lib.changed.track();
        if first.is_none() {
            return;
        }
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.try_get_value() == Some(mine) {
                    sync_quietly(lib, account);
                }
            },
            AFTER_EDIT,
        );
    });

    // The service's change hints, while signed in.
    let source = StoredValue::new_local(None::<web_sys::EventSource>);
    Effect::new(move |_| {
        if let Some(old) = source.try_update_value(Option::take).flatten() {
            old.close();
        }
        let Some(session) = account.session.get() else {
            return;
        };
        let url = format!(
            "{API_V1}/libraries/{}/events?access_token={}",
            session.library_id,
            js_sys::encode_uri_component(&session.token)
        );
        let Ok(events) = web_sys::EventSource::new(&url) else {
            return;
        };
        let on_version = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| {
            // A sync with nothing new costs a couple of milliseconds; no need to compare.
            sync_quietly(lib, account);
        });
        let _ =
            events.add_event_listener_with_callback("version", on_version.as_ref().unchecked_ref());
        // Lives as long as the EventSource, which this effect closes on the next change.
        on_version.forget();
        source.set_value(Some(events));
    });
}
