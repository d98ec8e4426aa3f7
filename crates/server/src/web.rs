//! Serving the built web app (trunk's `dist/`).
//!
//! Files that exist are served as they are. Any other path that looks like a page (no file
//! extension in its last segment) gets `index.html`, so a reload on a deep link works; a
//! missing asset (`/x.js`) is a plain 404 rather than HTML pretending to be JavaScript.
//! `index.html` is never cached, so a new build is picked up on the next load.
//!
//! Every page carries a strict Content-Security-Policy: scripts only from this origin plus
//! the exact inline scripts of the built `index.html` (by their SHA-256, computed from the
//! file served, so a rebuild needs no configuration), WebAssembly allowed to compile, and no
//! plugins, frames or foreign connections. User text that slipped into the page as HTML could
//! therefore still not run.

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
                let html = std::fs::read_to_string(&index).unwrap_or_default();
                if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&html)) {
                    resp.headers_mut()
                        .insert(header::CONTENT_SECURITY_POLICY, csp);
                }
            }
            resp.map(Body::new)
        }
        // ServeDir's error type is Infallible; this arm cannot be taken.
        Err(never) => match never {},
    }
}

/// The policy for a page whose HTML is `html`.
pub fn content_security_policy(html: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for body in inline_scripts(html) {
        let digest = Sha256::digest(body.as_bytes());
        script_src.push_str(&format!(" 'sha256-{}'", base64(&digest)));
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The text of every `<script>` without a `src`, exactly as it stands between the tags.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = &after[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body_start[..close]);
        }
        rest = &body_start[close..];
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_nothing_else_inline() {
        let html = "<head><script>a()</script><script type=\"module\">\nb()\n</script>\
                    <script src=\"/x.js\"></script></head>";
        assert_eq!(inline_scripts(html), vec!["a()", "\nb()\n"]);
        let csp = content_security_policy(html);
        // echo -n 'a()' | openssl dgst -sha256 -binary | base64
        assert!(
            csp.contains("'sha256-qVpDBgj7bpq5hMAcGp3AOc79J3Y1Z4HvySTwKrWDoy4='"),
            "{csp}"
        );
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_default();
        assert!(!script_src.contains("unsafe-inline"), "{script_src}");
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(csp.contains("object-src 'none'"));
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
