//! The JSON API under `/api/v1` (DESIGN.md section 3; wire types in `refsync_core::protocol`).
//!
//! Invariants: every route but registering and signing in needs a bearer token; every route
//! under `/libraries/{id}` answers 404 unless that library is the token's account's; routes that
//! read or write a library's objects also need the link epoch (`x-refsync-epoch`) and answer
//! `relink_required` when it is stale; request bodies are size-limited per route.

mod account;
mod events;
mod files;
mod library;

use crate::error::ApiError;
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::Router;
use refsync_core::protocol::EPOCH_HEADER;

/// Most bytes of a JSON body on routes other than batch writes.
pub const SMALL_BODY: usize = 64 * 1024;
/// Most bytes of a batch write: 5,000 references of a few kilobytes each.
pub const BATCH_BODY: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    let batch = Router::new()
        .route("/libraries/{library_id}/batch", post(library::batch))
        .layer(DefaultBodyLimit::max(BATCH_BODY));
    let files = Router::new()
        .route(
            "/libraries/{library_id}/files/{sha256}",
            put(files::upload).get(files::download),
        )
        // The upload streams to disk under its own limit (the account's quota and the
        // server's largest file), never into memory.
        .layer(DefaultBodyLimit::disable());
    let rest = Router::new()
        .route("/account", post(account::register))
        .route("/account/password", post(account::change_password))
        .route("/session", post(account::sign_in).delete(account::sign_out))
        .route("/me", get(account::me))
        .route("/libraries/{library_id}/link", post(library::link))
        .route("/libraries/{library_id}/changes", get(library::changes))
        .route("/libraries/{library_id}/versions", get(library::versions))
        .route("/libraries/{library_id}/reset", post(library::reset))
        .route(
            "/libraries/{library_id}/sync-log",
            get(library::sync_log).post(library::add_sync_report),
        )
        .route("/libraries/{library_id}/events", get(events::events))
        .layer(DefaultBodyLimit::max(SMALL_BODY));
    Router::new().merge(batch).merge(files).merge(rest)
}

/// The link epoch the client holds, checked against the library's.
fn check_epoch(headers: &HeaderMap, current: u64) -> Result<(), ApiError> {
    let Some(value) = headers.get(EPOCH_HEADER) else {
        return Err(ApiError::Invalid(format!(
            "Send the link epoch in the {EPOCH_HEADER} header (link the library first)."
        )));
    };
    let epoch: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::Invalid(format!("{EPOCH_HEADER} must be a whole number.")))?;
    if epoch == current {
        Ok(())
    } else {
        Err(ApiError::RelinkRequired)
    }
}

/// The epoch header as sent (for a batch, checked again inside its transaction).
fn epoch_header(headers: &HeaderMap) -> Result<u64, ApiError> {
    headers
        .get(EPOCH_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "Send the link epoch in the {EPOCH_HEADER} header as a whole number (link the library first)."
            ))
        })
}
