//! Shared libraries in the browser (docs/sharing.md, "In the web app"): every shared library
//! the account belongs to is kept in this browser, in a database of its own beside the
//! personal library's, and synced with it by the same Sync now; the left pane lists them
//! ("Shared with me", "Shared by me") with the person's role, and the window shows one library
//! at a time, like the desktop's File > Open.
//!
//! Invariants: the list of shared libraries is the service's (`GET /libraries`), kept in the
//! personal library's `meta` so that it is there offline; a library the account no longer
//! belongs to stays in this browser, read-only and marked gone, until the person removes its
//! copy (after the offer to export it or copy its references); a viewer's library refuses every
//! change at `Library::writable`, the one door every change goes through.

mod activity;
mod copy;
mod create;
mod last_changed;
mod members;

pub use copy::CopyToButton;
pub use last_changed::LastChanged;

use crate::browser;
use crate::features::account::{use_account, Account, SessionInfo};
use crate::features::library::{use_library, Library, LibraryNav};
use crate::later::{later, loaded};
use crate::storage::Store;
use crate::sync::remote::{sharing as service, BrowserRemote};
use crate::sync::run;
use futures_channel::oneshot;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::{Action, Invitation, LibrarySummary, Role};
use refsync_core::sync::{words, ErrorKind, LibraryId, SyncError};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// The shared libraries known to this browser, in the personal library's `meta`.
const KNOWN: &str = "shared_libraries";
/// Which shared library the window shows (localStorage, per personal library).
const SHOWN: &str = "refsync-shared-shown";
/// Databases of shared libraries whose copy the person removed, deleted at the next start.
const DOOMED: &str = "refsync-shared-doomed";

/// A shared library this browser holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub summary: LibrarySummary,
    /// The account no longer belongs to it (removed, left, or the library was deleted): the
    /// copy here is kept, read-only, until the person removes it.
    #[serde(default)]
    pub gone: bool,
}

impl Known {
    pub fn name(&self) -> String {
        self.summary
            .name
            .clone()
            .unwrap_or_else(|| "Shared library".into())
    }

    fn writable(&self) -> bool {
        !self.gone && self.summary.role.allows(Action::Write)
    }
}

/// Which sharing dialog is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Members, roles and invitations of the library (by id).
    Members(String),
    /// A new shared library, empty or with references copied in.
    Create,
    /// The latest changes in the library (by id).
    Activity(String),
}

/// The sharing state every part of the window reads.
#[derive(Clone, Copy)]
pub struct Sharing {
    /// The shared libraries (the personal one is not among them).
    pub libraries: RwSignal<Vec<Known>>,
    /// Invitations addressed to the signed-in account, not answered yet.
    pub invitations: RwSignal<Vec<Invitation>>,
    pub dialog: RwSignal<Option<Dialog>>,
    /// When the two lists above were last asked for while the account's change stream was
    /// open, if it has said nothing of them since (docs/sharing.md, "One Sync now for all"): a sync asks for
    /// them again only when this is `None` or old.
    lists_asked: StoredValue<Option<u64>>,
}

impl Sharing {
    pub fn new() -> Sharing {
        Sharing {
            libraries: RwSignal::new(Vec::new()),
            invitations: RwSignal::new(Vec::new()),
            dialog: RwSignal::new(None),
            lists_asked: StoredValue::new(None),
        }
    }

    /// The lists may have changed (the account's stream said so, opened or ended): the next
    /// sync asks for them.
    pub fn lists_stale(self) {
        self.lists_asked.set_value(None);
    }

    pub fn get(self, id: &str) -> Option<Known> {
        self.libraries
            .with_untracked(|l| l.iter().find(|k| k.summary.id == id).cloned())
    }
}

impl Default for Sharing {
    fn default() -> Sharing {
        Sharing::new()
    }
}

fn shown_pref(db_base: &str) -> String {
    format!("{SHOWN}:{db_base}")
}

/// The library a window of the personal library `db_base` opens: the shared one shown last,
/// else the personal library.
pub fn shown(db_base: &str) -> LibraryId {
    match browser::pref(&shown_pref(db_base)) {
        Some(id) if !id.is_empty() => LibraryId::Shared { id },
        _ => LibraryId::Personal,
    }
}

/// Show another library in this window (the window reloads: one window holds one library).
pub fn show(db_base: &str, library: &LibraryId) {
    let id = match library {
        LibraryId::Personal => None,
        LibraryId::Shared { id } => Some(id.as_str()),
    };
    browser::set_pref(&shown_pref(db_base), id);
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// Remove the databases of copies removed earlier (none is open in this window yet).
pub fn remove_doomed(db_base: &str) {
    let doomed: Vec<String> = browser::pref(DOOMED)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    if doomed.is_empty() {
        return;
    }
    let open = shown(db_base).store_name(db_base);
    let left: Vec<String> = doomed
        .into_iter()
        .filter(|name| *name == open || !browser::delete_database(name))
        .collect();
    browser::set_pref(DOOMED, serde_json::to_string(&left).ok().as_deref());
}

/// Why the window's library cannot be changed, if it cannot.
fn refusal(shown: &LibraryId, libraries: &[Known]) -> Option<String> {
    let LibraryId::Shared { id } = shown else {
        return None;
    };
    let known = libraries.iter().find(|k| &k.summary.id == id)?;
    if known.gone {
        Some(format!(
            "You are no longer a member of “{}”, so its copy here cannot be changed. Copy references into your own library to keep working on them.",
            known.name()
        ))
    } else if !known.summary.role.allows(Action::Write) {
        Some(format!(
            "You are a viewer of “{}”: you can read, cite and copy its references, not change them. Copy a reference into your own library to change it.",
            known.name()
        ))
    } else {
        None
    }
}

pub fn use_sharing() -> Sharing {
    use_account().sharing
}

/// Keep the window's library read-only when the person's role says so (the kept list is
/// read with the session: `account::load_saved`).
pub fn provide_sharing() {
    let lib = use_library();
    let account = use_account();
    let sharing = account.sharing;
    remove_doomed(lib.db_base);
    Effect::new(move |_| {
        let why = sharing.libraries.with(|l| refusal(&lib.id.get_value(), l));
        if lib.read_only.get_untracked() != why {
            lib.read_only.set(why);
        }
    });
}

/// Read the kept list of shared libraries (at start, and when another tab synced).
pub async fn load_known(lib: Library, account: Account) {
    let Ok(home) = crate::features::account::home_store(lib, account).await else {
        return;
    };
    if let Ok(Some(json)) = home.meta(KNOWN).await {
        if let Ok(list) = serde_json::from_str::<Vec<Known>>(&json) {
            if account.sharing.libraries.get_untracked() != list {
                account.sharing.libraries.set(list);
            }
        }
    }
}

/// Show and keep the list of shared libraries. A list the same as the one shown (which is the
/// kept one: both are only ever set together, or the shown one from the kept one) is neither
/// shown nor written again: every sync reads the list, and most find it unchanged.
async fn keep(lib: Library, account: Account, list: Vec<Known>) {
    if account.sharing.libraries.with_untracked(|l| *l == list) {
        return;
    }
    account.sharing.libraries.set(list.clone());
    if let Ok(home) = crate::features::account::home_store(lib, account).await {
        // Only a list the next sync reads again: losing it costs a moment offline.
        let _ = home
            .set_meta(KNOWN, &serde_json::to_string(&list).unwrap_or_default())
            .await;
    }
}

/// Every other library this browser holds, by name, with its last sync (Sync Status shows
/// them): the personal library when the window shows a shared one, then the shared ones.
pub async fn others_last_syncs(
    lib: Library,
    account: Account,
) -> Vec<(String, Option<crate::features::account::SyncRecord>)> {
    use crate::features::account::last_sync_in;
    let mut out = Vec::new();
    let shown = lib.id.get_value();
    if shown != LibraryId::Personal {
        if let Ok(home) = crate::features::account::home_store(lib, account).await {
            out.push((
                crate::features::libraries::chosen().name,
                last_sync_in(&home).await,
            ));
        }
    }
    let list = account.sharing.libraries.get_untracked();
    for known in list.iter().filter(|k| !k.gone) {
        let id = LibraryId::Shared {
            id: known.summary.id.clone(),
        };
        if id == shown {
            continue;
        }
        let last = match Store::open_library(lib.db_base, &id).await {
            Ok(store) => {
                let last = last_sync_in(&store).await;
                store.close();
                last
            }
            Err(_) => None,
        };
        out.push((known.name(), last));
    }
    out
}

/// What syncing the other libraries did: each library's name and its result.
pub type Others = Vec<(String, Result<run::Report, SyncError>)>;

/// After the window's library synced: read the account's libraries and invitations again,
/// mark those it left, and sync every library this window does not show (the personal one
/// too, when a shared one is shown). A connection cut ends it quietly: the window's own sync
/// already said so.
pub async fn sync_others(
    lib: Library,
    account: Account,
    session: &SessionInfo,
    device_id: &str,
    lists: Lists,
) -> Others {
    let sharing = account.sharing;
    let mut done = Others::new();
    let mut list = sharing.libraries.get_untracked();
    if let Some(Asked {
        asked_with,
        listed,
        invited,
    }) = lists.0
    {
        let invited = invited.await;
        if let Ok(Ok(invitations)) = &invited {
            sharing.invitations.set(invitations.clone());
        }
        let listed = listed.await;
        if !matches!((&invited, &listed), (Ok(Ok(_)), Ok(Ok(_)))) {
            sharing.lists_stale();
        }
        if let Ok(Ok(all)) = listed {
            let gone;
            (list, gone) = merged(&list, all, &asked_with);
            keep(lib, account, list.clone()).await;
            // Said with the sync's result, so that it is not lost under the next message.
            for name in gone {
                done.push((
                name,
                Err(SyncError::new(
                    ErrorKind::NotFound,
                    "you are no longer a member (its owner removed you, or deleted it); its copy stays in this browser, read-only, until you remove it: export it or copy references into your own library first.",
                )),
            ));
            }
        }
    }
    let shown = lib.id.get_value();
    if let LibraryId::Shared { .. } = shown {
        if let Ok(home) = crate::features::account::home_store(lib, account).await {
            let remote = BrowserRemote::new(
                session.token.clone(),
                session.library_id.clone(),
                device_id.to_string(),
            );
            let started = browser::now_millis();
            let result = run::sync_all(home.clone(), remote, None, Box::new(|_| {})).await;
            crate::features::account::remember_other(&home, started, &result).await;
            done.push((crate::features::libraries::chosen().name, result));
        }
    }
    for known in list.iter().filter(|k| !k.gone) {
        let id = LibraryId::Shared {
            id: known.summary.id.clone(),
        };
        if id == shown {
            continue;
        }
        let store = match Store::open_library(lib.db_base, &id).await {
            Ok(s) => s,
            Err(e) => {
                done.push((
                    known.name(),
                    Err(SyncError::new(ErrorKind::Local, e.to_string())),
                ));
                continue;
            }
        };
        let remote = BrowserRemote::new(
            session.token.clone(),
            known.summary.id.clone(),
            device_id.to_string(),
        );
        let started = browser::now_millis();
        let store = Rc::new(store);
        let result = run::sync_all(store.clone(), remote, None, Box::new(|_| {})).await;
        crate::features::account::remember_other(&store, started, &result).await;
        // The sync is over: this is the only handle left.
        if let Ok(store) = Rc::try_unwrap(store) {
            store.close();
        }
        let stop =
            matches!(&result, Err(e) if matches!(e.kind, ErrorKind::Connection | ErrorKind::Auth));
        done.push((known.name(), result));
        if stop {
            break;
        }
    }
    // The counts shown beside each library, as they are after this sync.
    let moved = done.iter().any(|(_, r)| {
        r.as_ref()
            .is_ok_and(|r| r.outcome.sent + r.outcome.received > 0)
    });
    if moved {
        let asked_with = known_ids(sharing);
        if let Ok(all) = service::libraries(&session.token).await {
            let (list, _) = merged(&sharing.libraries.get_untracked(), all, &asked_with);
            keep(lib, account, list).await;
        }
    }
    done
}

/// The account's libraries and open invitations, on their way (`None`: the ones known here
/// are trusted, see [`ask_lists`]).
pub struct Lists(Option<Asked>);

/// The lists, asked for side by side as a sync starts, so that their round trips overlap the
/// window's own sync instead of following it. `asked_with`: the libraries known when they were
/// asked for (see [`merged`]).
struct Asked {
    asked_with: Vec<String>,
    listed: oneshot::Receiver<Result<Vec<LibrarySummary>, SyncError>>,
    invited: oneshot::Receiver<Result<Vec<Invitation>, SyncError>>,
}

/// How long lists asked for while the account's stream is open are trusted without word from
/// it: what the stream never announces (an invitation expiring, an administrator's change)
/// shows within this.
const LISTS_TRUSTED_MS: u64 = 10 * 60_000;

/// Ask for the account's libraries and invitations now, unless the ones known here are still
/// what the service would answer: asked for while the account's change stream (`live`) was
/// open, which has not said since that they changed, nor closed (docs/sharing.md, "One Sync now for all").
/// Asking every time cost a sync with nothing new two of its four requests (docs/bench.md).
/// [`sync_others`] reads the answers.
pub fn ask_lists(sharing: Sharing, live: RwSignal<bool>, token: &str) -> Lists {
    let now = browser::now_millis();
    let live = live.get_untracked();
    let trusted = sharing
        .lists_asked
        .get_value()
        .is_some_and(|at| now.saturating_sub(at) < LISTS_TRUSTED_MS);
    if live && trusted {
        return Lists(None);
    }
    sharing
        .lists_asked
        .set_value(if live { Some(now) } else { None });
    let asked_with = known_ids(sharing);
    let (send_listed, listed) = oneshot::channel();
    let (send_invited, invited) = oneshot::channel();
    let (t1, t2) = (token.to_string(), token.to_string());
    spawn_local(async move {
        let _ = send_listed.send(service::libraries(&t1).await);
    });
    spawn_local(async move {
        let _ = send_invited.send(service::invitations(&t2).await);
    });
    Lists(Some(Asked {
        asked_with,
        listed,
        invited,
    }))
}

/// The ids of the shared libraries known here now.
fn known_ids(sharing: Sharing) -> Vec<String> {
    sharing
        .libraries
        .with_untracked(|l| l.iter().map(|k| k.summary.id.clone()).collect())
}

/// The service's list of the account's libraries over the one known here: a library known
/// here but not listed any more is kept, marked gone. Also the names of those gone just now.
/// A library not known yet when the list was asked for (`asked_with`: an invitation accepted
/// while it was on its way) is kept as it is: the list is older than it.
fn merged(
    known: &[Known],
    listed: Vec<LibrarySummary>,
    asked_with: &[String],
) -> (Vec<Known>, Vec<String>) {
    let mut next: Vec<Known> = listed
        .into_iter()
        .filter(|s| !s.is_personal())
        .map(|summary| Known {
            summary,
            gone: false,
        })
        .collect();
    let left: Vec<&Known> = known
        .iter()
        .filter(|o| !next.iter().any(|n| n.summary.id == o.summary.id))
        .collect();
    let mut gone_now = Vec::new();
    for old in left {
        if !asked_with.contains(&old.summary.id) {
            next.push(old.clone());
            continue;
        }
        if !old.gone {
            gone_now.push(old.name());
        }
        next.push(Known {
            summary: old.summary.clone(),
            gone: true,
        });
    }
    (next, gone_now)
}

/// The shown shared library is not there any more for this account (the service said 404):
/// mark it gone, so the window turns read-only and says why.
pub async fn mark_gone(lib: Library, account: Account, id: &str) {
    let mut list = account.sharing.libraries.get_untracked();
    let mut changed = false;
    for k in list.iter_mut().filter(|k| k.summary.id == id && !k.gone) {
        k.gone = true;
        changed = true;
    }
    if changed {
        keep(lib, account, list).await;
    }
}

/// What the other libraries' syncs did, in a line (`None` when there is nothing to say).
pub fn describe_others(others: &Others) -> Option<String> {
    let mut parts = Vec::new();
    for (name, result) in others {
        match result {
            Ok(r) => {
                let o = r.outcome;
                if o.sent + o.received + o.deleted + o.conflicts > 0 {
                    parts.push(format!("“{name}”: {}", run::describe(r)));
                }
            }
            Err(e) => parts.push(format!("“{name}” did not sync: {}", e.message)),
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Forget the copy of a shared library in this browser (after the offer to export it); the
/// window shows the personal library if it showed this one.
pub fn remove_copy(lib: Library, account: Account, id: String) {
    spawn_local(async move {
        let mut list = account.sharing.libraries.get_untracked();
        list.retain(|k| k.summary.id != id);
        keep(lib, account, list).await;
        let library = LibraryId::Shared { id: id.clone() };
        let name = library.store_name(lib.db_base);
        let mut doomed: Vec<String> = browser::pref(DOOMED)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        doomed.push(name);
        browser::set_pref(DOOMED, serde_json::to_string(&doomed).ok().as_deref());
        if lib.id.get_value() == library {
            show(lib.db_base, &LibraryId::Personal);
        } else {
            remove_doomed(lib.db_base);
            lib.tell("The copy was removed from this browser.");
        }
    });
}

/// Answer an invitation: accepted, the library is listed and downloaded by a sync.
fn answer(lib: Library, account: Account, invitation: Invitation, accept: bool) {
    let Some(session) = account.session.get_untracked() else {
        return;
    };
    spawn_local(async move {
        match service::answer(&session.token, &invitation.id, accept).await {
            Ok(joined) => {
                account
                    .sharing
                    .invitations
                    .update(|l| l.retain(|i| i.id != invitation.id));
                match joined {
                    Some(summary) => {
                        let mut list = account.sharing.libraries.get_untracked();
                        list.retain(|k| k.summary.id != summary.id);
                        list.push(Known {
                            summary,
                            gone: false,
                        });
                        keep(lib, account, list).await;
                        lib.tell(format!(
                            "You joined “{}”. It is under Shared with me, and syncs with your library.",
                            invitation.library_name
                        ));
                        crate::features::account::sync_now(lib, account);
                    }
                    None => lib.tell(format!(
                        "Declined the invitation to “{}”.",
                        invitation.library_name
                    )),
                }
            }
            Err(e) => lib.fail(service_error(&e)),
        }
    });
}

/// A sharing call's failure in words.
pub fn service_error(e: &SyncError) -> String {
    match e.kind {
        ErrorKind::Connection => {
            "The refsync service cannot be reached: sharing needs the connection. Try again when it is back.".into()
        }
        ErrorKind::Auth => "Your sign-in has expired. Sign in again.".into(),
        _ => e.message.clone(),
    }
}

/// Beside the header's library name: the shared library the window shows, and the role.
#[component]
pub fn SharedTitle() -> impl IntoView {
    let lib = use_library();
    let sharing = use_sharing();
    let LibraryId::Shared { id } = lib.id.get_value() else {
        return ().into_any();
    };
    let text = move || {
        sharing
            .libraries
            .with(|l| {
                l.iter()
                    .find(|k| k.summary.id == id)
                    .map(|k| (k.name(), k.summary.role, k.gone))
            })
            .map(|(name, role, gone)| {
                format!(
                    "▸ {name} ({})",
                    if gone {
                        "no longer shared"
                    } else {
                        role.as_str()
                    }
                )
            })
    };
    view! { <span id="shared-title" class="shared-title">{text}</span> }.into_any()
}

/// Invitations to the signed-in account, each with Accept and Decline.
#[component]
pub fn InvitationsNotice() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let sharing = account.sharing;
    view! {
        <For each=move || sharing.invitations.get() key=|i: &Invitation| i.id.clone() children=move |i: Invitation| {
            let text = format!(
                "{} invited you to the shared library “{}” as {} {}.",
                i.invited_by,
                i.library_name,
                article(i.role),
                i.role.as_str()
            );
            let (yes, no) = (i.clone(), i.clone());
            view! {
                <div class="banner invitation" role="status" data-library=i.library_name.clone()>
                    <span>{text}</span>
                    <button class="btn btn-small btn-primary invite-accept" on:click=move |_| answer(lib, account, yes.clone(), true)>"Accept"</button>
                    <button class="btn btn-small invite-decline" on:click=move |_| answer(lib, account, no.clone(), false)>"Decline"</button>
                </div>
            }
        } />
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Owner => "the",
        Role::Editor | Role::Viewer => "a",
    }
}

/// The left pane: the personal library and each shared one, the window's own expanded to its
/// collections and groups.
#[component]
pub fn LibrariesPane() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let sharing = account.sharing;
    let shown = lib.id.get_value();
    let personal_shown = shown == LibraryId::Personal;
    let personal_name = crate::features::libraries::chosen().name;
    let base = lib.db_base;
    let listed = {
        let shown = shown.clone();
        move || match &shown {
            LibraryId::Personal => true,
            LibraryId::Shared { id } => sharing
                .libraries
                .with(|l| l.iter().any(|k| &k.summary.id == id)),
        }
    };
    let section = move |owned: bool, gone: bool| {
        move || {
            sharing.libraries.with(|l| {
                l.iter()
                    .filter(|k| {
                        k.gone == gone && (gone || (k.summary.role == Role::Owner) == owned)
                    })
                    .cloned()
                    .collect::<Vec<_>>()
            })
        }
    };
    let signed_in = move || account.session.with(Option::is_some);
    view! {
        <div class="library-heading" class:current=personal_shown>
            {if personal_shown {
                view! { <h2 class="pane-title" id="personal-library">{personal_name}</h2> }.into_any()
            } else {
                view! {
                    <button id="personal-library" class="link-btn library-open" title="Show your own library"
                        on:click=move |_| show(base, &LibraryId::Personal)>{personal_name}</button>
                }.into_any()
            }}
        </div>
        {personal_shown.then(|| view! { <LibraryNav /> })}
        // Until the kept list is read (or if it lost this library), the window's library still
        // shows its collections.
        {move || (!listed()).then(|| view! {
            <h2 class="pane-title">"Shared library"</h2>
            <LibraryNav />
        })}
        <SharedSection id="shared-with-me" title="Shared with me" items=Signal::derive(section(false, false)) />
        <Show when=move || signed_in() || !section(true, false)().is_empty()>
            <SharedSection id="shared-by-me" title="Shared by me" items=Signal::derive(section(true, false)) />
            <div class="nav-actions">
                <button id="new-shared-library" class="link-btn" title="Share references with co-authors"
                    disabled=move || !signed_in()
                    on:click=move |_| sharing.dialog.set(Some(Dialog::Create))>"+ Shared library"</button>
            </div>
        </Show>
        <SharedSection id="shared-gone" title="No longer shared" items=Signal::derive(section(false, true)) />
        <SharingDialogs />
    }
}

#[component]
fn SharedSection(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    items: Signal<Vec<Known>>,
) -> impl IntoView {
    let list_id = format!("{id}-list");
    view! {
        <Show when=move || !items.with(Vec::is_empty)>
            <div class="nav-section">
                <h2 class="pane-title" id=id.clone()>{title.clone()}" "<span class="count">{move || items.with(Vec::len)}</span></h2>
            </div>
            <ul class="nav-tree shared-list" id=list_id.clone() aria-label=title.clone()>
                <For each=move || items.get() key=|k: &Known| k.summary.id.clone() children=move |k: Known| view! { <SharedItem id=k.summary.id.clone() /> } />
            </ul>
        </Show>
    }
}

#[component]
fn SharedItem(id: String) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let sharing = account.sharing;
    let library = LibraryId::Shared { id: id.clone() };
    let here = lib.id.get_value() == library;
    let known = {
        let id = id.clone();
        move || {
            sharing
                .libraries
                .with(|l| l.iter().find(|k| k.summary.id == id).cloned())
        }
    };
    let Some(first) = known() else {
        return ().into_any();
    };
    let name = {
        let known = known.clone();
        move || known().map(|k| k.name()).unwrap_or_default()
    };
    let role = {
        let known = known.clone();
        Memo::new(move |_| known().map(|k| k.summary.role).unwrap_or(Role::Viewer))
    };
    let count = {
        let known = known.clone();
        move || {
            if here {
                lib.counts.with(|c| c.all)
            } else {
                known().map_or(0, |k| k.summary.references as usize)
            }
        }
    };
    let gone = first.gone;
    let owner = first.summary.owner.clone();
    let owned = first.summary.role == Role::Owner;
    let base = lib.db_base;
    let (for_members, for_activity, for_remove) = (id.clone(), id.clone(), id.clone());
    let confirm_remove = RwSignal::new(false);
    let open = move |_| show(base, &library);
    view! {
        <li class="shared-item" class:current=here data-library=name.clone()>
            <div class="shared-row">
                {if here {
                    view! { <span class="shared-name nav-label" aria-current="true">{name.clone()}</span> }.into_any()
                } else {
                    view! { <button class="link-btn shared-open nav-label" title="Open this library" on:click=open>{name.clone()}</button> }.into_any()
                }}
                <span class="badge role-badge" data-role=move || role.get().as_str() title=move || role.get().describe()>{move || role.get().as_str()}</span>
                <span class="count shared-count">{count}</span>
            </div>
            {(!owned).then(|| view! { <div class="shared-owner hint">{format!("by {owner}")}</div> })}
            {(here && !gone).then(|| view! {
                <div class="nav-actions shared-actions">
                    <button class="link-btn members-open" on:click=move |_| sharing.dialog.set(Some(Dialog::Members(for_members.clone())))>
                        {if owned { "Share…" } else { "Members" }}
                    </button>
                    <button class="link-btn activity-open" on:click=move |_| sharing.dialog.set(Some(Dialog::Activity(for_activity.clone())))>"Activity"</button>
                </div>
            })}
            {gone.then(|| view! {
                <div class="nav-actions shared-actions">
                    <button class="link-btn remove-copy" on:click=move |_| confirm_remove.set(true)>"Remove the copy…"</button>
                </div>
                <Show when=move || confirm_remove.get()>
                    <RemoveCopyDialog id=for_remove.clone() close=Callback::new(move |_| confirm_remove.set(false)) />
                </Show>
            })}
            {here.then(|| view! { <LibraryNav /> })}
        </li>
    }
    .into_any()
}

/// Removing a gone library's copy, with the offer to export it first (open here only when
/// the window shows it: the backup is of the window's library).
#[component]
fn RemoveCopyDialog(id: String, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let here = lib.id.get_value() == LibraryId::Shared { id: id.clone() };
    let held = move || lib.counts.with(|c| c.all + c.trash);
    view! {
        <crate::features::ui::Modal id="remove-copy-dialog" title="Remove the copy from this browser" on_close=close>
            {if here {
                view! {
                    <crate::features::transfer::BackupOffer id="remove-copy-backup" text=format!(
                        "Removing deletes this browser's copy of {} (you can no longer sync it). Select references and Copy to… your own library to keep some.",
                        words::count(held() as u64, "reference", "references")
                    ) />
                }.into_any()
            } else {
                view! { <p class="hint">"Open it first to export it or copy references from it; removing deletes this browser's copy."</p> }.into_any()
            }}
            <crate::features::ui::DialogFooter>
                <button type="button" class="btn" on:click=move |_| close.run(())>"Keep it"</button>
                <button id="remove-copy-confirm" type="button" class="btn btn-danger" on:click=move |_| {
                    remove_copy(lib, account, id.clone());
                    close.run(());
                }>"Remove the copy"</button>
            </crate::features::ui::DialogFooter>
        </crate::features::ui::Modal>
    }
}

#[component]
fn SharingDialogs() -> impl IntoView {
    let sharing = use_sharing();
    let close = Callback::new(move |_| sharing.dialog.set(None));
    move || {
        sharing
            .dialog
            .get()
            .map(|which| loaded(move || sharing_dialog(which.clone(), close)))
    }
}

later! { sharing;
    /// The dialogs, loaded the first time one opens.
    fn sharing_dialog(which: Dialog, close: Callback<()>) -> AnyView {
        match which {
            Dialog::Members(id) => view! { <members::MembersDialog id=id close=close /> }.into_any(),
            Dialog::Create => view! { <create::CreateDialog close=close /> }.into_any(),
            Dialog::Activity(id) => view! { <activity::ActivityDialog id=id close=close /> }.into_any(),
        }
    }
}

/// The libraries a reference can be copied into from the window's: the others this account
/// may write to.
pub fn copy_targets(lib: Library, sharing: Sharing) -> Vec<(LibraryId, String)> {
    let shown = lib.id.get_value();
    let mut out = Vec::new();
    if shown != LibraryId::Personal {
        out.push((
            LibraryId::Personal,
            crate::features::libraries::chosen().name,
        ));
    }
    sharing.libraries.with_untracked(|l| {
        for k in l.iter().filter(|k| k.writable()) {
            let id = LibraryId::Shared {
                id: k.summary.id.clone(),
            };
            if id != shown {
                out.push((id, k.name()));
            }
        }
    });
    out
}
