//! Sync Status: the last sync (when, how long, what moved), the last 20, the error in plain
//! words with what to do, and how often to sync by itself.

use super::{set_interval, use_account, SyncRecord};
use crate::features::library::use_library;
use crate::features::ui::Modal;
use leptos::prelude::*;

fn when(millis: u64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
        .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

fn summary(r: &SyncRecord) -> String {
    match &r.error {
        Some(e) => e.clone(),
        None => format!(
            "{} sent, {} received, {} deleted, {} in conflict",
            r.sent, r.received, r.deleted, r.conflicts
        ),
    }
}

#[component]
pub fn SyncStatusDialog() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let close = Callback::new(move |_| account.status_open.set(false));
    let last = move || account.history.with(|h| h.first().cloned());
    view! {
        <Modal id="sync-status-dialog" title="Sync Status" on_close=close wide=true>
            {move || match last() {
                None => view! { <p id="sync-last">"This library has not synced yet."</p> }.into_any(),
                Some(r) => {
                    let failed = r.error.is_some();
                    view! {
                        <div id="sync-last" class="sync-last" class:error=failed>
                            <p><strong>{if failed { "The last sync did not finish" } else { "Last sync" }}</strong>
                                {format!(" — {} ({:.1} s)", when(r.at), r.duration_ms as f64 / 1000.0)}</p>
                            <p>{summary(&r)}</p>
                        </div>
                    }.into_any()
                }
            }}
            <label class="field-label" for="sync-interval">"Sync by itself"</label>
            <select id="sync-interval" on:change=move |ev| {
                let minutes = event_target_value(&ev).parse().unwrap_or(15);
                set_interval(lib, account, minutes);
            }>
                {[(0u32, "Off"), (5, "Every 5 minutes"), (15, "Every 15 minutes"), (30, "Every 30 minutes"), (60, "Every hour")]
                    .into_iter()
                    .map(|(m, label)| view! {
                        <option value=m.to_string() selected={move || account.interval.get() == m}>{label}</option>
                    })
                    .collect_view()}
            </select>
            <p class="hint">"Also when the network comes back, a few seconds after an edit, and when another device changes the library."</p>
            <h3 class="history-title">"Recent syncs"</h3>
            <table id="sync-history" class="history">
                <thead><tr><th>"When"</th><th>"Took"</th><th>"Result"</th></tr></thead>
                <tbody>
                    {move || account.history.get().into_iter().map(|r| view! {
                        <tr class:error=r.error.is_some()>
                            <td>{when(r.at)}</td>
                            <td>{format!("{:.1} s", r.duration_ms as f64 / 1000.0)}</td>
                            <td>{summary(&r)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </Modal>
    }
}
