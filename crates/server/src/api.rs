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
use axum::Router;
use refsync_core::protocol::EPOCH_HEADER;

/// Most bytes of a JSON body on routes other than batch writes.
pub const SMALL_BODY: usize = 64 * 1024;
/// Most bytes of a batch write: 5,000 references of a few kilobytes each.
pub const BATCH_BODY: usize = 64 * 1024 * 1024;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "refsync sync service",
        description = "The online copy of every refsync library: accounts, versioned libraries, \
            changes feed, batch writes with conflicts, attachments, reset and change hints. \
            Errors are JSON {code, message} with a stable code.",
    ),
    modifiers(&Security),
    tags(
        (name = "account", description = "Accounts and sessions"),
        (name = "library", description = "A library's objects, link and sync log"),
        (name = "files", description = "Attachment files by SHA-256"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // For EventSource, which cannot send headers.
        components.add_security_scheme(
            "query_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("access_token"))),
        );
    }
}

/// The API's routes under `/api/v1`, and the OpenAPI document made from the same handlers
/// (so the two cannot drift apart).
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    let batch = OpenApiRouter::new()
        .routes(routes!(library::batch))
        .layer(DefaultBodyLimit::max(BATCH_BODY));
    // The upload streams to disk under its own limit (the account's quota and the server's
    // largest file), never into memory.
    let files = OpenApiRouter::new()
        .routes(routes!(files::upload, files::download))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(files::close_unless_stored));
    let rest = OpenApiRouter::new()
        .routes(routes!(account::register))
        .routes(routes!(account::change_password))
        .routes(routes!(account::sign_in, account::sign_out))
        .routes(routes!(account::me))
        .routes(routes!(library::link))
        .routes(routes!(library::changes))
        .routes(routes!(library::versions))
        .routes(routes!(library::reset))
        .routes(routes!(library::sync_log, library::add_sync_report))
        .routes(routes!(events::events))
        .layer(DefaultBodyLimit::max(SMALL_BODY));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", batch.merge(files).merge(rest))
        .split_for_parts()
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
