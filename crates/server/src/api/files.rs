//! Attachment files, addressed by their SHA-256.
//!
//! Invariants: an upload is refused before its bytes are read when the account's storage
//! quota or the server's file size limit would be passed; the bytes stream to a temp file
//! (never into memory) while being hashed, and are kept only if the hash and the length are
//! the ones announced; bytes a library already holds are not stored again and never count
//! against the quota twice; uploads of the same bytes to one library take turns from storing
//! to recording, and no error path removes bytes a recorded file names.

use crate::auth::{forbidden, now_millis, Authed};
use crate::db::RecordFile;
use crate::error::{ApiError, ApiPath};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use refsync_core::protocol::{Action, ErrorBody, StoredFile};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// An upload answered with anything but 201 may have left its body unread (the bytes were
/// held already, the quota was full, the token was wrong): the connection cannot carry another
/// request, and saying so keeps a client from reusing it and failing its next request.
pub async fn close_unless_stored(req: Request, next: axum::middleware::Next) -> Response {
    let is_upload = req.method() == axum::http::Method::PUT;
    let mut resp = next.run(req).await;
    if is_upload && resp.status() != StatusCode::CREATED {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_sha(sha256: &str) -> Result<(), ApiError> {
    if is_sha256(sha256) {
        Ok(())
    } else {
        Err(ApiError::Invalid(
            "A file is named by its SHA-256: 64 lower-case hex digits.".into(),
        ))
    }
}

/// A size as people read it ("29 KB", "1.5 MB"): small limits are not "0.0 MB".
fn megabytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} bytes"),
    }
}

#[utoipa::path(put, path = "/libraries/{library_id}/files/{sha256}", tag = "files", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)"), ("sha256" = String, Path, description = "The file's SHA-256, 64 lower-case hex digits", pattern = "^[0-9a-f]{64}$")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, description = "Stored", body = StoredFile),
        (status = 200, description = "The library held these bytes already", body = StoredFile),
        (status = 400, description = "Bad hash, wrong length, or the bytes do not match the hash", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such library, or this account is not a member", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 403, description = "forbidden: a viewer cannot upload", body = ErrorBody),
        (status = 507, description = "storage_limit: over the owner's quota; nothing stored", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    authed: Authed,
    ApiPath((library_id, sha256)): ApiPath<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let lib = authed
        .member_of(&state, &library_id, Action::Write)
        .await?
        .library;
    check_sha(&sha256)?;
    // Read before "held already" below: a twin upload recorded in between is then found held,
    // never refused for the room it took.
    let used = state.db.storage_used_by(&lib.account_id).await?;
    // A freed file (no attachment names it) is uploaded like a new one: recording it counts
    // it again and keeps it from the collector.
    if let Some(size) = state.db.file_size(&lib.id, &sha256, true).await? {
        return Ok(Json(StoredFile {
            sha256,
            size,
            stored: false,
        })
        .into_response());
    }
    let length: u64 = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::Invalid("Send the file's size in Content-Length.".into()))?;
    if length > state.limits.max_file_size {
        return Err(ApiError::TooLarge(format!(
            "Files may be at most {}; this one is {}.",
            megabytes(state.limits.max_file_size),
            megabytes(length)
        )));
    }
    // A shared library's files count against its owner's storage.
    let owner = state
        .db
        .account_by_id(&lib.account_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let whose = if lib.account_id == authed.account_id {
        "the account"
    } else {
        "the library's owner"
    };
    let over_quota = || {
        ApiError::StorageLimit(format!(
            "This file ({}) would take {whose} over the storage limit of {}; it was not uploaded.",
            megabytes(length),
            megabytes(owner.storage_limit)
        ))
    };
    if used.saturating_add(length) > owner.storage_limit {
        return Err(over_quota());
    }

    let temp = state.temp_file()?;
    let mut file = tokio::fs::File::create(&temp.0)
        .await
        .map_err(|e| ApiError::Internal(format!("creating {}: {e}", temp.0.display())))?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut stream = req.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::Invalid(format!("The upload was cut off: {e}")))?;
        received += chunk.len() as u64;
        if received > length {
            return Err(ApiError::Invalid(
                "The body is longer than its Content-Length.".into(),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("writing an upload: {e}")))?;
    }
    if received != length {
        return Err(ApiError::Invalid(format!(
            "The upload ended after {received} of {length} bytes."
        )));
    }
    file.sync_all()
        .await
        .map_err(|e| ApiError::Internal(format!("writing an upload: {e}")))?;
    drop(file);
    let actual = hex::encode(hasher.finalize());
    if actual != sha256 {
        return Err(ApiError::Invalid(format!(
            "The file's SHA-256 is {actual}, not {sha256}; it was not stored."
        )));
    }
    let name = format!("{}/{sha256}", lib.id);
    // Uploads of the same bytes to one library take turns from storing to recording, so the
    // cleanup of a refused one can never remove what its twin stored and recorded.
    let _turn = state.upload_turns.lock(&name).await;
    state
        .blobs
        .put_file(&name, &temp.0)
        .await
        .map_err(|e| ApiError::Internal(format!("storing a file: {e}")))?;
    let recorded = state
        .db
        .record_file(
            &lib.id,
            &authed.account_id,
            &sha256,
            length,
            owner.storage_limit,
            now_millis(),
        )
        .await?;
    match recorded {
        RecordFile::Recorded => {
            state.metrics.files_stored.inc();
            state.metrics.file_bytes_stored.add(length);
            Ok((
                StatusCode::CREATED,
                Json(StoredFile {
                    sha256,
                    size: length,
                    stored: true,
                }),
            )
                .into_response())
        }
        RecordFile::AlreadyHeld => Ok(Json(StoredFile {
            sha256,
            size: length,
            stored: false,
        })
        .into_response()),
        RecordFile::Forbidden(role) => {
            // The role was taken away during the upload: its bytes are dropped like a refused
            // one's (below).
            if state.db.file_size(&lib.id, &sha256, false).await?.is_none() {
                if let Err(e) = state.blobs.delete(&name).await {
                    tracing::warn!("removing a file refused for its uploader's role: {e}");
                }
            }
            Err(role.map_or(ApiError::NotFound, forbidden))
        }
        RecordFile::OverLimit => {
            // Another upload took the room meanwhile. These bytes are this upload's own: no
            // row names them (the insert was rolled back, and a twin waits for this turn).
            if state.db.file_size(&lib.id, &sha256, false).await?.is_none() {
                if let Err(e) = state.blobs.delete(&name).await {
                    tracing::warn!("removing a file refused for quota: {e}");
                }
            }
            Err(over_quota())
        }
    }
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes, as `start..end`.
/// `Err` when the range cannot be satisfied; `Ok(None)` when there is no usable single range
/// (then the whole file is sent, as RFC 9110 allows).
fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            size
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size)
        };
        (start, end)
    };
    if range.0 >= size || range.0 >= range.1 {
        return Err(());
    }
    Ok(Some(range))
}

#[utoipa::path(get, path = "/libraries/{library_id}/files/{sha256}", tag = "files", security(("bearer" = [])),
    params(("library_id" = String, Path, description = "The library's id (from /me)"), ("sha256" = String, Path, description = "The file's SHA-256, 64 lower-case hex digits", pattern = "^[0-9a-f]{64}$")),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Not a SHA-256", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "The library holds no such file", body = ErrorBody),
        (status = 416, description = "The range is outside the file")))]
pub async fn download(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    ApiPath((library_id, sha256)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let lib = authed.library(&state, &library_id).await?;
    check_sha(&sha256)?;
    let Some(size) = state.db.file_size(&lib.id, &sha256, false).await? else {
        return Err(ApiError::NotFound);
    };
    let etag = format!("\"{sha256}\"");
    let mut resp_headers = HeaderMap::new();
    let set = |h: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(&mut resp_headers, header::ETAG, &etag);
    set(&mut resp_headers, header::ACCEPT_RANGES, "bytes");
    // The bytes under a hash never change.
    set(
        &mut resp_headers,
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, resp_headers).into_response());
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(r) => match parse_range(r, size) {
            Ok(r) => r,
            Err(()) => {
                set(
                    &mut resp_headers,
                    header::CONTENT_RANGE,
                    &format!("bytes */{size}"),
                );
                return Ok((StatusCode::RANGE_NOT_SATISFIABLE, resp_headers).into_response());
            }
        },
    };
    let (start, end, status) = match range {
        Some((s, e)) => {
            set(
                &mut resp_headers,
                header::CONTENT_RANGE,
                &format!("bytes {s}-{}/{size}", e - 1),
            );
            (s, e, StatusCode::PARTIAL_CONTENT)
        }
        None => (0, size, StatusCode::OK),
    };
    set(
        &mut resp_headers,
        header::CONTENT_LENGTH,
        &(end - start).to_string(),
    );
    set(
        &mut resp_headers,
        header::CONTENT_TYPE,
        "application/octet-stream",
    );
    let reader = state
        .blobs
        .read(&format!("{}/{sha256}", lib.id), start, end)
        .await
        .map_err(|e| ApiError::Internal(format!("reading a stored file: {e}")))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    Ok((status, resp_headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 10))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 100))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 100))));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(Some((95, 100))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }

    #[test]
    fn only_lower_case_sha256_names_a_file() {
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256(&"a".repeat(63)));
        assert!(!is_sha256("../../etc/passwd"));
    }
}
