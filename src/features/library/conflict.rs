//! A reference in sync conflict: the right pane's summary and the side-by-side dialog where
//! the person keeps this browser's copy, the online copy, or one composed field by field and
//! edited; for an edit against a delete, keep it deleted or restore it.
//!
//! Invariant: nothing changes until a Keep button is pressed; a resolution is one store
//! transaction that becomes an ordinary edit (so it syncs) and removes the conflict.

use super::{count_refs, use_library, Library};
use crate::browser;
use crate::features::ui::{DialogFooter, Modal};
use crate::later::later;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::Object;
use refsync_core::sync::compare::{compose, rows, Pick, Row};
use refsync_core::sync::{ConflictReason, ConflictRecord, LibraryId, Resolution};
use refsync_core::{Key, Reference};
use std::collections::BTreeMap;

fn reference(o: &Option<Object>) -> Option<&Reference> {
    match o {
        Some(Object::Reference(r)) => Some(r),
        _ => None,
    }
}

/// Carry out a resolution, telling the person how it went.
fn settle(
    lib: Library,
    key: Key,
    resolution: Resolution,
    done: &'static str,
    busy: RwSignal<bool>,
) {
    busy.set(true);
    spawn_local(async move {
        match lib.resolve_conflict(key, resolution).await {
            Ok(()) => lib.tell(done),
            Err(e) => lib.fail(e),
        }
        busy.set(false);
    });
}

later! { conflict;
    /// The right pane for a conflicted reference, loaded the first time one is shown.
    pub fn conflict_card(key: Key) -> AnyView {
        view! { <ConflictCard key=key /> }.into_any()
    }
}

/// The right pane for a conflicted reference.
#[component]
fn ConflictCard(key: Key) -> impl IntoView {
    let lib = use_library();
    let record = lib.data.with_untracked(|d| d.conflicts.get(&key).cloned());
    let Some(record) = record else {
        return view! { <div class="detail-empty"><p>"This conflict was settled."</p></div> }
            .into_any();
    };
    let busy = RwSignal::new(false);
    let open = RwSignal::new(false);
    let title = reference(&record.local)
        .or(reference(&record.remote))
        .map(|r| r.title().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "(untitled)".into());
    let body = match record.reason {
        ConflictReason::Fields => {
            let labels = differing_labels(lib, &record);
            view! {
                <p>"This reference was changed in this browser and online (on another device) since the last sync, in ways that cannot both be kept."</p>
                <p class="conflict-fields">"Changed on both sides: " <strong>{labels}</strong></p>
                <DialogFooter>
                    <button id="resolve-conflict" class="btn btn-primary" on:click=move |_| open.set(true)>"Compare and choose…"</button>
                </DialogFooter>
            }
            .into_any()
        }
        ConflictReason::Refused => {
            let mine = reference(&record.local).cloned();
            let copy = move |_| {
                let Some(mine) = mine.clone() else { return };
                busy.set(true);
                spawn_local(async move {
                    let copied = lib.copy_version(mine, &LibraryId::Personal).await;
                    match copied {
                        Ok(_) => settle(lib, key, Resolution::KeepOnline, "Your version is in your own library now; this one keeps the online version.", busy),
                        Err(e) => {
                            busy.set(false);
                            lib.fail(e);
                        }
                    }
                });
            };
            view! {
                <p>"The service refused your change to this reference: your role in this shared library no longer lets you change it (the owner changed it meanwhile). Your version is kept here until you choose."</p>
                <DialogFooter>
                    <button id="conflict-drop-mine" class="btn" disabled=move || busy.get()
                        on:click=move |_| settle(lib, key, Resolution::KeepOnline, "Dropped your change; the library keeps the online version.", busy)>
                        "Drop my change"
                    </button>
                    <button id="conflict-copy-mine" class="btn btn-primary" disabled=move || busy.get() on:click=copy>
                        "Copy my version into my library"
                    </button>
                </DialogFooter>
            }
            .into_any()
        }
        reason => {
            let edited_here = reason == ConflictReason::EditedHereDeletedOnline;
            let (text, keep_deleted, restore) = if edited_here {
                (
                    "You edited this reference in this browser, but it was deleted permanently online (on another device).",
                    Resolution::KeepOnline,
                    Resolution::KeepLocal,
                )
            } else {
                (
                    "You deleted this reference permanently in this browser, but it was edited online (on another device).",
                    Resolution::KeepLocal,
                    Resolution::KeepOnline,
                )
            };
            let shown = reference(&record.local)
                .or(reference(&record.remote))
                .cloned()
                .unwrap_or_default();
            let summary = rows(&shown, &shown, |k| group_name(lib, k));
            let keep_deleted = StoredValue::new(keep_deleted);
            let restore = StoredValue::new(restore);
            view! {
                <p>{text}</p>
                <dl class="conflict-summary">
                    {summary.into_iter().map(|r| view! { <dt>{r.label}</dt><dd>{r.local}</dd> }).collect_view()}
                </dl>
                <DialogFooter>
                    <button id="conflict-keep-deleted" class="btn" disabled=move || busy.get()
                        on:click=move |_| settle(lib, key, keep_deleted.get_value(), "Kept it deleted; this will sync to your other devices.", busy)>
                        "Keep it deleted"
                    </button>
                    <button id="conflict-restore" class="btn btn-primary" disabled=move || busy.get()
                        on:click=move |_| settle(lib, key, restore.get_value(), "Restored the reference; this will sync to your other devices.", busy)>
                        "Restore it"
                    </button>
                </DialogFooter>
            }
            .into_any()
        }
    };
    let record = StoredValue::new(record);
    view! {
        <div id="conflict-card" class="conflict-card">
            <p class="conflict-badge">"Sync conflict"</p>
            <h2 class="conflict-title">{title}</h2>
            {body}
        </div>
        {move || open.get().then(|| view! { <ConflictDialog record=record.get_value() open=open /> })}
    }
    .into_any()
}

fn group_name(lib: Library, key: &Key) -> String {
    lib.data.with_untracked(|d| {
        d.groups
            .get(key)
            .map_or_else(|| "(a deleted group)".into(), |g| g.name.clone())
    })
}

fn differing_labels(lib: Library, record: &ConflictRecord) -> String {
    match (reference(&record.local), reference(&record.remote)) {
        (Some(l), Some(o)) => rows(l, o, |k| group_name(lib, k))
            .into_iter()
            .filter(|r| r.differs() && (record.fields.is_empty() || record.fields.contains(&r.id)))
            .map(|r| r.label)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// One differing row's choice: which side, and (for text) the text to keep.
#[derive(Clone, Copy)]
struct Choice {
    local: RwSignal<bool>,
    text: RwSignal<String>,
}

/// This browser's copy and the online copy side by side; differing rows highlighted, each
/// with a choice; text rows editable before keeping.
#[component]
fn ConflictDialog(record: ConflictRecord, open: RwSignal<bool>) -> impl IntoView {
    let lib = use_library();
    let key = record.key;
    let (Some(local), Some(online)) = (
        reference(&record.local).cloned(),
        reference(&record.remote).cloned(),
    ) else {
        return ().into_any();
    };
    let busy = RwSignal::new(false);
    let all_rows = rows(&local, &online, |k| group_name(lib, k));
    let choices: BTreeMap<String, Choice> =
        refsync_core::sort::map_of(all_rows.iter().filter(|r| r.differs()).map(|r| {
            (
                r.id.clone(),
                Choice {
                    local: RwSignal::new(true),
                    text: RwSignal::new(r.local.clone()),
                },
            )
        }));
    let choices = StoredValue::new(choices);
    let copies = StoredValue::new((local, online));
    let close = Callback::new(move |_| open.set(false));
    let keep = move |resolution: Resolution, done: &'static str| {
        open.set(false);
        settle(lib, key, resolution, done, busy);
    };
    let keep_merged = move |_| {
        let picks: BTreeMap<String, Pick> = choices.with_value(|c| {
            refsync_core::sort::map_of(c.iter().map(|(id, ch)| {
                let pick = match (is_text(id), ch.local.get_untracked()) {
                    (true, _) => Pick::Text(ch.text.get_untracked()),
                    (false, true) => Pick::Local,
                    (false, false) => Pick::Online,
                };
                (id.clone(), pick)
            }))
        });
        let mut merged = copies.with_value(|(l, o)| compose(l, o, &picks));
        merged.date_modified = browser::now_millis();
        keep(
            Resolution::Merged(Object::Reference(merged)),
            "Kept the merged version; it will sync to your other devices.",
        );
    };
    // The rows that differ first (what the person must decide); the identical ones (often a
    // whole abstract) folded below them.
    let (differing, same): (Vec<Row>, Vec<Row>) = all_rows.into_iter().partition(Row::differs);
    let same_count = same.len();
    let row_views = differing
        .into_iter()
        .map(|row| view! { <ConflictRow row=row choices=choices /> })
        .collect_view();
    let same_views = same
        .into_iter()
        .map(|row| view! { <ConflictRow row=row choices=choices /> })
        .collect_view();
    view! {
        <Modal id="conflict-dialog" title="Resolve a sync conflict" on_close=close wide=true>
            <p class="hint">"These parts differ. Choose a side for each, edit the text if you like, then keep the merged version, or keep either whole copy."</p>
            <div class="conflict-scroll">
                <table class="conflict-table">
                    <thead>
                        <tr><th scope="col">"Field"</th><th scope="col">"This browser"</th><th scope="col">"Online"</th></tr>
                    </thead>
                    <tbody>{row_views}</tbody>
                </table>
                {(same_count > 0).then(|| view! {
                    <details id="conflict-same" class="conflict-same">
                        <summary>{format!(
                            "{same_count} {} the same in both",
                            if same_count == 1 { "field is" } else { "fields are" }
                        )}</summary>
                        <table class="conflict-table">
                            <tbody>{same_views}</tbody>
                        </table>
                    </details>
                })}
            </div>
            <DialogFooter>
                <button id="keep-local" class="btn" disabled=move || busy.get()
                    on:click=move |_| keep(Resolution::KeepLocal, "Kept this browser's version; it will sync to your other devices.")>
                    "Keep this browser's version"
                </button>
                <button id="keep-online" class="btn" disabled=move || busy.get()
                    on:click=move |_| keep(Resolution::KeepOnline, "Kept the online version.")>
                    "Keep the online version"
                </button>
                <button id="keep-merged" class="btn btn-primary" disabled=move || busy.get() on:click=keep_merged>
                    "Keep the merged version"
                </button>
            </DialogFooter>
        </Modal>
    }
    .into_any()
}

/// Fields and imported extras are text that can be edited before keeping.
fn is_text(id: &str) -> bool {
    !matches!(
        id,
        "type"
            | "creators"
            | "keywords"
            | "groups"
            | "attachments"
            | "rating"
            | "read"
            | "trashed"
            | "merged_into"
    )
}

#[component]
fn ConflictRow(row: Row, choices: StoredValue<BTreeMap<String, Choice>>) -> impl IntoView {
    let Some(choice) = choices.with_value(|c| c.get(&row.id).copied()) else {
        return view! {
            <tr class="conflict-row" data-field=row.id.clone()>
                <th scope="row">{row.label}</th>
                <td colspan="2" class="same">{row.local}</td>
            </tr>
        }
        .into_any();
    };
    let name = format!("pick-{}", row.id);
    let (local_text, online_text) = (row.local.clone(), row.online.clone());
    let pick = move |local: bool| {
        choice.local.set(local);
        choice.text.set(if local {
            local_text.clone()
        } else {
            online_text.clone()
        });
    };
    let pick_local = pick.clone();
    let editable = row.editable;
    let edit_id = format!("merged-{}", row.id);
    view! {
        <tr class="conflict-row differs" data-field=row.id.clone()>
            <th scope="row">{row.label.clone()}</th>
            <td class:chosen=move || choice.local.get()>
                <label class="pick">
                    <input type="radio" name=name.clone() value="local" checked=move || choice.local.get()
                        on:change=move |_| pick_local(true) />
                    <span class="pick-text">{empty_as_dash(row.local.clone())}</span>
                </label>
            </td>
            <td class:chosen=move || !choice.local.get()>
                <label class="pick">
                    <input type="radio" name=name value="online" checked=move || !choice.local.get()
                        on:change=move |_| pick(false) />
                    <span class="pick-text">{empty_as_dash(row.online.clone())}</span>
                </label>
            </td>
        </tr>
        {editable.then(|| view! {
            <tr class="conflict-edit">
                <th scope="row"><label for=edit_id.clone()>{format!("{} to keep", row.label)}</label></th>
                <td colspan="2">
                    <textarea id=edit_id rows="2" prop:value=move || choice.text.get()
                        on:input=move |ev| choice.text.set(event_target_value(&ev))></textarea>
                </td>
            </tr>
        })}
    }
    .into_any()
}

fn empty_as_dash(s: String) -> String {
    if s.is_empty() {
        "—".into()
    } else {
        s
    }
}

later! { conflict;
    /// [`Library::resolve_all`]'s work.
    #[allow(clippy::unused_unit)]
    pub async fn settle_all(lib: Library, resolution: Resolution) -> () {
        let records: Vec<_> = lib
            .data
            .with_untracked(|d| d.conflicts.values().cloned().collect());
        let side = match resolution {
            Resolution::KeepLocal => "this browser's",
            _ => "the online",
        };
        let store = match lib.store() {
            Ok(store) => store,
            Err(e) => return lib.fail(e.to_string()),
        };
        let mut settled = 0;
        let mut failed = None;
        for record in &records {
            match store.resolve_conflict(record, resolution.clone()).await {
                Ok(()) => settled += 1,
                Err(e) => {
                    failed = Some(e.message);
                    break;
                }
            }
        }
        if let Err(e) = lib.reload().await {
            failed.get_or_insert(e.to_string());
        }
        lib.last_changed.set_value(None);
        lib.changed.update(|n| *n += 1);
        match failed {
            None => lib.tell(format!(
                "Kept {side} version of {}; this will sync to your other devices.",
                count_refs(settled)
            )),
            Some(e) => lib.fail(format!(
                "Settled {} of {}, then: {e}",
                settled,
                count_refs(records.len())
            )),
        }
    }
}
