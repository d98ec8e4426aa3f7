//! The API's one error type.
//!
//! Every failure an API handler can return is an [`ApiError`]; its response is JSON
//! `{code, message}` with a stable `code` that clients match on (DESIGN.md section 3).
//! Internal errors are logged in full and shown to the client only as a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// 404 `not_found`: no such route or object, or one the caller may not see.
    NotFound,
    /// 500 `internal`: a fault on our side; details go to the log, never to the client.
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Not found."),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on the server. Please try again later.",
                )
            }
        };
        (status, Json(Body { code, message })).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(format!("database: {e}"))
    }
}

/// Fallback for `/api/*` paths that match no route: JSON, not the web app's HTML.
pub async fn api_not_found() -> ApiError {
    ApiError::NotFound
}
