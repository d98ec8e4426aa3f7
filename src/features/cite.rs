//! Citing: the in-text citation and the bibliography of the selection or the list shown, in
//! any built-in CSL style (APA, Chicago, MLA, Harvard, Vancouver, IEEE, Nature, AMA, ACS...),
//! any style of the CSL repository the service serves, or a `.csl` file the person added to
//! the library (core's `Style`: synced, so it formats on their other devices too), previewed
//! as they will paste, copied as rich text and plain text at once or downloaded as `.html`,
//! `.rtf`, `.txt`; the quick copy (Ctrl+Shift+C) in the last style used; and Format Paper (a
//! Word, OpenDocument, RTF or Markdown manuscript's temporary citations formatted, its
//! bibliography added). Formatting runs in the citations worker (`cite/worker.rs`), loaded on
//! first use and kept by the service worker, so all of it works offline.
//!
//! Invariant: the only HTML this feature inserts as markup is what `refsync-cite`'s writer
//! made, which escapes every text a reference holds (docs/citations.md); everything else is
//! text.

mod worker;

use crate::browser;
use crate::features::library::{plural, use_library, Library, Scope, ScopeChoice};
use crate::features::ui::{dialog_open, file_stem, thousands, DialogFooter, Modal};
use crate::later::{later, loaded};
use crate::worker_protocol::{CiteRequest, CiteResult, PaperResult, StyleChoice, StyleEntry};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::edit::Write;
use refsync_core::protocol::Object;
use refsync_core::{ObjectKind, Reference, Style, LIBRARY_STYLE};

/// The style last used (a built-in style's name), kept in this browser.
const LAST_STYLE: &str = "refsync-cite-style";
/// The styles used lately, most recent first, comma-separated.
const RECENT_STYLES: &str = "refsync-cite-recent";
const LOCALE: &str = "refsync-cite-locale";
/// At most this many repository styles are listed at once (the search narrows the rest).
const MAX_LISTED: usize = 300;
const DEFAULT_STYLE: &str = "apa";
/// A style of the service's (the CSL repository) is named `repo:ID`.
const REPO: &str = "repo:";
/// The service's index of styles, and each style's XML under it.
const REPOSITORY: &str = "/api/v1/styles";
/// The browser cache keeping the index and every style used, for offline use.
const STYLE_CACHE: &str = "refsync-styles";

/// The service's index, as far as the picker needs it.
#[derive(serde::Deserialize)]
struct RepositoryIndex {
    styles: Vec<RepositoryStyle>,
}

#[derive(serde::Deserialize)]
struct RepositoryStyle {
    id: String,
    title: String,
}

/// What the worker is given for the style `name`: a built-in one by name; the library's own
/// (`lib:KEY`) by its XML, as synced; a repository one by its XML, fetched from the service the
/// first time and from the browser's copy after.
async fn style_choice(lib: Library, name: &str) -> Result<StyleChoice, String> {
    if name.starts_with(LIBRARY_STYLE) {
        return own_style(lib, name, |s| StyleChoice::Csl(s.xml.clone())).ok_or_else(|| {
            "that style is no longer in the library (removed on another device?): pick another"
                .to_string()
        });
    }
    match name.strip_prefix(REPO) {
        None => Ok(StyleChoice::Builtin(name.to_string())),
        Some(id) => browser::fetch_kept(STYLE_CACHE, &format!("{REPOSITORY}/{id}"))
            .await
            .map(StyleChoice::Csl)
            .map_err(|e| {
                format!("the style {id} could not be loaded: {e} (a style is kept in this browser once it has been used online)")
            }),
    }
}

/// The languages offered for a style's terms and dates ("" is the style's own).
const LOCALES: &[(&str, &str)] = &[
    ("", "The style's own"),
    ("en-US", "English (US)"),
    ("en-GB", "English (UK)"),
    ("de-DE", "Deutsch"),
    ("fr-FR", "Français"),
    ("es-ES", "Español"),
    ("it-IT", "Italiano"),
    ("nl-NL", "Nederlands"),
    ("pt-BR", "Português (Brasil)"),
    ("sv-SE", "Svenska"),
    ("pl-PL", "Polski"),
    ("ru-RU", "Русский"),
    ("zh-CN", "中文 (简体)"),
    ("ja-JP", "日本語"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiteDialog {
    Cite,
    Paper,
}

#[derive(Clone, Copy)]
pub struct Citing {
    dialog: RwSignal<Option<CiteDialog>>,
    /// The built-in styles, once the worker has listed them.
    styles: RwSignal<Vec<StyleEntry>>,
    /// The service's styles (the CSL repository), named `repo:ID`, once fetched (or read from
    /// the browser's copy when offline).
    repository: RwSignal<Vec<StyleEntry>>,
}

impl Citing {
    pub fn open(self, dialog: CiteDialog) {
        self.dialog.set(Some(dialog));
    }

    /// The built-in styles (asked of the worker the first time) and the service's.
    fn load_styles(self) {
        if self.styles.with_untracked(Vec::is_empty) {
            spawn_local(async move {
                if let Ok(all) = worker::styles().await {
                    self.styles.set(all);
                }
            });
        }
        if self.repository.with_untracked(Vec::is_empty) {
            spawn_local(async move {
                // Without the service (offline, never fetched), the built-in styles only.
                if let Ok(json) = browser::fetch_kept(STYLE_CACHE, REPOSITORY).await {
                    if let Ok(index) = serde_json::from_str::<RepositoryIndex>(&json) {
                        self.repository.set(
                            index
                                .styles
                                .into_iter()
                                .map(|s| StyleEntry {
                                    name: format!("{REPO}{}", s.id),
                                    title: s.title,
                                })
                                .collect(),
                        );
                    }
                }
            });
        }
    }
}

pub fn provide_cite() {
    let citing = Citing {
        dialog: RwSignal::new(None),
        styles: RwSignal::new(Vec::new()),
        repository: RwSignal::new(Vec::new()),
    };
    provide_context(citing);
    let lib = use_library();
    // Ctrl+Shift+C: the selection's bibliography in the last style, on the clipboard.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let ctrl = ev.ctrl_key() || ev.meta_key();
        if !(ctrl && ev.shift_key() && ev.key().eq_ignore_ascii_case("c")) {
            return;
        }
        if browser::typing_in(ev.target()) || dialog_open() {
            return;
        }
        ev.prevent_default();
        let refs = lib.scope_references(Scope::Selection);
        if refs.is_empty() {
            lib.fail(
                "Select the references to cite first (Ctrl+Shift+C copies their bibliography).",
            );
            return;
        }
        let n = refs.len();
        let title = RwSignal::new(String::new());
        spawn_local(async move {
            let copied = browser::copy_rich(async move {
                let (style, clip) = bibliography_to_copy(lib, refs)
                    .await
                    .map_err(|e| e.to_string())??;
                title.set(style);
                Ok(clip)
            })
            .await;
            match copied {
                Ok(()) => lib.tell(format!(
                    "Copied the bibliography of {} {} ({}).",
                    thousands(n),
                    plural(n, "reference", "references"),
                    title.get_untracked()
                )),
                Err(e) => lib.fail(format!("Could not copy the bibliography: {e}.")),
            }
        });
    });
    on_cleanup(move || keys.remove());
}

later! { cite;
    /// The bibliography of `refs` in the last style used, as the clipboard takes it, and the
    /// style's title (Ctrl+Shift+C; loaded with the Cite dialog).
    async fn bibliography_to_copy(
        lib: Library,
        refs: Vec<Reference>,
    ) -> Result<(String, (String, String)), String> {
        let req = CiteRequest {
            references: refs,
            style: style_choice(lib, &last_style(lib)).await?,
            locale: chosen_locale(),
            outputs: vec!["html".into(), "text".into()],
        };
        let result = worker::cite(&req).await?;
        Ok((result.title.clone(), clipboard_bibliography(&result)))
    }
}

pub fn use_cite() -> Citing {
    use_context::<Citing>().unwrap_or_else(|| {
        panic!("use_cite called outside the App component (provide_cite not run)")
    })
}

/// `f` of the library's own style `name` names (`lib:KEY`), while it is in the library.
fn own_style<T>(lib: Library, name: &str, f: impl FnOnce(&Style) -> T) -> Option<T> {
    let key = Style::key_in_name(name)?;
    lib.data.with_untracked(|d| d.styles.get(&key).map(f))
}

/// The style last used; the default instead of one of the library's own that was removed
/// since (here or on another device).
fn last_style(lib: Library) -> String {
    let last = browser::pref(LAST_STYLE).unwrap_or_default();
    let gone = last.starts_with(LIBRARY_STYLE) && own_style(lib, &last, |_| ()).is_none();
    if last.is_empty() || gone {
        DEFAULT_STYLE.to_string()
    } else {
        last
    }
}

fn chosen_locale() -> Option<String> {
    browser::pref(LOCALE).filter(|l| !l.is_empty())
}

/// Remember `name` as the style last used, first among the recent ones.
fn used_style(name: &str) {
    let mut recent = recent_styles();
    recent.retain(|s| s != name);
    recent.insert(0, name.to_string());
    recent.truncate(5);
    browser::set_pref(RECENT_STYLES, Some(&recent.join(",")));
    browser::set_pref(LAST_STYLE, Some(name));
}

fn recent_styles() -> Vec<String> {
    browser::pref(RECENT_STYLES)
        .map(|r| {
            r.split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The bibliography as the clipboard takes it: (HTML, plain text).
fn clipboard_bibliography(result: &CiteResult) -> (String, String) {
    let of = |id: &str| result.rendered.iter().find(|r| r.output == id);
    let indent = if result.hanging_indent {
        " style=\"padding-left: 2em; text-indent: -2em\""
    } else {
        ""
    };
    let html = of("html")
        .map(|r| {
            let entries: String = r
                .bibliography
                .iter()
                .map(|e| format!("<div class=\"csl-entry\"{indent}>{e}</div>"))
                .collect();
            format!("<div class=\"csl-bib-body\">{entries}</div>")
        })
        .unwrap_or_default();
    let text = of("text")
        .map(|r| r.bibliography.join("\n"))
        .unwrap_or_default();
    (html, text)
}

/// The citation as the clipboard takes it: (HTML, plain text).
fn clipboard_citation(result: &CiteResult) -> (String, String) {
    let of = |id: &str| {
        result
            .rendered
            .iter()
            .find(|r| r.output == id)
            .map(|r| r.citation.clone())
            .unwrap_or_default()
    };
    (of("html"), of("text"))
}

/// The toolbar's buttons: Cite and Format paper.
#[component]
pub fn CiteButtons() -> impl IntoView {
    let citing = use_cite();
    view! {
        <button id="cite-button" class="btn" title="Citation and bibliography in a style (Ctrl+Shift+C copies the selection's)"
            on:click=move |_| citing.open(CiteDialog::Cite)>"Cite"</button>
        <button id="format-paper-button" class="btn" title="Format a manuscript's temporary citations"
            on:click=move |_| citing.open(CiteDialog::Paper)>"Format paper"</button>
    }
}

/// "Cite", for the detail pane when references are selected.
#[component]
pub fn CiteSelectedButton() -> impl IntoView {
    let citing = use_cite();
    view! {
        <button class="btn" on:click=move |_| citing.open(CiteDialog::Cite)>"Cite selected"</button>
    }
}

/// The open dialog, if any.
#[component]
pub fn CiteDialogs() -> impl IntoView {
    let citing = use_cite();
    let close = Callback::new(move |_| citing.dialog.set(None));
    move || {
        citing
            .dialog
            .get()
            .map(|which| loaded(move || cite_dialog(which, close)))
    }
}

later! { cite;
    /// The dialogs, loaded the first time one opens.
    fn cite_dialog(which: CiteDialog, close: Callback<()>) -> AnyView {
        match which {
            CiteDialog::Cite => view! { <CiteDialogView close=close /> }.into_any(),
            CiteDialog::Paper => view! { <PaperDialog close=close /> }.into_any(),
        }
    }
}

/// The library's own styles, by title, as the picker lists them.
fn library_styles(lib: Library) -> Vec<StyleEntry> {
    let mut all: Vec<StyleEntry> = lib.data.with(|d| {
        d.styles
            .values()
            .map(|s| StyleEntry {
                name: s.name(),
                title: s.title.clone(),
            })
            .collect()
    });
    refsync_core::sort::sort_by_key(&mut all, |s| s.title.to_lowercase());
    all
}

/// Add the `.csl` file `name` (its `bytes`) to the library, once the formatter has read it; an
/// identical style already there is used instead of a second copy. Its picker name.
async fn add_style(lib: Library, name: String, bytes: Vec<u8>) -> Result<Style, String> {
    let xml = String::from_utf8(bytes)
        .map_err(|_| format!("{name} is not a CSL style (it is not text)"))?;
    if let Some(same) = lib
        .data
        .with_untracked(|d| d.styles.values().find(|s| s.xml == xml).cloned())
    {
        return Ok(same);
    }
    // Formatting nothing reads the whole style: a file that is not CSL is refused here, not
    // kept and synced to every device.
    let checked = worker::cite(&CiteRequest {
        references: Vec::new(),
        style: StyleChoice::Csl(xml.clone()),
        locale: None,
        outputs: Vec::new(),
    })
    .await
    .map_err(|e| format!("{name} is not a CSL style refsync can use ({e})"))?;
    let style = Style {
        key: browser::new_key(),
        title: if checked.title.trim().is_empty() {
            name.clone()
        } else {
            checked.title
        },
        file_name: name,
        xml,
        date_modified: browser::now_millis(),
    };
    lib.commit(vec![Write::Put(Object::Style(style.clone()))])
        .await
        .map_err(|e| e.to_string())?;
    Ok(style)
}

/// Style search, the list (recent styles first), a `.csl` file added to the library, and the
/// language.
#[component]
fn StylePicker(style: RwSignal<String>, locale: RwSignal<String>) -> impl IntoView {
    let citing = use_cite();
    let lib = use_library();
    citing.load_styles();
    // What became of the last `.csl` file chosen (added, or why not).
    let file_note = RwSignal::new(None::<Result<String, String>>);
    let filter = RwSignal::new(String::new());
    let recent = StoredValue::new(recent_styles());
    // The styles found: the recent ones, the library's own, the built-in ones, then the
    // service's (not those built in under the same title), each as far as the search narrows
    // them.
    let found = move || {
        let mine = library_styles(lib);
        let wanted = filter.get().trim().to_lowercase();
        let hit = |s: &&StyleEntry| {
            wanted.is_empty()
                || s.title.to_lowercase().contains(&wanted)
                || s.name.contains(&wanted)
        };
        citing.styles.with(|builtin| {
            citing.repository.with(|repository| {
                recent.with_value(|recent| {
                    let titles: std::collections::HashSet<String> =
                        builtin.iter().map(|s| s.title.to_lowercase()).collect();
                    let repository = repository
                        .iter()
                        .filter(|s| !titles.contains(&s.title.to_lowercase()));
                    let first: Vec<StyleEntry> = recent
                        .iter()
                        .filter_map(|r| {
                            mine.iter()
                                .chain(builtin.iter())
                                .chain(repository.clone())
                                .find(|s| s.name == *r)
                        })
                        .filter(hit)
                        .cloned()
                        .collect();
                    let fresh = |s: &&StyleEntry| !recent.contains(&s.name);
                    let library = mine.iter().filter(hit).filter(fresh).cloned().collect();
                    let own = builtin.iter().filter(hit).filter(fresh).cloned().collect();
                    let more = repository.filter(hit).filter(fresh).cloned().collect();
                    (first, library, own, more)
                })
            })
        })
    };
    let shown = move || {
        let (mut all, library, own, more): (
            Vec<StyleEntry>,
            Vec<StyleEntry>,
            Vec<StyleEntry>,
            Vec<StyleEntry>,
        ) = found();
        all.extend(library);
        all.extend(own);
        all.extend(more);
        all
    };
    // Enter pressed before any style matched: the first match, once the lists arrive.
    let enter_pending = RwSignal::new(false);
    Effect::new(move |_| {
        if enter_pending.get() {
            if let Some(first) = shown().into_iter().next() {
                enter_pending.set(false);
                style.set(first.name);
            }
        }
    });
    let pick_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = browser::files_of(input.files()).into_iter().next() else {
            return;
        };
        input.set_value("");
        let name = file.name();
        file_note.set(None);
        spawn_local(async move {
            let added = match browser::read_file(&file).await {
                Ok(bytes) => add_style(lib, name, bytes).await,
                Err(e) => Err(format!("{name} could not be read: {e}")),
            };
            file_note.set(Some(match added {
                Ok(added) => {
                    style.set(added.name());
                    Ok(format!(
                        "“{}” is in your library: it syncs to your other devices and works offline.",
                        added.title
                    ))
                }
                Err(e) => Err(format!("{e}.")),
            }));
        });
    };
    // The library style chosen, if it is one: it can be removed from the library.
    let chosen_own = move || {
        lib.data.track();
        own_style(lib, &style.get(), |s| (s.key, s.title.clone()))
    };
    let remove_own = move |_| {
        let Some((key, title)) = chosen_own() else {
            return;
        };
        spawn_local(async move {
            let done = lib
                .commit(vec![Write::Delete(ObjectKind::Style, key)])
                .await;
            file_note.set(Some(match done {
                Ok(()) => {
                    style.set(DEFAULT_STYLE.to_string());
                    Ok(format!(
                        "Removed “{title}” from your library (Undo brings it back)."
                    ))
                }
                Err(e) => Err(format!("Could not remove the style: {e}.")),
            }));
        });
    };
    view! {
        <label for="cite-style-search">"Style"</label>
        <div class="style-picker">
            <input id="cite-style-search" type="search" autocomplete="off"
                placeholder="Search styles: APA, Vancouver, Nature…"
                bind:value=filter
                on:input=move |_| enter_pending.set(false)
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    // Enter takes the first style found, or the first to arrive when the
                    // lists are still loading.
                    if ev.key() == "Enter" {
                        ev.prevent_default();
                        match shown().into_iter().next() {
                            Some(first) => style.set(first.name),
                            None => enter_pending.set(true),
                        }
                    }
                } />
            <select id="cite-style" size="6" aria-label="Citation style"
                prop:value=move || style.get()
                on:change=move |ev| style.set(event_target_value(&ev))>
                {move || {
                    let (first, library, own, more) = found();
                    if first.is_empty() && own.is_empty() && citing.styles.with(Vec::is_empty) {
                        return view! { <option disabled=true>"Loading styles…"</option> }.into_any();
                    }
                    let options = |list: Vec<StyleEntry>| {
                        list.into_iter()
                            .map(|s| view! { <option value=s.name.clone()>{s.title.clone()}</option> })
                            .collect_view()
                    };
                    // A long list is narrowed by typing: the first few hundred are enough to
                    // scroll through.
                    let more_count = more.len();
                    let more: Vec<StyleEntry> = more.into_iter().take(MAX_LISTED).collect();
                    view! {
                        {(!first.is_empty()).then(|| view! { <optgroup label="Recent">{options(first)}</optgroup> })}
                        {(!library.is_empty()).then(|| view! { <optgroup label="In your library (synced)">{options(library)}</optgroup> })}
                        {(!own.is_empty()).then(|| view! { <optgroup label="Built in (always offline)">{options(own)}</optgroup> })}
                        {(more_count > 0).then(|| {
                            let label = if more_count > MAX_LISTED {
                                format!("CSL repository: {} of {} (type to narrow)", MAX_LISTED, thousands(more_count))
                            } else {
                                format!("CSL repository ({})", thousands(more_count))
                            };
                            view! { <optgroup label=label>{options(more)}</optgroup> }
                        })}
                    }.into_any()
                }}
            </select>
            {move || (!citing.repository.with(Vec::is_empty)).then(|| view! {
                <p class="hint style-credit">"CSL repository styles: Citation Style Language project, CC BY-SA 3.0."</p>
            })}
            <p class="hint">
                <label class="link-btn file-btn" title="Your journal's own style: kept in your library and synced to your other devices">"Add a .csl file…"
                    <input id="cite-style-file" type="file" accept=".csl,.xml,application/xml" on:change=pick_file />
                </label>
                {move || chosen_own().map(|(_, title)| view! {
                    " · "
                    <button id="cite-style-remove" type="button" class="link-btn"
                        title=format!("Remove “{title}” from your library, on every device")
                        on:click=remove_own>"Remove from library"</button>
                })}
            </p>
            {move || file_note.get().map(|note| match note {
                Ok(text) => view! { <p id="cite-style-note" class="hint" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p id="cite-style-note" class="error" role="alert">{text}</p> }.into_any(),
            })}
        </div>
        <label for="cite-locale">"Language"</label>
        <select id="cite-locale" prop:value=move || locale.get()
            on:change=move |ev| locale.set(event_target_value(&ev))>
            {LOCALES.iter().map(|(code, name)| view! { <option value=*code>{*name}</option> }).collect_view()}
        </select>
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Preview {
    Working,
    Ready(CiteResult),
    Failed(String),
}

#[component]
fn CiteDialogView(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let scope = RwSignal::new(lib.default_scope());
    let list_title = lib
        .data
        .with_untracked(|d| lib.collection.get_untracked().title(d));
    let list_stem = StoredValue::new(file_stem(&list_title));
    let style = RwSignal::new(last_style(lib));
    let locale = RwSignal::new(chosen_locale().unwrap_or_default());
    let preview = RwSignal::new(Preview::Working);
    let status = RwSignal::new(None::<String>);
    // Each formatting has a number: an answer to an older one (the style changed meanwhile)
    // is dropped.
    let generation = StoredValue::new(0u64);
    let refs: StoredValue<Vec<Reference>> = StoredValue::new(Vec::new());
    let request = move |outputs: &'static [&'static str]| {
        let references = refs.get_value();
        let chosen = style.get_untracked();
        let locale = Some(locale.get_untracked()).filter(|l| !l.is_empty());
        async move {
            Ok::<_, String>(CiteRequest {
                references,
                style: style_choice(lib, &chosen).await?,
                locale,
                outputs: outputs.iter().map(|o| o.to_string()).collect(),
            })
        }
    };
    let remember = move || {
        used_style(&style.get_untracked());
        browser::set_pref(LOCALE, Some(&locale.get_untracked()));
    };
    Effect::new(move |_| {
        let scope = scope.get();
        style.track();
        locale.track();
        refs.set_value(lib.scope_references(scope));
        status.set(None);
        let number = generation.get_value() + 1;
        generation.set_value(number);
        if refs.with_value(Vec::is_empty) {
            preview.set(Preview::Failed("There is nothing to cite here.".into()));
            return;
        }
        preview.set(Preview::Working);
        // `cargo xtask bench` times a style switch from here to the preview shown.
        browser::mark("cite-asked");
        let req = request(&["html", "text"]);
        spawn_local(async move {
            let answer = match req.await {
                Ok(req) => worker::cite(&req).await,
                Err(e) => Err(e),
            };
            if generation.get_value() != number {
                return;
            }
            preview.set(match answer {
                Ok(result) => {
                    // A style that formats is the one offered first next time.
                    remember();
                    browser::mark("cite-shown");
                    Preview::Ready(result)
                }
                Err(e) => Preview::Failed(format!("Could not format: {e}.")),
            });
        });
    });
    let result = move || match preview.get() {
        Preview::Ready(r) => Some(r),
        _ => None,
    };
    let copy = move |citation: bool| {
        let Some(result) = result() else {
            return;
        };
        let (html, text) = if citation {
            clipboard_citation(&result)
        } else {
            clipboard_bibliography(&result)
        };
        remember();
        let what = if citation { "citation" } else { "bibliography" };
        spawn_local(async move {
            status.set(Some(
                match browser::copy_rich(async move { Ok((html, text)) }).await {
                    Ok(()) => format!(
                        "Copied the {what} ({}), as rich text and plain text.",
                        result.title
                    ),
                    Err(e) => format!("Could not copy: {e}."),
                },
            ));
        });
    };
    let download = move |output: &'static str| {
        let Some(result) = result() else {
            return;
        };
        remember();
        let stem = match scope.get_untracked() {
            Scope::Selection => "bibliography".to_string(),
            _ => format!("bibliography-{}", list_stem.get_value()),
        };
        let media = match output {
            "html" => "text/html",
            "rtf" => "application/rtf",
            _ => "text/plain",
        };
        let extension = if output == "text" { "txt" } else { output };
        let file = format!("{stem}.{extension}");
        let ready = result
            .rendered
            .iter()
            .find(|r| r.output == output)
            .map(|r| r.document.clone());
        let req = request(match output {
            "html" => &["html"],
            "rtf" => &["rtf"],
            _ => &["text"],
        });
        spawn_local(async move {
            let document = match ready {
                Some(d) => Ok(d),
                None => match req.await {
                    Ok(req) => worker::cite(&req).await.and_then(|r| {
                        r.rendered
                            .into_iter()
                            .next()
                            .map(|r| r.document)
                            .ok_or_else(|| "nothing was made".to_string())
                    }),
                    Err(e) => Err(e),
                },
            };
            status.set(Some(
                match document.and_then(|d| browser::download(&file, media, d.as_bytes())) {
                    Ok(()) => format!("Saved {file}."),
                    Err(e) => format!("Could not save the file: {e}."),
                },
            ));
        });
    };
    let ready = move || matches!(preview.get(), Preview::Ready(_));
    view! {
        <Modal id="cite-dialog" title="Cite" on_close=close wide=true>
            <div class="cite-layout">
                <div class="form cite-choices">
                    <ScopeChoice scope=scope id="cite" legend="Cite" whole_library=false />
                    <StylePicker style=style locale=locale />
                </div>
                <div class="cite-previews" aria-live="polite">
                    {move || match preview.get() {
                        Preview::Working => view! {
                            <p class="hint" id="cite-working">"Formatting…"</p>
                        }.into_any(),
                        Preview::Failed(e) => view! { <p class="error" role="alert" id="cite-error">{e}</p> }.into_any(),
                        Preview::Ready(r) => {
                            let html = r.rendered.iter().find(|x| x.output == "html").cloned().unwrap_or_default();
                            let hanging = r.hanging_indent;
                            view! {
                                <h3 class="cite-heading">{if r.note_style { "Footnote" } else { "In-text citation" }}
                                    <span class="hint">{format!(" — {}", r.title)}</span></h3>
                                // Made by refsync-cite's writer, which escapes every reference's text.
                                <div id="cite-citation" class="cite-preview" inner_html=html.citation />
                                <h3 class="cite-heading">"Bibliography"</h3>
                                <div id="cite-bibliography" class="cite-preview csl-bib-body" class:hanging=hanging>
                                    {html.bibliography.into_iter().map(|e| view! { <div class="csl-entry" inner_html=e /> }).collect_view()}
                                </div>
                            }.into_any()
                        }
                    }}
                </div>
            </div>
            {move || status.get().map(|s| view! { <p id="cite-status" class="report" role="status">{s}</p> })}
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>"Close"</button>
                <span class="spacer"></span>
                <button id="cite-download-html" class="btn" disabled=move || !ready() on:click=move |_| download("html")>".html"</button>
                <button id="cite-download-rtf" class="btn" disabled=move || !ready() on:click=move |_| download("rtf")>".rtf"</button>
                <button id="cite-download-txt" class="btn" disabled=move || !ready() on:click=move |_| download("text")>".txt"</button>
                <button id="cite-copy-citation" class="btn" disabled=move || !ready() on:click=move |_| copy(true)>"Copy citation"</button>
                <button id="cite-copy-bibliography" class="btn btn-primary" disabled=move || !ready() on:click=move |_| copy(false)>"Copy bibliography"</button>
            </DialogFooter>
        </Modal>
    }
}

#[derive(Clone, Debug, PartialEq)]
enum PaperWork {
    Choosing,
    Working,
    Done(PaperResult, String),
    Failed(String),
}

#[component]
fn PaperDialog(close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let style = RwSignal::new(last_style(lib));
    let locale = RwSignal::new(chosen_locale().unwrap_or_default());
    let file = RwSignal::new_local(None::<web_sys::File>);
    let work = RwSignal::new(PaperWork::Choosing);
    let start = move |_| {
        let Some(picked) = file.get_untracked() else {
            work.set(PaperWork::Failed(
                "Choose a manuscript first (Word, OpenDocument, RTF or Markdown).".into(),
            ));
            return;
        };
        let chosen = style.get_untracked();
        used_style(&chosen);
        browser::set_pref(LOCALE, Some(&locale.get_untracked()));
        let references = lib.scope_references(Scope::Library);
        let locale = Some(locale.get_untracked()).filter(|l| !l.is_empty());
        work.set(PaperWork::Working);
        spawn_local(async move {
            let done = async {
                let req = CiteRequest {
                    references,
                    style: style_choice(lib, &chosen).await?,
                    locale,
                    outputs: Vec::new(),
                };
                let bytes = browser::read_file(&picked).await?;
                let (result, (name, doc)) = worker::paper(&req, &picked.name(), &bytes).await?;
                browser::download(&name, &result.media_type, &doc)?;
                Ok::<_, String>((result, name))
            }
            .await;
            work.set(match done {
                Ok((result, name)) => PaperWork::Done(result, name),
                Err(e) => PaperWork::Failed(format!("The manuscript was not formatted: {e}")),
            });
        });
    };
    view! {
        <Modal id="paper-dialog" title="Format paper" on_close=close wide=true>
            <div class="cite-layout">
                <div class="form cite-choices">
                    <label for="paper-file">"Manuscript (Word, OpenDocument, RTF or Markdown)"</label>
                    <input id="paper-file" type="file" accept=".docx,.odt,.rtf,.md,.markdown,.txt"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            file.set(browser::files_of(input.files()).into_iter().next());
                            work.set(PaperWork::Choosing);
                        } />
                    <StylePicker style=style locale=locale />
                </div>
                <div class="cite-previews" aria-live="polite">
                    {move || match work.get() {
                        PaperWork::Working => view! { <p class="hint" id="paper-working">"Formatting the manuscript…"</p> }.into_any(),
                        PaperWork::Done(result, name) => view! {
                            <div id="paper-report" class="report" role="status">
                                <p><strong>{result.summary.clone()}</strong>{format!(" Saved {name} ({}).", result.title)}</p>
                                {(!result.unformatted.is_empty()).then(|| view! {
                                    <p>"Left as typed:"</p>
                                    <ul class="skipped">
                                        {result.unformatted.iter().map(|u| view! { <li>{u.clone()}</li> }).collect_view()}
                                    </ul>
                                })}
                            </div>
                        }.into_any(),
                        PaperWork::Failed(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                        PaperWork::Choosing => view! {
                            <div class="hint paper-help">
                                <p>"The manuscript comes back with each temporary citation formatted and the bibliography at the end; everything else in the file stays as it was. Citations that match no reference, or several, are left as typed and listed here."</p>
                                <p>"Temporary citations: EndNote's "<code>"{Kuhn, 1962 #12}"</code>" (pages after "<code>"@"</code>", several joined by "<code>";"</code>"), pandoc's "<code>"[@kuhn1962, p. 10]"</code>" and "<code>"@kuhn1962"</code>", or a DOI: "<code>"{10.1000/xyz}"</code>"."</p>
                            </div>
                        }.into_any(),
                    }}
                </div>
            </div>
            <DialogFooter>
                <button class="btn" on:click=move |_| close.run(())>"Close"</button>
                <button id="paper-start" class="btn btn-primary"
                    disabled=move || matches!(work.get(), PaperWork::Working)
                    on:click=start>"Format"</button>
            </DialogFooter>
        </Modal>
    }
}
