//! When the browser syncs by itself: every N minutes (the person's setting, 15 by default),
//! when the network comes back, a few seconds after an edit, and when the service's change
//! hint says one of the account's libraries (the one shown, the personal one, any shared one)
//! moved elsewhere: one stream of them all, `GET /events`, which also says when the account's
//! lists of libraries and invitations changed (a sync then asks for them; it trusts the ones it
//! has while the stream is open and quiet).
//!
//! Invariant: these only ever call [`super::sync_quietly`] (a hint, [`super::hinted`]), which
//! run one sync at a time and do nothing when signed out: triggers that fire together cost one
//! sync, and one that fires during a sync runs one more when it ends (a hint only if that sync
//! did not reach the version it announced).

use super::{sync_quietly, Account, SessionInfo};
use crate::browser;
use crate::features::library::Library;
use crate::sync::remote;
use leptos::prelude::*;
use refsync_core::protocol::{Hint, API_V1};
use refsync_core::sync::ErrorKind;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
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
        // A sync under way counts as this one (asking now would add a second right after).
        if account.syncing.get_untracked() {
            return;
        }
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

    // The service's change hints, while signed in: one listening loop per session.
    let generation = StoredValue::new(0u64);
    let open = StoredValue::new_local(None::<Hints>);
    Effect::new(move |_| {
        let session = account.session.get();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        open.set_value(None);
        if let Some(session) = session {
            leptos::task::spawn_local(listen(lib, account, session, mine, generation, open));
        }
    });
}

/// Wait before asking again after a stream that never opened: doubling, up to this.
const MOST_WAIT_MS: u64 = 5 * 60_000;
const FIRST_WAIT_MS: u64 = 5_000;

/// Keep a change-hint stream open for `session` while `generation` is still `mine`. Each
/// stream opens with a fresh one-use ticket (the session token never goes in a URL); when
/// the service ends a stream (a restart, the session signed out elsewhere) or the network
/// drops it, the browser's own reconnect would reuse a spent ticket, so this closes it and
/// opens another, soon after a stream that worked, backing off after ones that did not.
async fn listen(
    lib: Library,
    account: Account,
    session: SessionInfo,
    mine: u64,
    generation: StoredValue<u64>,
    open: StoredValue<Option<Hints>, LocalStorage>,
) {
    let current = move || generation.try_get_value() == Some(mine);
    let mut wait = 0;
    loop {
        if wait > 0 {
            browser::sleep(wait).await;
        }
        if !current() {
            return;
        }
        // One stream for every library of the account (browsers allow six connections per
        // site: one per library would soon take them all).
        let ticket = match remote::stream_ticket(&session.token).await {
            Ok(t) => t,
            // Signed out: the next sync tells the person; no stream.
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::Auth | ErrorKind::Invalid | ErrorKind::NotFound
                ) =>
            {
                return
            }
            Err(_) => {
                wait = (wait * 2).clamp(FIRST_WAIT_MS, MOST_WAIT_MS);
                continue;
            }
        };
        if !current() {
            return;
        }
        let url = format!(
            "{API_V1}/events?ticket={}",
            js_sys::encode_uri_component(&ticket.ticket)
        );
        let (ended, on_end) = futures_channel::oneshot::channel();
        let sharing = account.sharing;
        let Some(hints) = Hints::open(
            &url,
            move |h| super::hinted(lib, account, h),
            move || {
                sharing.lists_stale();
                super::sync_quietly(lib, account);
            },
            move || {
                // Whatever changed while no stream was open was never announced.
                sharing.lists_stale();
                account.live.set(true);
            },
            ended,
        ) else {
            return;
        };
        let opened = hints.opened.clone();
        open.set_value(Some(hints));
        // Ended, or dropped for a newer session (then `current()` says so above).
        let _ = on_end.await;
        open.set_value(None);
        account.live.set(false);
        sharing.lists_stale();
        wait = if opened.get() {
            FIRST_WAIT_MS / 5
        } else {
            (wait * 2).clamp(FIRST_WAIT_MS, MOST_WAIT_MS)
        };
    }
}

/// One open EventSource and its listeners; dropping it closes the stream.
struct Hints {
    source: web_sys::EventSource,
    opened: Rc<Cell<bool>>,
    on_version: Closure<dyn Fn(web_sys::MessageEvent)>,
    on_lists: Closure<dyn Fn(web_sys::Event)>,
    on_open: Closure<dyn Fn(web_sys::Event)>,
    on_error: Closure<dyn Fn(web_sys::Event)>,
}

impl Hints {
    /// Open `url`; `on_hint` runs on every hint, `on_lists` when the account's lists changed,
    /// `on_open` once it is open, and `ended` is sent when the stream fails or ends (the
    /// browser's automatic reconnect is never left to run: it would reuse the ticket).
    fn open(
        url: &str,
        on_hint: impl Fn(Option<Hint>) + 'static,
        on_lists: impl Fn() + 'static,
        on_open: impl Fn() + 'static,
        ended: futures_channel::oneshot::Sender<()>,
    ) -> Option<Hints> {
        let source = web_sys::EventSource::new(url).ok()?;
        let opened = Rc::new(Cell::new(false));
        let on_version =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                on_hint(
                    e.data()
                        .as_string()
                        .and_then(|d| serde_json::from_str::<Hint>(&d).ok()),
                )
            });
        let on_lists = Closure::<dyn Fn(web_sys::Event)>::new(move |_| on_lists());
        let on_open = Closure::<dyn Fn(web_sys::Event)>::new({
            let opened = opened.clone();
            move |_| {
                opened.set(true);
                on_open();
            }
        });
        let ended = RefCell::new(Some(ended));
        let on_error = Closure::<dyn Fn(web_sys::Event)>::new({
            let source = source.clone();
            move |_| {
                source.close();
                if let Some(tx) = ended.borrow_mut().take() {
                    let _ = tx.send(());
                }
            }
        });
        let listen = |name: &str, f: &js_sys::Function| {
            let _ = source.add_event_listener_with_callback(name, f);
        };
        listen("version", on_version.as_ref().unchecked_ref());
        listen("lists", on_lists.as_ref().unchecked_ref());
        listen("open", on_open.as_ref().unchecked_ref());
        listen("error", on_error.as_ref().unchecked_ref());
        Some(Hints {
            source,
            opened,
            on_version,
            on_lists,
            on_open,
            on_error,
        })
    }
}

impl Drop for Hints {
    fn drop(&mut self) {
        self.source.close();
        let forget = |name: &str, f: &js_sys::Function| {
            let _ = self.source.remove_event_listener_with_callback(name, f);
        };
        forget("version", self.on_version.as_ref().unchecked_ref());
        forget("lists", self.on_lists.as_ref().unchecked_ref());
        forget("open", self.on_open.as_ref().unchecked_ref());
        forget("error", self.on_error.as_ref().unchecked_ref());
    }
}
