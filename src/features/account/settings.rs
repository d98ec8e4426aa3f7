//! Settings: the account (change the password) and Reset sync, which explains what it does,
//! offers a backup first, then unlinks this browser's library (keeping it) or also empties
//! the online library so that every other device must link again.
//!
//! Invariant: nothing is reset until the person confirms; a reset that cannot reach the
//! service changes nothing here either (the wipe goes first, then the unlink).

use super::{sign_out, use_account, Account};
use crate::features::library::{use_library, Library};
use crate::features::transfer::{use_transfer, TransferDialog};
use crate::features::ui::{DialogFooter, Modal};
use crate::sync::remote::{self, BrowserRemote};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::sync::reset;

#[component]
pub fn SettingsDialog() -> impl IntoView {
    let account = use_account();
    let lib = use_library();
    let close = Callback::new(move |_| account.settings_open.set(false));
    view! {
        <Modal id="settings-dialog" title="Settings" on_close=close wide=true>
            <section class="settings-section">
                <h3>"Online library"</h3>
                <super::status::OnlineUsage />
                <p id="last-backup" class="hint">{move || super::status::last_backup_text(lib.last_backup.get())}</p>
            </section>
            <PasswordSection />
            <ResetSection />
        </Modal>
    }
}

#[component]
fn PasswordSection() -> impl IntoView {
    let account = use_account();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let message = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(session) = account.session.get_untracked() else {
            return;
        };
        let (c, n) = (current.get_untracked(), new.get_untracked());
        busy.set(true);
        spawn_local(async move {
            let result = remote::change_password(&session.token, &c, &n).await;
            busy.set(false);
            message.set(Some(match result {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    (
                        false,
                        "Password changed. Your other devices will ask you to sign in again."
                            .into(),
                    )
                }
                Err(e) => (true, e.message),
            }));
        });
    };
    view! {
        <section class="settings-section">
            <h3>"Account"</h3>
            <p class="hint">{move || account.session.get().map(|s| format!("Signed in as {}.", s.email))}</p>
            <form class="form form-inline" on:submit=submit>
                // Whose password this is, for password managers (hidden: it is said above).
                <input type="email" autocomplete="username" hidden readonly
                    prop:value=move || account.session.get().map(|s| s.email).unwrap_or_default() />
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" autocomplete="current-password" bind:value=current />
                <label for="new-password">"New password (at least 10 characters)"</label>
                <input id="new-password" type="password" autocomplete="new-password" bind:value=new />
                {move || message.get().map(|(error, text)| view! {
                    <p id="password-message" class:error=error role=if error { "alert" } else { "status" }>{text}</p>
                })}
                <DialogFooter>
                    <button id="change-password" type="submit" class="btn" disabled=move || busy.get()>"Change password"</button>
                </DialogFooter>
            </form>
        </section>
    }
}

#[component]
fn ResetSection() -> impl IntoView {
    let lib = use_library();
    let account = use_account();
    let transfer = use_transfer();
    let wipe = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let run = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match reset_sync(lib, account, wipe.get_untracked()).await {
                Ok(()) => {
                    account.settings_open.set(false);
                    lib.tell(if wipe.get_untracked() {
                        "Sync was reset and the online library emptied. This library stays in this browser; sign in to link it again."
                    } else {
                        "Sync was reset. This library stays in this browser; sign in to link it again."
                    });
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="settings-section">
            <h3>"Reset sync"</h3>
            <p>"Resetting sync breaks the link between this browser's library and your online library. The references here stay as they are; the next sign-in links this library again and merges it with whatever is online then."</p>
            <p>"It is wise to download a backup first."</p>
            <div class="form-actions left">
                <button id="reset-backup" class="btn" on:click=move |_| transfer.open(TransferDialog::Backup)>"Download a backup…"</button>
            </div>
            <fieldset class="choices">
                <legend>"What happens online"</legend>
                <label class="choice">
                    <input type="radio" id="reset-keep-online" name="reset-kind" checked=move || !wipe.get() on:change=move |_| wipe.set(false) />
                    <span><strong>"Only unlink this browser."</strong>" The online library and your other devices keep syncing as before."</span>
                </label>
                <label class="choice">
                    <input type="radio" id="reset-wipe" name="reset-kind" checked=move || wipe.get() on:change=move |_| wipe.set(true) />
                    <span><strong>"Unlink and empty the online library."</strong>" Every reference, group and the online Trash are deleted online (shared groups are kept). Your other devices keep their libraries and are asked to link again instead of syncing."</span>
                </label>
            </fieldset>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <DialogFooter>
                {move || if confirming.get() {
                    view! {
                        <span class="confirm-text">{move || if wipe.get() { "Empty the online library and unlink?" } else { "Unlink this browser's library?" }}</span>
                        <button class="btn" on:click=move |_| confirming.set(false)>"Cancel"</button>
                        <button id="reset-confirm" class="btn btn-danger" disabled=move || busy.get() on:click=run>
                            {move || if busy.get() { "Resetting…" } else { "Reset sync" }}
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button id="reset-sync" class="btn btn-danger" on:click=move |_| confirming.set(true)>"Reset sync…"</button>
                    }.into_any()
                }}
            </DialogFooter>
        </section>
    }
}

async fn reset_sync(lib: Library, account: Account, wipe: bool) -> Result<(), String> {
    let store = lib.open_store().map_err(|e| e.to_string())?;
    let session = account
        .session
        .get_untracked()
        .ok_or("Sign in to reset sync.")?;
    let online = super::online_id(lib, &session);
    let remote = BrowserRemote::new(session.token, online, String::new());
    // Under the sync lock, signed out before it is let go: a sync waiting for its turn (this
    // tab's or another's) then finds no session and does nothing, instead of linking again.
    crate::browser::with_lock(super::SYNC_LOCK, async {
        reset(&*store, &remote, wipe).await?;
        sign_out(lib, account).await;
        Ok::<_, refsync_core::sync::SyncError>(())
    })
    .await
    .map_err(|e| e.message)?;
    lib.reload().await.map_err(|e| e.to_string())?;
    Ok(())
}
