//! Share…: a shared library's members and their roles, the invitations waiting for an answer,
//! inviting by email; the owner changes roles, removes members, takes back invitations, hands
//! the library over or deletes it (a backup offered first); anyone else may leave. The service
//! decides (`Role::allows`); this dialog only offers what the person's role may do.

use super::{keep, mark_gone, remove_copy, service_error, Known};
use crate::features::account::{use_account, Account};
use crate::features::library::{use_library, Library};
use crate::features::ui::{DialogFooter, Modal};
use crate::sync::remote::sharing as service;
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::protocol::{Action, Invitation, Member, Role};
use refsync_core::sync::words;

/// What the dialog read from the service.
#[derive(Clone, Debug, Default, PartialEq)]
struct Roster {
    members: Vec<Member>,
    invitations: Vec<Invitation>,
}

async fn roster(token: &str, id: &str, manage: bool) -> Result<Roster, String> {
    let members = service::members(token, id)
        .await
        .map_err(|e| service_error(&e))?;
    let invitations = if manage {
        service::invitations_of(token, id)
            .await
            .map_err(|e| service_error(&e))?
    } else {
        Vec::new()
    };
    Ok(Roster {
        members,
        invitations,
    })
}

/// Run a sharing call; then read the roster again and say `done`, or show the failure.
fn act<F>(
    lib: Library,
    reload: RwSignal<u64>,
    error: RwSignal<Option<String>>,
    call: F,
    done: String,
) where
    F: std::future::Future<Output = Result<(), refsync_core::sync::SyncError>> + 'static,
{
    spawn_local(async move {
        match call.await {
            Ok(()) => {
                error.set(None);
                lib.tell(done);
                reload.update(|n| *n += 1);
            }
            Err(e) => error.set(Some(service_error(&e))),
        }
    });
}

#[component]
pub fn MembersDialog(id: String, close: Callback<()>) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let Some(known) = account.sharing.get(&id) else {
        return ().into_any();
    };
    let Some(session) = account.session.get_untracked() else {
        return view! {
            <Modal id="members-dialog" title="Members" on_close=close>
                <p class="hint">"Sign in to see and change who shares this library."</p>
            </Modal>
        }
        .into_any();
    };
    let role = known.summary.role;
    let manage = role.allows(Action::Manage);
    let owns = role.allows(Action::Own);
    let name = known.name();
    let reload = RwSignal::new(0u64);
    let error = RwSignal::new(None::<String>);
    let token = session.token.clone();
    let me = session.email.clone();
    let roster_id = id.clone();
    let read = LocalResource::new(move || {
        reload.track();
        let (token, id) = (token.clone(), roster_id.clone());
        async move { roster(&token, &id, manage).await }
    });
    let email = RwSignal::new(String::new());
    let new_role = RwSignal::new(Role::Editor);
    let (tok, lid) = (session.token.clone(), id.clone());
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked().trim().to_string();
        if !address.contains('@') {
            error.set(Some(
                "Enter the email address of the person to invite.".into(),
            ));
            return;
        }
        let role = new_role.get_untracked();
        let (tok, lid) = (tok.clone(), lid.clone());
        email.set(String::new());
        let done = format!(
            "Invited {address} as {} {}: they see the invitation when they sign in.",
            super::article(role),
            role.as_str()
        );
        act(
            lib,
            reload,
            error,
            async move { service::invite(&tok, &lid, &address, role).await.map(drop) },
            done,
        );
    };
    let confirm = RwSignal::new(None::<Confirm>);
    let title = format!("Members of “{name}”");
    let body_session = session.clone();
    let body_id = id.clone();
    let roster_view = move || {
        let session = body_session.clone();
        let id = body_id.clone();
        let me = me.clone();
        read.get().map(move |r| match r {
            Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Ok(r) => view! {
                <table class="members" id="members">
                    <thead><tr><th>"Member"</th><th>"Role"</th><th></th></tr></thead>
                    <tbody>
                        {r.members.into_iter().map(|m| {
                            let mine = m.email == me;
                            view! { <MemberRow member=m mine=mine manage=manage owns=owns token=session.token.clone() library=id.clone() reload=reload error=error confirm=confirm /> }
                        }).collect_view()}
                    </tbody>
                </table>
                {(!r.invitations.is_empty()).then(|| view! {
                    <h3 class="dialog-subtitle">"Invitations waiting for an answer"</h3>
                    <ul class="pending-invitations" id="pending-invitations">
                        {r.invitations.into_iter().map(|i| {
                            let (tok, lid, iid) = (session.token.clone(), id.clone(), i.id.clone());
                            let done = format!("The invitation to {} was taken back.", i.email);
                            view! {
                                <li class="pending-invitation" data-email=i.email.clone()>
                                    <span>{i.email.clone()}</span>" "
                                    <span class="badge role-badge" data-role=i.role.as_str()>{i.role.as_str()}</span>
                                    <button class="link-btn revoke" on:click=move |_| {
                                        let (tok, lid, iid) = (tok.clone(), lid.clone(), iid.clone());
                                        act(lib, reload, error, async move { service::revoke(&tok, &lid, &iid).await }, done.clone());
                                    }>"Take back"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            }.into_any(),
        })
    };
    let role_text = role.describe();
    view! {
        <Modal id="members-dialog" title=title on_close=close wide=true>
            <p class="hint">{format!("You are {} {} of “{name}”: {role_text}.", super::article(role), role.as_str())}</p>
            {move || if read.get().is_none() { Some(view! { <p class="hint">"Reading the members…"</p> }) } else { None }}
            {roster_view}
            {manage.then(|| view! {
                <form class="form form-inline invite-form" on:submit=invite>
                    <label for="invite-email">"Invite"</label>
                    <input id="invite-email" type="email" placeholder="co-author@university.edu" autocomplete="off" bind:value=email />
                    <select id="invite-role" aria-label="Role of the person invited" on:change=move |ev| {
                        if let Some(r) = Role::parse(&event_target_value(&ev)) { new_role.set(r) }
                    }>
                        <option value="editor" selected=true>"Editor: adds and changes references"</option>
                        <option value="viewer">"Viewer: reads, cites and copies"</option>
                    </select>
                    <button id="invite-send" type="submit" class="btn btn-primary">"Invite"</button>
                </form>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <LibraryActions known=known.clone() close=close confirm=confirm />
        </Modal>
    }
    .into_any()
}

/// A question asked before an action that cannot be taken back.
#[derive(Clone, Debug, PartialEq)]
enum Confirm {
    Leave,
    Delete,
    Remove { account: String, email: String },
    Transfer { account: String, email: String },
}

#[component]
fn MemberRow(
    member: Member,
    mine: bool,
    manage: bool,
    owns: bool,
    token: String,
    library: String,
    reload: RwSignal<u64>,
    error: RwSignal<Option<String>>,
    confirm: RwSignal<Option<Confirm>>,
) -> impl IntoView {
    let lib = use_library();
    let m = member.clone();
    let changeable = manage && !mine && member.role != Role::Owner;
    let (tok, lid, acc, email) = (
        token.clone(),
        library.clone(),
        member.account_id.clone(),
        member.email.clone(),
    );
    let on_role = move |ev: leptos::ev::Event| {
        let Some(role) = Role::parse(&event_target_value(&ev)) else {
            return;
        };
        let (tok, lid, acc) = (tok.clone(), lid.clone(), acc.clone());
        let done = format!("{email} is now {} {}.", super::article(role), role.as_str());
        act(
            lib,
            reload,
            error,
            async move { service::set_role(&tok, &lid, &acc, role).await },
            done,
        );
    };
    let (remove_acc, remove_email) = (m.account_id.clone(), m.email.clone());
    let (give_acc, give_email) = (m.account_id.clone(), m.email.clone());
    view! {
        <tr class="member" data-email=m.email.clone()>
            <td>{m.email.clone()}{mine.then_some(" (you)")}</td>
            <td>
                {if changeable {
                    view! {
                        <select class="member-role" aria-label=format!("Role of {}", m.email) on:change=on_role>
                            <option value="editor" selected=m.role == Role::Editor>"editor"</option>
                            <option value="viewer" selected=m.role == Role::Viewer>"viewer"</option>
                        </select>
                    }.into_any()
                } else {
                    view! { <span class="badge role-badge" data-role=m.role.as_str()>{m.role.as_str()}</span> }.into_any()
                }}
            </td>
            <td class="member-actions">
                {changeable.then(|| view! {
                    <button class="link-btn member-remove" on:click=move |_| confirm.set(Some(Confirm::Remove { account: remove_acc.clone(), email: remove_email.clone() }))>"Remove"</button>
                })}
                {(owns && !mine).then(|| view! {
                    <button class="link-btn member-transfer" on:click=move |_| confirm.set(Some(Confirm::Transfer { account: give_acc.clone(), email: give_email.clone() }))>"Make owner"</button>
                })}
            </td>
        </tr>
    }
}

/// Leave, delete, and the confirmations of removing a member and handing the library over.
#[component]
fn LibraryActions(
    known: Known,
    close: Callback<()>,
    confirm: RwSignal<Option<Confirm>>,
) -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let owns = known.summary.role.allows(Action::Own);
    let name = known.name();
    let id = known.summary.id.clone();
    let held = move || lib.counts.with(|c| c.all + c.trash);
    let question = move || {
        let name = name.clone();
        let id = id.clone();
        confirm.get().map(move |c| {
            let (text, button, danger) = match &c {
                Confirm::Leave => (format!("Leave “{name}”? You stop receiving its changes; its copy stays here, read-only, until you remove it."), "Leave the library", true),
                Confirm::Delete => (format!("Delete “{name}” for every member? Their copies stop syncing; this cannot be undone."), "Delete for everyone", true),
                Confirm::Remove { email, .. } => (format!("Remove {email} from “{name}”? They keep a read-only copy of what they had."), "Remove", true),
                Confirm::Transfer { email, .. } => (format!("Make {email} the owner of “{name}”? You become an editor."), "Make owner", false),
            };
            let backup = (c == Confirm::Delete).then(|| view! {
                <crate::features::transfer::BackupOffer id="delete-shared-backup" text=format!(
                    "Deleting removes the library and its {} everywhere.",
                    words::count(held() as u64, "reference", "references")
                ) />
            });
            let go = {
                let id = id.clone();
                move |_| {
                    confirm.set(None);
                    run(lib, account, id.clone(), c.clone(), close);
                }
            };
            view! {
                <div class="confirm-box" role="alertdialog">
                    <p>{text}</p>
                    {backup}
                    <DialogFooter>
                        <button type="button" class="btn" on:click=move |_| confirm.set(None)>"Cancel"</button>
                        <button id="sharing-confirm" type="button" class="btn" class:btn-danger=danger class:btn-primary=!danger on:click=go>{button}</button>
                    </DialogFooter>
                </div>
            }
        })
    };
    view! {
        {question}
        <DialogFooter>
            {if owns {
                view! { <button id="delete-shared" type="button" class="btn btn-danger" on:click=move |_| confirm.set(Some(Confirm::Delete))>"Delete the library…"</button> }.into_any()
            } else {
                view! { <button id="leave-shared" type="button" class="btn btn-danger" on:click=move |_| confirm.set(Some(Confirm::Leave))>"Leave the library…"</button> }.into_any()
            }}
            <button id="members-close" type="button" class="btn" on:click=move |_| close.run(())>"Close"</button>
        </DialogFooter>
    }
}

fn run(lib: Library, account: Account, id: String, what: Confirm, close: Callback<()>) {
    let Some(session) = account.session.get_untracked() else {
        return;
    };
    spawn_local(async move {
        let token = session.token.as_str();
        let result = match &what {
            Confirm::Leave => {
                // Leaving is removing one's own membership; the service knows the account.
                match service::members(token, &id).await {
                    Ok(members) => match members.iter().find(|m| m.email == session.email) {
                        Some(me) => service::remove_member(token, &id, &me.account_id).await,
                        None => Ok(()),
                    },
                    Err(e) => Err(e),
                }
            }
            Confirm::Delete => service::delete_library(token, &id).await,
            Confirm::Remove { account: a, .. } => service::remove_member(token, &id, a).await,
            Confirm::Transfer { account: a, .. } => service::transfer(token, &id, a).await,
        };
        if let Err(e) = result {
            lib.fail(service_error(&e));
            return;
        }
        match what {
            Confirm::Leave => {
                mark_gone(lib, account, &id).await;
                close.run(());
                lib.tell(
                    "You left the library. Its copy stays here, read-only, until you remove it.",
                );
            }
            Confirm::Delete => {
                close.run(());
                remove_copy(lib, account, id);
            }
            Confirm::Remove { email, .. } => {
                lib.tell(format!("{email} was removed from the library."));
                close.run(());
            }
            Confirm::Transfer { email, .. } => {
                let mut list = account.sharing.libraries.get_untracked();
                for k in list.iter_mut().filter(|k| k.summary.id == id) {
                    k.summary.role = Role::Editor;
                    k.summary.owner = email.clone();
                }
                keep(lib, account, list).await;
                close.run(());
                lib.tell(format!("{email} owns the library now; you are an editor."));
            }
        }
    });
}
