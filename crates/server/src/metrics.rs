//! `GET /metrics`: counters in Prometheus' text format, for this instance since it started.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default, Debug)]
pub struct Metrics {
    /// Requests answered, by status class (1xx..5xx).
    pub responses: [Counter; 5],
    pub batches: Counter,
    pub batches_replayed: Counter,
    pub objects_written: Counter,
    pub objects_pulled: Counter,
    pub files_stored: Counter,
    pub file_bytes_stored: Counter,
    pub sign_in_failures: Counter,
}

/// Counts every response by its status class.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let class = usize::from(resp.status().as_u16() / 100);
    if let Some(c) = class
        .checked_sub(1)
        .and_then(|i| state.metrics.responses.get(i))
    {
        c.inc();
    }
    resp
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str("# HELP refsync_http_responses_total HTTP responses by status class.\n");
    out.push_str("# TYPE refsync_http_responses_total counter\n");
    for (i, c) in m.responses.iter().enumerate() {
        out.push_str(&format!(
            "refsync_http_responses_total{{class=\"{}xx\"}} {}\n",
            i + 1,
            c.get()
        ));
    }
    for (name, help, c) in [
        ("refsync_batches_total", "Batches applied.", &m.batches),
        (
            "refsync_batches_replayed_total",
            "Retried batches answered from their first answer.",
            &m.batches_replayed,
        ),
        (
            "refsync_objects_written_total",
            "Objects written by batches.",
            &m.objects_written,
        ),
        (
            "refsync_objects_pulled_total",
            "Objects sent in pages of changes.",
            &m.objects_pulled,
        ),
        (
            "refsync_files_stored_total",
            "Attachment files stored.",
            &m.files_stored,
        ),
        (
            "refsync_file_bytes_stored_total",
            "Bytes of attachment files stored.",
            &m.file_bytes_stored,
        ),
        (
            "refsync_sign_in_failures_total",
            "Failed sign-ins.",
            &m.sign_in_failures,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            c.get()
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
