//! `GET /libraries/{id}/events`: server-sent events saying "the library is now at version V".
//!
//! Invariants: the first event is the current version (so a client that missed hints while
//! disconnected catches up at once); then one event per committed write, through every
//! instance (see [`crate::hints`]); a comment every 15 s keeps proxies from closing the stream.
//! A stream lives no longer than the session that opened it, nor than its account's
//! membership of the library: signing out (or a password change), a removal from a shared
//! library, leaving it or its deletion on this instance ends it at once, and every
//! `stream_check_ms` it checks that both still last (another instance, the admin command, an
//! expiry). EventSource cannot send
//! headers, so a browser opens the stream with a one-use ticket (`POST .../events/ticket`),
//! never with its session token in the URL.
//!
//! `GET /events` is one stream of every library of the account, each hint naming its library,
//! so a browser holding several libraries keeps one connection open, not one per library
//! (browsers allow six per site). A ticket is for one library's stream or for the account's
//! (`POST /events/ticket`), never both. The account's stream ends when the libraries it
//! follows change (joined, left, removed, deleted): the client opens another, which follows
//! the new set. It also says, with an event named `lists`, that what the account's lists show
//! changed (a library's name, role, owner or members, an invitation made, withdrawn or
//! answered): a client trusts the lists it asked for while its stream is open and quiet, and
//! asks again when told.

use crate::auth::{new_token, now_millis, Authed, Revoked, StreamAuthed};
use crate::error::{ApiError, ApiPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use refsync_core::protocol::{ErrorBody, Hint, StreamTicket};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

fn event(version: u64) -> Result<Event, Infallible> {
    hint_event(Hint {
        library_version: version,
        library_id: None,
    })
}

/// "Ask for your lists again" (an event with no data is never dispatched, hence `{}`).
fn lists_event() -> Result<Event, Infallible> {
    Ok(Event::default().event("lists").data("{}"))
}

fn hint_event(hint: Hint) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event("version")
        .data(serde_json::to_string(&hint).unwrap_or_default()))
}

#[utoipa::path(post, path = "/libraries/{library_id}/events/ticket", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")),
    responses((status = 201, description = "A one-use ticket for `GET .../events?ticket=`, good for a minute", body = StreamTicket),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn ticket(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<(StatusCode, Json<StreamTicket>), ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    new_ticket(&state, &authed, &lib.id).await
}

/// A one-use ticket for the stream of `library` (or, with [`ACCOUNT_TICKET`], the account's).
async fn new_ticket(
    state: &AppState,
    authed: &Authed,
    library: &str,
) -> Result<(StatusCode, Json<StreamTicket>), ApiError> {
    let (ticket, hash) = new_token();
    let now = now_millis();
    state
        .db
        .add_stream_ticket(&hash, &authed.token_hash, library, now, now + TICKET_TTL_MS)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StreamTicket {
            ticket,
            expires_in: TICKET_TTL_MS / 1000,
        }),
    ))
}

/// How long a stream ticket may wait to be used.
const TICKET_TTL_MS: u64 = 60_000;

#[utoipa::path(get, path = "/libraries/{library_id}/events", tag = "library", security(("bearer" = []), ("stream_ticket" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")),
    responses((status = 200, description = "Server-sent events named `version` whose data is a Hint, the current version first", content_type = "text/event-stream", body = Hint),
        (status = 401, description = "Not signed in, or a ticket used, expired or unknown", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member (or not the ticket's)", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    who: StreamAuthed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if who
        .ticket_library
        .as_ref()
        .is_some_and(|l| *l != library_id)
    {
        return Err(ApiError::NotFound);
    }
    let authed = who.authed;
    let lib = authed.library(&state, &library_id).await?;
    // Subscribe before reading the version, so no write falls between the two.
    let receiver = state.hints.subscribe(&lib.id);
    let current = state
        .db
        .library(&lib.id)
        .await?
        .map_or(lib.version, |l| l.version);
    let updates = newer(receiver, current).map(event);
    let db = state.db.clone();
    let library = lib.id.clone();
    let ends = {
        let (authed, library) = (authed.clone(), library.clone());
        move |r: &Revoked| r.ends(&authed.account_id, &authed.token_hash, &library)
    };
    let stop = until_ended(&state, ends, move || {
        let (db, authed, library) = (db.clone(), authed.clone(), library.clone());
        async move { still_allowed(&db, &authed, &library).await }
    });
    let stream = stream::once(async move { event(current) })
        .chain(updates)
        .take_until(stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The hints on `receiver` for versions after `seen`, the version the stream's first event
/// said. A write committed between the subscription and the reading of that version is in
/// both, and was announced twice (seen at a service restart, when every stream reconnects
/// while devices write). A lagging receiver skipped some hints; the next one says all it
/// needs.
fn newer(receiver: broadcast::Receiver<u64>, seen: u64) -> impl Stream<Item = u64> {
    BroadcastStream::new(receiver)
        .filter_map(move |v| std::future::ready(v.ok().filter(|v| *v > seen)))
}

/// Done when a stream must end: the service shutting down, a revocation that `ends` it (a
/// sign-out, a removal), or a failed `still` check, made every `stream_check_ms` and after
/// revocations were missed (another instance, the admin command, an expiry).
fn until_ended<F: std::future::Future<Output = bool> + Send>(
    state: &AppState,
    ends: impl Fn(&Revoked) -> bool + Send + 'static,
    still: impl Fn() -> F + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut shutting_down = state.shutting_down.clone();
    let mut revoked = state.revoked.subscribe();
    let check = Duration::from_millis(state.limits.stream_check_ms.max(1));
    async move {
        let down = async move {
            let _ = shutting_down.wait_for(|down| *down).await;
        };
        tokio::pin!(down);
        let mut ticks = tokio::time::interval(check);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = &mut down => return,
                r = revoked.recv() => match r {
                    Ok(r) if ends(&r) => return,
                    // Lagged: some revocations were missed; the session is checked below.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if !still().await {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    Ok(_) => {}
                },
                _ = ticks.tick() => {
                    if !still().await {
                        return;
                    }
                }
            }
        }
    }
}

/// Whether the session still lasts and its account is still a member of the library (a failed
/// check ends the stream: the client opens another, or is told why it cannot).
async fn still_allowed(db: &crate::db::Db, authed: &Authed, library_id: &str) -> bool {
    let signed_in = db
        .token_account(&authed.token_hash, now_millis())
        .await
        .is_ok_and(|a| a.is_some());
    signed_in
        && db
            .access(library_id, &authed.account_id)
            .await
            .is_ok_and(|a| a.is_some())
}

#[utoipa::path(post, path = "/events/ticket", tag = "library", security(("bearer" = [])),
    responses((status = 201, description = "A one-use ticket for `GET /events?ticket=`, good for a minute", body = StreamTicket),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn account_ticket(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<(StatusCode, Json<StreamTicket>), ApiError> {
    new_ticket(&state, &authed, ACCOUNT_TICKET).await
}

/// The library a ticket for the account's stream names: none (no library's id is empty).
const ACCOUNT_TICKET: &str = "";

#[utoipa::path(get, path = "/events", tag = "library", security(("bearer" = []), ("stream_ticket" = [])),
    responses((status = 200, description = "Server-sent events named `version` whose data is a Hint naming its library: every library's current version first, then one per committed write to any of them; events named `lists` (data `{}`) when what `GET /libraries` or `GET /invitations` answer changed; the stream ends when the account's libraries change", content_type = "text/event-stream", body = Hint),
        (status = 401, description = "Not signed in, or a ticket used, expired or unknown", body = ErrorBody),
        (status = 404, description = "A ticket made for one library's stream", body = ErrorBody)))]
pub async fn account_events(
    State(state): State<AppState>,
    who: StreamAuthed,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if who
        .ticket_library
        .as_deref()
        .is_some_and(|l| l != ACCOUNT_TICKET)
    {
        return Err(ApiError::NotFound);
    }
    let authed = who.authed;
    // Subscribed first, like the hints: no change falls between it and what the client asks.
    let lists = state
        .hints
        .subscribe(&crate::hints::lists_key(&authed.account_id));
    let libraries = state.db.library_versions_of(&authed.account_id).await?;
    // Subscribe before reading the versions, so no write falls between the two.
    let receivers: Vec<(String, _)> = libraries
        .iter()
        .map(|(id, _)| (id.clone(), state.hints.subscribe(id)))
        .collect();
    let current = state.db.library_versions_of(&authed.account_id).await?;
    let updates = stream::select_all(receivers.into_iter().map(|(id, receiver)| {
        let seen = current
            .iter()
            .find(|(l, _)| *l == id)
            .map_or(0, |(_, v)| *v);
        newer(receiver, seen).map(move |version| {
            hint_event(Hint {
                library_version: version,
                library_id: Some(id.clone()),
            })
        })
    }));
    let followed: Vec<String> = libraries.into_iter().map(|(id, _)| id).collect();
    let first: Vec<Result<Event, Infallible>> = current
        .into_iter()
        .filter(|(id, _)| followed.contains(id))
        .map(|(id, version)| {
            hint_event(Hint {
                library_version: version,
                library_id: Some(id),
            })
        })
        .collect();
    let db = state.db.clone();
    let ends = {
        let (authed, followed) = (authed.clone(), followed.clone());
        move |r: &Revoked| {
            followed
                .iter()
                .any(|l| r.ends(&authed.account_id, &authed.token_hash, l))
        }
    };
    let stop = until_ended(&state, ends, move || {
        let (db, authed, followed) = (db.clone(), authed.clone(), followed.clone());
        async move { still_following(&db, &authed, &followed).await }
    });
    // A lagging receiver missed some notices: one event says all of them.
    let told = BroadcastStream::new(lists).map(|_| lists_event());
    let stream = stream::iter(first)
        .chain(stream::select(updates, told))
        .take_until(stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Whether the session still lasts and the account's libraries are still `followed` (a
/// library joined since, or left, ends the stream: the client opens one that follows the new
/// set).
async fn still_following(db: &crate::db::Db, authed: &Authed, followed: &[String]) -> bool {
    let signed_in = db
        .token_account(&authed.token_hash, now_millis())
        .await
        .is_ok_and(|a| a.is_some());
    signed_in
        && db
            .library_versions_of(&authed.account_id)
            .await
            .is_ok_and(|now| now.iter().map(|(id, _)| id).eq(followed.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_between_subscribing_and_reading_the_version_is_announced_once() {
        let hints = crate::hints::Hints::default();
        let receiver = hints.subscribe("lib");
        // Committed after the subscription, before the stream read the library's version (5),
        // which its first event says; then one more write.
        hints.publish("lib", 5);
        hints.publish("lib", 6);
        let mut after = Box::pin(newer(receiver, 5));
        assert_eq!(after.next().await, Some(6));
    }
}
