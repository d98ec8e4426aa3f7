//! Registering, signing in and out, changing the password, and "who am I".
//!
//! Invariants: failed sign-ins for an email are slowed down after [`SLOW_AFTER`] and refused
//! for [`LOCK_FOR_MS`] after [`LOCK_AFTER`] (429 with `Retry-After`), across every instance
//! (the count is in the database); a wrong email and a wrong password get the same answer.

use crate::auth::{
    check_new_password, hash_password, new_token, normalize_email, now_millis, verify_password,
    Authed,
};
use crate::db::CreateAccount;
use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use refsync_core::protocol::{
    Account, AccountDeleted, ChangePassword, DeleteAccount, ErrorBody, HandedOver, LibraryInfo, Me,
    OwnedLibraries, Register, Session, SignIn,
};
use std::time::Duration;

/// Failures after which each further attempt waits a second.
pub const SLOW_AFTER: u64 = 3;
/// Failures after which the email is locked.
pub const LOCK_AFTER: u64 = 8;
pub const LOCK_FOR_MS: u64 = 15 * 60 * 1000;
/// Failures older than this are forgotten.
const FAILURE_WINDOW_MS: u64 = 60 * 60 * 1000;

#[utoipa::path(post, path = "/account", tag = "account", request_body = Register,
    responses((status = 201, description = "Registered and signed in", body = Session),
        (status = 400, description = "Not an email, or a password too short", body = ErrorBody),
        (status = 409, description = "An account for this email exists", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Register>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let email = normalize_email(&req.email)?;
    check_new_password(&req.password)?;
    let hash = hash_password(req.password).await?;
    let now = now_millis();
    let account = match state
        .db
        .create_account(
            &email,
            &hash,
            state.limits.storage_limit,
            state.limits.reference_limit,
            now,
        )
        .await?
    {
        CreateAccount::Created(a) => a,
        CreateAccount::EmailTaken => {
            return Err(ApiError::Conflict(
                "An account with this email exists already. Sign in instead.".into(),
            ))
        }
    };
    tracing::info!(account = %account.id, "account registered");
    let session = open_session(&state, &account.id, &account.email, "", now).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn open_session(
    state: &AppState,
    account_id: &str,
    email: &str,
    device_name: &str,
    now: u64,
) -> Result<Session, ApiError> {
    let (token, hash) = new_token();
    let expires_at = now + state.limits.token_ttl_ms;
    let device: String = device_name.chars().take(200).collect();
    state
        .db
        .insert_token(&hash, account_id, &device, now, expires_at)
        .await?;
    Ok(Session {
        token,
        expires_at,
        account: Account {
            id: account_id.to_string(),
            email: email.to_string(),
        },
    })
}

#[utoipa::path(post, path = "/session", tag = "account", request_body = SignIn,
    responses((status = 200, description = "Signed in", body = Session),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins; see Retry-After", body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SignIn>,
) -> Result<Json<Session>, ApiError> {
    let wrong = || ApiError::Auth("The email or password is wrong.".into());
    let Ok(email) = normalize_email(&req.email) else {
        return Err(wrong());
    };
    let now = now_millis();
    let locked = |until: u64| {
        let retry_after = until.saturating_sub(now).div_ceil(1000).max(1);
        ApiError::RateLimited {
            retry_after,
            message: format!(
                "Too many failed sign-ins. Try again in {} minutes.",
                retry_after.div_ceil(60)
            ),
        }
    };
    let failures = state.db.sign_in_failures(&email).await?;
    if failures.locked_until > now {
        return Err(locked(failures.locked_until));
    }
    // The attempt counts before the password is checked, in one statement: attempts made at
    // the same moment cannot overwrite each other's count, and those past the limit are
    // refused unchecked. A right password clears the count.
    let attempt = state
        .db
        .count_sign_in_attempt(&email, now, FAILURE_WINDOW_MS, LOCK_AFTER, LOCK_FOR_MS)
        .await?;
    if attempt.failures > LOCK_AFTER {
        return Err(locked(attempt.locked_until));
    }
    if attempt.failures > SLOW_AFTER {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let account = state.db.account_by_email(&email).await?;
    let ok = match &account {
        Some(a) if req.password.len() <= crate::auth::MAX_PASSWORD_LEN => {
            verify_password(req.password, a.password_hash.clone()).await?
        }
        _ => false,
    };
    match account {
        Some(a) if ok => {
            state.db.clear_sign_in_failures(&email).await?;
            let session = open_session(&state, &a.id, &a.email, &req.device_name, now).await?;
            Ok(Json(session))
        }
        _ => {
            if attempt.failures == LOCK_AFTER {
                tracing::warn!("sign-ins locked for 15 minutes after repeated failures");
            }
            state.metrics.sign_in_failures.inc();
            Err(wrong())
        }
    }
}

#[utoipa::path(delete, path = "/session", tag = "account", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<StatusCode, ApiError> {
    state.db.delete_token(&authed.token_hash).await?;
    // Its change-hint streams end now (nobody listening is fine).
    let _ = state
        .revoked
        .send(crate::auth::Revoked::Token(authed.token_hash.clone()));
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/account", tag = "account", security(("bearer" = [])),
    request_body = DeleteAccount,
    responses((status = 200, description = "Deleted: the personal library, every session and membership; each shared library it owned handed over or deleted, as asked", body = AccountDeleted),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in, or the password is wrong", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn delete_account(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<DeleteAccount>,
) -> Result<Json<AccountDeleted>, ApiError> {
    let account = authed.account(&state).await?;
    if req.password.len() > crate::auth::MAX_PASSWORD_LEN
        || !verify_password(req.password, account.password_hash).await?
    {
        return Err(ApiError::Auth("The password is wrong.".into()));
    }
    let hand_over = req.shared_libraries == OwnedLibraries::HandOver;
    // Everyone who shares a library with the account: their lists change with it (a library
    // handed over or deleted, a member fewer).
    let mut others = Vec::new();
    for library in state.db.libraries_of(&account.id).await? {
        for member in state.db.members(&library.id).await? {
            if member.account_id != account.id && !others.contains(&member.account_id) {
                others.push(member.account_id);
            }
        }
    }
    let (libraries, files) = state.db.delete_account(&account.id, hand_over).await?;
    state.lists_changed(others.iter().map(String::as_str)).await;
    for (library, sha) in files {
        if let Err(e) = state.blobs.delete(&format!("{library}/{sha}")).await {
            tracing::warn!(library = %library, "account deleted: a file could not be removed: {e}");
        }
    }
    let _ = state.revoked.send(crate::auth::Revoked::Account {
        account_id: account.id.clone(),
        keep: None,
    });
    let mut answer = AccountDeleted {
        handed_over: Vec::new(),
        deleted: Vec::new(),
    };
    for (name, heir, id) in libraries {
        match heir {
            Some(to) => answer.handed_over.push(HandedOver { library: name, to }),
            None => {
                let _ = state.revoked.send(crate::auth::Revoked::Library(id));
                answer.deleted.push(name);
            }
        }
    }
    tracing::info!(account = %account.id, handed_over = answer.handed_over.len(), deleted = answer.deleted.len(), "account deleted");
    Ok(Json(answer))
}

#[utoipa::path(post, path = "/account/password", tag = "account", security(("bearer" = [])),
    request_body = ChangePassword,
    responses((status = 204, description = "Changed; every other session signed out"),
        (status = 400, description = "New password too short, or malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let account = authed.account(&state).await?;
    if req.current_password.len() > crate::auth::MAX_PASSWORD_LEN
        || !verify_password(req.current_password, account.password_hash).await?
    {
        return Err(ApiError::Auth("The current password is wrong.".into()));
    }
    check_new_password(&req.new_password)?;
    let hash = hash_password(req.new_password).await?;
    state
        .db
        .set_password(&account.id, &hash, Some(&authed.token_hash))
        .await?;
    let _ = state.revoked.send(crate::auth::Revoked::Account {
        account_id: account.id.clone(),
        keep: Some(authed.token_hash.clone()),
    });
    tracing::info!(account = %account.id, "password changed; other sessions signed out");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, description = "The account and its library", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, authed: Authed) -> Result<Json<Me>, ApiError> {
    let account = authed.account(&state).await?;
    let library = state.db.library_of_account(&account.id).await?;
    let references = state.db.reference_count(&library.id).await?;
    // What counts against the limit: every library the account owns.
    let storage_used = state.db.storage_used_by(&account.id).await?;
    Ok(Json(Me {
        account: Account {
            id: account.id,
            email: account.email,
        },
        library: LibraryInfo {
            id: library.id,
            version: library.version,
            epoch: library.epoch,
            storage_used,
            storage_limit: account.storage_limit,
            references,
            reference_limit: account.reference_limit,
            max_file_size: Some(state.limits.max_file_size),
        },
    }))
}
