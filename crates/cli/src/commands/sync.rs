//! Syncing with the service: link (sign in, one library to one account), sync (attachments'
//! bytes up, core's engine, bytes down, a line in the history and the service's sync log),
//! status, conflicts and reset.
//!
//! Invariants: the password is never stored (only the session token, in the library file);
//! a library linked to one account refuses another until it is reset; an expired or revoked
//! sign-in forgets the token and changes nothing in the library; bytes refused by the storage
//! limit stay here and are sent again on every later sync.

use super::backup;
use crate::args::{ConflictsCommand, Keep};
use crate::context::{now_millis, Config, Context};
use crate::error::{CliError, Code, Result};
use crate::output::{bar, confirm, count, date_time, table, thousands};
use crate::remote::{HttpRemote, Service};
use crate::store::LibraryFile;
use refsync_core::protocol::{ErrorBody, LibraryInfo, Object, Register, SignIn, SyncReport};
use refsync_core::sync::apply::merged_start;
use refsync_core::sync::compare::{compose, rows, Pick};
use refsync_core::sync::{files, words};
use refsync_core::sync::{
    sync_with_progress, ConflictRecord, ErrorKind, LocalStore, Resolution, SyncError, SyncOutcome,
};
use refsync_core::{Key, Reference};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Library meta names.
const TOKEN: &str = "token";
const SERVER: &str = "server";
const ACCOUNT_ID: &str = "account_id";
const ACCOUNT_EMAIL: &str = "account_email";
const LIBRARY_ID: &str = "library_id";
/// Bytes waiting to upload (a JSON list of SHA-256).
const PENDING: &str = crate::store::WAITING_FILES;
/// The online library's storage and references at the last sync (`/me`'s library), as JSON.
const USAGE: &str = "usage";

fn device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this computer".into());
    format!("refsync CLI on {host}")
}

/// The password: REFSYNC_PASSWORD for scripts, else asked on the terminal (not echoed).
fn password(email: &str) -> Result<String> {
    if let Ok(p) = std::env::var("REFSYNC_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Code::Auth,
            "a password is needed to sign in: run this in a terminal, or set REFSYNC_PASSWORD",
        ));
    }
    rpassword::prompt_password(format!("Password for {email}: "))
        .map_err(|e| CliError::new(Code::Auth, format!("could not read the password: {e}")))
}

/// Sign in (or make the account) and keep the session in the library, refusing a second
/// account for a library already linked to one.
async fn sign_in(lib: &LibraryFile, server: &str, email: &str, create: bool) -> Result<()> {
    let service = Service::new(server)?;
    let password = password(email)?;
    let session = if create {
        service
            .register(&Register {
                email: email.to_string(),
                password,
            })
            .await?
    } else {
        service
            .sign_in(&SignIn {
                email: email.to_string(),
                password,
                device_name: device_name(),
            })
            .await
            .map_err(|e| {
                if e.kind == ErrorKind::Auth {
                    CliError::new(
                        Code::Auth,
                        format!("could not sign in as {email}: {}", e.message),
                    )
                } else {
                    e.into()
                }
            })?
    };
    if let Some(linked) = lib.meta(ACCOUNT_ID).await? {
        if linked != session.account.id {
            let who = lib.meta(ACCOUNT_EMAIL).await?.unwrap_or(linked);
            return Err(CliError::new(
                Code::Auth,
                format!(
                    "this library is linked to {who}. A sync library can be linked to only one account: \
                     to link it to {email} instead, run `refsync reset` first (it keeps the references here)."
                ),
            ));
        }
    }
    let me = service.me(&session.token).await?;
    lib.set_meta(TOKEN, Some(&session.token)).await?;
    lib.set_meta(SERVER, Some(server)).await?;
    lib.set_meta(ACCOUNT_ID, Some(&session.account.id)).await?;
    lib.set_meta(ACCOUNT_EMAIL, Some(&session.account.email))
        .await?;
    lib.set_meta(LIBRARY_ID, Some(&me.library.id)).await?;
    // The online library was reset since this one last synced: join it again (this library's
    // data is kept and merged in).
    if let Some(link) = lib.link().await? {
        if link.epoch != me.library.epoch || link.library_id != me.library.id {
            lib.set_link(None).await?;
        }
    }
    Ok(())
}

pub async fn link(
    cx: &Context,
    server: Option<String>,
    email: Option<String>,
    create: bool,
    backup_to: Option<PathBuf>,
) -> Result<()> {
    let mut config = Config::load(&cx.config_path)?;
    let given = server.is_some() || email.is_some();
    config.server = server.or(config.server);
    config.email = email.or(config.email);
    let (Some(server), Some(email)) = (config.server.clone(), config.email.clone()) else {
        return Err(CliError::bad_input(format!(
            "the service's address and your email are needed: refsync link --server URL --email EMAIL (they are saved in {})",
            cx.config_path.display()
        )));
    };
    let lib = cx.open().await?;
    offer_backup(&lib, backup_to).await?;
    sign_in(&lib, &server, &email, create).await?;
    if given {
        config.save(&cx.config_path)?;
    }
    println!("Signed in as {email} on {server}.");
    let result = sync_once(&lib, "").await;
    lib.close().await;
    result
}

/// Sync the library; when it is the personal one, then every shared library the account
/// belongs to too (each in its own copy beside it; docs/sharing.md).
pub async fn sync(cx: &Context) -> Result<()> {
    let lib = cx.open().await?;
    signed_in(&lib).await?;
    let mut result = sync_once(&lib, "").await;
    if cx.library_path == cx.personal_path && !matches!(&result, Err(e) if e.code == Code::Auth) {
        let shared = match session(&lib).await {
            Ok((service, token)) => {
                super::share::sync_shared(&lib, &cx.personal_path, &service, &token, None).await
            }
            Err(e) => Err(e),
        };
        // The personal library's failure first: it is the one a person acts on.
        if result.is_ok() {
            result = shared;
        }
    }
    lib.close().await;
    result
}

/// `refsync sync --watch`: sync now, then every `every` and whenever the service's change hint
/// says another device changed the library, one line per sync, until Ctrl-C. A failed sync is
/// tried again sooner than `every` but later each time (30 s, 1 min, 2 min, ... up to `every`);
/// a sign-in that ended or a reset elsewhere stops it (both need the person).
pub async fn watch(cx: &Context, every: std::time::Duration) -> Result<()> {
    use std::time::Duration;
    let lib = cx.open().await?;
    signed_in(&lib).await?;
    let remote = remote_of(&lib).await?;
    println!(
        "Syncing every {}, and when another device changes the library. Ctrl-C stops.",
        every_text(every.as_secs())
    );
    let (hinted, mut hints) = tokio::sync::mpsc::channel::<u64>(16);
    let listener = tokio::spawn(listen(remote, hinted));
    let mut failures = 0u32;
    let stopped = loop {
        let prefix = format!("{}  ", time_of_day(now_millis()));
        let result = sync_once(&lib, &prefix).await;
        let wait = match result {
            Ok(()) => {
                failures = 0;
                every
            }
            Err(e) if matches!(e.code, Code::Auth | Code::RelinkRequired | Code::Local) => {
                break Err(e);
            }
            Err(e) => {
                println!("{prefix}{}", e.message.lines().next().unwrap_or_default());
                if e.code == Code::Conflicts {
                    every // waiting for the person, not a failure of the sync
                } else {
                    failures += 1;
                    retry_after(failures, every)
                }
            }
        };
        let synced = lib.link().await?.map_or(0, |l| l.synced_version);
        let next = tokio::time::sleep(wait);
        tokio::pin!(next);
        let stop = loop {
            tokio::select! {
                _ = &mut next => break false,
                _ = tokio::signal::ctrl_c() => break true,
                Some(version) = hints.recv() => {
                    // Our own pushes come back as hints too: only a newer version is news.
                    if version > synced {
                        // Let a burst of changes settle into one sync.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        while hints.try_recv().is_ok() {}
                        break false;
                    }
                }
            }
        };
        if stop {
            break Ok(());
        }
    };
    listener.abort();
    lib.close().await;
    if stopped.is_ok() {
        println!("Stopped.");
    }
    stopped
}

/// Pass on every change hint's version, opening the stream again (after a pause) whenever it
/// ends, for as long as the receiver listens.
async fn listen(remote: HttpRemote, hinted: tokio::sync::mpsc::Sender<u64>) {
    let mut pause = std::time::Duration::from_secs(2);
    loop {
        if let Ok(mut stream) = remote.hints().await {
            pause = std::time::Duration::from_secs(2);
            while let Some(version) = stream.next().await {
                if hinted.send(version).await.is_err() {
                    return;
                }
            }
        }
        if hinted.is_closed() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(60));
    }
}

/// How long `--watch` waits after `failures` failed syncs in a row: 30 s, doubling, never
/// longer than the time between syncs.
fn retry_after(failures: u32, every: std::time::Duration) -> std::time::Duration {
    let doubled = 1u32 << failures.saturating_sub(1).min(10);
    std::time::Duration::from_secs(30)
        .saturating_mul(doubled)
        .min(every)
}

/// "15 minutes", "30 seconds", "1 hour".
fn every_text(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => count((s / 3600) as usize, "hour", "hours"),
        s if s % 60 == 0 => count((s / 60) as usize, "minute", "minutes"),
        s => count(s as usize, "second", "seconds"),
    }
}

/// "14:05:09" (UTC) for a line of `--watch`.
fn time_of_day(ms: u64) -> String {
    let secs = (ms / 1000) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Before a link that merges this library's references with the online library (the first,
/// or again after a reset), back it up: to `backup_to` if given, else where a person at a
/// terminal says (nothing skips it). An empty or already linked library needs none.
async fn offer_backup(lib: &LibraryFile, backup_to: Option<PathBuf>) -> Result<()> {
    let held = lib.snapshot().await?.references.len();
    if held == 0 || lib.link().await?.is_some() {
        return Ok(());
    }
    let path = match backup_to {
        Some(path) => path,
        None if std::io::stdin().is_terminal() => {
            eprint!(
                "This library holds {}; linking merges them with the online library. \
                 Back it up first? A file name (e.g. before-link.zip), or Enter to skip: ",
                count(held, "reference", "references")
            );
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CliError::other(e.to_string()))?;
            match line.trim() {
                "" => return Ok(()),
                name => PathBuf::from(name),
            }
        }
        None => return Ok(()),
    };
    let what = backup::write_backup(lib, &path).await?;
    println!("Backed up to {}: {what}.", path.display());
    Ok(())
}

/// Make sure the library is linked and signed in (signing in again, asking for the password,
/// after a session ended).
async fn signed_in(lib: &LibraryFile) -> Result<()> {
    // Linking is always asked for (`refsync link`): after a reset, a sync must not quietly
    // link this library again, the way the web app signs out on reset.
    let (Some(server), Some(email)) = (lib.meta(SERVER).await?, lib.meta(ACCOUNT_EMAIL).await?)
    else {
        return Err(CliError::new(
            Code::Auth,
            "this library is not linked to an account: run `refsync link --server URL --email EMAIL`",
        ));
    };
    if lib.meta(TOKEN).await?.is_none() {
        // The session ended (expired or revoked): sign in again, asking for the password.
        sign_in(lib, &server, &email, false).await?;
    }
    Ok(())
}

/// The personal library's service and session token (signing in again if it ended): what the
/// account's shared libraries are reached with.
pub(crate) async fn session(lib: &LibraryFile) -> Result<(Service, String)> {
    signed_in(lib).await?;
    let (Some(server), Some(token)) = (lib.meta(SERVER).await?, lib.meta(TOKEN).await?) else {
        return Err(CliError::new(
            Code::Auth,
            "this library is not signed in: run `refsync sync` (or `refsync link`)",
        ));
    };
    Ok((Service::new(&server)?, token))
}

/// A shared library's copy signs in as the personal library does, and is linked to its own
/// online library only.
pub(crate) async fn share_session(
    personal: &LibraryFile,
    copy: &LibraryFile,
    library_id: &str,
) -> Result<()> {
    for name in [SERVER, TOKEN, ACCOUNT_ID, ACCOUNT_EMAIL] {
        copy.set_meta(name, personal.meta(name).await?.as_deref())
            .await?;
    }
    copy.set_meta(LIBRARY_ID, Some(library_id)).await?;
    Ok(())
}

/// A copy set aside (its shared library can no longer be opened) keeps its references, not the
/// session: no token in a file nothing syncs, and a sync of it says it is not linked.
pub(crate) async fn forget_session(copy: &LibraryFile) -> Result<()> {
    for name in [TOKEN, SERVER, ACCOUNT_ID, ACCOUNT_EMAIL, LIBRARY_ID] {
        copy.set_meta(name, None).await?;
    }
    Ok(())
}

/// One sync's line in the history.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Entry {
    started_at: u64,
    duration_ms: u64,
    sent: u64,
    received: u64,
    deleted: u64,
    conflicts: u64,
    uploaded: u64,
    downloaded: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<EntryError>,
    /// Files the storage limit refused, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
    /// Objects the service sent that this version could not read (skipped).
    #[serde(default)]
    unreadable: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EntryError {
    kind: String,
    message: String,
}

async fn remote_of(lib: &LibraryFile) -> Result<HttpRemote> {
    let (Some(server), Some(token), Some(library_id), Some(device)) = (
        lib.meta(SERVER).await?,
        lib.meta(TOKEN).await?,
        lib.meta(LIBRARY_ID).await?,
        lib.meta("device_id").await?,
    ) else {
        return Err(CliError::new(
            Code::Auth,
            "this library is not signed in: run `refsync sync` (or `refsync link`)",
        ));
    };
    Ok(HttpRemote::new(
        &server,
        &token,
        &library_id,
        &device,
        &device_name(),
    )?)
}

/// One sync, its line printed after `prefix`.
pub(crate) async fn sync_once(lib: &LibraryFile, prefix: &str) -> Result<()> {
    let remote = remote_of(lib).await?;
    let started = now_millis();
    let mut entry = Entry {
        started_at: started,
        ..Entry::default()
    };
    let result = run(lib, &remote, &mut entry).await;
    entry.duration_ms = now_millis().saturating_sub(started);
    if let Err(e) = &result {
        entry.error = Some(EntryError {
            kind: e.kind.id().into(),
            message: e.message.clone(),
        });
        if e.kind == ErrorKind::Auth {
            // The session is over; nothing else changes. The next sync asks for the password.
            lib.set_meta(TOKEN, None).await?;
        }
    }
    if let Ok(text) = serde_json::to_string(&entry) {
        lib.add_history(&text).await?;
    }
    if !matches!(
        &result,
        Err(e) if matches!(e.kind, ErrorKind::Connection | ErrorKind::Auth)
    ) {
        let line = SyncReport {
            device_id: remote.device_id().to_string(),
            device_name: remote.device_name().to_string(),
            started_at: started,
            duration_ms: entry.duration_ms,
            sent: entry.sent,
            received: entry.received,
            deleted: entry.deleted,
            conflicts: entry.conflicts,
            error: result.as_ref().err().map(|e| ErrorBody {
                code: e.kind.code(),
                message: e.message.clone(),
            }),
        };
        // Best effort: a lost line in the service's log costs nothing.
        let _ = remote.report(&line).await;
    }
    result?;
    println!("{prefix}{}", describe(&entry));
    if let Some(refused) = &entry.refused {
        eprintln!("{refused}");
    }
    if let Some(skipped) = words::unreadable(entry.unreadable) {
        eprintln!("{skipped}");
    }
    let waiting = lib.conflicts().await?.len();
    if waiting > 0 {
        return Err(CliError::new(
            Code::Conflicts,
            format!(
                "{} waiting in Sync Conflicts: see `refsync conflicts list`",
                count(waiting, "reference is", "references are")
            ),
        ));
    }
    Ok(())
}

async fn run(
    lib: &LibraryFile,
    remote: &HttpRemote,
    entry: &mut Entry,
) -> std::result::Result<(), SyncError> {
    let local = |e: crate::store::StoreError| SyncError::new(ErrorKind::Local, e.to_string());
    let first = lib.link().await?.is_none_or(|l| l.synced_version == 0);
    // The online library's size and limits (best effort: the sync works without them): the
    // first download's progress bar, the largest file worth sending, `refsync status`.
    let server = lib.meta(SERVER).await.map_err(local)?.unwrap_or_default();
    let token = lib.meta(TOKEN).await.map_err(local)?.unwrap_or_default();
    let service = Service::new(&server).ok();
    let online = async || match &service {
        Some(s) => s.me(&token).await.map(|m| m.library).ok(),
        None => None,
    };
    let keep = async |usage: &Option<LibraryInfo>| match usage {
        Some(u) => {
            let json = serde_json::to_string(u).unwrap_or_default();
            lib.set_meta(USAGE, Some(&json)).await.map_err(local)
        }
        None => Ok(()),
    };
    let usage = online().await;
    keep(&usage).await?;
    let progress = first.then(|| bar(usage.as_ref().map_or(0, |u| u.references), "references"));
    let max_file = usage.as_ref().and_then(|u| u.max_file_size);
    let uploaded = files::upload(lib, remote, max_file).await?;
    entry.uploaded = uploaded.files;
    entry.refused = uploaded.refused_text("this library");
    let mut new_key = || crate::context::new_key().to_string();
    let synced = sync_with_progress(lib, remote, &mut new_key, &mut |o| {
        if let Some(bar) = &progress {
            bar.set_position(o.received_references);
        }
    })
    .await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let (outcome, downloaded): (SyncOutcome, u64) = files::download_after(lib, remote, synced)
        .await
        .map_err(|e| match e.kind {
            ErrorKind::ReferenceLimit => {
                let held = usage
                    .as_ref()
                    .and_then(|u| Some((u.references, u.reference_limit?)));
                SyncError::new(e.kind, words::reference_limit(held, "this library"))
            }
            _ => e,
        })?;
    entry.sent = outcome.sent;
    entry.received = outcome.received;
    entry.deleted = outcome.deleted;
    entry.conflicts = outcome.conflicts;
    entry.unreadable = outcome.unreadable;
    entry.downloaded = downloaded;
    if outcome.sent > 0 || entry.uploaded > 0 {
        // What was just sent counts online now (`refsync status` shows it).
        keep(&online().await).await?;
    }
    if outcome.duplicates > 0 {
        println!(
            "{} of probable duplicates after joining the online library: see `refsync duplicates`.",
            count(outcome.duplicates as usize, "set", "sets")
        );
    }
    Ok(())
}

/// A sync's result in plain words (the same words as the web app's).
fn describe(e: &Entry) -> String {
    if let Some(err) = &e.error {
        return format!("Failed: {}", err.message);
    }
    let counts = words::SyncCounts {
        sent: e.sent,
        received: e.received,
        deleted: e.deleted,
        conflicts: e.conflicts,
        unreadable: e.unreadable,
        files: e.uploaded + e.downloaded,
    };
    words::synced(&counts, "`refsync conflicts list`")
}

pub async fn status(cx: &Context, json: bool) -> Result<()> {
    let lib = cx.open().await?;
    let link = lib.link().await?;
    let email = lib.meta(ACCOUNT_EMAIL).await?;
    let server = lib.meta(SERVER).await?;
    let signed_in = lib.meta(TOKEN).await?.is_some();
    let waiting = lib.dirty_count().await?;
    let conflicts = lib.conflicts().await?.len();
    let pending: Vec<String> = lib
        .meta(PENDING)
        .await?
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    let history: Vec<Entry> = lib
        .history()
        .await?
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    let usage: Option<LibraryInfo> = lib
        .meta(USAGE)
        .await?
        .and_then(|j| serde_json::from_str(&j).ok());
    let last_backup: Option<u64> = lib
        .meta(backup::LAST_BACKUP)
        .await?
        .and_then(|t| t.parse().ok());
    lib.close().await;
    if json {
        let v = serde_json::json!({
            "library": cx.library_path.display().to_string(),
            "account": email,
            "server": server,
            "signed_in": signed_in,
            "linked": link.is_some(),
            "synced_version": link.as_ref().map(|l| l.synced_version),
            "waiting_to_send": waiting,
            "conflicts": conflicts,
            "files_waiting_to_upload": pending.len(),
            "storage_used": usage.as_ref().map(|u| u.storage_used),
            "storage_limit": usage.as_ref().map(|u| u.storage_limit),
            "references_online": usage.as_ref().map(|u| u.references),
            "reference_limit": usage.as_ref().and_then(|u| u.reference_limit),
            "last_backup": last_backup,
            "history": history,
        });
        println!("{v:#}");
        return Ok(());
    }
    println!("Library:  {}", cx.library_path.display());
    match (&email, &link) {
        (Some(e), Some(l)) => println!(
            "Linked:   {e} on {} (synced up to version {})",
            server.as_deref().unwrap_or("?"),
            l.synced_version
        ),
        (Some(e), None) => println!("Account:  {e}, not linked yet: run `refsync sync`"),
        _ => println!("Not linked to an account: run `refsync link --server URL --email EMAIL`"),
    }
    if email.is_some() && !signed_in {
        println!("Signed out: the next `refsync sync` asks for your password.");
    }
    println!(
        "Waiting:  {} to send, {} in Sync Conflicts, {} to upload",
        count(waiting as usize, "change", "changes"),
        thousands(conflicts as u64),
        count(pending.len(), "file", "files")
    );
    if let Some(u) = &usage {
        println!(
            "Storage:  {}; {} online (at the last sync)",
            words::storage_used(u.storage_used, u.storage_limit),
            words::references_used(u.references, u.reference_limit)
        );
        if let Some(warning) = words::storage_warning(u.storage_used, u.storage_limit) {
            println!("  {warning}");
        }
    }
    match last_backup {
        Some(at) => println!("Backup:   last made {}", date_time(at)),
        None => println!("Backup:   none made of this library yet (`refsync backup FILE.zip`)"),
    }
    match history.first() {
        None => println!("Last sync: never"),
        Some(last) => {
            println!(
                "Last sync: {}, took {}. {}",
                date_time(last.started_at),
                took(last.duration_ms),
                describe(last)
            );
            if let Some(e) = &last.error {
                println!("  {}", advice(&e.kind));
            }
            if let Some(r) = &last.refused {
                println!("  {r}");
            }
        }
    }
    if history.len() > 1 {
        println!();
        let rows: Vec<Vec<String>> = history
            .iter()
            .map(|e| {
                vec![
                    date_time(e.started_at),
                    took(e.duration_ms),
                    e.sent.to_string(),
                    e.received.to_string(),
                    e.deleted.to_string(),
                    e.conflicts.to_string(),
                    e.error
                        .as_ref()
                        .map_or_else(|| "ok".to_string(), |x| x.message.clone()),
                ]
            })
            .collect();
        table(
            &[
                "WHEN",
                "TOOK",
                "SENT",
                "RECEIVED",
                "DELETED",
                "CONFLICTS",
                "RESULT",
            ],
            &rows,
        );
    }
    Ok(())
}

/// "45 ms", "2.3 s"
fn took(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// What to do about a failed sync, by its kind.
fn advice(kind: &str) -> &'static str {
    match kind {
        "connection" => {
            "Connection: the service could not be reached; nothing was lost. Sync again later."
        }
        "auth" => "Authentication: sign in again with `refsync sync` (it asks for your password).",
        "storage_limit" => {
            "Storage limit: the account's storage is full; the files stay in this library."
        }
        "relink_required" => {
            "Relink required: the online library was reset from another device. Run `refsync link`."
        }
        _ => "Try again; if it keeps failing, the message above says what went wrong.",
    }
}

fn reference_of(o: &Option<Object>) -> Option<&Reference> {
    match o {
        Some(Object::Reference(r)) => Some(r),
        _ => None,
    }
}

fn find_conflict<'a>(records: &'a [ConflictRecord], text: &str) -> Result<&'a ConflictRecord> {
    let wanted = text.trim().to_ascii_uppercase();
    let hits: Vec<&ConflictRecord> = records
        .iter()
        .filter(|c| {
            !wanted.is_empty()
                && (c.key.as_str().starts_with(&wanted) || c.key.as_str().ends_with(&wanted))
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::not_found(format!(
            "no reference in Sync Conflicts has the key {text} (see `refsync conflicts list`)"
        ))),
        _ => Err(CliError::bad_input(format!(
            "{text} is part of more than one key; give more of it"
        ))),
    }
}

pub async fn conflicts(cx: &Context, command: &ConflictsCommand) -> Result<()> {
    let lib = cx.open().await?;
    let records = lib.conflicts().await?;
    let snap = lib.snapshot().await?;
    let group_names: HashMap<Key, String> = snap
        .groups
        .values()
        .map(|g| (g.key, g.name.clone()))
        .collect();
    let group_name = |k: &Key| group_names.get(k).cloned().unwrap_or_else(|| k.to_string());
    match command {
        ConflictsCommand::List { json } => {
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|c| {
                    let title = reference_of(&c.local)
                        .or(reference_of(&c.remote))
                        .map(|r| r.title().to_string())
                        .unwrap_or_default();
                    vec![
                        c.key.to_string(),
                        c.reason.words().to_string(),
                        c.fields.join(", "),
                        title,
                    ]
                })
                .collect();
            if *json {
                let v: Vec<serde_json::Value> = records
                    .iter()
                    .zip(&rows)
                    .map(|(c, row)| {
                        serde_json::json!({
                            "key": c.key.as_str(), "reason": row[1], "fields": c.fields, "title": row[3],
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else if rows.is_empty() {
                println!("No conflicts.");
            } else {
                table(&["KEY", "WHY", "FIELDS", "TITLE"], &rows);
            }
        }
        ConflictsCommand::Show { key } => {
            let c = find_conflict(&records, key)?;
            println!("{}  ({})", c.key, c.reason.words());
            match (reference_of(&c.local), reference_of(&c.remote)) {
                (Some(l), Some(o)) => {
                    let rows = rows(l, o, group_name);
                    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(4);
                    println!("  {:width$}  {:40}  ONLINE", "ROW", "THIS LIBRARY");
                    for r in rows {
                        let mark = if r.differs() { "*" } else { " " };
                        println!(
                            "{mark} {:width$}  {:40}  {}",
                            r.id,
                            r.local.replace('\n', "; "),
                            r.online.replace('\n', "; ")
                        );
                    }
                    println!("\nSettle it with: refsync conflicts resolve {} --keep local|online|merged [local=ROW] [FIELD=VALUE]", c.key);
                }
                (Some(only), None) | (None, Some(only)) => {
                    let here = c.local.is_some();
                    println!(
                        "  {} “{}” was {}.",
                        if here { "This library's" } else { "The online" },
                        only.title(),
                        if here {
                            "edited here and deleted permanently online"
                        } else {
                            "edited online and deleted permanently here"
                        }
                    );
                    println!(
                        "Keep it deleted with --keep {}, or restore it with --keep {}.",
                        if here { "online" } else { "local" },
                        if here { "local" } else { "online" }
                    );
                }
                (None, None) => {
                    println!("  Deleted on both sides: either choice keeps it deleted.")
                }
            }
        }
        ConflictsCommand::Resolve {
            all: true,
            keep,
            yes,
            ..
        } => {
            let (resolution, side) = match keep {
                Keep::Local => (Resolution::KeepLocal, "this library's"),
                Keep::Online => (Resolution::KeepOnline, "the online"),
                Keep::Merged => {
                    return Err(CliError::bad_input(
                        "--all keeps one side of every conflict: --keep local or --keep online",
                    ))
                }
            };
            if records.is_empty() {
                println!("Nothing is waiting in Sync Conflicts.");
                lib.close().await;
                return Ok(());
            }
            let n = count(records.len(), "reference", "references");
            if !yes
                && !confirm(&format!(
                    "Keep {side} version of all {n} in Sync Conflicts?"
                ))?
            {
                println!("Nothing was settled.");
                lib.close().await;
                return Ok(());
            }
            for c in &records {
                lib.resolve(c, resolution.clone()).await?;
            }
            println!("Kept {side} version of {n}; they sync with the next `refsync sync`.");
        }
        ConflictsCommand::Resolve {
            key, keep, picks, ..
        } => {
            let key = key.as_deref().unwrap_or_default();
            let c = find_conflict(&records, key)?;
            if *keep != Keep::Merged && !picks.is_empty() {
                return Err(CliError::bad_input(
                    "rows and fields are for --keep merged only",
                ));
            }
            let resolution = match keep {
                Keep::Local => Resolution::KeepLocal,
                Keep::Online => Resolution::KeepOnline,
                Keep::Merged => {
                    let (Some(l), Some(o)) = (reference_of(&c.local), reference_of(&c.remote))
                    else {
                        return Err(CliError::bad_input(
                            "one side deleted it: keep local or online (see `refsync conflicts show`)",
                        ));
                    };
                    let table = rows(l, o, group_name);
                    let mut chosen = BTreeMap::new();
                    for pick in picks {
                        let (name, value) = pick.split_once('=').ok_or_else(|| {
                            CliError::bad_input(format!("“{pick}” is not local=ROW or FIELD=VALUE"))
                        })?;
                        if name == "local" {
                            if !table.iter().any(|r| r.id == value) {
                                return Err(CliError::bad_input(format!(
                                    "there is no row “{value}” (see `refsync conflicts show {}`)",
                                    c.key
                                )));
                            }
                            chosen.insert(value.to_string(), Pick::Local);
                        } else {
                            // A row's id as shown, or a field by any name it goes by (journal).
                            let id = if table.iter().any(|r| r.id == name && r.editable) {
                                name.to_string()
                            } else {
                                o.ref_type
                                    .field_named(name)
                                    .map(|f| f.id().to_string())
                                    .ok_or_else(|| {
                                        CliError::bad_input(format!(
                                            "“{name}” is not a field that can be given text"
                                        ))
                                    })?
                            };
                            chosen.insert(id, Pick::Text(value.to_string()));
                        }
                    }
                    // Start from both sides' clean edits (the conflicting rows as online), then
                    // the person's picks.
                    let start = merged_start(c).unwrap_or_else(|| o.clone());
                    let mut merged = compose(l, &start, &chosen);
                    merged.date_modified = now_millis();
                    Resolution::Merged(Object::Reference(merged))
                }
            };
            lib.resolve(c, resolution).await?;
            println!(
                "Settled {}; it syncs with the next `refsync sync`. {} left in Sync Conflicts.",
                c.key,
                thousands(records.len() as u64 - 1)
            );
        }
    }
    lib.close().await;
    Ok(())
}

pub async fn reset(cx: &Context, wipe: bool, backup_to: Option<PathBuf>, yes: bool) -> Result<()> {
    let lib = cx.open().await?;
    if lib.meta(ACCOUNT_ID).await?.is_none() && lib.link().await?.is_none() {
        println!("This library is not linked to an account: there is nothing to reset.");
        return Ok(());
    }
    let what = if wipe {
        "This unlinks this library from your account and EMPTIES THE ONLINE LIBRARY (every reference and group except shared groups, and the online Trash). The references here stay. Other devices will be asked to link again."
    } else {
        "This unlinks this library from your account. The references here and online stay; a later `refsync link` merges them again."
    };
    if backup_to.is_none() && !yes {
        eprintln!("Tip: `refsync reset --backup FILE.zip` makes a backup first.");
    }
    if !yes && !confirm(&format!("{what} Go ahead?"))? {
        println!("Nothing was reset.");
        return Ok(());
    }
    if let Some(path) = backup_to {
        backup::write_backup(&lib, &path).await?;
    }
    if wipe {
        let remote = remote_of(&lib).await?;
        refsync_core::sync::reset(&lib, &remote, true).await?;
    } else {
        lib.set_link(None).await?;
    }
    for name in [
        TOKEN,
        ACCOUNT_ID,
        ACCOUNT_EMAIL,
        LIBRARY_ID,
        SERVER,
        PENDING,
    ] {
        lib.set_meta(name, None).await?;
    }
    lib.close().await;
    println!(
        "{} This library is no longer linked; `refsync link` links it again (to any account).",
        if wipe {
            "Emptied the online library."
        } else {
            "Unlinked."
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_watch_waits_longer_after_each_failure_up_to_its_interval() {
        use std::time::Duration;
        let every = Duration::from_secs(15 * 60);
        let waits: Vec<u64> = (1..=7)
            .map(|n| super::retry_after(n, every).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(super::retry_after(40, every).as_secs(), 900, "no overflow");
        assert_eq!(super::every_text(900), "15 minutes");
        assert_eq!(super::every_text(3600), "1 hour");
        assert_eq!(super::every_text(45), "45 seconds");
        assert_eq!(super::time_of_day(3_723_000), "01:02:03");
    }

    use super::*;

    #[test]
    fn a_failed_sync_says_why_and_a_finished_one_counts() {
        let failed = Entry {
            error: Some(EntryError {
                kind: "auth".into(),
                message: "Sign in again.".into(),
            }),
            ..Entry::default()
        };
        assert_eq!(describe(&failed), "Failed: Sign in again.");
        let busy = Entry {
            sent: 2,
            received: 1_200,
            conflicts: 1,
            uploaded: 1,
            ..Entry::default()
        };
        assert_eq!(
            describe(&busy),
            "Synced: 2 sent, 1,200 received, 1 in conflict (see `refsync conflicts list`), 1 attachment file."
        );
    }
}
