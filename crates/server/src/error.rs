//! The API's one error type.
//!
//! Every failure an API handler can return is an [`ApiError`]; its response is JSON
//! `{code, message}` with a stable `code` that clients match on (DESIGN.md section 3, the
//! codes are [`ErrorCode`]). Each variant documents its status. Bad input is always a 4xx
//! with a message that says what was wrong; internal errors are logged in full and shown to
//! the client only as a generic message.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use refsync_core::protocol::{ErrorBody, ErrorCode};

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

/// `Json` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

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
