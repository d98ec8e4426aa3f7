//! Serving the built web app (trunk's `dist/`).
//!
//! Files that exist are served as they are. Any other path that looks like a page (no file
//! extension in its last segment) gets `index.html`, so a reload on a deep link works; a
//! missing asset (`/x.js`) is a plain 404 rather than HTML pretending to be JavaScript.
//! `index.html` is never cached, so a new build is picked up on the next load.

use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

pub async fn serve_app(State(state): State<AppState>, req: Request) -> Response {
    let index = state.dist_dir.join("index.html");
    if !index.is_file() {
        return not_built(&state);
    }
    let looks_like_asset = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    let page = ServeFile::new(&index);
    let result = if looks_like_asset {
        ServeDir::new(&state.dist_dir).oneshot(req).await
    } else {
        ServeDir::new(&state.dist_dir)
            .fallback(page)
            .oneshot(req)
            .await
    };
    match result {
        Ok(mut resp) => {
            let is_html = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
            if is_html {
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            }
            resp.map(Body::new)
        }
        // ServeDir's error type is Infallible; this arm cannot be taken.
        Err(never) => match never {},
    }
}

fn not_built(state: &AppState) -> Response {
    tracing::warn!(
        "web app requested but {} has no index.html",
        state.dist_dir.display()
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(format!(
            "<!doctype html><title>refsync</title><h1>The web app is not built yet</h1>\
             <p>The server is running, but <code>{}</code> holds no built app. \
             Run <code>cargo xtask serve</code> from the refsync folder to build and serve it.</p>",
            html_escape(&state.dist_dir.display().to_string())
        )),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
