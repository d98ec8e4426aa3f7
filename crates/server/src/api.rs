//! The JSON API under `/api/v1` (docs/server.md; wire types in `refsync_core::protocol`).
//!
//! Invariants: every route but registering, signing in and the citation styles (public: the
//! CSL repository's, nobody's data) needs a bearer token; every route
//! under `/libraries/{id}` answers 404 unless the token's account is a member of that library,
//! and 403 `forbidden` when its role there does not allow the action; routes that
//! read or write a library's objects also need the link epoch (`x-refsync-epoch`) and answer
//! `relink_required` when it is stale; request bodies are size-limited per route.

mod account;
mod events;
mod files;
mod library;
mod sharing;
mod styles;

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
        (name = "sharing", description = "Shared libraries: members, roles, invitations, activity"),
        (name = "styles", description = "Citation styles (the CSL repository), public"),
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
        // For EventSource, which cannot send headers: a one-use ticket, never the session.
        components.add_security_scheme(
            "stream_ticket",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("ticket"))),
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
        .routes(routes!(account::register, account::delete_account))
        .routes(routes!(account::change_password))
        .routes(routes!(account::sign_in, account::sign_out))
        .routes(routes!(account::me))
        .routes(routes!(library::link))
        .routes(routes!(library::changes))
        .routes(routes!(library::versions))
        .routes(routes!(library::reset))
        .routes(routes!(library::sync_log, library::add_sync_report))
        .routes(routes!(events::events))
        .routes(routes!(events::ticket))
        .routes(routes!(events::account_events))
        .routes(routes!(events::account_ticket))
        .routes(routes!(sharing::list, sharing::create))
        .routes(routes!(sharing::rename, sharing::delete))
        .routes(routes!(sharing::members))
        .routes(routes!(sharing::set_role, sharing::remove_member))
        .routes(routes!(sharing::transfer))
        .routes(routes!(sharing::library_invitations, sharing::invite))
        .routes(routes!(sharing::revoke))
        .routes(routes!(sharing::my_invitations))
        .routes(routes!(sharing::accept))
        .routes(routes!(sharing::decline))
        .routes(routes!(sharing::activity))
        .routes(routes!(styles::index))
        .routes(routes!(styles::style))
        .layer(DefaultBodyLimit::max(SMALL_BODY));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", batch.merge(files).merge(rest))
        .split_for_parts()
}

/// The OpenAPI document as served: the one made from the handlers, with its links.
pub fn document(doc: &utoipa::openapi::OpenApi) -> String {
    let Ok(mut doc) = serde_json::to_value(doc) else {
        return String::new();
    };
    add_links(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// OpenAPI links: which answer feeds which request (the library id from `/me`, the epoch from
/// linking, a stored file's hash), so that a client generator, or schemathesis's stateful phase,
/// can follow real sequences instead of guessing ids.
// (On the JSON: utoipa 5 writes a link's `operationId` as `operation_id`.)
fn add_links(doc: &mut serde_json::Value) {
    use serde_json::json;
    let from_me = "$response.body#/library/id";
    let same_library = "$request.path.library_id";
    let links = [
        ("/me", "get", "200", "link", json!({"library_id": from_me})),
        (
            "/me",
            "get",
            "200",
            "sync_log",
            json!({"library_id": from_me}),
        ),
        (
            "/libraries/{library_id}/link",
            "post",
            "200",
            "changes",
            json!({"library_id": "$response.body#/library_id",
                   "header.x-refsync-epoch": "$response.body#/epoch"}),
        ),
        (
            "/libraries/{library_id}/batch",
            "post",
            "200",
            "changes",
            json!({"library_id": same_library}),
        ),
        (
            "/libraries/{library_id}/files/{sha256}",
            "put",
            "201",
            "download",
            json!({"library_id": same_library, "sha256": "$request.path.sha256"}),
        ),
        (
            "/libraries/{library_id}/reset",
            "post",
            "200",
            "link",
            json!({"library_id": same_library}),
        ),
    ];
    for (path, method, status, operation, parameters) in links {
        let response = doc
            .get_mut("paths")
            .and_then(|p| p.get_mut(format!("/api/v1{path}")))
            .and_then(|p| p.get_mut(method))
            .and_then(|o| o.get_mut("responses"))
            .and_then(|r| r.get_mut(status))
            .and_then(serde_json::Value::as_object_mut);
        if let Some(response) = response {
            let links = response.entry("links").or_insert_with(|| json!({}));
            links[operation] = json!({"operationId": operation, "parameters": parameters});
        }
    }
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
