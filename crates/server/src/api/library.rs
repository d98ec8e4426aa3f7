//! Link, changes feed, versions, batch writes, reset and the sync log of one library.
//!
//! Invariants: a batch is checked whole before anything is written (every write's data must be
//! an object of its kind under its own key; no key twice), so a bad write refuses the batch
//! rather than applying part of it; the changes feed is written straight from the stored JSON
//! text, so a 50,000-reference pull costs no re-encoding.

use super::{check_epoch, epoch_header};
use crate::auth::{forbidden, now_millis, Authed};
use crate::db::{BatchOutcome, CheckedWrite, StoredBatch};
use crate::error::{ApiBytes, ApiError, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use refsync_core::protocol::{
    Action, Batch, BatchResult, ChangesPage, ErrorBody, Link, LinkRequest, Object, ResetRequest,
    ResetResult, SyncLog, SyncReport, Versions, DEFAULT_PAGE, MAX_BATCH_WRITES, MAX_OBJECT_BYTES,
    MAX_PAGE,
};
use refsync_core::{Key, ObjectKind};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt::Write as _;

#[utoipa::path(post, path = "/libraries/{library_id}/link", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")), request_body = LinkRequest,
    responses((status = 200, description = "Linked: the epoch to send from now on", body = Link),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<Json<Link>, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    if req.device_id.trim().is_empty() || req.device_id.len() > 100 {
        return Err(ApiError::Invalid(
            "device_id must be 1 to 100 characters.".into(),
        ));
    }
    tracing::info!(library = %lib.id, epoch = lib.epoch, "device linked");
    Ok(Json(Link {
        library_id: lib.id,
        epoch: lib.epoch,
        library_version: lib.version,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes with a version above this one (0: everything).
    #[serde(default)]
    since: u64,
    /// The `next` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
    /// Objects per page (1 to 10,000; 5,000 when absent).
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) fn parse_cursor(cursor: &str) -> Option<(u64, ObjectKind, Key)> {
    let mut parts = cursor.splitn(3, '.');
    let version = parts.next()?.parse().ok()?;
    let kind = ObjectKind::parse(parts.next()?)?;
    let key = Key::parse(parts.next()?).ok()?;
    Some((version, kind, key))
}

#[utoipa::path(get, path = "/libraries/{library_id}/changes", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)"), ("x-refsync-epoch" = u64, Header, description = "The link epoch this client holds"), ChangesQuery),
    responses((status = 200, description = "One page of changes", body = ChangesPage),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 409, description = "relink_required: the library was reset", body = ErrorBody)))]
pub async fn changes(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    ApiPath(library_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<Response, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    check_epoch(&headers, lib.epoch)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::Invalid(format!(
            "limit must be between 1 and {MAX_PAGE}."
        )));
    }
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| {
            ApiError::Invalid("The cursor is not one this server gave out.".into())
        })?),
    };
    let (library_version, objects) = state
        .db
        .changes(&lib.id, q.since, after, limit, lib.is_shared())
        .await?;
    let next = if objects.len() == limit {
        objects
            .last()
            .map(|o| format!("{}.{}.{}", o.version, o.kind.as_str(), o.key))
    } else {
        None
    };
    // The same JSON as `ChangesPage`, written by hand around the stored text.
    let size: usize = objects
        .iter()
        .map(|o| o.data.as_ref().map_or(0, String::len) + 80)
        .sum();
    let mut body = String::with_capacity(size + 100);
    let _ = write!(
        body,
        "{{\"library_version\":{library_version},\"objects\":["
    );
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"kind\":\"{}\",\"key\":\"{}\",\"version\":{},\"data\":{}}}",
            o.kind.as_str(),
            o.key,
            o.version,
            o.data.as_deref().unwrap_or("null")
        );
        if let (Some(by), Some(at)) = (&o.changed_by, o.changed_at) {
            body.pop();
            let by = serde_json::to_string(by).unwrap_or_else(|_| "null".into());
            let _ = write!(body, ",\"changed_by\":{by},\"changed_at\":{at}}}");
        }
    }
    body.push(']');
    if let Some(next) = next {
        let _ = write!(body, ",\"next\":\"{next}\"");
    }
    body.push('}');
    state.metrics.objects_pulled.add(objects.len() as u64);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[utoipa::path(get, path = "/libraries/{library_id}/versions", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)"), ("x-refsync-epoch" = u64, Header, description = "The link epoch this client holds")),
    responses((status = 200, description = "The version of every object", body = Versions),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 409, description = "relink_required: the library was reset", body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Json<Versions>, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    check_epoch(&headers, lib.epoch)?;
    let (library_version, objects) = state.db.versions(&lib.id).await?;
    Ok(Json(Versions {
        library_version,
        objects,
    }))
}

/// A batch as read off the wire: the same JSON as `protocol::Batch`, but each object's data
/// kept as the text it came in, so a 5,000-write batch is parsed once (into the typed object,
/// to check it) and stored as it came, instead of being built into values and re-encoded.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch {
    idempotency_key: String,
    #[serde(deserialize_with = "refsync_core::protocol::strict::objects")]
    writes: Vec<WireWrite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireWrite {
    kind: ObjectKind,
    key: Key,
    base_version: u64,
    #[serde(default)]
    data: Option<Box<serde_json::value::RawValue>>,
}

/// Read a batch body: JSON, as `ApiJson` reads every body (shape, depth, nothing trailing).
fn read_batch(headers: &HeaderMap, body: &[u8]) -> Result<WireBatch, ApiError> {
    if !crate::error::is_json(headers) {
        return Err(ApiError::Invalid(
            "Send the body as JSON (Content-Type: application/json).".into(),
        ));
    }
    crate::error::read_json(body)
}

/// Check every write of a batch; the first bad one refuses the whole batch. `request_hash`
/// identifies the request, to tell a retry from another batch reusing its key.
fn check_batch(batch: WireBatch, request_hash: String) -> Result<StoredBatch, ApiError> {
    let n = batch.idempotency_key.chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::Invalid(
            "idempotency_key must be 1 to 100 characters.".into(),
        ));
    }
    if batch.writes.len() > MAX_BATCH_WRITES {
        return Err(ApiError::TooLarge(format!(
            "A batch may carry at most {MAX_BATCH_WRITES} writes; this one has {}.",
            batch.writes.len()
        )));
    }
    let mut seen = HashSet::with_capacity(batch.writes.len());
    let mut writes = Vec::with_capacity(batch.writes.len());
    for (i, w) in batch.writes.into_iter().enumerate() {
        let at = || format!("Write {} ({} {})", i + 1, w.kind.as_str(), w.key);
        if !seen.insert((w.kind, w.key)) {
            return Err(ApiError::Invalid(format!(
                "{}: the batch writes this object twice.",
                at()
            )));
        }
        let (data, shared, sha256) = match &w.data {
            None => (None, false, None),
            Some(raw) => {
                let text = raw.get();
                if text.len() > MAX_OBJECT_BYTES {
                    return Err(ApiError::TooLarge(format!(
                        "{}: an object may take at most {} bytes of JSON; this one takes {}.",
                        at(),
                        MAX_OBJECT_BYTES,
                        text.len()
                    )));
                }
                if !text.starts_with('{') {
                    return Err(ApiError::Invalid(format!(
                        "{}: data must be a JSON object.",
                        at()
                    )));
                }
                let object = Object::from_json(w.kind, w.key, text)
                    .map_err(|e| ApiError::Invalid(format!("{}: {e}", at())))?;
                let (shared, sha256) = match &object {
                    Object::Group(g) => (g.shared, None),
                    Object::Attachment(a) => {
                        if !crate::api::files::is_sha256(&a.sha256) {
                            return Err(ApiError::Invalid(format!(
                                "{}: sha256 must be 64 lower-case hex digits.",
                                at()
                            )));
                        }
                        (false, Some(a.sha256.clone()))
                    }
                    _ => (false, None),
                };
                (Some(text.to_string()), shared, sha256)
            }
        };
        writes.push(CheckedWrite {
            kind: w.kind,
            key: w.key,
            base_version: w.base_version,
            data,
            shared,
            sha256,
        });
    }
    Ok(StoredBatch {
        idempotency_key: batch.idempotency_key,
        request_hash,
        writes,
    })
}

#[utoipa::path(post, path = "/libraries/{library_id}/batch", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)"), ("x-refsync-epoch" = u64, Header, description = "The link epoch this client holds")), request_body = Batch,
    responses((status = 200, description = "Applied (or answered again, for a retry): one result per write", body = BatchResult),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 403, description = "reference_limit: the batch would pass the owner's limit; forbidden: a viewer cannot write", body = ErrorBody),
        (status = 409, description = "relink_required: the library was reset", body = ErrorBody),
        (status = 413, description = "Too many writes, or body too large", body = ErrorBody)))]
pub async fn batch(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    ApiPath(library_id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    // Refused early here; checked again inside the batch's transaction, where it counts.
    let lib = authed
        .member_of(&state, &library_id, Action::Write)
        .await?
        .library;
    let epoch = epoch_header(&headers)?;
    let request_hash = hex::encode(Sha256::digest(&body));
    let checked = check_batch(read_batch(&headers, &body)?, request_hash)?;
    // A shared library counts against its owner's limits.
    let owner = state
        .db
        .account_by_id(&lib.account_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let outcome = state
        .db
        .apply_batch(
            &lib.id,
            &authed.account_id,
            epoch,
            &checked,
            owner.reference_limit,
            now_millis(),
        )
        .await?;
    match outcome {
        BatchOutcome::Applied(result) => {
            let written = result
                .results
                .iter()
                .filter(|r| matches!(r, refsync_core::protocol::WriteResult::Ok { .. }))
                .count();
            state.metrics.batches.inc();
            state.metrics.objects_written.add(written as u64);
            if written > 0 {
                state.published(&lib.id, result.library_version);
            }
            Ok(Json(result).into_response())
        }
        BatchOutcome::Replayed(answer) => {
            state.metrics.batches_replayed.inc();
            Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
        }
        BatchOutcome::RelinkRequired => Err(ApiError::RelinkRequired),
        BatchOutcome::KeyReused => Err(ApiError::Invalid(
            "This idempotency_key was used for a different batch; make a new key per batch.".into(),
        )),
        BatchOutcome::ReferenceLimit { limit } => Err(ApiError::ReferenceLimit(format!(
            "This account may hold at most {limit} references; the batch was not applied."
        ))),
        // The role changed, or the membership ended, since the request came in.
        BatchOutcome::Forbidden(Some(role)) => Err(forbidden(role)),
        BatchOutcome::Forbidden(None) => Err(ApiError::NotFound),
    }
}

#[utoipa::path(post, path = "/libraries/{library_id}/reset", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")), request_body = ResetRequest,
    responses((status = 200, description = "Reset: every device must link again", body = ResetResult),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 403, description = "forbidden: only the owner resets a shared library", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<Json<ResetResult>, ApiError> {
    let lib = authed
        .member_of(&state, &library_id, Action::Own)
        .await?
        .library;
    let (epoch, library_version, deleted, files) = state.db.reset(&lib.id, req.wipe).await?;
    for sha in files {
        let name = format!("{}/{sha}", lib.id);
        if let Err(e) = state.blobs.delete(&name).await {
            tracing::warn!(library = %lib.id, "reset: a file could not be removed: {e}");
        }
    }
    tracing::info!(library = %lib.id, epoch, wipe = req.wipe, deleted, "library reset");
    state.published(&lib.id, library_version);
    Ok(Json(ResetResult {
        epoch,
        library_version,
        deleted,
    }))
}

#[utoipa::path(post, path = "/libraries/{library_id}/sync-log", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")), request_body = SyncReport,
    responses((status = 204, description = "Recorded"),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn add_sync_report(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
    ApiJson(report): ApiJson<SyncReport>,
) -> Result<StatusCode, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    if report.device_id.trim().is_empty() || report.device_id.len() > 100 {
        return Err(ApiError::Invalid(
            "device_id must be 1 to 100 characters.".into(),
        ));
    }
    let counts = [
        report.started_at,
        report.duration_ms,
        report.sent,
        report.received,
        report.deleted,
        report.conflicts,
    ];
    if counts.iter().any(|n| i64::try_from(*n).is_err()) {
        // The database keeps signed 64-bit numbers; a larger one would be stored changed.
        return Err(ApiError::Invalid(
            "The numbers in a sync report must be below 2^63.".into(),
        ));
    }
    let mut report = report;
    report.device_name = report.device_name.chars().take(200).collect();
    if let Some(e) = &mut report.error {
        e.message = e.message.chars().take(2000).collect();
    }
    state.db.add_sync_report(&lib.id, &report).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/libraries/{library_id}/sync-log", tag = "library", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)")),
    responses((status = 200, description = "The latest syncs, newest first", body = SyncLog),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody)))]
pub async fn sync_log(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath(library_id): ApiPath<String>,
) -> Result<Json<SyncLog>, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    Ok(Json(SyncLog {
        entries: state.db.sync_log(&lib.id).await?,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use refsync_core::protocol::Write;

    fn key(n: u64) -> Key {
        Key::new(n, [7; 10])
    }

    fn reference(k: Key) -> serde_json::Value {
        serde_json::json!({"key": k.as_str(), "type": "journal_article", "fields": {"title": "T"}})
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = format!("12.group.{}", key(1));
        assert_eq!(parse_cursor(&c), Some((12, ObjectKind::Group, key(1))));
        for junk in ["", "x", "12", "12.group", "12.nope.x", "a.group.b"] {
            assert_eq!(parse_cursor(junk), None, "{junk:?}");
        }
    }

    fn wire(batch: Batch) -> WireBatch {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        read_batch(&headers, &serde_json::to_vec(&batch).unwrap()).unwrap()
    }

    #[test]
    fn a_bad_write_refuses_the_whole_batch_with_its_position() {
        let ok = Write {
            kind: ObjectKind::Reference,
            key: key(1),
            base_version: 0,
            data: Some(refsync_core::protocol::Data::of(&reference(key(1))).unwrap()),
        };
        let wrong_key = Write {
            key: key(2),
            ..ok.clone()
        };
        let batch = Batch {
            idempotency_key: "b1".into(),
            writes: vec![ok.clone(), wrong_key],
        };
        let ApiError::Invalid(msg) = check_batch(wire(batch), "h".into()).unwrap_err() else {
            panic!("not invalid")
        };
        assert!(msg.starts_with("Write 2 (reference"), "{msg}");

        let twice = Batch {
            idempotency_key: "b2".into(),
            writes: vec![ok.clone(), ok.clone()],
        };
        assert!(matches!(
            check_batch(wire(twice), "h".into()),
            Err(ApiError::Invalid(_))
        ));

        let good = check_batch(
            wire(Batch {
                idempotency_key: "b3".into(),
                writes: vec![ok],
            }),
            "h".into(),
        )
        .unwrap();
        assert_eq!(good.writes.len(), 1);
        assert!(good.writes[0]
            .data
            .as_deref()
            .unwrap()
            .contains("\"title\""));
    }
}
