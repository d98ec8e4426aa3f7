//! Possible Duplicates: the sets core finds, each with its reason; the compare window where a
//! person picks the record to keep and, part by part, the values, then merges; "not
//! duplicates"; merging every set that shares a DOI or PubMed ID after a preview; and the
//! notice after a first sync that joined two libraries.
//!
//! Invariant: nothing is written until Merge (or Not duplicates) is pressed, and then it is
//! core's `edit::merge` writing ordinary edits in one transaction: it syncs, Ctrl+Z undoes it,
//! and restoring a merged-away record from the Trash undoes its part.

use crate::browser;
use crate::features::account::use_account;
use crate::features::library::Collection;
use crate::features::library::{plural, use_library, Library};
use crate::features::ui::{thousands, DialogFooter, Modal};
use crate::later::later;
use leptos::prelude::*;
use refsync_core::edit::merge::{self, MergeRow, Take};
use refsync_core::query::DuplicateSet;
use refsync_core::{Key, Reference};
use std::collections::BTreeMap;

mod finder;

pub use finder::find_duplicates;

/// How many sets the view renders before "Show more".
const PAGE: usize = 50;

later! { duplicates;
    /// The middle pane while Possible Duplicates is open, loaded the first time it is.
    pub fn duplicate_sets() -> AnyView {
        view! { <DuplicateSets /> }.into_any()
    }
}

/// The middle pane while Possible Duplicates is open: set after set.
#[component]
fn DuplicateSets() -> impl IntoView {
    let lib = use_library();
    let shown = RwSignal::new(PAGE);
    let comparing = RwSignal::new(None::<Vec<Key>>);
    let merging_all = RwSignal::new(false);
    // The sets come from the duplicates worker (`finder`); until its first answer, none.
    let finding = move || lib.duplicates.with(Option::is_none);
    let sets: Memo<Vec<DuplicateSet>> = Memo::new(move |_| {
        let search = lib.search.get();
        lib.duplicates.with(|all| {
            let Some(all) = all else { return Vec::new() };
            let found = lib.data.with(|d| {
                d.refs.quick_search_ids(&search).map(|f| {
                    d.refs
                        .keys_of(&f)
                        .into_iter()
                        .collect::<std::collections::HashSet<Key>>()
                })
            });
            all.iter()
                .filter(|s| {
                    found
                        .as_ref()
                        .is_none_or(|f| s.keys.iter().any(|k| f.contains(k)))
                })
                .cloned()
                .collect()
        })
    });
    let by_identifier =
        move || sets.with(|s| s.iter().filter(|s| s.reason.by_identifier()).count());
    let count_text = move || {
        if finding() {
            return if lib.duplicates_failed.with(Option::is_some) {
                "Not counted".to_string()
            } else {
                "Looking for duplicates…".to_string()
            };
        }
        sets.with(|s| {
            let refs: usize = s.iter().map(|s| s.keys.len()).sum();
            format!(
                "{} {} in {} {}",
                thousands(refs),
                plural(refs, "reference", "references"),
                thousands(s.len()),
                plural(s.len(), "set", "sets")
            )
        })
    };
    view! {
        <div class="toolbar">
            <button id="show-collections" class="btn phone-only" aria-label="Collections and groups"
                on:click=move |_| lib.pane.set(crate::features::library::Pane::Nav)>"☰"</button>
            <h2 id="list-title" class="pane-title">"Possible Duplicates"</h2>
            <span id="list-count" class="count">{count_text}</span>
            <span class="spacer"></span>
            <input id="quick-search" class="search" type="search" placeholder="Search the sets"
                aria-label="Quick search" prop:value=move || lib.search.get()
                on:input=move |ev| lib.search.set(event_target_value(&ev)) />
        </div>
        <div class="toolbar actions">
            <button id="merge-all-identifiers" class="btn" disabled=move || by_identifier() == 0
                on:click=move |_| merging_all.set(true)>
                {move || format!("Merge all sets that share a DOI or PubMed ID ({})", thousands(by_identifier()))}
            </button>
        </div>
        <div id="duplicate-sets" class="dup-sets" aria-label="Sets of possible duplicates">
            {move || finding().then(|| lib.duplicates_failed.get()).flatten().map(|e| view! {
                <div class="empty-state" role="alert">
                    <p class="empty-title">"Possible duplicates could not be looked for"</p>
                    <p>{format!("{}. It is tried again after your next change, or when the page is opened again.", sentence(&e))}</p>
                </div>
            })}
            {move || (finding() && lib.duplicates_failed.with(Option::is_none)).then(|| view! {
                <div class="empty-state" role="status">
                    <p class="empty-title">"Looking for possible duplicates…"</p>
                    <div class="progress-track busy" role="progressbar" aria-label="Looking for possible duplicates">
                        <div class="progress-fill"></div>
                    </div>
                    <p>"The whole library is compared in the background; you can go on working."</p>
                </div>
            })}
            {move || (!finding() && sets.with(|s| s.is_empty())).then(|| view! {
                <div class="empty-state">
                    <p class="empty-title">"No possible duplicates"</p>
                    <p>"References with the same DOI, PubMed ID or ISBN, or nearly the same title, year and first author, are shown here as sets to compare and merge."</p>
                </div>
            })}
            <For
                each=move || sets.with(|s| s.iter().take(shown.get()).cloned().enumerate().collect::<Vec<_>>())
                key=|(i, s)| (*i, s.clone())
                children=move |(i, set)| view! { <SetCard number=i + 1 set=set comparing=comparing /> }
            />
            {move || (sets.with(Vec::len) > shown.get()).then(|| view! {
                <button id="more-sets" class="btn" on:click=move |_| shown.update(|n| *n += PAGE)>
                    {move || format!("Show more ({} sets not shown)", thousands(sets.with(Vec::len) - shown.get()))}
                </button>
            })}
        </div>
        {move || comparing.get().map(|keys| view! { <MergeDialog keys=keys open=comparing /> })}
        {move || merging_all.get().then(|| view! { <MergeAllDialog sets=sets open=merging_all /> })}
    }
}

/// One set: its reason, its records (each opens in the right pane), and what to do with it.
#[component]
fn SetCard(
    number: usize,
    set: DuplicateSet,
    comparing: RwSignal<Option<Vec<Key>>>,
) -> impl IntoView {
    let lib = use_library();
    let keys = StoredValue::new(set.keys.clone());
    // Read tracked: a member edited in the right pane shows its new title here.
    let members = move || {
        keys.get_value()
        .iter()
        .filter_map(|k| lib.get(k))
        .map(|r| {
            let key = r.key;
            let selected = move || lib.selected.with(|s| s.contains(&key));
            view! {
                <li>
                    <button class="dup-member" class:selected=selected data-key=key.to_string()
                        on:click=move |_| { lib.select_only(key); lib.pane.set(crate::features::library::Pane::Detail); }>
                        <span class="dup-title">{non_empty(r.title(), "(untitled)")}</span>
                        <span class="dup-meta">{meta_line(&r)}</span>
                    </button>
                </li>
            }
        })
        .collect_view()
    };
    let not_duplicates = move |_| {
        let keys = keys.get_value();
        let writes = lib
            .data
            .with_untracked(|d| merge::not_duplicates(d, &keys, browser::now_millis()));
        lib.commit_in_background(
            writes,
            Some("Marked as not duplicates: they will not be shown together again, on any device (Ctrl+Z undoes it).".into()),
        );
    };
    view! {
        <section class="dup-set" data-set=set.id() aria-label=format!("Set {number}")>
            <header class="dup-head">
                <span class="dup-number">{format!("Set {number}")}</span>
                <span class="chip dup-reason">{set.reason.words()}</span>
            </header>
            <ul class="dup-members">{members}</ul>
            <div class="dup-actions">
                <button class="btn not-duplicates" on:click=not_duplicates>"Not duplicates"</button>
                <button class="btn btn-primary compare-set" on:click=move |_| comparing.set(Some(keys.get_value()))>
                    "Compare and merge…"
                </button>
            </div>
        </section>
    }
}

/// `text` with a capital first letter, to stand as a sentence ("the worker failed" → "The…").
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn non_empty(s: &str, instead: &str) -> String {
    if s.trim().is_empty() {
        instead.to_string()
    } else {
        s.to_string()
    }
}

/// Authors, year, journal and the record's age: what tells two copies apart at a glance.
fn meta_line(r: &Reference) -> String {
    let mut parts = vec![r.author_summary(), r.year().to_string()];
    parts.push(r.get(refsync_core::Field::SecondaryTitle).to_string());
    if !r.attachments.is_empty() {
        parts.push(format!(
            "{} {}",
            r.attachments.len(),
            plural(r.attachments.len(), "file", "files")
        ));
    }
    parts.push(format!(
        "added {}",
        crate::features::library::date_text(r.date_added)
    ));
    parts.retain(|p| !p.trim().is_empty());
    parts.join(" · ")
}

fn group_name(lib: Library, key: &Key) -> String {
    lib.data.with_untracked(|d| {
        d.groups
            .get(key)
            .map_or_else(|| "(a deleted group)".into(), |g| g.name.clone())
    })
}

/// One differing row's choice: whose value (an index into the records), and for text the
/// text to keep (editable before merging).
#[derive(Clone, Copy)]
struct Choice {
    from: RwSignal<usize>,
    text: RwSignal<String>,
}

/// Which record's value a row starts with: the kept record's, else the first that has one
/// (what a merge with no picks does).
fn default_pick(row: &MergeRow, keep: usize) -> usize {
    if !row.values[keep].is_empty() {
        keep
    } else {
        row.values
            .iter()
            .position(|v| !v.is_empty())
            .unwrap_or(keep)
    }
}

/// The compare window: the records side by side, one to keep, a value per differing part.
#[component]
fn MergeDialog(keys: Vec<Key>, open: RwSignal<Option<Vec<Key>>>) -> impl IntoView {
    let lib = use_library();
    let refs: Vec<Reference> = keys.iter().filter_map(|k| lib.get_untracked(k)).collect();
    if refs.len() < 2 {
        return ().into_any();
    }
    let all_rows = merge::compare(&refs.iter().collect::<Vec<_>>(), |k| group_name(lib, k));
    let best = merge::best_record(&refs.iter().collect::<Vec<_>>())
        .and_then(|k| refs.iter().position(|r| r.key == k))
        .unwrap_or(0);
    let keep = RwSignal::new(best);
    let busy = RwSignal::new(false);
    let choices: BTreeMap<String, Choice> = refsync_core::sort::map_of(
        all_rows
            .iter()
            .filter(|r| r.differs() && merge::is_picked(&r.id))
            .map(|r| {
                let from = default_pick(r, best);
                (
                    r.id.clone(),
                    Choice {
                        from: RwSignal::new(from),
                        text: RwSignal::new(r.values[from].clone()),
                    },
                )
            }),
    );
    let choices = StoredValue::new(choices);
    let rows_kept = StoredValue::new(all_rows.clone());
    // A new record to keep starts every choice again from its values.
    let choose_keep = move |i: usize| {
        keep.set(i);
        rows_kept.with_value(|rows| {
            choices.with_value(|c| {
                for row in rows {
                    if let Some(ch) = c.get(&row.id) {
                        let from = default_pick(row, i);
                        ch.from.set(from);
                        ch.text.set(row.values[from].clone());
                    }
                }
            })
        });
    };
    let refs = StoredValue::new(refs);
    let close = Callback::new(move |_| open.set(None));
    let do_merge = move |_| {
        let (keep_key, others, picks) = refs.with_value(|refs| {
            let keep_i = keep.get_untracked();
            let picks: BTreeMap<String, Take> = rows_kept.with_value(|rows| {
                choices.with_value(|c| {
                    refsync_core::sort::map_of(rows.iter().filter_map(|row| {
                        let ch = c.get(&row.id)?;
                        let from = ch.from.get_untracked();
                        let text = ch.text.get_untracked();
                        let take = if row.editable && text != row.values[from] {
                            Take::Text(text)
                        } else {
                            Take::From(refs[from].key)
                        };
                        Some((row.id.clone(), take))
                    }))
                })
            });
            let others: Vec<Key> = refs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != keep_i)
                .map(|(_, r)| r.key)
                .collect();
            (refs[keep_i].key, others, picks)
        });
        busy.set(true);
        let written = lib
            .data
            .with_untracked(|d| merge::merge(d, keep_key, &others, &picks, browser::now_millis()));
        match written {
            Ok(writes) => {
                open.set(None);
                let n = others.len();
                leptos::task::spawn_local(async move {
                    match lib.commit(writes).await {
                        Ok(()) => {
                            // The kept record's title as merged (it may have been edited).
                            let title = lib
                                .get_untracked(&keep_key)
                                .map(|r| non_empty(r.title(), "(untitled)"))
                                .unwrap_or_default();
                            lib.select_only(keep_key);
                            lib.tell(format!(
                                "Merged {n} {} into “{title}”. {} in the Trash: restore one to undo its merge.",
                                plural(n, "record", "records"),
                                if n == 1 { "The other waits" } else { "The others wait" }
                            ));
                        }
                        Err(e) => lib.fail(e.to_string()),
                    }
                });
            }
            Err(why) => {
                busy.set(false);
                lib.fail(why);
            }
        }
    };
    let count = refs.with_value(Vec::len);
    let (differing, same): (Vec<MergeRow>, Vec<MergeRow>) =
        all_rows.into_iter().partition(MergeRow::differs);
    let same_count = same.len();
    let heads = refs.with_value(|refs| {
        refs.iter()
            .enumerate()
            .map(|(i, r)| {
                let added = crate::features::library::date_text(r.date_added);
                view! {
                    <th scope="col" class:chosen=move || keep.get() == i>
                        <label class="pick keep-pick">
                            <input type="radio" name="keep-record" class="keep-record" value=i.to_string()
                                checked=move || keep.get() == i on:change=move |_| choose_keep(i) />
                            <span>{format!("Record {} (added {added})", i + 1)}</span>
                        </label>
                    </th>
                }
            })
            .collect_view()
    });
    view! {
        <Modal id="merge-dialog" title="Compare and merge duplicates" on_close=close wide=true>
            <p class="hint">{format!(
                "Choose the record to keep and, where these {count} records differ, which value it keeps (text can be edited). Empty fields are filled from the others; groups, keywords, notes and attachments are combined. The others go to the Trash."
            )}</p>
            <div class="conflict-scroll">
                <table class="conflict-table merge-table">
                    <thead><tr><th scope="col">"Field"</th>{heads}</tr></thead>
                    <tbody>
                        {differing.into_iter().map(|row| view! { <MergeRowView row=row choices=choices keep=keep /> }).collect_view()}
                    </tbody>
                </table>
                {(same_count > 0).then(|| view! {
                    <details class="conflict-same">
                        <summary>{format!("{same_count} {} the same in all", if same_count == 1 { "field is" } else { "fields are" })}</summary>
                        <table class="conflict-table merge-table">
                            <tbody>{same.into_iter().map(|row| view! { <MergeRowView row=row choices=choices keep=keep /> }).collect_view()}</tbody>
                        </table>
                    </details>
                })}
            </div>
            <DialogFooter>
                <button class="btn" on:click=move |_| open.set(None)>"Cancel"</button>
                <button id="merge-confirm" class="btn btn-primary" disabled=move || busy.get() on:click=do_merge>
                    {format!("Merge {count} records into one")}
                </button>
            </DialogFooter>
        </Modal>
    }
    .into_any()
}

#[component]
fn MergeRowView(
    row: MergeRow,
    choices: StoredValue<BTreeMap<String, Choice>>,
    keep: RwSignal<usize>,
) -> impl IntoView {
    let choice = choices.with_value(|c| c.get(&row.id).copied());
    let cells = row
        .values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let text = if value.is_empty() { "—".to_string() } else { value.clone() };
            match choice {
                Some(ch) => {
                    let value = value.clone();
                    view! {
                        <td class:chosen=move || ch.from.get() == i>
                            <label class="pick">
                                <input type="radio" name=format!("merge-{}", row.id) value=i.to_string()
                                    checked=move || ch.from.get() == i
                                    on:change=move |_| { ch.from.set(i); ch.text.set(value.clone()); } />
                                <span class="pick-text">{text}</span>
                            </label>
                        </td>
                    }
                    .into_any()
                }
                None => view! { <td class:chosen=move || keep.get() == i class="same">{text}</td> }.into_any(),
            }
        })
        .collect_view();
    let note = (!merge::is_picked(&row.id) && row.differs()).then_some(" (combined)");
    let width = row.values.len();
    let edit_id = format!("merged-{}", row.id);
    view! {
        <tr class="conflict-row" class:differs=row.differs() data-field=row.id.clone()>
            <th scope="row">{row.label.clone()}{note}</th>
            {cells}
        </tr>
        {choice.filter(|_| row.editable).map(|ch| {
            view! {
                <tr class="conflict-edit">
                    <th scope="row"><label for=edit_id.clone()>{format!("{} to keep", row.label)}</label></th>
                    <td colspan=width.to_string()>
                        <textarea id=edit_id rows="2" prop:value=move || ch.text.get()
                            on:input=move |ev| ch.text.set(event_target_value(&ev))></textarea>
                    </td>
                </tr>
            }
        })}
    }
}

/// Merge every set found by a DOI or PubMed ID, after a preview of what each keeps.
#[component]
fn MergeAllDialog(sets: Memo<Vec<DuplicateSet>>, open: RwSignal<bool>) -> impl IntoView {
    let lib = use_library();
    let plan: Vec<(Key, Vec<Key>)> =
        sets.with_untracked(|s| lib.data.with_untracked(|d| merge::identifier_merges(d, s)));
    let going: usize = plan.iter().map(|(_, o)| o.len()).sum();
    let title_of = move |k: &Key| {
        lib.get_untracked(k)
            .map(|r| non_empty(r.title(), "(untitled)"))
            .unwrap_or_default()
    };
    let preview = plan
        .iter()
        .take(100)
        .map(|(keep, others)| {
            view! {
                <li>
                    <strong>{title_of(keep)}</strong>
                    {format!(" keeps its record and takes {} {}", others.len(), plural(others.len(), "other", "others"))}
                </li>
            }
        })
        .collect_view();
    let more = plan.len().saturating_sub(100);
    let sets_n = plan.len();
    let plan = StoredValue::new(plan);
    let busy = RwSignal::new(false);
    let close = Callback::new(move |_| open.set(false));
    let confirm = move |_| {
        busy.set(true);
        let now = browser::now_millis();
        let written: Result<Vec<_>, String> = plan.with_value(|plan| {
            lib.data.with_untracked(|d| {
                let mut all = Vec::new();
                for (keep, others) in plan {
                    all.extend(merge::merge(d, *keep, others, &BTreeMap::new(), now)?);
                }
                Ok(all)
            })
        });
        match written {
            Ok(writes) => {
                open.set(false);
                lib.commit_in_background(
                    writes,
                    Some(format!(
                        "Merged {} {}: {} {} moved to the Trash.",
                        thousands(sets_n),
                        plural(sets_n, "set", "sets"),
                        thousands(going),
                        plural(going, "record", "records")
                    )),
                );
            }
            Err(why) => {
                busy.set(false);
                lib.fail(why);
            }
        }
    };
    view! {
        <Modal id="merge-all-dialog" title="Merge every set that shares a DOI or PubMed ID" on_close=close wide=true>
            <p id="merge-all-summary">{format!(
                "{} {} share a DOI or PubMed ID. Each keeps its fullest record, which takes the others' empty fields, groups, keywords, notes and attachments; the other {} {} go to the Trash (restore one to undo its merge).",
                thousands(sets_n), plural(sets_n, "set", "sets"), thousands(going), plural(going, "record", "records")
            )}</p>
            <ul class="merge-preview">{preview}</ul>
            {(more > 0).then(|| view! { <p class="hint">{format!("…and {more} more sets.")}</p> })}
            <DialogFooter>
                <button class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                <button id="merge-all-confirm" class="btn btn-primary" disabled=move || busy.get() on:click=confirm>
                    {format!("Merge {} {}", thousands(sets_n), plural(sets_n, "set", "sets"))}
                </button>
            </DialogFooter>
        </Modal>
    }
}

/// After a first sync that joined two libraries: how many sets of probable duplicates it
/// made, with the way to them.
#[component]
pub fn DuplicatesNotice() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    move || {
        account.duplicates_found.get().map(|n| {
            view! {
                <div id="duplicates-notice" class="banner notice-banner" role="status">
                    <span>{format!(
                        "{} {} of probable duplicates {} found when this library joined the online one.",
                        thousands(n as usize), plural(n as usize, "set", "sets"), if n == 1 { "was" } else { "were" }
                    )}</span>
                    <button id="review-duplicates" class="btn btn-primary" on:click=move |_| {
                        account.duplicates_found.set(None);
                        lib.search.set(String::new());
                        lib.collection.set(Collection::Duplicates);
                        lib.pane.set(crate::features::library::Pane::List);
                    }>"Review them"</button>
                    <button class="btn" aria-label="Dismiss" on:click=move |_| account.duplicates_found.set(None)>"×"</button>
                </div>
            }
        })
    }
}
