//! Activity: a shared library's latest changes, newest first — who changed what, when — read
//! from the service a page at a time; a reference's line opens it.

use super::service_error;
use crate::browser;
use crate::features::account::use_account;
use crate::features::library::use_library;
use crate::features::ui::{DialogFooter, Modal};
use crate::sync::remote::sharing as service;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::ActivityEntry;
use refsync_core::ObjectKind;

/// Entries per page.
const PAGE: usize = 30;

/// "2 hours ago", for a time on the service's clock.
pub fn ago(at: u64, now: u64) -> String {
    let s = now.saturating_sub(at) / 1000;
    let (n, unit) = match s {
        0..=59 => return "just now".into(),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn what(e: &ActivityEntry) -> String {
    let thing = match e.kind {
        ObjectKind::Reference => "reference",
        ObjectKind::Group => "group",
        ObjectKind::GroupSet => "group set",
        ObjectKind::Attachment => "attachment",
        ObjectKind::Style => "citation style",
    };
    let verb = if e.deleted { "deleted" } else { "changed" };
    match &e.title {
        Some(t) if !t.is_empty() => format!("{verb} the {thing} “{t}”"),
        _ if e.kind == ObjectKind::Attachment => format!("{verb} an {thing}"),
        _ => format!("{verb} a {thing}"),
    }
}

#[component]
pub fn ActivityDialog(id: String, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let entries = RwSignal::new(Vec::<ActivityEntry>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let name = account
        .sharing
        .get(&id)
        .map(|k| k.name())
        .unwrap_or_default();
    let load = move |id: String, before: Option<String>| {
        let Some(session) = account.session.get_untracked() else {
            error.set(Some("Sign in to see who changed what.".into()));
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match service::activity(&session.token, &id, before.as_deref(), PAGE).await {
                Ok(page) => {
                    entries.update(|e| e.extend(page.entries));
                    next.set(page.next);
                    error.set(None);
                }
                Err(e) => error.set(Some(service_error(&e))),
            }
            busy.set(false);
        });
    };
    load(id.clone(), None);
    let now = browser::now_millis();
    let open = move |key| {
        if lib.get_untracked(&key).is_some() {
            lib.select_only(key);
            close.run(());
        } else {
            lib.fail("That reference is not in this browser's copy (deleted, or not synced yet).");
        }
    };
    let older_id = id.clone();
    view! {
        <Modal id="activity-dialog" title=format!("Activity in “{name}”") on_close=close wide=true>
            <ul class="activity" id="activity">
                <For each=move || entries.get() key=|e: &ActivityEntry| (e.kind, e.key, e.version) children=move |e: ActivityEntry| {
                    let who = e.changed_by.clone().unwrap_or_else(|| "Someone".into());
                    let line = format!("{who} {}", what(&e));
                    let when = ago(e.changed_at, now);
                    let key = e.key;
                    let opens = e.kind == ObjectKind::Reference && !e.deleted;
                    view! {
                        <li class="activity-entry" data-kind=e.kind.as_str()>
                            {if opens {
                                view! { <button class="link-btn activity-open-ref" on:click=move |_| open(key)>{line}</button> }.into_any()
                            } else {
                                view! { <span>{line}</span> }.into_any()
                            }}
                            <span class="hint activity-when">{when}</span>
                        </li>
                    }
                } />
            </ul>
            {move || (entries.with(Vec::is_empty) && !busy.get() && error.get().is_none()).then(|| view! { <p class="hint">"Nothing has changed here yet."</p> })}
            {move || busy.get().then(|| view! { <p class="hint">"Reading the activity…"</p> })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <DialogFooter>
                <Show when=move || next.with(Option::is_some)>
                    <button id="activity-older" type="button" class="btn" disabled=move || busy.get() on:click={
                        let older_id = older_id.clone();
                        move |_| load(older_id.clone(), next.get_untracked())
                    }>"Older changes"</button>
                </Show>
                <button id="activity-close" type="button" class="btn" on:click=move |_| close.run(())>"Close"</button>
            </DialogFooter>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    // The web crate's tests run in the browser: `#[test]` would never run there.
    use super::ago;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn times_read_as_a_person_says_them() {
        let now = 10 * 86_400_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 2 * 3_600_000 - 1, now), "2 hours ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
        // A service clock ahead of this one is not "in the future".
        assert_eq!(ago(now + 9_000, now), "just now");
    }
}
