//! A reference's attachments and figure: each file opened, saved or removed, and new ones
//! picked; the bytes stay in this browser (and upload with the next sync).

use crate::browser;
use crate::features::library::{use_library, Library, SaveState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::edit::actions;
use refsync_core::{Attachment, AttachmentRole, Key};

#[component]
pub fn AttachmentsEditor(key: Key) -> impl IntoView {
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
    // Only the figure's key: the block is rebuilt when the figure is replaced, never while
    // the person types its caption (each keystroke saves, and so changes the library).
    let figure = Memo::new(move |_| {
        list()
            .into_iter()
            .find(|a| a.role == AttachmentRole::Figure)
            .map(|a| a.key)
    });
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
            {move || match figure.get() {
                Some(k) => view! { <FigureBlock key=k /> }.into_any(),
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

/// The figure: its row, a preview of the image (once its bytes are in this browser) and its
/// caption, saved as it is typed and synced like any edit.
#[component]
fn FigureBlock(key: Key) -> impl IntoView {
    let lib = use_library();
    let current = move || lib.data.with(|d| d.attachments.get(&key).cloned());
    let Some(figure) = lib
        .data
        .with_untracked(|d| d.attachments.get(&key).cloned())
    else {
        return ().into_any();
    };
    let caption = RwSignal::new(figure.caption.clone());
    // A caption changed elsewhere (a sync, another tab) shows here, but never while the
    // person is typing in the box: a save of an earlier keystroke landing then would take
    // back the letters typed since.
    Effect::new(move |_| {
        let Some(a) = current() else { return };
        let typing = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|e| e.id() == "figure-caption");
        if !typing && a.caption != caption.get_untracked().trim_end() {
            caption.set(a.caption);
        }
    });
    let preview = RwSignal::new(None::<String>);
    let sha = figure.sha256.clone();
    // The bytes may arrive after the record (the next sync downloads them): try again after
    // each change of the library until they are here.
    Effect::new(move |_| {
        lib.data.track();
        if preview.get_untracked().is_some() {
            return;
        }
        let sha = sha.clone();
        spawn_local(async move {
            let Ok(store) = lib.open_store() else { return };
            if let Ok(Some(blob)) = store.get_blob(&sha).await {
                if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
                    if preview.try_get_untracked().flatten().is_none() {
                        let _ = preview.try_set(Some(url));
                    } else {
                        let _ = web_sys::Url::revoke_object_url(&url);
                    }
                }
            }
        });
    });
    on_cleanup(move || {
        if let Some(url) = preview.try_get_untracked().flatten() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
    // Saved as the reference's fields are: once typing pauses, and when the editor closes.
    let generation = StoredValue::new(0u64);
    let unsaved = StoredValue::new(false);
    let save_now = move || {
        let Some(text) = caption.try_get_untracked() else {
            return;
        };
        unsaved.set_value(false);
        let now = browser::now_millis();
        let writes = lib
            .data
            .with_untracked(|d| actions::set_caption(d, key, &text, now));
        match writes {
            Some(w) if w.is_empty() => lib.save_state.set(SaveState::Saved),
            Some(w) => {
                lib.save_state.set(SaveState::Saving);
                spawn_local(async move {
                    match lib.commit(w).await {
                        Ok(()) => lib.save_state.set(SaveState::Saved),
                        Err(e) => {
                            lib.save_state.set(SaveState::Failed);
                            lib.fail(e.to_string());
                        }
                    }
                });
            }
            None => lib.fail("The figure was removed meanwhile."),
        }
    };
    let typed = move |text: String| {
        caption.set(text);
        unsaved.set_value(true);
        lib.save_state.set(SaveState::Pending);
        super::save_after_pause(generation, save_now);
    };
    on_cleanup(move || {
        if unsaved.try_get_value() == Some(true) {
            save_now();
        }
    });
    view! {
        <ul id="figure" class="attachments"><AttachmentRow attachment=figure /></ul>
        <div class="figure">
            {move || match preview.get() {
                Some(url) => view! {
                    <img id="figure-preview" class="figure-preview" src=url
                        alt=move || match caption.get() { c if c.is_empty() => "The figure".to_string(), c => c } />
                }.into_any(),
                None => view! { <p id="figure-waiting" class="hint">"The image shows here once its file is in this browser (the next sync brings it)."</p> }.into_any(),
            }}
            <label class="field-label" for="figure-caption">"Caption"</label>
            <textarea id="figure-caption" rows="2" placeholder="What the figure shows"
                prop:value=move || caption.get()
                on:input=move |ev| typed(event_target_value(&ev))></textarea>
        </div>
    }
    .into_any()
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
    // The same sizes (decimal) as the sync's messages and the service's limits.
    let size = refsync_core::sync::words::size_text(a.size);
    let bytes = a.size;
    // The service takes no file this large: it stays here, unsynced (the sync says so too).
    let too_large = move || {
        lib.online
            .with(|o| o.as_ref().and_then(|o| o.max_file_size))
            .filter(|&max| bytes > max)
            .map(|max| {
                let text = refsync_core::sync::words::too_large(max);
                view! { <span class="badge warning too-large">{text}</span> }
            })
    };
    view! {
        <li class="attachment">
            <span class="attachment-name" title=a.file_name.clone()>{a.file_name.clone()}</span>
            <span class="hint">{size}</span>
            {too_large}
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
        merged_from: None,
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
