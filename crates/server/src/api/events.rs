//! `GET /libraries/{id}/events`: server-sent events saying "the library is now at version V".
//!
//! Invariants: the first event is the current version (so a client that missed hints while
//! disconnected catches up at once); then one event per committed write, through every
//! instance (see [`crate::hints`]); a comment every 15 s keeps proxies from closing the stream.

use crate::auth::Authed;
use crate::error::{ApiError, ApiPath};
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use refsync_core::protocol::{ErrorBody, Hint};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;

fn event(version: u64) -> Result<Event, Infallible> {
    let hint = Hint {
        library_version: version,
    };
    Ok(Event::default()
        .event("version")
        .data(serde_json::to_string(&hint).unwrap_or_default()))
}

#[utoipa::path(get, path = "/libraries/{library_id}/events", tag = "library", security(("bearer" = []), ("query_token" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")),
    responses((status = 200, description = "Server-sent events named `version` whose data is a Hint, the current version first", content_type = "text/event-stream", body = Hint),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or not this account's", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    // Subscribe before reading the version, so no write falls between the two.
    let updates = BroadcastStream::new(state.hints.subscribe(&lib.id))
        // A lagging receiver skipped some hints; the next one says all it needs.
        .filter_map(|v| async move { v.ok() })
        .map(event);
    let current = state
        .db
        .library(&lib.id)
        .await?
        .map_or(lib.version, |l| l.version);
    let mut shutting_down = state.shutting_down.clone();
    let stop = async move {
        let _ = shutting_down.wait_for(|down| *down).await;
    };
    let stream = stream::once(async move { event(current) })
        .chain(updates)
        .take_until(stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
