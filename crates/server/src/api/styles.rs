//! The citation styles routes: the index of every style and each style's XML. Public, as the
//! web app's own files are: the styles are the CSL repository's, nobody's library, and the
//! app fetches one the first time a person picks it (docs/server.md, "Citation styles").

use crate::error::ApiError;
use crate::styles::{valid_id, StyleIndex};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use refsync_core::protocol::ErrorBody;

/// A style's media type (the CSL specification's).
const CSL_XML: &str = "application/vnd.citationstyles.style+xml";

#[utoipa::path(get, path = "/styles", tag = "styles",
    responses((status = 200, description = "Every style this service has, by title, with the styles' licence", body = StyleIndex),
        (status = 404, description = "This service has no styles", body = ErrorBody)))]
pub async fn index(State(state): State<AppState>) -> Result<Response, ApiError> {
    let json = state.styles.index_json().await.ok_or(ApiError::NotFound)?;
    Ok((
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        json.to_string(),
    )
        .into_response())
}

#[utoipa::path(get, path = "/styles/{id}", tag = "styles",
    params(("id" = String, Path, description = "The style's id, as the index lists it (apa, nature, ...)")),
    responses((status = 200, description = "The style's CSL XML", content_type = "application/vnd.citationstyles.style+xml", body = String),
        (status = 404, description = "No such style", body = ErrorBody)))]
pub async fn style(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::NotFound);
    }
    let xml = state.styles.style(&id).await.ok_or(ApiError::NotFound)?;
    Ok((
        [
            (CONTENT_TYPE, CSL_XML),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        xml,
    )
        .into_response())
}
