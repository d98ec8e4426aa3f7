//! `GET /healthz`: whether this instance can serve requests (load balancers and the web app's
//! connection indicator ask it).

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    version: &'static str,
    database: &'static str,
}

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                version,
                database: "ok",
            }),
        ),
        Err(e) => {
            tracing::error!("health check: database unavailable: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version,
                    database: "unavailable",
                }),
            )
        }
    }
}
