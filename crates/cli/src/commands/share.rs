//! Shared libraries on the desktop (docs/sharing.md, docs/cli.md): make one, invite people
//! with a role, see and change members, answer invitations, and keep a copy of every shared
//! library the account belongs to beside the personal library, synced with it.
//!
//! Invariants: a shared library's copy is a library file of its own next to the personal one
//! (`core::sync::LibraryId::store_name`), holding only that library and linked only to it; it
//! signs in with the personal library's session (one account per desktop library); the role
//! it records is a courtesy (the store refuses a viewer's edits, naming the role), the service
//! enforces it; a copy whose library the account can no longer open is never deleted here: it
//! is moved aside, kept readable, and the person is told why and where.

use super::sync::{session, sync_once};
use crate::args::ShareCommand;
use crate::context::{now_millis, Context};
use crate::error::{CliError, Code, Result};
use crate::output::{count, date_time, table};
use crate::remote::Service;
use crate::store::{LibraryFile, ROLE};
use refsync_core::protocol::{Invitation, Invite, LibrarySummary, Member, Role};
use refsync_core::sync::{ErrorKind, LibraryId, SyncError};
use std::path::{Path, PathBuf};

/// The shared library's name, in its copy's meta.
const NAME: &str = "shared_name";

/// A failure talking to the service about sharing, in the service's own words.
fn refused(e: SyncError) -> CliError {
    let code = match e.kind {
        ErrorKind::Connection => Code::Connection,
        ErrorKind::Auth => Code::Auth,
        ErrorKind::Forbidden => Code::Forbidden,
        ErrorKind::NotFound => Code::NotFound,
        _ => Code::BadInput,
    };
    let message = if e.kind == ErrorKind::NotFound {
        "the service knows no such library or invitation for this account".to_string()
    } else {
        e.message
    };
    CliError::new(code, message)
}

/// Where the copy of the shared library `id` lives, beside the personal library `personal`.
pub fn copy_path(personal: &Path, id: &str) -> PathBuf {
    let stem = personal.file_stem().map_or_else(
        || "library".to_string(),
        |s| s.to_string_lossy().to_string(),
    );
    let name = LibraryId::Shared { id: id.to_string() }.store_name(&stem);
    personal.with_file_name(format!("{name}.refsync"))
}

/// The copies of shared libraries beside `personal`, with the shared library's id.
fn copies(personal: &Path) -> Vec<(String, PathBuf)> {
    let stem = personal.file_stem().map_or_else(
        || "library".to_string(),
        |s| s.to_string_lossy().to_string(),
    );
    let prefix = format!("{stem}-shared-");
    let dir = personal
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let id = name.strip_prefix(&prefix)?.strip_suffix(".refsync")?;
            (!id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| (id.to_string(), e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The copy of the shared library called `name` (or whose id it is), for `--shared NAME`.
pub async fn find_copy(personal: &Path, name: &str) -> Result<PathBuf> {
    let wanted = name.trim().to_lowercase();
    let mut names = Vec::new();
    for (id, path) in copies(personal) {
        let lib = LibraryFile::open(&path).await?;
        let called = lib.meta(NAME).await?.unwrap_or_default();
        lib.close().await;
        if called.to_lowercase() == wanted || id == wanted {
            return Ok(path);
        }
        names.push(called);
    }
    Err(CliError::not_found(if names.is_empty() {
        format!(
            "there is no shared library “{name}” on this computer: `refsync share list` shows yours, `refsync sync` fetches them"
        )
    } else {
        format!(
            "there is no shared library “{name}” on this computer (there is {})",
            names.join(", ")
        )
    }))
}

/// The shared library called `name` among the account's (by name, case aside, or id).
fn pick<'a>(libraries: &'a [LibrarySummary], name: &str) -> Result<&'a LibrarySummary> {
    let wanted = name.trim().to_lowercase();
    let hits: Vec<&LibrarySummary> = libraries
        .iter()
        .filter(|l| {
            l.name
                .as_deref()
                .is_some_and(|n| n.to_lowercase() == wanted)
                || l.id == wanted
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::not_found(format!(
            "you belong to no shared library called “{name}” (see `refsync share list`)"
        ))),
        _ => Err(CliError::bad_input(format!(
            "more than one shared library is called “{name}”; name it by its id (see `refsync share list`)"
        ))),
    }
}

fn member<'a>(members: &'a [Member], email: &str) -> Result<&'a Member> {
    let wanted = email.trim().to_lowercase();
    members
        .iter()
        .find(|m| m.email == wanted)
        .ok_or_else(|| CliError::not_found(format!("{email} is not a member of this library")))
}

pub async fn run(cx: &Context, command: &ShareCommand) -> Result<()> {
    let personal = LibraryFile::open(&cx.personal_path).await?;
    let (service, token) = session(&personal).await?;
    let result = match command {
        ShareCommand::List { json } => list(&service, &token, *json).await,
        ShareCommand::Create { name } => {
            let lib = service
                .create_library(&token, name)
                .await
                .map_err(refused)?;
            println!(
                "Made the shared library “{}”. Invite people with `refsync share invite \"{}\" EMAIL --role editor`; `refsync sync` keeps a copy here.",
                lib.name.as_deref().unwrap_or_default(),
                lib.name.as_deref().unwrap_or_default()
            );
            Ok(())
        }
        ShareCommand::Invite {
            name,
            email,
            role,
            days,
        } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let invitation = service
                .invite(
                    &token,
                    &lib.id,
                    &Invite {
                        email: email.clone(),
                        role: *role,
                        expires_in_days: *days,
                    },
                )
                .await
                .map_err(refused)?;
            println!(
                "Invited {} to “{}” as {} {}, until {}. They accept with `refsync share accept \"{}\"` (or in the web app).",
                invitation.email,
                invitation.library_name,
                article(invitation.role),
                invitation.role.as_str(),
                date_time(invitation.expires_at),
                invitation.library_name
            );
            Ok(())
        }
        ShareCommand::Members { name, json } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let members = service.members(&token, &lib.id).await.map_err(refused)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&members).unwrap_or_default()
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = members
                .iter()
                .map(|m| {
                    vec![
                        m.email.clone(),
                        m.role.as_str().to_string(),
                        date_time(m.joined_at),
                    ]
                })
                .collect();
            table(&["member", "role", "since"], &rows);
            if lib.role.allows(refsync_core::protocol::Action::Manage) {
                let pending = service
                    .invitations_of(&token, &lib.id)
                    .await
                    .map_err(refused)?;
                for i in pending {
                    println!(
                        "Invited, not yet answered: {} as {} (until {})",
                        i.email,
                        i.role.as_str(),
                        date_time(i.expires_at)
                    );
                }
            }
            Ok(())
        }
        ShareCommand::Role { name, email, role } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let members = service.members(&token, &lib.id).await.map_err(refused)?;
            let m = member(&members, email)?;
            service
                .set_role(&token, &lib.id, &m.account_id, *role)
                .await
                .map_err(refused)?;
            println!(
                "{} is {} {} of “{}” now.",
                m.email,
                article(*role),
                role.as_str(),
                lib.name.as_deref().unwrap_or_default()
            );
            Ok(())
        }
        ShareCommand::Remove { name, email } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let members = service.members(&token, &lib.id).await.map_err(refused)?;
            let m = member(&members, email)?;
            service
                .remove_member(&token, &lib.id, &m.account_id)
                .await
                .map_err(refused)?;
            println!(
                "Removed {} from “{}”: their devices stop receiving it at their next sync; what they wrote stays.",
                m.email,
                lib.name.as_deref().unwrap_or_default()
            );
            Ok(())
        }
        ShareCommand::Leave { name } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let me = service.me(&token).await.map_err(refused)?;
            service
                .remove_member(&token, &lib.id, &me.account.id)
                .await
                .map_err(refused)?;
            let kept = set_aside(&cx.personal_path, &lib.id).await?;
            println!(
                "You left “{}”.{}",
                lib.name.as_deref().unwrap_or_default(),
                kept.map(|p| format!(" Your copy is kept, no longer synced, at {}.", p.display()))
                    .unwrap_or_default()
            );
            Ok(())
        }
        ShareCommand::Invitations { json } => {
            let invitations = service.invitations(&token).await.map_err(refused)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&invitations).unwrap_or_default()
                );
            } else if invitations.is_empty() {
                println!("No invitations are waiting for you.");
            } else {
                let rows: Vec<Vec<String>> = invitations
                    .iter()
                    .map(|i| {
                        vec![
                            i.library_name.clone(),
                            i.role.as_str().to_string(),
                            i.invited_by.clone(),
                            date_time(i.expires_at),
                        ]
                    })
                    .collect();
                table(&["library", "as", "invited by", "until"], &rows);
            }
            Ok(())
        }
        ShareCommand::Accept { invitation } | ShareCommand::Decline { invitation } => {
            let accept = matches!(command, ShareCommand::Accept { .. });
            let invitations = service.invitations(&token).await.map_err(refused)?;
            let chosen = invitation_named(&invitations, invitation)?;
            let joined = service
                .answer_invitation(&token, &chosen.id, accept)
                .await
                .map_err(refused)?;
            match joined {
                Some(lib) => {
                    println!(
                        "You are {} {} of “{}” now.",
                        article(lib.role),
                        lib.role.as_str(),
                        chosen.library_name
                    );
                    // Fetched at once, so it can be used offline from now on.
                    sync_shared(
                        &personal,
                        &cx.personal_path,
                        &service,
                        &token,
                        Some(&lib.id),
                    )
                    .await
                }
                None => {
                    println!("Declined the invitation to “{}”.", chosen.library_name);
                    Ok(())
                }
            }
        }
        ShareCommand::Activity { name, limit } => {
            let lib = pick(&service.libraries(&token).await.map_err(refused)?, name)?.clone();
            let activity = service
                .activity(&token, &lib.id, *limit)
                .await
                .map_err(refused)?;
            let rows: Vec<Vec<String>> = activity
                .entries
                .iter()
                .map(|e| {
                    vec![
                        date_time(e.changed_at),
                        e.changed_by.clone().unwrap_or_else(|| "(unknown)".into()),
                        if e.deleted { "deleted" } else { "changed" }.to_string(),
                        e.kind.as_str().to_string(),
                        e.title.clone().unwrap_or_else(|| e.key.to_string()),
                    ]
                })
                .collect();
            table(&["when", "who", "what", "kind", "title"], &rows);
            Ok(())
        }
    };
    personal.close().await;
    result
}

/// `refsync copy KEY... --to NAME`: copies of references (and their files) from the library
/// in use into another one (core's `actions::copy_to`).
pub async fn copy(cx: &Context, keys: &[String], to: &str) -> Result<()> {
    let target_path = match to.trim().to_lowercase().as_str() {
        "mine" | "personal" | "my library" => cx.personal_path.clone(),
        _ => find_copy(&cx.personal_path, to).await?,
    };
    if target_path == cx.library_path {
        return Err(CliError::bad_input(
            "the references are in that library already; --to names another one",
        ));
    }
    let source = cx.open().await?;
    let snap = source.snapshot().await?;
    let keys = crate::context::find_references(&snap, keys)?;
    let from = match source.library().await? {
        LibraryId::Personal => "personal".to_string(),
        LibraryId::Shared { id } => id,
    };
    let (writes, files) = refsync_core::edit::actions::copy_to(
        &snap,
        &keys,
        &from,
        now_millis(),
        crate::context::new_key,
    );
    let target = LibraryFile::open(&target_path).await?;
    target.writable().await?;
    let mut missing = 0;
    for sha in &files {
        match source.file(sha).await? {
            Some(bytes) => target.put_file(sha, &bytes).await?,
            None => missing += 1,
        }
    }
    target.write(writes).await?;
    let name = target
        .meta(NAME)
        .await?
        .unwrap_or_else(|| "your library".into());
    target.close().await;
    source.close().await;
    println!(
        "Copied {} into {}{}; `refsync sync` sends {}.",
        count(keys.len(), "reference", "references"),
        if name == "your library" {
            name.clone()
        } else {
            format!("“{name}”")
        },
        match missing {
            0 => String::new(),
            n => format!(
                " ({} not on this computer yet: sync first to bring them along)",
                count(n, "file is", "files are")
            ),
        },
        if keys.len() == 1 { "it" } else { "them" }
    );
    Ok(())
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Owner => "the",
        Role::Editor => "an",
        Role::Viewer => "a",
    }
}

/// The invitation named by its library's name or its id.
fn invitation_named<'a>(invitations: &'a [Invitation], text: &str) -> Result<&'a Invitation> {
    let wanted = text.trim().to_lowercase();
    let hits: Vec<&Invitation> = invitations
        .iter()
        .filter(|i| i.id == wanted || i.library_name.to_lowercase() == wanted)
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::not_found(format!(
            "no invitation to “{text}” is waiting for you (see `refsync share invitations`)"
        ))),
        _ => Err(CliError::bad_input(format!(
            "more than one invitation is to “{text}”; give its id (`refsync share invitations --json`)"
        ))),
    }
}

async fn list(service: &Service, token: &str, json: bool) -> Result<()> {
    let libraries = service.libraries(token).await.map_err(refused)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&libraries).unwrap_or_default()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = libraries
        .iter()
        .map(|l| {
            vec![
                l.name.clone().unwrap_or_else(|| "(your library)".into()),
                l.role.as_str().to_string(),
                l.owner.clone(),
                l.references.to_string(),
                l.members.to_string(),
            ]
        })
        .collect();
    table(
        &["library", "your role", "owner", "references", "members"],
        &rows,
    );
    Ok(())
}

/// Move a copy the account can no longer open out of the synced set, keeping it readable:
/// `<name>.left-<time>.refsync`. Where it went, if there was one.
async fn set_aside(personal: &Path, id: &str) -> Result<Option<PathBuf>> {
    let path = copy_path(personal, id);
    if !path.is_file() {
        return Ok(None);
    }
    let copy = LibraryFile::open(&path).await?;
    super::sync::forget_session(&copy).await?;
    copy.close().await;
    let aside = path.with_extension(format!("left-{}.refsync", now_millis() / 1000));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).map_err(|e| {
                CliError::new(Code::Local, format!("cannot move {}: {e}", from.display()))
            })?;
        }
    }
    Ok(Some(aside))
}

/// Sync every shared library the account belongs to (or only `only`), each in its own copy
/// beside the personal library (made on first sight); copies of libraries the account left,
/// was removed from, or that were deleted are set aside with a word why. Each library's
/// line is printed with its name; the first failure is returned after all were tried.
pub async fn sync_shared(
    personal: &LibraryFile,
    personal_path: &Path,
    service: &Service,
    token: &str,
    only: Option<&str>,
) -> Result<()> {
    let libraries = service.libraries(token).await.map_err(refused)?;
    let shared: Vec<&LibrarySummary> = libraries
        .iter()
        .filter(|l| !l.is_personal() && only.is_none_or(|o| o == l.id))
        .collect();
    let device = personal.meta("device_id").await?.unwrap_or_default();
    let mut first_error = None;
    for lib in &shared {
        let name = lib.name.clone().unwrap_or_default();
        let path = copy_path(personal_path, &lib.id);
        let copy = if path.is_file() {
            LibraryFile::open(&path).await?
        } else {
            LibraryFile::create_library(&path, &device, &LibraryId::Shared { id: lib.id.clone() })
                .await?
        };
        super::sync::share_session(personal, &copy, &lib.id).await?;
        copy.set_meta(NAME, Some(&name)).await?;
        copy.set_meta(ROLE, Some(lib.role.as_str())).await?;
        let prefix = format!("“{name}” ({}): ", lib.role.as_str());
        if let Err(e) = sync_once(&copy, &prefix).await {
            eprintln!("{prefix}{}", e.message);
            first_error.get_or_insert(e);
        }
        copy.close().await;
    }
    if only.is_none() {
        for (id, path) in copies(personal_path) {
            if libraries.iter().any(|l| l.id == id) {
                continue;
            }
            let name = match LibraryFile::open(&path).await {
                Ok(copy) => {
                    let name = copy.meta(NAME).await?.unwrap_or(id.clone());
                    copy.close().await;
                    name
                }
                Err(_) => id.clone(),
            };
            if let Some(aside) = set_aside(personal_path, &id).await? {
                println!(
                    "You no longer belong to “{name}” (its owner removed you, or deleted it): it is not synced any more. \
                     Your copy is kept at {}: export it with `refsync --library \"{}\" export --format ris -o shared.ris`, \
                     and `refsync import shared.ris` copies its references into your own library.",
                    aside.display(),
                    aside.display()
                );
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            if !shared.is_empty() {
                println!(
                    "{} synced.",
                    count(shared.len(), "shared library", "shared libraries")
                );
            }
            Ok(())
        }
    }
}
