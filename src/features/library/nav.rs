//! The left pane: the library's collections, groups, group sets, smart and combination
//! groups, with counts; creating, renaming and deleting them; dropping references on a group.

use super::collections::{Collection, RECENT_DAYS};
use super::{use_library, Library, LibraryData, LoadState};
use crate::features::ui::{ConfirmDialog, DialogFooter, Modal};
use crate::later::{later, loaded};
use leptos::ev::{DragEvent, KeyboardEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::{Connector, Criterion, Field, Group, GroupExpr, GroupKind, GroupSet, Key, Op};
use std::collections::HashMap;

/// The drag payload's type: the dragged references' keys, one per line.
pub const DRAG_TYPE: &str = "application/x-refsync-keys";

/// Counts for the left pane and the status bar, computed in one pass per change of the
/// library (`Library::counts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub all: usize,
    pub unfiled: usize,
    pub recent: usize,
    pub trash: usize,
    pub groups: HashMap<Key, usize>,
}

pub(super) fn counts(d: &LibraryData, now: u64) -> Counts {
    let since = now.saturating_sub(RECENT_DAYS * 24 * 3600 * 1000);
    let mut c = Counts::default();
    for r in d.refs.references() {
        if r.trashed {
            c.trash += 1;
            continue;
        }
        c.all += 1;
        if r.groups.is_empty() {
            c.unfiled += 1;
        }
        if r.date_added >= since {
            c.recent += 1;
        }
    }
    c.groups = d.refs.custom_group_counts();
    let trashed = d.refs.ids_where(|r| r.trashed);
    for g in d.groups.values().filter(|g| g.kind != GroupKind::Custom) {
        if let Ok(mut ids) = d.refs.group_ids(&d.groups, g.key) {
            ids.and_not(&trashed);
            c.groups.insert(g.key, ids.count());
        }
    }
    c
}

/// What the group editor dialog is editing.
#[derive(Clone, Debug, PartialEq)]
enum Editing {
    NewGroup(Option<Key>),
    NewSet,
    Rename(Key),
    RenameSet(Key),
    Smart(Option<Group>),
    Combination(Option<Group>),
    ConfirmDelete(Key),
}

#[component]
pub fn LibraryNav() -> impl IntoView {
    let lib = use_library();
    let counts = lib.counts;
    // Found by the duplicates worker once the library is read (none until then).
    let duplicates = Signal::derive(move || {
        lib.duplicates.with(|sets| {
            sets.as_ref()
                .map(|s| s.iter().map(|set| set.keys.len()).sum())
        })
    });
    // A count only once the whole library is read: while it opens, what is in memory is the
    // newest few (or nothing), and "0" or "2000" beside All References would be wrong.
    let count = move |of: fn(&Counts) -> usize| {
        Signal::derive(move || {
            lib.load
                .with(|l| *l == LoadState::Ready)
                .then(|| counts.with(of))
        })
    };
    let editing = RwSignal::new(None::<Editing>);
    let collapsed = RwSignal::new(Vec::<Key>::new());

    let groups_in = move |set: Option<Key>| {
        lib.data.with(|d| {
            let mut gs = d.groups_sorted();
            gs.retain(|g| {
                g.set == set || (set.is_none() && g.set.is_some_and(|s| !d.sets.contains_key(&s)))
            });
            gs
        })
    };
    let sets = move || {
        lib.data.with(|d| {
            let mut s: Vec<GroupSet> = d.sets.values().cloned().collect();
            refsync_core::sort::sort_by_key(&mut s, |s| (s.name.to_lowercase(), s.key));
            s
        })
    };

    view! {
        <ul class="nav-tree" role="tree" aria-label="Collections">
            <FixedItem id="nav-all" collection=Collection::All label="All References" count=count(|c| c.all) count_id="count-all" />
            <FixedItem id="nav-unfiled" collection=Collection::Unfiled label="Unfiled" count=count(|c| c.unfiled) count_id="count-unfiled" />
            <FixedItem id="nav-recent" collection=Collection::Recent label="Recently Added" count=count(|c| c.recent) count_id="count-recent" />
            <FixedItem id="nav-duplicates" collection=Collection::Duplicates label="Possible Duplicates" count=duplicates count_id="count-duplicates" />
            <FixedItem id="nav-trash" collection=Collection::Trash label="Trash" count=count(|c| c.trash) count_id="count-trash" />
            <Show when=move || lib.data.with(|d| !d.conflicts.is_empty())>
                <FixedItem id="nav-conflicts" collection=Collection::Conflicts label="Sync Conflicts" count=Signal::derive(move || Some(lib.data.with(|d| d.conflicts.len()))) count_id="count-conflicts" />
            </Show>
        </ul>

        <div class="nav-section">
            <h2 class="pane-title">"My Groups"</h2>
            <div class="nav-actions" class:hidden=move || lib.read_only.with(Option::is_some)>
                <button id="new-group" class="link-btn" title="New group" on:click=move |_| editing.set(Some(Editing::NewGroup(None)))>"+ Group"</button>
                <button id="new-smart-group" class="link-btn" title="New smart group" on:click=move |_| editing.set(Some(Editing::Smart(None)))>"+ Smart"</button>
                <button id="new-combination-group" class="link-btn" title="New combination group" on:click=move |_| editing.set(Some(Editing::Combination(None)))>"+ Combination"</button>
                <button id="new-group-set" class="link-btn" title="New group set" on:click=move |_| editing.set(Some(Editing::NewSet))>"+ Set"</button>
            </div>
        </div>
        <ul id="group-tree" class="nav-tree" role="tree" aria-label="Groups">
            <For
                each=move || groups_in(None)
                key=|g: &Group| (g.key, g.name.clone(), serde_json::to_string(&g.kind).unwrap_or_default())
                children=move |g: Group| view! { <GroupItem group=g counts=counts editing=editing /> }
            />
            <For
                each=sets
                key=|s: &GroupSet| (s.key, s.name.clone())
                children=move |s: GroupSet| {
                    let key = s.key;
                    let open = move || !collapsed.with(|c| c.contains(&key));
                    let toggle = move || collapsed.update(|c| {
                        if let Some(i) = c.iter().position(|k| *k == key) {
                            c.remove(i);
                        } else {
                            c.push(key);
                        }
                    });
                    view! {
                        <li role="treeitem" class="nav-set" aria-expanded=move || open().to_string()>
                            <div class="nav-item set-item">
                                <button class="twisty" aria-label=move || if open() { "Collapse" } else { "Expand" } on:click=move |_| toggle()>
                                    {move || if open() { "▾" } else { "▸" }}
                                </button>
                                <span class="nav-label set-name" on:dblclick=move |_| editing.set(Some(Editing::RenameSet(key)))>{s.name.clone()}</span>
                                <span class="item-actions">
                                    <button class="icon-btn" title="New group in this set" aria-label="New group in this set" on:click=move |_| editing.set(Some(Editing::NewGroup(Some(key))))>"+"</button>
                                    <button class="icon-btn" title="Rename set" aria-label="Rename set" on:click=move |_| editing.set(Some(Editing::RenameSet(key)))>"✎"</button>
                                    <button class="icon-btn" title="Delete set (its groups are kept)" aria-label="Delete set" on:click=move |_| lib.delete_set(key)>"✕"</button>
                                </span>
                            </div>
                            <Show when=open>
                                <ul role="group" class="nav-tree nested">
                                    <For
                                        each=move || groups_in(Some(key))
                                        key=|g: &Group| (g.key, g.name.clone(), serde_json::to_string(&g.kind).unwrap_or_default())
                                        children=move |g: Group| view! { <GroupItem group=g counts=counts editing=editing /> }
                                    />
                                </ul>
                            </Show>
                        </li>
                    }
                }
            />
        </ul>
        <Show when={move || lib.data.with(|d| d.groups.is_empty() && d.sets.is_empty())}>
            <p class="nav-empty">"No groups yet. Make one with “+ Group”, then drag references onto it."</p>
        </Show>
        {move || editing.get().map(|e| {
            let close = Callback::new(move |_| editing.set(None));
            loaded(move || group_dialog(e.clone(), close))
        })}
    }
}

#[component]
fn FixedItem(
    id: &'static str,
    collection: Collection,
    label: &'static str,
    count: Signal<Option<usize>>,
    count_id: &'static str,
) -> impl IntoView {
    let lib = use_library();
    let selected = move || lib.collection.get() == collection;
    view! {
        <li
            id=id
            role="treeitem"
            tabindex="0"
            class="nav-item"
            class:selected=selected
            aria-selected=move || selected().to_string()
            on:click=move |_| choose(lib, collection)
            on:keydown=move |ev: KeyboardEvent| if ev.key() == "Enter" { choose(lib, collection) }
        >
            <span class="nav-label">{label}</span>
            <span id=count_id class="count">{move || count.get().map(|n| n.to_string())}</span>
        </li>
    }
}

fn choose(lib: Library, collection: Collection) {
    if lib.collection.get_untracked() != collection {
        lib.collection.set(collection);
        lib.selected.set(Vec::new());
        lib.anchor.set(None);
    }
}

#[component]
fn GroupItem(
    group: Group,
    counts: Memo<Counts>,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let lib = use_library();
    let key = group.key;
    let collection = Collection::Group(key);
    let selected = move || lib.collection.get() == collection;
    let drop_over = RwSignal::new(false);
    let custom = group.kind == GroupKind::Custom;
    let icon = match group.kind {
        GroupKind::Custom => "▣",
        GroupKind::Smart { .. } => "⚙",
        GroupKind::Combination { .. } => "⋂",
    };
    let kind_label = match group.kind {
        GroupKind::Custom => "group",
        GroupKind::Smart { .. } => "smart group",
        GroupKind::Combination { .. } => "combination group",
    };
    let edit_group = group.clone();
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        drop_over.set(false);
        if !custom {
            return;
        }
        let keys: Vec<Key> = ev
            .data_transfer()
            .and_then(|dt| dt.get_data(DRAG_TYPE).ok())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| Key::parse(l).ok())
            .collect();
        if !keys.is_empty() {
            lib.add_to_group(keys, key);
        }
    };
    view! {
        <li
            role="treeitem"
            tabindex="0"
            class="nav-item group-item"
            class:selected=selected
            class:drop-over=move || drop_over.get()
            aria-selected=move || selected().to_string()
            data-group=group.name.clone()
            title=format!("{} ({kind_label})", group.name)
            on:click=move |_| choose(lib, collection)
            on:keydown=move |ev: KeyboardEvent| match ev.key().as_str() {
                "Enter" => choose(lib, collection),
                "F2" => editing.set(Some(Editing::Rename(key))),
                _ => {}
            }
            on:dragover=move |ev: DragEvent| if custom {
                ev.prevent_default();
                drop_over.set(true);
            }
            on:dragleave=move |_| drop_over.set(false)
            on:drop=on_drop
        >
            <span class="group-icon" aria-hidden="true">{icon}</span>
            <span class="nav-label">{group.name.clone()}</span>
            <span class="count">{move || counts.with(|c| c.groups.get(&key).copied().unwrap_or(0)).to_string()}</span>
            <span class="item-actions">
                {(!custom).then(|| {
                    let g = edit_group.clone();
                    view! {
                        <button class="icon-btn" title="Edit" aria-label="Edit group" on:click=move |ev| {
                            ev.stop_propagation();
                            editing.set(Some(match g.kind {
                                GroupKind::Smart { .. } => Editing::Smart(Some(g.clone())),
                                _ => Editing::Combination(Some(g.clone())),
                            }));
                        }>"⚙"</button>
                    }
                })}
                <button class="icon-btn" title="Rename" aria-label="Rename group" on:click=move |ev| {
                    ev.stop_propagation();
                    editing.set(Some(Editing::Rename(key)));
                }>"✎"</button>
                <button class="icon-btn" title="Delete group" aria-label="Delete group" on:click=move |ev| {
                    ev.stop_propagation();
                    editing.set(Some(Editing::ConfirmDelete(key)));
                }>"✕"</button>
            </span>
        </li>
    }
}

later! { groups;
    /// Every dialog the left pane opens, loaded the first time one does.
    fn group_dialog(editing: Editing, close: Callback<()>) -> AnyView {
        view! { <GroupDialog editing=editing close=close /> }.into_any()
    }
}

/// Every dialog the left pane opens.
#[component]
fn GroupDialog(editing: Editing, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    match editing {
        Editing::NewGroup(set) => view! {
            <NameDialog id="group-dialog" title="New group" label="Group name" initial=String::new() close=close
                save=Callback::new(move |name: String| {
                    spawn_local(async move {
                        match lib.create_group(name, GroupKind::Custom, set).await {
                            Ok(key) => choose(lib, Collection::Group(key)),
                            Err(e) => lib.fail(e.to_string()),
                        }
                    });
                }) />
        }
        .into_any(),
        Editing::NewSet => view! {
            <NameDialog id="group-dialog" title="New group set" label="Set name" initial=String::new() close=close
                save=Callback::new(move |name: String| {
                    spawn_local(async move {
                        if let Err(e) = lib.create_set(name).await {
                            lib.fail(e.to_string());
                        }
                    });
                }) />
        }
        .into_any(),
        Editing::Rename(key) => {
            let Some(group) = lib.data.with_untracked(|d| d.groups.get(&key).cloned()) else {
                return ().into_any();
            };
            view! { <GroupSettingsDialog group=group close=close /> }.into_any()
        }
        Editing::RenameSet(key) => {
            let Some(set) = lib.data.with_untracked(|d| d.sets.get(&key).cloned()) else {
                return ().into_any();
            };
            view! {
                <NameDialog id="group-dialog" title="Rename group set" label="Set name" initial=set.name.clone() close=close
                    save=Callback::new(move |name: String| {
                        let mut s = set.clone();
                        s.name = name;
                        lib.save_set(s);
                    }) />
            }
            .into_any()
        }
        Editing::ConfirmDelete(key) => {
            let name = lib.group_name(key);
            view! {
                <ConfirmDialog
                    id="confirm-dialog"
                    confirm_id="confirm-delete"
                    title="Delete group?"
                    text=format!("Delete the group “{name}”? The references in it stay in your library.")
                    confirm="Delete group"
                    danger=true
                    on_confirm=Callback::new(move |_| lib.delete_group(key))
                    on_close=close
                />
            }
            .into_any()
        }
        Editing::Smart(group) => view! { <SmartGroupDialog group=group close=close /> }.into_any(),
        Editing::Combination(group) => {
            view! { <CombinationDialog group=group close=close /> }.into_any()
        }
    }
}

/// Rename a group and choose the group set it is shown in.
#[component]
fn GroupSettingsDialog(group: Group, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let name = RwSignal::new(group.name.clone());
    let set = RwSignal::new(group.set.map(|k| k.to_string()).unwrap_or_default());
    let error = RwSignal::new(None::<&'static str>);
    let sets = lib.data.with_untracked(|d| {
        let mut s: Vec<GroupSet> = d.sets.values().cloned().collect();
        refsync_core::sort::sort_by_key(&mut s, |s| s.name.to_lowercase());
        s
    });
    let current = group.set;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            error.set(Some("Give it a name."));
            return;
        }
        let mut g = group.clone();
        g.name = n;
        g.set = Key::parse(&set.get_untracked()).ok();
        lib.save_group(g);
        close.run(());
    };
    view! {
        <Modal id="group-dialog" title="Group" on_close=close>
            <form class="form" on:submit=submit>
                <label for="name-input">"Group name"</label>
                <input id="name-input" type="text" maxlength="200" bind:value=name />
                <label for="group-set">"Shown in"</label>
                <select id="group-set" on:change=move |ev| set.set(event_target_value(&ev))>
                    <option value="" selected={current.is_none()}>"My Groups (no set)"</option>
                    {sets.into_iter().map(|s| {
                        let here = current == Some(s.key);
                        view! { <option value=s.key.to_string() selected=here>{s.name}</option> }
                    }).collect_view()}
                </select>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="name-save" type="submit" class="btn btn-primary">"Save"</button>
                </DialogFooter>
            </form>
        </Modal>
    }
}

#[component]
fn NameDialog(
    id: &'static str,
    title: &'static str,
    label: &'static str,
    initial: String,
    close: Callback<()>,
    save: Callback<String>,
) -> impl IntoView {
    let name = RwSignal::new(initial);
    let error = RwSignal::new(None::<&'static str>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            error.set(Some("Give it a name."));
            return;
        }
        save.run(n);
        close.run(());
    };
    view! {
        <Modal id=id title=title on_close=close>
            <form class="form" on:submit=submit>
                <label for="name-input">{label}</label>
                <input id="name-input" type="text" maxlength="200" bind:value=name />
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="name-save" type="submit" class="btn btn-primary">"Save"</button>
                </DialogFooter>
            </form>
        </Modal>
    }
}

/// Save an edited smart or combination group, or make a new one and show it.
fn save_or_create(lib: Library, existing: Option<Group>, name: String, kind: GroupKind) {
    match existing {
        Some(mut g) => {
            g.name = name;
            g.kind = kind;
            lib.save_group(g);
        }
        None => spawn_local(async move {
            match lib.create_group(name, kind, None).await {
                Ok(key) => choose(lib, Collection::Group(key)),
                Err(e) => lib.fail(e.to_string()),
            }
        }),
    }
}

/// The fields a smart group's line can search, as EndNote's search form lists them.
fn criterion_fields() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = vec![
        ("any_field".into(), "Any Field"),
        ("author".into(), "Author"),
        ("editor".into(), "Editor"),
        ("keywords".into(), "Keywords"),
        ("type".into(), "Reference Type"),
        ("date_added".into(), "Added to Library"),
        ("date_modified".into(), "Last Updated"),
    ];
    for f in [
        Field::Title,
        Field::Year,
        Field::SecondaryTitle,
        Field::Abstract,
        Field::Notes,
        Field::Publisher,
        Field::Doi,
        Field::Label,
        Field::Volume,
        Field::Pages,
        Field::Isbn,
        Field::Url,
    ] {
        out.push((f.id().to_string(), f.label()));
    }
    out
}

const OPS: [(Op, &str, &str); 6] = [
    (Op::Contains, "contains", "Contains"),
    (Op::Is, "is", "Is"),
    (Op::BeginsWith, "begins_with", "Begins with"),
    (Op::GreaterThan, "greater_than", "Is greater than"),
    (Op::LessThan, "less_than", "Is less than"),
    (Op::IsEmpty, "is_empty", "Is empty"),
];

#[component]
fn SmartGroupDialog(group: Option<Group>, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let name = RwSignal::new(group.as_ref().map(|g| g.name.clone()).unwrap_or_default());
    let initial = match group.as_ref().map(|g| &g.kind) {
        Some(GroupKind::Smart { criteria }) => criteria.clone(),
        _ => vec![Criterion {
            connector: Connector::And,
            field: "any_field".into(),
            op: Op::Contains,
            value: String::new(),
        }],
    };
    let rows = RwSignal::new(initial);
    let error = RwSignal::new(None::<&'static str>);
    let matches = Memo::new(move |_| {
        let criteria = rows.get();
        lib.data.with(|d| {
            let mut ids = d.refs.criteria_ids(&criteria);
            ids.and_not(&d.refs.ids_where(|r| r.trashed));
            ids.count()
        })
    });
    let existing = group.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            error.set(Some("Give the smart group a name."));
            return;
        }
        let kind = GroupKind::Smart {
            criteria: rows.get_untracked(),
        };
        save_or_create(lib, existing.clone(), n, kind);
        close.run(());
    };
    let fields = criterion_fields();
    view! {
        <Modal id="smart-group-dialog" title=if group.is_some() { "Edit smart group" } else { "New smart group" } on_close=close wide=true>
            <form class="form" on:submit=submit>
                <label for="smart-name">"Name"</label>
                <input id="smart-name" type="text" maxlength="200" bind:value=name />
                <p class="hint">"References matching these lines join the group by themselves, now and as the library changes."</p>
                <div class="criteria" role="list">
                    {move || rows.get().into_iter().enumerate().map(|(i, c)| {
                        let fields = fields.clone();
                        let set = move |f: &dyn Fn(&mut Criterion)| rows.update(|r| if let Some(c) = r.get_mut(i) { f(c) });
                        view! {
                            <div class="criterion" role="listitem">
                                {if i == 0 {
                                    view! { <span class="connector-first">"Where"</span> }.into_any()
                                } else {
                                    view! {
                                        <select aria-label="Connector" on:change=move |ev| {
                                            let v = event_target_value(&ev);
                                            set(&|c| c.connector = match v.as_str() { "or" => Connector::Or, "not" => Connector::Not, _ => Connector::And });
                                        }>
                                            <option value="and" selected={c.connector == Connector::And}>"And"</option>
                                            <option value="or" selected={c.connector == Connector::Or}>"Or"</option>
                                            <option value="not" selected={c.connector == Connector::Not}>"Not"</option>
                                        </select>
                                    }.into_any()
                                }}
                                <select class="criterion-field" aria-label="Field" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set(&|c| c.field = v.clone());
                                }>
                                    {fields.iter().map(|(id, label)| view! {
                                        <option value=id.clone() selected={*id == c.field}>{*label}</option>
                                    }).collect_view()}
                                </select>
                                <select class="criterion-op" aria-label="Condition" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set(&|c| c.op = OPS.iter().find(|o| o.1 == v).map_or(Op::Contains, |o| o.0));
                                }>
                                    {OPS.iter().map(|(op, id, label)| view! {
                                        <option value=*id selected={*op == c.op}>{*label}</option>
                                    }).collect_view()}
                                </select>
                                <input class="criterion-value" type="text" aria-label="Value" prop:value=c.value.clone()
                                    on:change=move |ev| {
                                        let v = event_target_value(&ev);
                                        set(&|c| c.value = v.clone());
                                    } />
                                <button type="button" class="icon-btn" aria-label="Remove line" disabled={move || rows.with(|r| r.len() < 2)}
                                    on:click=move |_| rows.update(|r| { if r.len() > 1 { r.remove(i); } })>"−"</button>
                            </div>
                        }
                    }).collect_view()}
                </div>
                <div class="row-actions">
                    <button type="button" class="btn" on:click=move |_| rows.update(|r| r.push(Criterion {
                        connector: Connector::And,
                        field: "any_field".into(),
                        op: Op::Contains,
                        value: String::new(),
                    }))>"Add line"</button>
                    <span id="smart-matches" class="hint">{move || format!("{} matching now", matches.get())}</span>
                </div>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="smart-save" type="submit" class="btn btn-primary">"Save"</button>
                </DialogFooter>
            </form>
        </Modal>
    }
}

#[component]
fn CombinationDialog(group: Option<Group>, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let name = RwSignal::new(group.as_ref().map(|g| g.name.clone()).unwrap_or_default());
    let parsed = match group.as_ref().map(|g| &g.kind) {
        Some(GroupKind::Combination { expression }) => expression.parts(),
        _ => Some((true, vec![], vec![])),
    };
    let editable = parsed.is_some();
    let (all0, inc0, exc0) = parsed.unwrap_or((true, vec![], vec![]));
    let all = RwSignal::new(all0);
    let included = RwSignal::new(inc0);
    let excluded = RwSignal::new(exc0);
    let error = RwSignal::new(None::<&'static str>);
    let own_key = group.as_ref().map(|g| g.key);
    let others = move || {
        lib.data.with(|d| {
            let mut gs = d.groups_sorted();
            gs.retain(|g| Some(g.key) != own_key);
            gs
        })
    };
    let existing = group.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            error.set(Some("Give the combination group a name."));
            return;
        }
        let kind = if editable {
            let Some(expression) = GroupExpr::from_parts(
                all.get_untracked(),
                &included.get_untracked(),
                &excluded.get_untracked(),
            ) else {
                error.set(Some("Tick at least one group to combine."));
                return;
            };
            GroupKind::Combination { expression }
        } else {
            existing
                .as_ref()
                .map(|g| g.kind.clone())
                .unwrap_or_default()
        };
        save_or_create(lib, existing.clone(), n, kind);
        close.run(());
    };
    let toggle = move |list: RwSignal<Vec<Key>>, k: Key| {
        list.update(|l| {
            if let Some(i) = l.iter().position(|x| *x == k) {
                l.remove(i);
            } else {
                l.push(k);
            }
        })
    };
    view! {
        <Modal id="combination-dialog" title=if group.is_some() { "Edit combination group" } else { "New combination group" } on_close=close wide=true>
            <form class="form" on:submit=submit>
                <label for="combination-name">"Name"</label>
                <input id="combination-name" type="text" maxlength="200" bind:value=name />
                {if editable {
                    view! {
                        <fieldset class="combo">
                            <legend>
                                "References in "
                                <select aria-label="All or any" on:change=move |ev| all.set(event_target_value(&ev) == "all")>
                                    <option value="all" selected=all.get_untracked()>"all"</option>
                                    <option value="any" selected={!all.get_untracked()}>"any"</option>
                                </select>
                                " of these groups:"
                            </legend>
                            <For each=others key=|g: &Group| g.key children=move |g: Group| {
                                let k = g.key;
                                view! {
                                    <label class="check"><input type="checkbox" class="combo-include" data-group=g.name.clone() prop:checked=move || included.with(|l| l.contains(&k)) on:change=move |_| toggle(included, k) />{g.name.clone()}</label>
                                }
                            } />
                        </fieldset>
                        <fieldset class="combo">
                            <legend>"…and in none of these:"</legend>
                            <For each=others key=|g: &Group| g.key children=move |g: Group| {
                                let k = g.key;
                                view! {
                                    <label class="check"><input type="checkbox" class="combo-exclude" data-group=g.name.clone() prop:checked=move || excluded.with(|l| l.contains(&k)) on:change=move |_| toggle(excluded, k) />{g.name.clone()}</label>
                                }
                            } />
                        </fieldset>
                    }.into_any()
                } else {
                    view! { <p class="hint">"This combination was made in another app; it is kept as it is. You can rename it here."</p> }.into_any()
                }}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <DialogFooter>
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button id="combination-save" type="submit" class="btn btn-primary">"Save"</button>
                </DialogFooter>
            </form>
        </Modal>
    }
}
