//! Shared libraries (docs/sharing.md): making, renaming and deleting one, its members and
//! their roles, invitations by email, handing it over, and its activity.
//!
//! Invariants: every route checks the caller's role with `Role::allows` through
//! [`Authed::member_of`] (404 for a non-member, 403 `forbidden` for a role that does not
//! allow it); a personal library cannot be shared, renamed, handed over or deleted here; a
//! membership that ends (removal, leaving, deletion) ends that account's change-hint streams
//! of the library at once on this instance, and within a stream check on the others; every
//! change to what an account's lists say (`GET /libraries`, `GET /invitations`) is announced
//! on its stream once committed ([`AppState::lists_changed`]): its devices ask for the lists
//! only then.

use crate::auth::{normalize_email, now_millis, Authed, Revoked};
use crate::db::{Access, InvitationOutcome};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use refsync_core::protocol::{
    check_library_name, Action, Activity, ErrorBody, Invitation, Invitations, Invite, Libraries,
    LibraryName, LibrarySummary, Members, Role, SetRole, Transfer, INVITATION_DAYS,
    MAX_INVITATION_DAYS,
};
use refsync_core::{Key, ObjectKind};
use serde::Deserialize;

const DAY_MS: u64 = 24 * 3600 * 1000;

/// The library summary of one library for one account (after a change, or an acceptance).
async fn summary(
    state: &AppState,
    account_id: &str,
    library_id: &str,
) -> Result<LibrarySummary, ApiError> {
    state
        .db
        .libraries_of(account_id)
        .await?
        .into_iter()
        .find(|l| l.id == library_id)
        .ok_or(ApiError::NotFound)
}

/// The accounts whose list of libraries shows `library_id` (its owner and members), to tell
/// them of a change. Advice, like a hint: a failed lookup is logged and tells no one, never
/// the request's error (the change itself is made or about to be).
async fn members_of(state: &AppState, library_id: &str) -> Vec<String> {
    match state.db.members(library_id).await {
        Ok(members) => members.into_iter().map(|m| m.account_id).collect(),
        Err(e) => {
            tracing::warn!(library = %library_id, "members not read to announce a change: {e}");
            Vec::new()
        }
    }
}

/// Announce a change to the lists of every member of `library_id` (the owner too).
async fn tell_members(state: &AppState, library_id: &str) {
    let members = members_of(state, library_id).await;
    state
        .lists_changed(members.iter().map(String::as_str))
        .await;
}

/// Announce a change to the lists of the account that `email` signs in with, if there is one
/// (an invitation to an email with no account yet is listed when it signs up). Advice, as
/// [`members_of`].
async fn invitee_lists_changed(state: &AppState, email: &str) {
    match state.db.account_by_email(email).await {
        Ok(Some(account)) => state.lists_changed([account.id.as_str()]).await,
        Ok(None) => {}
        Err(e) => tracing::warn!("invitee not read to announce a change: {e}"),
    }
}

/// A shared library, or why a personal one cannot be the subject of `what`.
fn shared(access: Access, what: &str) -> Result<Access, ApiError> {
    if access.library.is_shared() {
        Ok(access)
    } else {
        Err(ApiError::Invalid(format!(
            "Your personal library cannot be {what}; make a shared library and copy references into it."
        )))
    }
}

#[utoipa::path(get, path = "/libraries", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, description = "Every library this account can open: its personal library first, then shared ones by name", body = Libraries),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Libraries>, ApiError> {
    Ok(Json(Libraries {
        libraries: state.db.libraries_of(&authed.account_id).await?,
    }))
}

#[utoipa::path(post, path = "/libraries", tag = "sharing", security(("bearer" = [])),
    request_body = LibraryName,
    responses((status = 201, description = "A new, empty shared library owned by this account", body = LibrarySummary),
        (status = 400, description = "No name, or one too long", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<LibraryName>,
) -> Result<(StatusCode, Json<LibrarySummary>), ApiError> {
    let name = check_library_name(&req.name).map_err(ApiError::Invalid)?;
    let lib = state
        .db
        .create_shared_library(&authed.account_id, &name, now_millis())
        .await?;
    tracing::info!(library = %lib.id, "shared library made");
    state.lists_changed([authed.account_id.as_str()]).await;
    Ok((
        StatusCode::CREATED,
        Json(summary(&state, &authed.account_id, &lib.id).await?),
    ))
}

#[utoipa::path(patch, path = "/libraries/{library_id}", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id")),
    request_body = LibraryName,
    responses((status = 200, description = "Renamed", body = LibrarySummary),
        (status = 400, description = "No name, one too long, or the personal library", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner renames", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(req): ApiJson<LibraryName>,
) -> Result<Json<LibrarySummary>, ApiError> {
    let access = shared(
        authed
            .member_of(&state, &library_id, Action::Manage)
            .await?,
        "renamed",
    )?;
    let name = check_library_name(&req.name).map_err(ApiError::Invalid)?;
    state.db.rename_library(&access.library.id, &name).await?;
    tell_members(&state, &access.library.id).await;
    Ok(Json(
        summary(&state, &authed.account_id, &library_id).await?,
    ))
}

#[utoipa::path(delete, path = "/libraries/{library_id}", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id")),
    responses((status = 204, description = "Deleted with everything in it; every member's devices remove their copy at their next sync"),
        (status = 400, description = "The personal library", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner deletes", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let access = shared(
        authed.member_of(&state, &library_id, Action::Own).await?,
        "deleted here",
    )?;
    let members = members_of(&state, &access.library.id).await;
    let files = state.db.delete_library(&access.library.id).await?;
    state
        .lists_changed(members.iter().map(String::as_str))
        .await;
    for sha in files {
        let name = format!("{}/{sha}", access.library.id);
        if let Err(e) = state.blobs.delete(&name).await {
            tracing::warn!(library = %access.library.id, "delete: a file could not be removed: {e}");
        }
    }
    let _ = state.revoked.send(Revoked::Library(library_id));
    tracing::info!(library = %access.library.id, "shared library deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/libraries/{library_id}/members", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id")),
    responses((status = 200, description = "The owner first, then the members by email", body = Members),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Json<Members>, ApiError> {
    let access = authed.member_of(&state, &library_id, Action::Read).await?;
    Ok(Json(Members {
        members: state.db.members(&access.library.id).await?,
    }))
}

#[utoipa::path(put, path = "/libraries/{library_id}/members/{account_id}", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id"),
        ("account_id" = String, Path, description = "The member's account id (from the members list)")),
    request_body = SetRole,
    responses((status = 204, description = "The member has the new role from the next request on"),
        (status = 400, description = "`owner` (hand the library over instead), or the owner's own role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner changes roles", body = ErrorBody),
        (status = 404, description = "No such library or member", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath((library_id, account_id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SetRole>,
) -> Result<StatusCode, ApiError> {
    let access = shared(
        authed
            .member_of(&state, &library_id, Action::Manage)
            .await?,
        "shared",
    )?;
    if req.role == Role::Owner {
        return Err(ApiError::Invalid(
            "A library has one owner: hand it over (POST .../transfer) to make someone its owner."
                .into(),
        ));
    }
    if account_id == access.library.account_id {
        return Err(ApiError::Invalid(
            "The owner's role cannot change; hand the library over first.".into(),
        ));
    }
    if !state
        .db
        .set_role(&library_id, &account_id, req.role)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    state.lists_changed([account_id.as_str()]).await;
    tracing::info!(library = %library_id, role = req.role.as_str(), "member's role changed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/libraries/{library_id}/members/{account_id}", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id"),
        ("account_id" = String, Path, description = "The member's account id; one's own to leave")),
    responses((status = 204, description = "Removed (or left): their devices stop receiving the library at once"),
        (status = 400, description = "The owner cannot leave or be removed (hand the library over or delete it)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner removes others", body = ErrorBody),
        (status = 404, description = "No such library or member", body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath((library_id, account_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let leaving = account_id == authed.account_id;
    let action = if leaving {
        Action::Leave
    } else {
        Action::Manage
    };
    let access = match authed.member_of(&state, &library_id, action).await {
        Err(ApiError::Forbidden(_)) if leaving => {
            return Err(ApiError::Invalid(
                "The owner cannot leave: hand the library over to a member, or delete it.".into(),
            ))
        }
        other => other?,
    };
    if account_id == access.library.account_id {
        return Err(ApiError::Invalid(
            "The owner cannot be removed: hand the library over first.".into(),
        ));
    }
    if !state.db.remove_member(&library_id, &account_id).await? {
        return Err(ApiError::NotFound);
    }
    // The one who left, and the rest (their member count).
    let mut told = members_of(&state, &library_id).await;
    told.push(account_id.clone());
    state.lists_changed(told.iter().map(String::as_str)).await;
    let _ = state.revoked.send(Revoked::Member {
        library_id: library_id.clone(),
        account_id,
    });
    tracing::info!(library = %library_id, leaving, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/libraries/{library_id}/transfer", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id")),
    request_body = Transfer,
    responses((status = 204, description = "The member is the owner now (its files count against their storage); the old owner is an editor"),
        (status = 400, description = "The personal library, or oneself", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner hands a library over", body = ErrorBody),
        (status = 404, description = "No such library, or the account is not a member", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn transfer(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(req): ApiJson<Transfer>,
) -> Result<StatusCode, ApiError> {
    shared(
        authed.member_of(&state, &library_id, Action::Own).await?,
        "handed over",
    )?;
    if req.account_id == authed.account_id {
        return Err(ApiError::Invalid("You own this library already.".into()));
    }
    if !state.db.transfer(&library_id, &req.account_id).await? {
        return Err(ApiError::NotFound);
    }
    tell_members(&state, &library_id).await;
    tracing::info!(library = %library_id, "shared library handed over");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/libraries/{library_id}/invitations", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id")),
    responses((status = 200, description = "Pending invitations, newest first", body = Invitations),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner sees invitations", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn library_invitations(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Json<Invitations>, ApiError> {
    let access = authed
        .member_of(&state, &library_id, Action::Manage)
        .await?;
    Ok(Json(Invitations {
        invitations: state
            .db
            .library_invitations(&access.library.id, now_millis())
            .await?,
    }))
}

#[utoipa::path(post, path = "/libraries/{library_id}/invitations", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id")),
    request_body = Invite,
    responses((status = 201, description = "Invited (a pending invitation for that email is renewed); the account may be made later", body = Invitation),
        (status = 400, description = "Not an email, the owner's role, a bad expiry, or the personal library", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner invites", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 409, description = "conflict: that email's account is a member already", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(req): ApiJson<Invite>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let access = shared(
        authed
            .member_of(&state, &library_id, Action::Manage)
            .await?,
        "shared",
    )?;
    let email = normalize_email(&req.email)?;
    if req.role == Role::Owner {
        return Err(ApiError::Invalid(
            "Invite as an editor or a viewer; a library has one owner.".into(),
        ));
    }
    let days = req.expires_in_days.unwrap_or(INVITATION_DAYS);
    if !(1..=MAX_INVITATION_DAYS).contains(&days) {
        return Err(ApiError::Invalid(format!(
            "expires_in_days must be between 1 and {MAX_INVITATION_DAYS}."
        )));
    }
    let now = now_millis();
    match state
        .db
        .invite(
            &access.library.id,
            &email,
            req.role,
            &authed.account_id,
            now,
            now + days * DAY_MS,
        )
        .await?
    {
        InvitationOutcome::Invited(invitation) => {
            tracing::info!(library = %library_id, role = req.role.as_str(), "invitation sent");
            invitee_lists_changed(&state, &email).await;
            Ok((StatusCode::CREATED, Json(invitation)))
        }
        InvitationOutcome::AlreadyMember => Err(ApiError::Conflict(format!(
            "{email} is a member of this library already; change their role instead."
        ))),
    }
}

#[utoipa::path(delete, path = "/libraries/{library_id}/invitations/{invitation_id}", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "A shared library's id"),
        ("invitation_id" = String, Path, description = "The invitation's id")),
    responses((status = 204, description = "Revoked: it can no longer be accepted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner revokes", body = ErrorBody),
        (status = 404, description = "No such library or invitation", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath((library_id, invitation_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = authed
        .member_of(&state, &library_id, Action::Manage)
        .await?;
    match state
        .db
        .revoke_invitation(&access.library.id, &invitation_id)
        .await?
    {
        Some(email) => {
            invitee_lists_changed(&state, &email).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound),
    }
}

#[utoipa::path(get, path = "/invitations", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, description = "Pending invitations addressed to this account's email, newest first", body = Invitations),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn my_invitations(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Invitations>, ApiError> {
    let account = authed.account(&state).await?;
    Ok(Json(Invitations {
        invitations: state
            .db
            .invitations_for(&account.email, now_millis())
            .await?,
    }))
}

#[utoipa::path(post, path = "/invitations/{invitation_id}/accept", tag = "sharing", security(("bearer" = [])),
    params(("invitation_id" = String, Path, description = "The invitation's id")),
    responses((status = 200, description = "A member now: the library, to link and sync", body = LibrarySummary),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No pending invitation of that id for this account's email (never made, for another email, revoked, answered or expired)", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(invitation_id): ApiPath<String>,
) -> Result<Json<LibrarySummary>, ApiError> {
    let account = authed.account(&state).await?;
    let Some((library_id, role)) = state
        .db
        .answer_invitation(
            &invitation_id,
            &account.id,
            &account.email,
            true,
            now_millis(),
        )
        .await?
    else {
        return Err(ApiError::NotFound);
    };
    tracing::info!(library = %library_id, role = role.as_str(), "invitation accepted");
    // The new member's other devices, and the members' counts.
    tell_members(&state, &library_id).await;
    Ok(Json(summary(&state, &account.id, &library_id).await?))
}

#[utoipa::path(post, path = "/invitations/{invitation_id}/decline", tag = "sharing", security(("bearer" = [])),
    params(("invitation_id" = String, Path, description = "The invitation's id")),
    responses((status = 204, description = "Declined: it is gone"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No pending invitation of that id for this account's email", body = ErrorBody)))]
pub async fn decline(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(invitation_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let account = authed.account(&state).await?;
    match state
        .db
        .answer_invitation(
            &invitation_id,
            &account.id,
            &account.email,
            false,
            now_millis(),
        )
        .await?
    {
        Some(_) => {
            state.lists_changed([account.id.as_str()]).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// The `next` of the previous page (older changes).
    #[serde(default)]
    before: Option<String>,
    /// Entries per page (1 to 200; 50 when absent).
    #[serde(default)]
    limit: Option<usize>,
}

/// Most activity entries per page.
const MAX_ACTIVITY_PAGE: usize = 200;

#[utoipa::path(get, path = "/libraries/{library_id}/activity", tag = "sharing", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id"), ActivityQuery),
    responses((status = 200, description = "The latest changes, newest first: who, what, when", body = Activity),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn activity(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> Result<Json<Activity>, ApiError> {
    let access = authed.member_of(&state, &library_id, Action::Read).await?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_ACTIVITY_PAGE {
        return Err(ApiError::Invalid(format!(
            "limit must be between 1 and {MAX_ACTIVITY_PAGE}."
        )));
    }
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(c) => Some(super::library::parse_cursor(c).ok_or_else(|| {
            ApiError::Invalid("The cursor is not one this server gave out.".into())
        })?),
    };
    let entries = state.db.activity(&access.library.id, before, limit).await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| cursor(e.version, e.kind, e.key)))
        .flatten();
    Ok(Json(Activity { entries, next }))
}

fn cursor(version: u64, kind: ObjectKind, key: Key) -> String {
    format!("{version}.{}.{key}", kind.as_str())
}
