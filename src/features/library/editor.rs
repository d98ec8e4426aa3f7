//! The reference editor: every field of the reference's type, creators, keywords, groups,
//! attachments and the figure, saved as the person types.
//!
//! Invariants: an edit is saved within [`SAVE_DELAY_MS`] of the last keystroke, and at once
//! when the editor closes (another reference chosen), so nothing typed is lost; while an edit
//! waits to be saved, changes arriving from elsewhere do not overwrite what is being typed;
//! otherwise the editor shows the library's current copy.

use super::{use_library, Library, SaveState};
use crate::browser;
use crate::storage::Write;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::edit::actions;
use refsync_core::protocol::Object;
use refsync_core::{
    Attachment, AttachmentRole, Creator, CreatorRole, Field, Group, Key, Name, RefType, Reference,
};
use std::rc::Rc;
use std::time::Duration;

/// How long after the last keystroke an edit is saved.
pub const SAVE_DELAY_MS: u64 = 400;

const ROLES: [(CreatorRole, &str); 6] = [
    (CreatorRole::Author, "Author"),
    (CreatorRole::Editor, "Editor"),
    (CreatorRole::Translator, "Translator"),
    (CreatorRole::SeriesEditor, "Series Editor"),
    (CreatorRole::BookAuthor, "Book Author"),
    (CreatorRole::Contributor, "Contributor"),
];

/// The edit waiting to be saved, shared by the timer and the editor's clean-up: the library's
/// copy the draft started from, and the draft. Saved as a change from the one to the other, so
/// that what a sync brought meanwhile to fields not typed in stays.
type Pending = StoredValue<Option<(Reference, Reference)>>;

/// Apply an edit to the draft (and schedule its save): a `Copy` handle, so every view
/// closure can hold it.
type Edit = StoredValue<Rc<dyn Fn(&dyn Fn(&mut Reference))>, LocalStorage>;

fn apply(edit: Edit, f: &dyn Fn(&mut Reference)) {
    if let Some(e) = edit.try_get_value() {
        e(f);
    }
}

fn save(lib: Library, pending: Pending) {
    let Some((from, mut r)) = pending.try_update_value(Option::take).flatten() else {
        return;
    };
    r.date_modified = browser::now_millis();
    lib.save_state.set(SaveState::Saving);
    spawn_local(async move {
        let write = Write::change(Object::Reference(from), Object::Reference(r));
        match lib.commit(vec![write]).await {
            Ok(()) => lib.save_state.set(SaveState::Saved),
            Err(e) => {
                lib.save_state.set(SaveState::Failed);
                lib.fail(e.to_string());
            }
        }
    });
}

#[component]
pub fn ReferenceEditor(key: Key) -> impl IntoView {
    let lib = use_library();
    let Some(initial) = lib.get_untracked(&key) else {
        return ().into_any();
    };
    // The library's copy the draft follows: what a save is a change from.
    let origin = StoredValue::new(initial.clone());
    let draft = RwSignal::new(initial);
    let pending: Pending = StoredValue::new(None);
    let generation = StoredValue::new(0u64);
    lib.save_state.set(SaveState::Idle);

    // Follow the library's copy while nothing typed here waits to be saved.
    Effect::new(move |_| {
        let current = lib.get(&key);
        if let Some(current) = current {
            let typing = pending.try_with_value(Option::is_some).unwrap_or(true);
            if !typing {
                if draft.with_untracked(|d| *d != current) {
                    draft.set(current.clone());
                }
                origin.set_value(current);
            }
        }
    });

    // Cleanups run before the editor's values are dropped: the last edit is still there.
    on_cleanup(move || save(lib, pending));

    let edit: Edit = StoredValue::new_local(Rc::new(move |f: &dyn Fn(&mut Reference)| {
        draft.update(|r| f(r));
        pending.set_value(Some((origin.get_value(), draft.get_untracked())));
        lib.save_state.set(SaveState::Pending);
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                // A later keystroke restarted the wait; its timer saves.
                if generation.try_get_value() == Some(mine) {
                    save(lib, pending);
                }
            },
            Duration::from_millis(SAVE_DELAY_MS),
        );
    }));

    let ref_type = move || draft.with(|r| r.ref_type);
    let trashed = move || draft.with(|r| r.trashed);
    // The type's fields, then any other field this reference holds text in (kept from
    // another type or an import), so nothing it holds is hidden.
    let fields = move || {
        let mut list: Vec<Field> = ref_type()
            .fields()
            .into_iter()
            .filter(|f| *f != Field::Title)
            .collect();
        draft.with(|r| {
            for (id, value) in &r.fields {
                if let Some(f) = Field::from_id(id) {
                    if f != Field::Title && !value.is_empty() && !list.contains(&f) {
                        list.push(f);
                    }
                }
            }
        });
        list
    };

    view! {
        <article id="reference-editor" class="detail editor" aria-label="Reference">
            <div class="editor-head">
                <select
                    id="ref-type-edit"
                    class="type-select"
                    aria-label="Reference type"
                    on:change=move |ev| {
                        let t = RefType::from_id(&event_target_value(&ev));
                        apply(edit, &|r| r.ref_type = t);
                    }
                >
                    {RefType::ALL.iter().map(|t| {
                        let t = *t;
                        view! { <option value=t.id() selected={move || ref_type() == t}>{t.label()}</option> }
                    }).collect_view()}
                </select>
                <span id="save-state" class="save-state" role="status" aria-live="polite">
                    {move || match lib.save_state.get() {
                        SaveState::Idle => "",
                        SaveState::Pending => "Editing…",
                        SaveState::Saving => "Saving…",
                        SaveState::Saved => "Saved",
                        SaveState::Failed => "Not saved",
                    }}
                </span>
            </div>
            <Show when=trashed>
                <p class="banner">"This reference is in the Trash."</p>
            </Show>
            <label class="field-label" for="field-title">{move || ref_type().field_label(Field::Title)}</label>
            <textarea
                id="field-title"
                class="title-input"
                rows="2"
                prop:value=move || draft.with(|r| r.title().to_string())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    apply(edit, &|r| r.set(Field::Title, v.clone()));
                }
            ></textarea>

            <CreatorsEditor draft=draft edit=edit />

            <div class="field-grid">
                <For
                    each=fields
                    key=|f: &Field| *f
                    children=move |f: Field| {
                        let id = format!("field-{}", f.id());
                        let value = move || draft.with(|r| r.get(f).to_string());
                        let label = move || ref_type().field_label(f);
                        let input = move |ev: leptos::ev::Event| {
                            let v = event_target_value(&ev);
                            apply(edit, &|r| r.set(f, v.clone()));
                        };
                        view! {
                            <label class="field-label" for=id.clone()>{label}</label>
                            {if f.is_multiline() {
                                view! { <textarea id=id rows="3" prop:value=value on:input=input></textarea> }.into_any()
                            } else {
                                view! { <input id=id type="text" prop:value=value on:input=input /> }.into_any()
                            }}
                        }
                    }
                />
                <label class="field-label" for="field-keywords">"Keywords"</label>
                <textarea
                    id="field-keywords"
                    rows="3"
                    placeholder="One per line"
                    prop:value=move || draft.with(|r| r.keywords.join("\n"))
                    on:input=move |ev| {
                        // Kept line for line while typing (an empty line is where the next
                        // keyword goes); tidied by core's rule when the box is left.
                        let v = event_target_value(&ev);
                        let words: Vec<String> = v.lines().map(str::to_string).collect();
                        apply(edit, &|r| r.keywords = words.clone());
                    }
                    on:change=move |ev| {
                        let words = actions::keywords(&event_target_value(&ev));
                        apply(edit, &|r| r.keywords = words.clone());
                    }
                ></textarea>
                <span class="field-label">"Read"</span>
                <label class="check">
                    <input id="field-read" type="checkbox" prop:checked=move || draft.with(|r| r.read)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            apply(edit, &|r| r.read = on);
                        } />
                    "I have read it"
                </label>
                <label class="field-label" for="field-rating">"Rating"</label>
                <select id="field-rating" on:change=move |ev| {
                    let n: u8 = event_target_value(&ev).parse().unwrap_or(0);
                    apply(edit, &|r| r.rating = n.min(5));
                }>
                    {(0..=5u8).map(|n| view! {
                        <option value=n.to_string() selected={move || draft.with(|r| r.rating == n)}>
                            {if n == 0 { "Not rated".to_string() } else { "★".repeat(n.into()) }}
                        </option>
                    }).collect_view()}
                </select>
            </div>

            <GroupsEditor draft=draft edit=edit />
            <AttachmentsEditor key=key />
            <Extras draft=draft />

            <div class="editor-actions">
                <button id="duplicate-reference" class="btn" on:click=move |_| duplicate(lib, key)>"Duplicate"</button>
                {move || if trashed() {
                    view! {
                        <button id="restore-reference" class="btn" on:click=move |_| lib.restore(vec![key])>"Restore"</button>
                    }.into_any()
                } else {
                    view! {
                        <button id="trash-reference" class="btn" on:click=move |_| lib.trash(vec![key])>"Move to Trash"</button>
                    }.into_any()
                }}
            </div>
            <p class="dates hint">
                {move || draft.with(|r| format!(
                    "Added {} · Last updated {}",
                    super::list::date_text(r.date_added),
                    super::list::date_text(r.date_modified.max(r.date_added))
                ))}
            </p>
        </article>
    }
    .into_any()
}

#[component]
fn CreatorsEditor(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let count = move || draft.with(|r| r.creators.len());
    view! {
        <fieldset class="creators-edit">
            <legend>"Authors and other creators"</legend>
            <ol id="creators" class="creator-list">
                {move || (0..count()).map(|i| view! { <CreatorRow draft=draft index=i edit=edit /> }).collect_view()}
            </ol>
            <button id="add-creator" type="button" class="btn btn-small" on:click=move |_| {
                apply(edit, &|r| r.creators.push(Creator { role: CreatorRole::Author, name: Name::person("", "") }));
                // Focus the new row's first box, so typing can start at once.
                set_timeout(|| {
                    let input = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.query_selector("#creators li:last-child input").ok().flatten())
                        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
                    if let Some(i) = input {
                        let _ = i.focus();
                    }
                }, Duration::from_millis(0));
            }>"Add creator"</button>
        </fieldset>
    }
}

#[component]
fn CreatorRow(draft: RwSignal<Reference>, index: usize, edit: Edit) -> impl IntoView {
    let creator = move || draft.with(|r| r.creators.get(index).cloned());
    let is_literal = move || matches!(creator().map(|c| c.name), Some(Name::Literal(_)));
    let part = move |which: u8| {
        move || match creator().map(|c| c.name) {
            Some(Name::Person {
                family,
                given,
                particle,
                ..
            }) => match which {
                0 if particle.is_empty() => family,
                0 => format!("{particle} {family}"),
                _ => given,
            },
            Some(Name::Literal(n)) if which == 0 => n,
            _ => String::new(),
        }
    };
    let set_name = {
        move |which: u8, value: String| {
            apply(edit, &|r| {
                if let Some(c) = r.creators.get_mut(index) {
                    match &mut c.name {
                        Name::Person {
                            family,
                            given,
                            particle,
                            ..
                        } => {
                            if which == 0 {
                                *family = value.clone();
                                particle.clear();
                            } else {
                                *given = value.clone();
                            }
                        }
                        Name::Literal(n) => *n = value.clone(),
                    }
                }
            })
        }
    };
    let last = move || draft.with(|r| r.creators.len()).saturating_sub(1);
    view! {
        <li class="creator-row" class:literal=is_literal>
            <select class="creator-role" aria-label="Role" on:change=move |ev| {
                let v = event_target_value(&ev);
                let role = ROLES.iter().find(|(_, l)| *l == v).map_or(CreatorRole::Author, |r| r.0);
                apply(edit, &|r| if let Some(c) = r.creators.get_mut(index) { c.role = role });
            }>
                {ROLES.iter().map(|(role, label)| {
                    let role = *role;
                    view! { <option value=*label selected={move || creator().is_some_and(|c| c.role == role)}>{*label}</option> }
                }).collect_view()}
            </select>
            <input class="creator-family" type="text"
                placeholder=move || if is_literal() { "Organisation name" } else { "Family name" }
                aria-label=move || if is_literal() { "Organisation name" } else { "Family name" }
                prop:value=part(0)
                on:input=move |ev| set_name(0, event_target_value(&ev)) />
            <Show when={move || !is_literal()}>
                <input class="creator-given" type="text" placeholder="Given names" aria-label="Given names"
                    prop:value=part(1)
                    on:input=move |ev| set_name(1, event_target_value(&ev)) />
            </Show>
            <span class="creator-tools">
                <button type="button" class="icon-btn" title="Person or organisation"
                    aria-label=move || if is_literal() { "Make it a person" } else { "Make it an organisation" }
                    on:click=move |_| apply(edit, &|r| if let Some(c) = r.creators.get_mut(index) {
                        c.name = match &c.name {
                            Name::Literal(n) => refsync_core::parse_name(n),
                            person => Name::Literal(person.to_string()),
                        };
                    })>
                    {move || if is_literal() { "Org" } else { "Person" }}
                </button>
                <button type="button" class="icon-btn" aria-label="Move up" disabled={move || index == 0}
                    on:click=move |_| apply(edit, &|r| if index > 0 && index < r.creators.len() { r.creators.swap(index - 1, index) })>"↑"</button>
                <button type="button" class="icon-btn" aria-label="Move down" disabled={move || index >= last()}
                    on:click=move |_| apply(edit, &|r| if index + 1 < r.creators.len() { r.creators.swap(index, index + 1) })>"↓"</button>
                <button type="button" class="icon-btn creator-remove" aria-label="Remove"
                    on:click=move |_| apply(edit, &|r| if index < r.creators.len() { r.creators.remove(index); })>"×"</button>
            </span>
        </li>
    }
}

#[component]
fn GroupsEditor(draft: RwSignal<Reference>, edit: Edit) -> impl IntoView {
    let lib = use_library();
    let member_of = move || {
        let keys = draft.with(|r| r.groups.clone());
        lib.data.with(|d| {
            let mut gs: Vec<Group> = keys
                .iter()
                .filter_map(|k| d.groups.get(k).cloned())
                .collect();
            refsync_core::sort::sort_by_key(&mut gs, |g| g.name.to_lowercase());
            gs
        })
    };
    let others = move || {
        let keys = draft.with(|r| r.groups.clone());
        lib.data.with(|d| {
            let mut gs = d.custom_groups();
            gs.retain(|g| !keys.contains(&g.key));
            gs
        })
    };
    view! {
        <section class="editor-section">
            <h3>"Groups"</h3>
            <ul id="reference-groups" class="chips">
                <For each=member_of key=|g: &Group| (g.key, g.name.clone()) children=move |g: Group| {
                    let k = g.key;
                    view! {
                        <li class="chip">
                            {g.name.clone()}
                            <button type="button" class="chip-x" aria-label=format!("Remove from {}", g.name)
                                on:click=move |_| apply(edit, &|r| { r.groups.remove(&k); })>"×"</button>
                        </li>
                    }
                } />
            </ul>
            <select id="editor-add-group" aria-label="Add to group" prop:value="" on:change=move |ev| {
                if let Ok(k) = Key::parse(&event_target_value(&ev)) {
                    apply(edit, &|r| { r.groups.insert(k); });
                }
                let el: web_sys::HtmlSelectElement = event_target(&ev);
                el.set_value("");
            }>
                <option value="">"Add to group…"</option>
                <For each=others key=|g: &Group| (g.key, g.name.clone()) children=|g: Group| view! {
                    <option value=g.key.to_string()>{g.name.clone()}</option>
                } />
            </select>
        </section>
    }
}

/// Imported fields refsync has no place for, shown so nothing seems lost (export writes them
/// back).
#[component]
fn Extras(draft: RwSignal<Reference>) -> impl IntoView {
    let extras = move || {
        draft.with(|r| {
            r.extras_in_order()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <Show when={move || !extras().is_empty()}>
            <section class="editor-section">
                <h3>"Other imported fields"</h3>
                <dl class="fields">
                    {move || extras().into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            </section>
        </Show>
    }
}

#[component]
fn AttachmentsEditor(key: Key) -> impl IntoView {
    let lib = use_library();
    let busy = RwSignal::new(false);
    let list = move || {
        lib.data.with(|d| {
            d.refs
                .get(&key)
                .map(|r| {
                    r.attachments
                        .iter()
                        .filter_map(|a| d.attachments.get(a).cloned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let files = move || {
        let mut l = list();
        l.retain(|a| a.role == AttachmentRole::File);
        l
    };
    let figure = move || {
        list()
            .into_iter()
            .find(|a| a.role == AttachmentRole::Figure)
    };
    let add = move |role: AttachmentRole, ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let picked = browser::files_of(input.files());
        input.set_value("");
        busy.set(true);
        spawn_local(async move {
            for file in picked {
                if let Err(e) = attach(lib, key, &file, role).await {
                    lib.fail(e);
                }
            }
            busy.set(false);
        });
    };
    view! {
        <section class="editor-section">
            <h3>"Attachments"</h3>
            <ul id="attachments" class="attachments">
                <For each=files key=|a: &Attachment| a.key children=move |a: Attachment| view! { <AttachmentRow attachment=a /> } />
            </ul>
            <label class="btn btn-small file-btn">
                "Attach file…"
                <input id="attach-file" type="file" multiple on:change=move |ev| add(AttachmentRole::File, ev) />
            </label>
            <h3>"Figure"</h3>
            {move || match figure() {
                Some(a) => view! { <ul id="figure" class="attachments"><AttachmentRow attachment=a /></ul> }.into_any(),
                None => view! {
                    <label class="btn btn-small file-btn">
                        "Add figure…"
                        <input id="attach-figure" type="file" accept="image/*" on:change=move |ev| add(AttachmentRole::Figure, ev) />
                    </label>
                }.into_any(),
            }}
            <Show when=move || busy.get()>
                <p class="hint">"Adding…"</p>
            </Show>
        </section>
    }
}

/// What to do with an attachment's bytes once read (open them, save them).
type BlobAction = Box<dyn Fn(&web_sys::Blob) -> Result<(), String>>;

#[component]
fn AttachmentRow(attachment: Attachment) -> impl IntoView {
    let lib = use_library();
    let a = attachment.clone();
    let sha_open = a.sha256.clone();
    let sha_down = a.sha256.clone();
    let name_down = a.file_name.clone();
    let with_blob = move |sha: String, then: BlobAction| {
        spawn_local(async move {
            let found = match lib.open_store() {
                Ok(store) => store.get_blob(&sha).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match found {
                Ok(Some(blob)) => {
                    if let Err(e) = then(&blob) {
                        lib.fail(format!("Could not open the file: {e}."));
                    }
                }
                Ok(None) => lib
                    .fail("This file's bytes are not in this browser yet; sync to download them."),
                Err(e) => lib.fail(e),
            }
        })
    };
    let size = human_size(a.size);
    view! {
        <li class="attachment">
            <span class="attachment-name" title=a.file_name.clone()>{a.file_name.clone()}</span>
            <span class="hint">{size}</span>
            <button type="button" class="link-btn" on:click={
                move |_| with_blob(sha_open.clone(), Box::new(browser::open_blob))
            }>"Open"</button>
            <button type="button" class="link-btn" on:click=move |_| {
                let name = name_down.clone();
                with_blob(sha_down.clone(), Box::new(move |b| browser::download_blob(&name, b)))
            }>"Download"</button>
            <button type="button" class="link-btn danger" on:click=move |_| remove_attachment(lib, attachment.clone())>"Remove"</button>
        </li>
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 512) / 1024),
        b => format!("{} MB", crate::features::ui::tenths(b, 1024 * 1024)),
    }
}

/// Keep a picked file as an attachment (or the figure) of the reference `parent`.
async fn attach(
    lib: Library,
    parent: Key,
    file: &web_sys::File,
    role: AttachmentRole,
) -> Result<(), String> {
    let bytes = browser::read_file(file).await?;
    let sha256 = browser::sha256_hex(&bytes).await?;
    let store = lib.open_store().map_err(|e| e.to_string())?;
    store
        .put_blob(&sha256, file)
        .await
        .map_err(|e| e.to_string())?;
    let now = browser::now_millis();
    let media_type = match file.type_() {
        t if t.is_empty() => "application/octet-stream".to_string(),
        t => t,
    };
    let attachment = Attachment {
        key: browser::new_key(),
        parent,
        file_name: file.name(),
        media_type,
        size: bytes.len() as u64,
        sha256,
        role,
        caption: String::new(),
        date_modified: now,
    };
    let writes = lib
        .data
        .with_untracked(|d| actions::attach(d, attachment, now))?;
    lib.commit(writes).await.map_err(|e| e.to_string())?;
    lib.tell(format!("Attached “{}”.", file.name()));
    Ok(())
}

fn remove_attachment(lib: Library, a: Attachment) {
    let Some(deletion) = lib
        .data
        .with_untracked(|d| actions::detach(d, a.key, browser::now_millis()))
    else {
        return;
    };
    spawn_local(async move {
        match lib.commit(deletion.writes).await {
            Ok(()) => {
                lib.free_blobs(deletion.freed).await;
                lib.tell(format!("Removed “{}”.", a.file_name));
            }
            Err(e) => lib.fail(e.to_string()),
        }
    });
}

/// A copy of the reference (new key, added now), without its attachments, shown at once.
fn duplicate(lib: Library, key: Key) {
    let Some(mut copy) = lib.get_untracked(&key) else {
        return;
    };
    let now = browser::now_millis();
    copy.key = browser::new_key();
    copy.attachments.clear();
    copy.trashed = false;
    copy.date_added = now;
    copy.date_modified = now;
    spawn_local(async move {
        match lib.add(copy).await {
            Ok(()) => lib.tell("Made a copy; it is selected now."),
            Err(e) => lib.fail(e.to_string()),
        }
    });
}
