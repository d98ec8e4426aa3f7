//! The library: the references, groups and attachments in this browser, loaded from IndexedDB
//! at start into core's query layer and kept in one signal that every pane reads; and every
//! action a person takes on them.
//!
//! Invariant: a change reaches the signal only after IndexedDB has committed it, so what the
//! window shows is always what a reload would show. Each action is one transaction.

mod collections;
mod conflict;
mod detail;
mod editor;
mod keywords;
mod list;
mod nav;
mod new_reference;
mod shortcuts;

pub use detail::DetailPane;
pub use keywords::KeywordPane;
pub use list::{date_text, ReferenceList};
pub use nav::LibraryNav;
pub use shortcuts::ShortcutsHelp;

use crate::browser;
use crate::storage::{Snapshot, Store, StoreError, Write};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::edit::actions;
use refsync_core::edit::undo::{History, Step};
use refsync_core::protocol::Object;
use refsync_core::query::{self, DuplicateSet, Sort, SortField};
use refsync_core::sync::{ConflictRecord, LibraryId, Resolution};
use refsync_core::{Attachment, Group, GroupKind, GroupSet, Key, ObjectKind, Reference, Style};
use std::collections::HashMap;
use std::rc::Rc;

pub use collections::Collection;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadState {
    Loading,
    /// A large library shows its newest references while the rest loads; nothing can be
    /// changed until it is `Ready` (the store is not handed out before).
    Partial {
        shown: usize,
        /// How many the library holds, when it was known without counting.
        total: Option<usize>,
    },
    Ready,
    Failed(String),
}

/// The most objects one undoable action may change (a select-all of a large library moved to
/// the Trash is not undone; it is restored from the Trash).
const UNDO_MOST: usize = 10_000;

/// Libraries larger than this show their newest this-many references first.
const FIRST_SCREEN: usize = 2_000;

/// Everything in the library, indexed for the window.
#[derive(Default)]
pub struct LibraryData {
    pub refs: query::Library,
    pub groups: HashMap<Key, Group>,
    pub sets: HashMap<Key, GroupSet>,
    pub attachments: HashMap<Key, Attachment>,
    /// Citation styles added to the library (`.csl` files), by key.
    pub styles: HashMap<Key, Style>,
    /// References in sync conflict, by key (groups and sets never conflict: docs/sync.md, "Merging").
    pub conflicts: HashMap<Key, ConflictRecord>,
}

impl actions::Held for LibraryData {
    fn references(&self) -> Box<dyn Iterator<Item = &Reference> + '_> {
        Box::new(self.refs.references())
    }
    fn groups(&self) -> &HashMap<Key, Group> {
        &self.groups
    }
    fn attachments(&self) -> &HashMap<Key, Attachment> {
        &self.attachments
    }
}

impl LibraryData {
    fn from_snapshot(s: Snapshot) -> LibraryData {
        LibraryData {
            refs: query::Library::from_references(s.references),
            groups: s.groups.into_iter().map(|g| (g.key, g)).collect(),
            sets: s.group_sets.into_iter().map(|g| (g.key, g)).collect(),
            attachments: s.attachments.into_iter().map(|a| (a.key, a)).collect(),
            styles: s.styles.into_iter().map(|a| (a.key, a)).collect(),
            conflicts: s
                .conflicts
                .into_iter()
                .filter(|c| c.kind == ObjectKind::Reference)
                .map(|c| (c.key, c))
                .collect(),
        }
    }

    /// The window's copy of one object.
    fn object(&self, (kind, key): (ObjectKind, Key)) -> Option<Object> {
        match kind {
            ObjectKind::Reference => self.refs.get(&key).cloned().map(Object::Reference),
            ObjectKind::Group => self.groups.get(&key).cloned().map(Object::Group),
            ObjectKind::GroupSet => self.sets.get(&key).cloned().map(Object::GroupSet),
            ObjectKind::Attachment => self.attachments.get(&key).cloned().map(Object::Attachment),
            ObjectKind::Style => self.styles.get(&key).cloned().map(Object::Style),
        }
    }

    /// Apply committed writes (each object as it now stands) to the in-memory copy.
    fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Put(Object::Reference(r))
                | Write::Change {
                    to: Object::Reference(r),
                    ..
                } => self.refs.upsert(r.clone()),
                Write::Put(Object::Group(g))
                | Write::Change {
                    to: Object::Group(g),
                    ..
                } => {
                    self.groups.insert(g.key, g.clone());
                }
                Write::Put(Object::GroupSet(s))
                | Write::Change {
                    to: Object::GroupSet(s),
                    ..
                } => {
                    self.sets.insert(s.key, s.clone());
                }
                Write::Put(Object::Attachment(a))
                | Write::Change {
                    to: Object::Attachment(a),
                    ..
                } => {
                    self.attachments.insert(a.key, a.clone());
                }
                Write::Put(Object::Style(s))
                | Write::Change {
                    to: Object::Style(s),
                    ..
                } => {
                    self.styles.insert(s.key, s.clone());
                }
                Write::Delete(ObjectKind::Reference, k) => {
                    self.refs.remove(k);
                }
                Write::Delete(ObjectKind::Group, k) => {
                    self.groups.remove(k);
                }
                Write::Delete(ObjectKind::GroupSet, k) => {
                    self.sets.remove(k);
                }
                Write::Delete(ObjectKind::Attachment, k) => {
                    self.attachments.remove(k);
                }
                Write::Delete(ObjectKind::Style, k) => {
                    self.styles.remove(k);
                }
            }
        }
    }

    /// Apply many committed puts at once: a large batch rebuilds the index in one pass
    /// instead of inserting reference by reference.
    fn apply_many(&mut self, objects: Vec<Object>) {
        if objects.len() < 500 {
            let writes: Vec<Write> = objects.into_iter().map(Write::Put).collect();
            return self.apply(&writes);
        }
        let mut refs: Vec<Reference> = self.refs.references().cloned().collect();
        let mut others = Vec::new();
        for o in objects {
            match o {
                Object::Reference(r) => refs.push(r),
                other => others.push(Write::Put(other)),
            }
        }
        // from_references keeps the last of two with one key: the new copy.
        self.refs = query::Library::from_references(refs);
        self.apply(&others);
    }

    /// Apply what syncs wrote, in order. A long list (a first download) keeps each object's
    /// last write and rebuilds the index once, which costs far less than reading the library
    /// back from IndexedDB.
    fn replay(&mut self, writes: Vec<Write>) {
        if writes.len() < 500 {
            return self.apply(&writes);
        }
        let mut last = HashMap::with_capacity(writes.len());
        for (i, w) in writes.iter().enumerate() {
            last.insert(w.target(), i);
        }
        let mut deletes = Vec::new();
        let mut puts = Vec::with_capacity(writes.len());
        for (i, w) in writes.into_iter().enumerate() {
            if last.get(&w.target()) != Some(&i) {
                continue;
            }
            match w {
                Write::Put(o) | Write::Change { to: o, .. } => puts.push(o),
                delete => deletes.push(delete),
            }
        }
        self.apply(&deletes);
        self.apply_many(puts);
    }

    /// Groups sorted by name, as the left pane lists them.
    pub fn groups_sorted(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = self.groups.values().cloned().collect();
        refsync_core::sort::sort_by_key(&mut groups, |g| (g.name.to_lowercase(), g.key));
        groups
    }

    /// A reference as the window lists it: for one in sync conflict, this browser's copy
    /// (what the person last saw here; the online copy for one deleted here), else the
    /// library's.
    pub fn shown_reference(&self, key: &Key) -> Option<&Reference> {
        let conflicted =
            self.conflicts
                .get(key)
                .and_then(|c| match c.local.as_ref().or(c.remote.as_ref())? {
                    Object::Reference(r) => Some(r),
                    _ => None,
                });
        conflicted.or_else(|| self.refs.get(key))
    }

    pub fn custom_groups(&self) -> Vec<Group> {
        let mut groups = self.groups_sorted();
        groups.retain(|g| g.kind == GroupKind::Custom);
        groups
    }
}

/// How the right pane's last save went (shown beside the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveState {
    Idle,
    Pending,
    Saving,
    Saved,
    Failed,
}

/// A message for the person, shown in the status bar until replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    /// Counts messages, so that the same text said twice is still a new message (the status
    /// bar shows it as `data-seq`; tests wait on it).
    pub seq: u64,
}

/// Which pane a phone-width window shows (wider windows show all three side by side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Nav,
    List,
    Detail,
}

impl Pane {
    pub fn id(self) -> &'static str {
        match self {
            Pane::Nav => "nav",
            Pane::List => "list",
            Pane::Detail => "detail",
        }
    }
}

/// The library context; `Copy`, so components and closures take it freely.
#[derive(Clone, Copy)]
pub struct Library {
    pub data: RwSignal<LibraryData>,
    pub load: RwSignal<LoadState>,
    pub collection: RwSignal<Collection>,
    pub sort: RwSignal<Sort>,
    pub search: RwSignal<String>,
    /// The keyword pane's filter on the open collection, if one is chosen.
    pub keyword: RwSignal<Option<String>>,
    /// The selected references (in the order they were selected).
    pub selected: RwSignal<Vec<Key>>,
    /// Where a shift-click or shift-arrow selection starts.
    pub anchor: RwSignal<Option<Key>>,
    /// The right pane shows the form for a new reference.
    pub new_form: RwSignal<bool>,
    pub save_state: RwSignal<SaveState>,
    pub notice: RwSignal<Option<Notice>>,
    /// Bumped to ask the list to bring the anchor row into view.
    pub reveal: RwSignal<u64>,
    /// Bumped after every change a person commits (sync runs soon after one).
    pub changed: RwSignal<u64>,
    /// What the last change touched, when it was a few objects (other tabs then read just
    /// those); `None`: too much to list, read everything.
    pub last_changed: StoredValue<Option<Vec<(ObjectKind, Key)>>>,
    /// What the person can undo and redo in this window (docs/web.md, "Everyday use").
    pub history: RwSignal<History>,
    /// The keyboard shortcuts sheet ("?") is open.
    pub help: RwSignal<bool>,
    /// The collections' counts (left pane, status bar), one pass per change of the library.
    pub counts: Memo<nav::Counts>,
    /// Possible Duplicates as the duplicates worker last found them (`features::duplicates`'s
    /// finder); `None` until it has, once the library is read.
    pub found_duplicates: RwSignal<Option<Vec<DuplicateSet>>>,
    /// [`Library::found_duplicates`] as the library stands now: what was merged away, trashed
    /// or marked apart since is gone from it at once (core's `still_duplicates`).
    pub duplicates: Memo<Option<Vec<DuplicateSet>>>,
    /// Why the last count of Possible Duplicates failed, worded for the person (the worker
    /// could not be fetched offline, say); `None` once one succeeds.
    pub duplicates_failed: RwSignal<Option<String>>,
    /// The pane a phone-width window shows: choosing a collection shows its list, choosing a
    /// reference (or New reference) its editor.
    pub pane: RwSignal<Pane>,
    /// What the service said of the online library at the last sync (storage used and its
    /// limit, references and theirs, the largest file it takes); `None` before any sync.
    pub online: RwSignal<Option<refsync_core::protocol::LibraryInfo>>,
    /// When this library was last backed up from this browser (Unix milliseconds).
    pub last_backup: RwSignal<Option<u64>>,
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    /// Which library this window shows and syncs (a browser may hold several, each in its own
    /// database; the app opens the personal one).
    pub id: StoredValue<LibraryId>,
    /// The name the window's databases are named after (the personal library's database;
    /// shared ones add their id: `LibraryId::store_name`).
    pub db_base: &'static str,
    /// Why this library cannot be changed here, when it cannot (a viewer's shared library, one
    /// the person no longer belongs to); every commit is refused with it (docs/sharing.md).
    pub read_only: RwSignal<Option<String>>,
}

/// The choice of what a dialog works on (`{id}-selection`, `{id}-list`, `{id}-library`
/// radios under the legend): the selection (offered when there is one), the list shown, and,
/// with `whole_library`, everything not in the Trash.
#[component]
pub fn ScopeChoice(
    scope: RwSignal<Scope>,
    #[prop(into)] id: String,
    #[prop(into)] legend: String,
    whole_library: bool,
) -> impl IntoView {
    let lib = use_library();
    let selected = lib.selected.with_untracked(Vec::len);
    let list_title = lib
        .data
        .with_untracked(|d| lib.collection.get_untracked().title(d));
    let radio = |value: Scope, suffix: &str, label: String, enabled: bool| {
        view! {
            <label class="check" class:disabled=!enabled>
                <input type="radio" name=format!("{id}-scope") id=format!("{id}-{suffix}") disabled=!enabled
                    prop:checked=move || scope.get() == value
                    on:change=move |_| scope.set(value) />
                {label}
            </label>
        }
    };
    let selection = if selected > 0 {
        format!("The {selected} selected")
    } else {
        "The selection (nothing is selected)".to_string()
    };
    view! {
        <fieldset class="combo">
            <legend>{legend}</legend>
            {radio(Scope::Selection, "selection", selection, selected > 0)}
            {radio(Scope::List, "list", format!("The list shown ({list_title})"), true)}
            {whole_library.then(|| radio(Scope::Library, "library", "The whole library".to_string(), true))}
        </fieldset>
    }
}

/// Which references an export or a citation is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Selection,
    /// The list shown: the open collection, searched and filtered as it is.
    List,
    /// Every reference not in the Trash.
    Library,
}

impl Library {
    /// The scope a dialog opens on: the selection if there is one, else the list shown.
    pub fn default_scope(self) -> Scope {
        if self.selected.with_untracked(Vec::is_empty) {
            Scope::List
        } else {
            Scope::Selection
        }
    }

    /// The references `scope` names: the selection in the order it was made, the list in its
    /// order, the library by the default sort.
    pub fn scope_references(self, scope: Scope) -> Vec<Reference> {
        let keys: Vec<Key> = match scope {
            Scope::Selection => self.selected.get_untracked(),
            Scope::List => self.data.with_untracked(|d| {
                let duplicates = self.duplicates.get_untracked().unwrap_or_default();
                self.collection
                    .get_untracked()
                    .listing(
                        d,
                        &duplicates,
                        &self.search.get_untracked(),
                        self.sort.get_untracked(),
                        browser::now_millis(),
                        &[],
                        self.keyword.get_untracked().as_deref(),
                    )
                    .keys
            }),
            Scope::Library => self.data.with_untracked(|d| {
                let ids = d.refs.ids_where(|r| !r.trashed);
                d.refs.sorted(Some(&ids), Sort::default())
            }),
        };
        self.data
            .with_untracked(|d| keys.iter().filter_map(|k| d.refs.get(k).cloned()).collect())
    }

    /// Copy `keys` (with their attachments and files' bytes) into `target`, another library
    /// of this browser: new references that remember where they came from (core's
    /// `actions::copy_to`), written in one transaction of the target's database and sent by
    /// its next sync. How many references were copied.
    pub async fn copy_into(self, keys: &[Key], target: &LibraryId) -> Result<usize, String> {
        let from = self.copy_source();
        let planned = self.data.with_untracked(|d| {
            actions::copy_to(d, keys, &from, browser::now_millis(), browser::new_key)
        });
        self.write_copies(planned, target).await
    }

    /// Copy one version of a reference (this browser's side of a change the service refused)
    /// into `target`, as [`Library::copy_into`] does.
    pub async fn copy_version(
        self,
        reference: Reference,
        target: &LibraryId,
    ) -> Result<usize, String> {
        let from = self.copy_source();
        let held = self.data.with_untracked(|d| LibraryData {
            attachments: reference
                .attachments
                .iter()
                .filter_map(|k| d.attachments.get(k).map(|a| (*k, a.clone())))
                .collect(),
            refs: query::Library::from_references(vec![reference.clone()]),
            ..LibraryData::default()
        });
        let planned = actions::copy_to(
            &held,
            &[reference.key],
            &from,
            browser::now_millis(),
            browser::new_key,
        );
        self.write_copies(planned, target).await
    }

    /// The library a copy remembers it came from: the shared library's id, or "personal".
    fn copy_source(self) -> String {
        match self.id.get_value() {
            LibraryId::Personal => "personal".to_string(),
            LibraryId::Shared { id } => id,
        }
    }

    async fn write_copies(
        self,
        (writes, files): (Vec<Write>, Vec<String>),
        target: &LibraryId,
    ) -> Result<usize, String> {
        let copied = writes
            .iter()
            .filter(|w| w.target().0 == ObjectKind::Reference)
            .count();
        let source = self.store().map_err(|e| e.to_string())?;
        let into = Store::open_library(self.db_base, target)
            .await
            .map_err(|e| e.to_string())?;
        // The bytes first: an attachment whose record is there finds its file there too.
        for sha in &files {
            if let Ok(Some(blob)) = source.get_blob(sha).await {
                if let Err(e) = into.put_blob(sha, &blob).await {
                    into.close();
                    return Err(e.to_string());
                }
            }
        }
        let written = into.write(&writes).await.map_err(|e| e.to_string());
        into.close();
        written?;
        Ok(copied)
    }

    /// Whether a person's change may be written here: refused, with the reason, in a library
    /// this account may only read (checked at the one door every change goes through, so a
    /// shortcut, a drop or an undo is refused like a button).
    pub fn writable(self) -> Result<(), StoreError> {
        match self.read_only.get_untracked() {
            Some(why) => Err(StoreError::refused(why)),
            None => Ok(()),
        }
    }

    /// Say why a change cannot be made here, before an action that clears the selection: a
    /// refused change leaves the window as it was.
    fn refused(self) -> bool {
        match self.writable() {
            Ok(()) => false,
            Err(e) => {
                self.fail(e.to_string());
                true
            }
        }
    }

    fn store(self) -> Result<Rc<Store>, StoreError> {
        self.store.get_value().ok_or_else(StoreError::not_open)
    }

    /// The open store, for features that keep their own records (attachments' bytes).
    pub fn open_store(self) -> Result<Rc<Store>, StoreError> {
        self.store()
    }

    /// Commit `writes` as one transaction, then show what was written (each change carried
    /// onto the copy stored, which a sync may have moved since the window read it).
    ///
    /// The change is remembered for undo, unless it deletes references or attachments for
    /// good (asked first, and their files' bytes may be freed) or touches more than
    /// [`UNDO_MOST`] objects (each is kept twice in memory).
    pub async fn commit(self, writes: Vec<Write>) -> Result<(), StoreError> {
        let undoable = writes.len() <= UNDO_MOST
            && !writes.iter().any(|w| {
                matches!(
                    w,
                    Write::Delete(ObjectKind::Reference | ObjectKind::Attachment, _)
                )
            });
        self.commit_recorded(writes, undoable).await
    }

    async fn commit_recorded(self, writes: Vec<Write>, record: bool) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.writable()?;
        let store = self.store()?;
        let targets: Vec<(ObjectKind, Key)> = writes.iter().map(Write::target).collect();
        let before: Vec<Option<Object>> = self
            .data
            .with_untracked(|d| targets.iter().map(|t| d.object(*t)).collect());
        let written = store.write(&writes).await?;
        let conflicted = self.data.with_untracked(|d| {
            written.iter().any(|w| {
                w.target().0 == ObjectKind::Reference && d.conflicts.contains_key(&w.target().1)
            })
        });
        self.data.update(|d| d.apply(&written));
        if conflicted {
            // A reference waiting in Sync Conflicts changes its side of the conflict too.
            if let Ok(all) = store.conflicts().await {
                self.data.update(|d| {
                    d.conflicts = all
                        .into_iter()
                        .filter(|c| c.kind == ObjectKind::Reference)
                        .map(|c| (c.key, c))
                        .collect();
                });
            }
        }
        if record {
            let objects = self.data.with_untracked(|d| {
                before
                    .into_iter()
                    .zip(&targets)
                    .map(|(b, t)| (b, d.object(*t)))
                    .collect()
            });
            self.history.update(|h| h.record(Step { objects }));
        }
        self.last_changed.set_value(Some(targets));
        self.changed.update(|n| *n += 1);
        Ok(())
    }

    /// Rename a keyword in every reference (merging it into `to` where both are held).
    pub fn rename_keyword(self, from: String, to: String) {
        let written = self
            .data
            .with_untracked(|d| actions::rename_keyword(d, &from, &to, browser::now_millis()));
        match written {
            Ok(writes) => {
                let to = to.trim().to_string();
                let n = writes.len();
                if self
                    .keyword
                    .with_untracked(|k| k.as_deref() == Some(from.as_str()))
                {
                    self.keyword.set(Some(to.clone()));
                }
                self.commit_in_background(
                    writes,
                    Some(format!(
                        "Renamed the keyword “{from}” to “{to}” in {}.",
                        count_refs(n)
                    )),
                );
            }
            Err(why) => self.fail(why),
        }
    }

    /// Undo the person's last action (by ordinary edits, so the undo syncs too).
    pub fn undo(self) {
        let Some(step) = self.history.try_update(History::undo).flatten() else {
            self.tell("Nothing to undo.");
            return;
        };
        self.replay(step.undo(), format!("Undid {}.", step.describe()));
    }

    /// Do again what the last undo undid.
    pub fn redo(self) {
        let Some(step) = self.history.try_update(History::redo).flatten() else {
            self.tell("Nothing to redo.");
            return;
        };
        self.replay(step.redo(), format!("Redid {}.", step.describe()));
    }

    fn replay(self, writes: Vec<Write>, done: String) {
        spawn_local(async move {
            match self.commit_recorded(writes, false).await {
                Ok(()) => self.tell(done),
                Err(e) => self.fail(e.to_string()),
            }
        });
    }

    /// Show the current state of `objects` (another tab changed them).
    pub async fn refresh(self, objects: &[(ObjectKind, Key)]) -> Result<(), StoreError> {
        let writes = self.store()?.objects(objects).await?;
        self.data.update(|d| d.apply(&writes));
        Ok(())
    }

    /// Save many objects (an import, a restore) in transactions of
    /// [`crate::storage::BULK_BATCH`], calling `progress` after each; the window shows what
    /// was committed, once, at the end (or at the failure).
    pub async fn commit_bulk(
        self,
        objects: Vec<Object>,
        packed: bool,
        progress: impl FnMut(usize),
    ) -> Result<(), StoreError> {
        self.writable()?;
        let store = self.store()?;
        let mut committed = 0;
        let mut progress = progress;
        let started = browser::perf_now();
        let count = |done| {
            committed = done;
            progress(done);
        };
        let result = store.write_bulk_as(&objects, packed, count).await;
        browser::measure("bulk-write", started);
        let started = browser::perf_now();
        let shown: Vec<Object> = objects.into_iter().take(committed).collect();
        self.data.update(|d| d.apply_many(shown));
        browser::measure("bulk-show", started);
        self.last_changed.set_value(None);
        self.changed.update(|n| *n += 1);
        result
    }

    /// Show what syncs wrote: replayed on the window's copy when there is little, else the
    /// whole library read again (replaying 100 edits costs microseconds; reading 50,000
    /// references again costs a second).
    pub async fn show_synced(self) -> Result<(), StoreError> {
        let store = self.store()?;
        let partial = !matches!(self.load.get_untracked(), LoadState::Ready);
        match store.take_synced() {
            Some(writes) if !partial => {
                self.data.update(|d| d.replay(writes));
                Ok(())
            }
            _ => self.reload().await,
        }
    }

    /// Read the whole library again (after a sync changed it underneath the window).
    pub async fn reload(self) -> Result<(), StoreError> {
        let snapshot = self.store()?.load().await?;
        self.data.set(LibraryData::from_snapshot(snapshot));
        Ok(())
    }

    /// [`Library::commit`], reporting a failure in the status bar.
    pub fn commit_in_background(self, writes: Vec<Write>, done: Option<String>) {
        spawn_local(async move {
            match self.commit(writes).await {
                Ok(()) => {
                    if let Some(text) = done {
                        self.tell(text);
                    }
                }
                Err(e) => self.fail(e.to_string()),
            }
        });
    }

    pub fn tell(self, text: impl Into<String>) {
        self.say(text.into(), false);
    }

    pub fn fail(self, text: impl Into<String>) {
        self.say(text.into(), true);
    }

    fn say(self, text: String, error: bool) {
        let seq = self
            .notice
            .with_untracked(|n| n.as_ref().map_or(0, |n| n.seq))
            + 1;
        self.notice.set(Some(Notice { text, error, seq }));
    }

    /// Save a new reference and show it. The error, if any, is worded for the user.
    pub async fn add(self, reference: Reference) -> Result<(), StoreError> {
        let key = reference.key;
        self.commit(vec![Write::Put(Object::Reference(reference))])
            .await?;
        self.new_form.set(false);
        self.select_only(key);
        Ok(())
    }

    pub fn get(self, key: &Key) -> Option<Reference> {
        self.data.with(|d| d.refs.get(key).cloned())
    }

    pub fn get_untracked(self, key: &Key) -> Option<Reference> {
        self.data.with_untracked(|d| d.refs.get(key).cloned())
    }

    pub fn select_only(self, key: Key) {
        self.new_form.set(false);
        self.selected.set(vec![key]);
        self.anchor.set(Some(key));
        self.reveal.update(|n| *n += 1);
    }

    /// Move references to the Trash (they keep their groups, for a restore).
    pub fn trash(self, keys: Vec<Key>) {
        if self.refused() {
            return;
        }
        let writes = self
            .data
            .with_untracked(|d| actions::trash(d, &keys, browser::now_millis()));
        let n = writes.len();
        self.selected.set(Vec::new());
        self.commit_in_background(writes, Some(moved(n, "to the Trash")));
    }

    pub fn restore(self, keys: Vec<Key>) {
        if self.refused() {
            return;
        }
        let writes = self
            .data
            .with_untracked(|d| actions::restore(d, &keys, browser::now_millis()));
        // A restore may move attachments back too (undoing a merge): count references.
        let n = writes
            .iter()
            .filter(|w| w.target().0 == ObjectKind::Reference && keys.contains(&w.target().1))
            .count();
        self.selected.set(Vec::new());
        self.commit_in_background(writes, Some(format!("Restored {}.", count_refs(n))));
    }

    /// Delete references for good, with their attachments (the caller has asked first).
    pub fn delete_forever(self, keys: Vec<Key>) {
        if self.refused() {
            return;
        }
        let deletion = self
            .data
            .with_untracked(|d| actions::delete_forever(d, &keys));
        let n = keys.len();
        self.selected.set(Vec::new());
        spawn_local(async move {
            match self.commit(deletion.writes).await {
                Ok(()) => {
                    self.free_blobs(deletion.freed).await;
                    self.tell(format!("Deleted {} permanently.", count_refs(n)));
                }
                Err(e) => self.fail(e.to_string()),
            }
        });
    }

    /// Remove bytes nothing refers to any more from this browser's storage.
    pub async fn free_blobs(self, freed: Vec<String>) {
        if let Ok(store) = self.open_store() {
            for sha in freed {
                // A leftover blob wastes space but loses nothing; not worth an error.
                let _ = store.delete_blob(&sha).await;
            }
        }
    }

    pub fn empty_trash(self) {
        let keys = self.data.with_untracked(actions::in_trash);
        self.delete_forever(keys);
    }

    pub fn add_to_group(self, keys: Vec<Key>, group: Key) {
        let name = self.group_name(group);
        match self
            .data
            .with_untracked(|d| actions::add_to_group(d, &keys, group, browser::now_millis()))
        {
            Ok(writes) => {
                let n = writes.len();
                self.commit_in_background(
                    writes,
                    Some(format!("Added {} to “{name}”.", count_refs(n))),
                );
            }
            Err(why) => self.fail(why),
        }
    }

    pub fn remove_from_group(self, keys: Vec<Key>, group: Key) {
        let name = self.group_name(group);
        let writes = self
            .data
            .with_untracked(|d| actions::remove_from_group(d, &keys, group, browser::now_millis()));
        let n = writes.len();
        self.commit_in_background(
            writes,
            Some(format!("Removed {} from “{name}”.", count_refs(n))),
        );
    }

    fn group_name(self, group: Key) -> String {
        self.data.with_untracked(|d| {
            d.groups
                .get(&group)
                .map(|g| g.name.clone())
                .unwrap_or_default()
        })
    }

    /// Make a group (custom unless `kind` says otherwise) and return its key.
    pub async fn create_group(
        self,
        name: String,
        kind: GroupKind,
        set: Option<Key>,
    ) -> Result<Key, StoreError> {
        let group = Group {
            key: browser::new_key(),
            name,
            set,
            kind,
            shared: false,
            date_modified: browser::now_millis(),
        };
        let key = group.key;
        self.commit(vec![Write::Put(Object::Group(group))]).await?;
        Ok(key)
    }

    pub fn save_group(self, mut group: Group) {
        group.date_modified = browser::now_millis();
        let write = match self
            .data
            .with_untracked(|d| d.groups.get(&group.key).cloned())
        {
            Some(from) => Write::change(Object::Group(from), Object::Group(group)),
            None => Write::Put(Object::Group(group)),
        };
        self.commit_in_background(vec![write], None);
    }

    /// Delete a group; its references stay in the library (and lose the membership).
    pub fn delete_group(self, group: Key) {
        let name = self.group_name(group);
        let writes = self
            .data
            .with_untracked(|d| actions::delete_group(d, group, browser::now_millis()));
        if self.collection.get_untracked() == Collection::Group(group) {
            self.collection.set(Collection::All);
        }
        self.commit_in_background(
            writes,
            Some(format!(
                "Deleted the group “{name}”; its references are still in the library."
            )),
        );
    }

    pub async fn create_set(self, name: String) -> Result<Key, StoreError> {
        let set = GroupSet {
            key: browser::new_key(),
            name,
            date_modified: browser::now_millis(),
        };
        let key = set.key;
        self.commit(vec![Write::Put(Object::GroupSet(set))]).await?;
        Ok(key)
    }

    pub fn save_set(self, mut set: GroupSet) {
        set.date_modified = browser::now_millis();
        let write = match self.data.with_untracked(|d| d.sets.get(&set.key).cloned()) {
            Some(from) => Write::change(Object::GroupSet(from), Object::GroupSet(set)),
            None => Write::Put(Object::GroupSet(set)),
        };
        self.commit_in_background(vec![write], None);
    }

    /// Delete a group set; its groups move to the top level (nothing in them is lost).
    pub fn delete_set(self, set: Key) {
        let writes = self
            .data
            .with_untracked(|d| actions::delete_set(d, set, browser::now_millis()));
        self.commit_in_background(writes, None);
    }

    /// Settle a sync conflict as the person chose; the result syncs like any edit.
    pub async fn resolve_conflict(self, key: Key, resolution: Resolution) -> Result<(), String> {
        let Some(record) = self.data.with_untracked(|d| d.conflicts.get(&key).cloned()) else {
            return Err("This conflict was already settled.".into());
        };
        // Keeping this browser's side is a change like any other; the online side is not.
        if !matches!(resolution, Resolution::KeepOnline) {
            self.writable().map_err(|e| e.to_string())?;
        }
        let store = self.store().map_err(|e| e.to_string())?;
        store
            .resolve_conflict(&record, resolution)
            .await
            .map_err(|e| e.message)?;
        self.reload().await.map_err(|e| e.to_string())?;
        self.last_changed.set_value(None);
        self.changed.update(|n| *n += 1);
        Ok(())
    }

    /// Settle every conflict waiting the same way (`KeepLocal` or `KeepOnline`), telling the
    /// person how many; each is settled as one ordinary edit, as one by one would be. The work
    /// is loaded with the conflict view (conflict.rs).
    pub fn resolve_all(self, resolution: Resolution) {
        spawn_local(async move {
            if let Err(e) = conflict::settle_all(self, resolution).await {
                self.fail(e.to_string());
            }
        });
    }
}

pub(crate) fn count_refs(n: usize) -> String {
    format!("{n} {}", plural(n, "reference", "references"))
}

fn moved(n: usize, to: &str) -> String {
    format!("Moved {} {to}.", count_refs(n))
}

/// Where the list's sort order is kept in this browser (every library sorts alike).
const SORT_PREF: &str = "refsync-sort";

/// Keep the list's sort order for the next visit.
pub(crate) fn keep_sort(sort: Sort) {
    let dir = if sort.descending { "desc" } else { "asc" };
    browser::set_pref(SORT_PREF, Some(&format!("{}:{dir}", sort_id(sort.field))));
}

fn sort_id(field: SortField) -> &'static str {
    match field {
        SortField::Author => "author",
        SortField::Year => "year",
        SortField::Title => "title",
        SortField::Journal => "journal",
        SortField::Type => "type",
        SortField::DateAdded => "added",
    }
}

fn kept_sort() -> Sort {
    browser::pref(SORT_PREF)
        .and_then(|text| {
            let (id, dir) = text.split_once(':')?;
            let field = SortField::ALL.into_iter().find(|f| sort_id(*f) == id)?;
            Some(Sort {
                field,
                descending: dir == "desc",
            })
        })
        .unwrap_or_default()
}

/// Where the open collection of library `id` (among those named after `db_base`) is kept: a
/// group belongs to one library. The first library keeps the name it had before there were
/// several in one browser.
fn collection_pref(db_base: &str, id: &LibraryId) -> String {
    let base = if db_base == crate::storage::DB_NAME {
        "library"
    } else {
        db_base
    };
    format!("refsync-collection:{}", id.store_name(base))
}

/// Open the database of library `id` among those named after `db_base` and load it; make it
/// available to every component.
pub fn provide_library(db_base: &'static str, id: LibraryId) {
    let data = RwSignal::new(LibraryData::default());
    let found_duplicates = RwSignal::new(None::<Vec<DuplicateSet>>);
    let library = Library {
        data,
        counts: Memo::new(move |_| data.with(|d| nav::counts(d, browser::now_millis()))),
        found_duplicates,
        duplicates: Memo::new(move |_| {
            found_duplicates.with(|found| {
                let found = found.as_ref()?;
                Some(data.with(|d| d.refs.still_duplicates(found)))
            })
        }),
        duplicates_failed: RwSignal::new(None),
        load: RwSignal::new(LoadState::Loading),
        collection: RwSignal::new(Collection::All),
        sort: RwSignal::new(kept_sort()),
        search: RwSignal::new(String::new()),
        keyword: RwSignal::new(None),
        selected: RwSignal::new(Vec::new()),
        anchor: RwSignal::new(None),
        new_form: RwSignal::new(false),
        save_state: RwSignal::new(SaveState::Idle),
        notice: RwSignal::new(None),
        reveal: RwSignal::new(0),
        changed: RwSignal::new(0),
        last_changed: StoredValue::new(None),
        history: RwSignal::new(History::default()),
        pane: RwSignal::new(Pane::List),
        online: RwSignal::new(None),
        last_backup: RwSignal::new(None),
        help: RwSignal::new(false),
        store: StoredValue::new_local(None),
        id: StoredValue::new(id),
        db_base,
        read_only: RwSignal::new(None),
    };
    provide_context(library);
    // The open collection is kept for the next visit, and shown again once the library is
    // read (if it still exists then).
    let pref = collection_pref(db_base, &library.id.get_value());
    Effect::new(move |restored: Option<bool>| {
        let collection = library.collection.get();
        if restored == Some(true) {
            browser::set_pref(&pref, Some(&collection.to_text()));
            return true;
        }
        if !library.load.with(|l| *l == LoadState::Ready) {
            return false;
        }
        let kept = browser::pref(&pref).and_then(|t| Collection::from_text(&t));
        // Only over the default: a collection chosen while the library was being read stays.
        let kept = kept.filter(|k| {
            collection == Collection::All && library.data.with_untracked(|d| k.exists_in(d))
        });
        if let Some(kept) = kept {
            library.collection.set(kept);
        }
        true
    });
    // One pane at a time on a phone: what was just chosen is what is shown.
    Effect::new(move |first: Option<()>| {
        library.collection.track();
        if first.is_some() {
            library.pane.set(Pane::List);
        }
    });
    Effect::new(move |first: Option<()>| {
        let chosen = library.selected.with(|s| !s.is_empty()) || library.new_form.get();
        if first.is_some() && chosen {
            library.pane.set(Pane::Detail);
        }
    });
    shortcuts::listen(library);
    crate::features::duplicates::find_duplicates(library);
    // Sync Conflicts is shown only while it holds something: when its last conflict is
    // settled (here, in another tab, or by a sync) while it is open, show All References
    // instead of an empty collection that is no longer in the left pane.
    Effect::new(move |_| {
        let settled = library.load.with(|l| *l == LoadState::Ready)
            && library.data.with(|d| d.conflicts.is_empty());
        if settled && library.collection.get_untracked() == Collection::Conflicts {
            library.collection.set(Collection::All);
        }
    });
    spawn_local(async move {
        browser::mark("library-open-start");
        let loaded = async {
            let store = Store::open_library(db_base, &library.id.get_value()).await?;
            if let Some((newest, total)) = store.newest_references(FIRST_SCREEN).await? {
                library.data.set(LibraryData {
                    refs: query::Library::from_references(newest),
                    ..LibraryData::default()
                });
                library.load.set(LoadState::Partial {
                    shown: FIRST_SCREEN,
                    total,
                });
                browser::mark("library-first-screen");
                // Let the first rows paint before the whole library is read: the read starts
                // with ~0.3 s of indexing at 250,000 packed, which a turn of the event loop
                // alone let run before the frame (first rows 1.0 -> 1.25 s; docs/bench.md).
                browser::after_paint().await;
            }
            let snapshot = store.load().await?;
            browser::mark("library-read");
            // The memory the read took, before the window's index is built (the benchmark's).
            browser::mark_detail("wasm-memory-read", browser::wasm_memory_bytes());
            Ok::<_, StoreError>((store, snapshot))
        };
        match loaded.await {
            Ok((store, snapshot)) => {
                let unreadable = snapshot.unreadable;
                library.store.set_value(Some(Rc::new(store)));
                library.data.set(LibraryData::from_snapshot(snapshot));
                library.load.set(LoadState::Ready);
                browser::mark("library-ready");
                // What the library holds in memory once read and indexed (the benchmark's).
                browser::mark_detail("wasm-memory", browser::wasm_memory_bytes());
                if unreadable > 0 {
                    library.fail(format!(
                        "{unreadable} saved {} could not be read and {} left out.",
                        plural(unreadable, "record", "records"),
                        plural(unreadable, "is", "are")
                    ));
                }
            }
            Err(e) => library.load.set(LoadState::Failed(e.to_string())),
        }
    });
}

pub fn use_library() -> Library {
    // Every component is mounted under App, which provides the library first.
    use_context::<Library>().unwrap_or_else(|| {
        panic!("use_library called outside the App component (provide_library not run)")
    })
}

/// The status bar: the last message, else an account of local storage.
#[component]
pub fn StorageStatus() -> impl IntoView {
    let lib = use_library();
    let text = move || match lib.load.get() {
        LoadState::Loading => "Opening your library…".to_string(),
        LoadState::Partial { shown, total } => match total {
            Some(total) => format!(
                "Opening your library… showing the newest {} of {} references",
                crate::features::ui::thousands(shown),
                crate::features::ui::thousands(total)
            ),
            None => format!(
                "Opening your library… showing the newest {} references",
                crate::features::ui::thousands(shown)
            ),
        },
        LoadState::Ready => {
            // All References leaves out the Trash: say so, or the two counts seem to disagree.
            let n = lib.data.with(|d| d.refs.len());
            let trash = lib.counts.with(|c| c.trash);
            let stored = format!(
                "{} {} stored in this browser",
                crate::features::ui::thousands(n),
                plural(n, "reference", "references")
            );
            if trash == 0 {
                stored
            } else {
                format!(
                    "{stored} ({} in the Trash)",
                    crate::features::ui::thousands(trash)
                )
            }
        }
        LoadState::Failed(msg) => msg,
    };
    let failed = move || matches!(lib.load.get(), LoadState::Failed(_));
    view! {
        <span
            id="storage-status"
            class:error=failed
            role=move || if failed() { "alert" } else { "status" }
        >
            {text}
        </span>
        <span class="spacer"></span>
        <Show when=move || lib.history.with(|h| h.next_undo().is_some())>
            <button id="undo" class="link-btn status-btn"
                title=move || lib.history.with(|h| h.next_undo().map(|s| format!("Undo {} (Ctrl+Z)", s.describe())))
                on:click=move |_| lib.undo()>"Undo"</button>
        </Show>
        <Show when=move || lib.history.with(|h| h.next_redo().is_some())>
            <button id="redo" class="link-btn status-btn"
                title=move || lib.history.with(|h| h.next_redo().map(|s| format!("Redo {} (Ctrl+Shift+Z)", s.describe())))
                on:click=move |_| lib.redo()>"Redo"</button>
        </Show>
        <span
            id="notice"
            data-seq=move || lib.notice.with(|n| n.as_ref().map_or(0, |n| n.seq)).to_string()
            class:error=move || lib.notice.with(|n| n.as_ref().is_some_and(|n| n.error))
            role="status"
            aria-live="polite"
        >
            {move || lib.notice.get().map(|n| n.text).unwrap_or_default()}
        </span>
    }
}

pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
