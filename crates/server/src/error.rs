//! The API's one error type.
//!
//! Every failure an API handler can return is an [`ApiError`]; its response is JSON
//! `{code, message}` with a stable `code` that clients match on (docs/server.md, "Errors"; the
//! codes are [`ErrorCode`]). Each variant documents its status. Bad input is always a 4xx
//! with a message that says what was wrong; internal errors are logged in full and shown to
//! the client only as a generic message.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use refsync_core::protocol::{strict, ErrorBody, ErrorCode};

#[derive(Debug)]
pub enum ApiError {
    /// 401 `auth`: no token, a wrong password, or a token that expired or was revoked.
    Auth(String),
    /// 400 `invalid`: malformed or rule-breaking input; the message says what.
    Invalid(String),
    /// 413 `too_large`: a body, batch or file bigger than the server accepts.
    TooLarge(String),
    /// 404 `not_found`: no such route or object, or one the caller may not see.
    NotFound,
    /// 409 `conflict`: the thing exists already (an account for that email).
    Conflict(String),
    /// 409 `relink_required`: the library was reset since this client linked.
    RelinkRequired,
    /// 507 `storage_limit`: the file would take the account over its storage quota.
    StorageLimit(String),
    /// 403 `reference_limit`: the batch would take the account over its reference limit.
    ReferenceLimit(String),
    /// 403 `forbidden`: the caller's role in a shared library does not allow this; the message
    /// names the role and what it allows.
    Forbidden(String),
    /// 429 `rate_limited`, with `Retry-After` in seconds.
    RateLimited { retry_after: u64, message: String },
    /// 500 `internal`: a fault on our side; details go to the log, never to the client.
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            ApiError::Auth(m) => (StatusCode::UNAUTHORIZED, ErrorCode::Auth, m.clone()),
            ApiError::Invalid(m) => (StatusCode::BAD_REQUEST, ErrorCode::Invalid, m.clone()),
            ApiError::TooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                m.clone(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Not found.".into(),
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, ErrorCode::Conflict, m.clone()),
            ApiError::RelinkRequired => (
                StatusCode::CONFLICT,
                ErrorCode::RelinkRequired,
                "This library was reset on another device. Link it again to keep syncing.".into(),
            ),
            ApiError::StorageLimit(m) => (
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::StorageLimit,
                m.clone(),
            ),
            ApiError::ReferenceLimit(m) => {
                (StatusCode::FORBIDDEN, ErrorCode::ReferenceLimit, m.clone())
            }
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, m.clone()),
            ApiError::RateLimited { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                message.clone(),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "Something went wrong on the server. Please try again later.".into(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut resp = (status, Json(ErrorBody { code, message })).into_response();
        if let ApiError::RateLimited { retry_after, .. } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(format!("database: {e}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("The request body is larger than the server accepts.".into())
            }
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::Invalid("Send the body as JSON (Content-Type: application/json).".into())
            }
            JsonRejection::JsonDataError(e) => {
                ApiError::Invalid(format!("The JSON does not fit: {}", e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::Invalid(format!("The body is not valid JSON: {}", e.body_text()))
            }
            other => ApiError::Invalid(format!("Unreadable request body: {}", other.body_text())),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("The request body is larger than the server accepts.".into())
        } else {
            ApiError::Invalid(format!("Unreadable request body: {}", r.body_text()))
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::Invalid(format!("Bad query parameters: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::Invalid(format!("Bad path: {}", r.body_text()))
    }
}

/// Every error answer under `/api` is `{code, message}` JSON, including those made before a
/// handler runs (a body in an encoding not accepted, one over the size limit, a method a path
/// does not take): a response that is not JSON already is given the body its status means.
/// A 415 names the one encoding accepted (`Accept-Encoding: gzip`).
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "Not found."),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorCode::Invalid, "This path does not take that method.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::TooLarge,
            "The request body is larger than the server accepts.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::Invalid,
            "The body's Content-Encoding is not accepted: send it plain or as gzip.",
        ),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::Invalid, "The request took too long to arrive."),
        StatusCode::TOO_MANY_REQUESTS => (
            ErrorCode::RateLimited,
            "Too many requests; try again later.",
        ),
        s if s.is_server_error() => (
            ErrorCode::Internal,
            "Something went wrong on the server. Please try again later.",
        ),
        _ => (ErrorCode::Invalid, "The request could not be read."),
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        parts
            .headers
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let body = serde_json::to_vec(&ErrorBody {
        code,
        message: message.into(),
    })
    .unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Fallback for `/api/*` paths that match no route: JSON, not the web app's HTML.
pub async fn api_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody {
            code: ErrorCode::NotFound,
            message: "No such API path.".into(),
        }),
    )
        .into_response()
}

/// A known API path asked with a method it does not take: JSON, like every API answer.
pub async fn api_method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(ErrorBody {
            code: ErrorCode::Invalid,
            message: "This path does not take that method.".into(),
        }),
    )
        .into_response()
}

/// A JSON request body, read strictly: sent as `application/json`, within the route's size
/// limit, nested no deeper than [`strict::MAX_DEPTH`], a JSON object of `T`'s shape (unknown
/// fields and positional forms refused, see [`refsync_core::protocol::strict`]), and nothing
/// after it. Every refusal is a 400 `invalid` (413 `too_large` for the size) saying what.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::Invalid(
                "Send the body as JSON (Content-Type: application/json).".into(),
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(ApiError::from)?;
        read_json(&body).map(ApiJson)
    }
}

pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// `T` from a JSON object only (see [`strict::object`]).
struct Strict<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Strict<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::object(d).map(Strict)
    }
}

/// Read a body as [`ApiJson`] does.
pub fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if strict::too_deep(body, strict::MAX_DEPTH) {
        return Err(ApiError::Invalid(format!(
            "The JSON nests deeper than {} levels.",
            strict::MAX_DEPTH
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let read: Result<Strict<T>, _> = serde_path_to_error::deserialize(&mut de);
    let value = read.map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::Invalid(format!("The body is not valid JSON: {inner}"))
        } else if e.path().to_string() == "." {
            ApiError::Invalid(format!("The JSON does not fit: {inner}"))
        } else {
            ApiError::Invalid(format!("The JSON does not fit: {}: {inner}", e.path()))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::Invalid(format!("The body is not valid JSON: {e}")))?;
    Ok(value.0)
}

/// `Query` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The raw body, whose rejections are [`ApiError`]s.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(ApiError::from)
    }
}
