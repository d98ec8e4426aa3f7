//! Sync Status: the last sync (when, how long, what moved), what waits to be sent, the last
//! 20 (a run of syncs alike, say with nothing new, on one line), the error in plain words with
//! what to do, how often to sync by itself, and the last sync of each other library held.

use super::{relink, set_interval, use_account, SyncRecord};
use crate::features::library::use_library;
use crate::features::ui::{tenths, thousands, Modal, Progress};
use leptos::prelude::*;
use refsync_core::sync::words;

fn when(millis: u64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
        .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

fn counts(r: &SyncRecord) -> String {
    format!(
        "{} sent, {} received, {} deleted, {} in conflict",
        r.sent, r.received, r.deleted, r.conflicts
    )
}

fn summary(r: &SyncRecord) -> String {
    match (&r.error, r.error_kind.as_deref()) {
        // The storage limit only held back files; the rest of the sync went through.
        (Some(e), Some("storage_limit")) => format!("{}. {e}", counts(r)),
        (Some(e), _) => e.clone(),
        (None, _) => counts(r),
    }
}

/// The history with each run of syncs that said the same (say, nothing new) folded into its
/// newest: (that sync, how many alike, when the oldest of them began).
fn runs(history: &[SyncRecord]) -> Vec<(SyncRecord, usize, u64)> {
    let mut out: Vec<(SyncRecord, usize, u64)> = Vec::new();
    for r in history {
        match out.last_mut() {
            Some((newest, times, earliest))
                if summary(newest) == summary(r) && newest.error.is_some() == r.error.is_some() =>
            {
                *times += 1;
                *earliest = r.at;
            }
            _ => out.push((r.clone(), 1, r.at)),
        }
    }
    out
}

/// The online library's storage in use against its limit (a bar, and a warning from 90%),
/// and its references against theirs, as the service said at the last sync; shown offline
/// too, from the last sync.
#[component]
pub fn OnlineUsage() -> impl IntoView {
    let lib = use_library();
    move || {
        match lib.online.get() {
        None => view! {
            <p id="storage-usage" class="hint">"Online storage in use shows here after the first sync."</p>
        }
        .into_any(),
        Some(o) => {
            let percent = words::storage_percent(o.storage_used, o.storage_limit);
            let warning = words::storage_warning(o.storage_used, o.storage_limit);
            let warned = warning.is_some();
            view! {
                <div id="storage-usage" class="usage" class:warning=warned>
                    <p class="usage-line"><strong>"Online storage: "</strong>
                        {words::storage_used(o.storage_used, o.storage_limit)}</p>
                    <div class="progress-track" role="progressbar" aria-label="Online storage in use"
                        aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string()>
                        <div class="progress-fill" style:width=format!("{percent}%")></div>
                    </div>
                    <p class="usage-line hint">{format!(
                        "{} online{}",
                        words::references_used(o.references, o.reference_limit),
                        o.max_file_size
                            .map(|m| format!(" · the largest file it takes: {}", words::size_text(m)))
                            .unwrap_or_default()
                    )}</p>
                    {warning.map(|w| view! { <p id="storage-warning" class="banner error" role="alert">{w}</p> })}
                </div>
            }
            .into_any()
        }
    }
    }
}

/// Days without a backup before Sync Status reminds the person to make one.
const BACKUP_REMINDER_DAYS: u64 = 30;

/// A reminder, with the backup a click away, once the library holds references and has not
/// been backed up from this browser for [`BACKUP_REMINDER_DAYS`] days (or ever).
#[component]
fn BackupReminder() -> impl IntoView {
    let lib = use_library();
    // Decided as the dialog opens: a backup made from the reminder leaves it in place, saying
    // where the file went, until the dialog closes.
    let last = lib.last_backup.get_untracked();
    let now = crate::browser::now_millis();
    let due = match last {
        Some(at) => now.saturating_sub(at) > BACKUP_REMINDER_DAYS * 24 * 3600 * 1000,
        None => true,
    };
    move || {
        let held = lib.counts.with(|c| c.all + c.trash);
        (held > 0 && due).then(|| {
            let text = match last {
                Some(at) => format!(
                    "The last backup of this library was made on {}, over {BACKUP_REMINDER_DAYS} days ago.",
                    when(at)
                ),
                None => "No backup of this library has been made in this browser yet.".to_string(),
            };
            view! { <div id="backup-reminder"><crate::features::transfer::BackupOffer id="reminder-backup" text=text /></div> }
        })
    }
}

/// "Last backup: 12/4/2026, 9:05 PM" or that there has been none, for Settings.
pub fn last_backup_text(at: Option<u64>) -> String {
    match at {
        Some(at) => format!("Last backup from this browser: {}.", when(at)),
        None => "No backup has been made from this browser yet.".to_string(),
    }
}

/// The last sync of every other library this browser holds: one sync syncs them all, and each
/// keeps its own Sync Status (shown whole when that library is opened).
#[component]
fn OtherLibraries() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let others = LocalResource::new(move || {
        account.syncing.track();
        account.sharing.libraries.track();
        crate::features::sharing::others_last_syncs(lib, account)
    });
    move || {
        others.get().filter(|o| !o.is_empty()).map(|others| {
            view! {
                <h3 class="history-title">"Your other libraries"</h3>
                <table id="sync-others" class="history">
                    <thead><tr><th>"Library"</th><th>"Last sync"</th><th>"Result"</th></tr></thead>
                    <tbody>
                        {others.into_iter().map(|(name, last)| view! {
                            <tr class="sync-other" class:error=last.as_ref().is_some_and(|r| r.error.is_some())>
                                <td>{name}</td>
                                <td>{last.as_ref().map_or_else(|| "Not yet".to_string(), |r| when(r.at))}</td>
                                <td>{last.as_ref().map(summary).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
        })
    }
}

#[component]
pub fn SyncStatusDialog() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let close = Callback::new(move |_| account.status_open.set(false));
    let last = move || account.history.with(|h| h.first().cloned());
    let waiting = super::pending_count(lib, account);
    view! {
        <Modal id="sync-status-dialog" title="Sync Status" on_close=close wide=true>
            {move || match last() {
                None => view! { <p id="sync-last">"This library has not synced yet."</p> }.into_any(),
                Some(r) => {
                    let failed = r.error.is_some();
                    let heading = match (failed, r.error_kind.as_deref()) {
                        (true, Some("storage_limit")) => "The last sync finished, but some files did not upload",
                        (true, _) => "The last sync did not finish",
                        (false, _) => "Last sync",
                    };
                    view! {
                        <div id="sync-last" class="sync-last" class:error=failed>
                            <p><strong>{heading}</strong>
                                {format!(" — {} ({} s)", when(r.at), tenths(r.duration_ms, 1000))}</p>
                            <p>{summary(&r)}</p>
                            {(r.error_kind.as_deref() == Some("relink_required")).then(|| view! {
                                <crate::features::transfer::BackupOffer id="relink-backup" text="Linking again merges this browser's library into the online library as it is now." />
                                <div class="form-actions left">
                                    <button id="relink" class="btn btn-primary" on:click=move |_| {
                                        account.status_open.set(false);
                                        relink(lib, account);
                                    }>"Link again"</button>
                                </div>
                            })}
                        </div>
                    }.into_any()
                }
            }}
            <OnlineUsage />
            <BackupReminder />
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
            <p id="sync-waiting" class="hint">{move || match waiting.get() {
                Some(0) => "Nothing made here waits to be sent.".to_string(),
                Some(n) => format!(
                    "{} made here {} for the next sync.",
                    words::count(u64::from(n), "change", "changes"),
                    if n == 1 { "waits" } else { "wait" }
                ),
                None => String::new(),
            }}</p>
            <h3 class="history-title">"Recent syncs"</h3>
            <table id="sync-history" class="history">
                <thead><tr><th>"When"</th><th>"Took"</th><th>"Result"</th></tr></thead>
                <tbody>
                    {move || runs(&account.history.get()).into_iter().map(|(r, times, earliest)| view! {
                        <tr class:error=r.error.is_some()>
                            <td>{if times > 1 {
                                format!("{} – {}", when(earliest), when(r.at))
                            } else {
                                when(r.at)
                            }}</td>
                            <td>{format!("{} s", tenths(r.duration_ms, 1000))}</td>
                            <td>{if times > 1 {
                                format!("{} ({times} syncs alike)", summary(&r))
                            } else {
                                summary(&r)
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <OtherLibraries />
        </Modal>
    }
}

/// A bar under the top bar while a sync receives a large library ("12,400 of 50,000
/// references"); hidden for the quick syncs that make up most of them.
#[component]
pub fn SyncProgressBar() -> impl IntoView {
    let account = use_account();
    let shown = move || {
        account
            .progress
            .get()
            .filter(|p| p.total.unwrap_or(0) > 200 || p.received > 200)
    };
    move || {
        shown().map(|_| {
            let done = Signal::derive(move || {
                account
                    .progress
                    .get()
                    .map_or(0, |p| usize::try_from(p.received).unwrap_or(usize::MAX))
            });
            let total = Signal::derive(move || {
                account.progress.get().map_or(0, |p| {
                    usize::try_from(p.total.unwrap_or(0).max(p.received)).unwrap_or(usize::MAX)
                })
            });
            let label = Signal::derive(move || {
                format!(
                    "Downloading your library: {} of {} references",
                    thousands(done.get()),
                    thousands(total.get())
                )
            });
            view! {
                <div id="sync-progress" class="sync-progress" role="status">
                    <Progress done=done total=total label=label />
                </div>
            }
        })
    }
}
