//! Whether the refsync service can be reached from this browser.
//!
//! The library works the same either way (it lives in IndexedDB); this only tells the person
//! whether the online side is there. Checked at start, every minute, and whenever the browser
//! says the network came or went.

use gloo_net::http::Request;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    Checking,
    Online,
    Offline,
}

async fn check() -> Connection {
    match Request::get("/healthz").send().await {
        Ok(resp) if resp.ok() => Connection::Online,
        _ => Connection::Offline,
    }
}

/// Whether the service answers, for every view that cares.
#[derive(Clone, Copy)]
pub struct ConnectionState(RwSignal<Connection>);

/// Start watching the connection: at start, every minute, and when the browser says the
/// network came or went.
pub fn provide_connection() {
    let state = RwSignal::new(Connection::Checking);
    provide_context(ConnectionState(state));
    let refresh = move || {
        spawn_local(async move {
            state.set(check().await);
        })
    };
    refresh();
    let interval = set_interval_with_handle(refresh, Duration::from_secs(60)).ok();
    let online = window_event_listener(leptos::ev::online, move |_| refresh());
    let offline =
        window_event_listener(leptos::ev::offline, move |_| state.set(Connection::Offline));
    on_cleanup(move || {
        if let Some(interval) = interval {
            interval.clear();
        }
        online.remove();
        offline.remove();
    });
}

fn use_connection() -> RwSignal<Connection> {
    use_context::<ConnectionState>()
        .map(|c| c.0)
        .unwrap_or_else(|| panic!("provide_connection not run"))
}

/// Says plainly that the app works offline, while it is.
#[component]
pub fn OfflineBanner() -> impl IntoView {
    let state = use_connection();
    view! {
        <Show when={move || state.get() == Connection::Offline}>
            <div id="offline-banner" class="offline-banner" role="status">
                "You are offline. Your library keeps working in this browser; changes are kept here until you are back online."
            </div>
        </Show>
    }
}

#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let state = use_connection();

    let (class, label, title) = (
        move || match state.get() {
            Connection::Checking => "conn conn-checking",
            Connection::Online => "conn conn-online",
            Connection::Offline => "conn conn-offline",
        },
        move || match state.get() {
            Connection::Checking => "Connecting…",
            Connection::Online => "Online",
            Connection::Offline => "Offline",
        },
        move || match state.get() {
            Connection::Checking => "Checking whether the refsync service can be reached",
            Connection::Online => "The refsync service can be reached",
            Connection::Offline => {
                "The refsync service cannot be reached. Your library keeps working in this \
                 browser."
            }
        },
    );
    view! {
        <span id="connection" class=class title=title role="status">
            <span class="dot" aria-hidden="true"></span>
            {label}
        </span>
    }
}
