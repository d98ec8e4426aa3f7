//! refsync sync service.
//!
//! Owns the online copy of every library and serves the built web app from the same origin.
//! Invariants: every route under `/api` answers JSON (errors as `{code, message}`, see
//! [`error`]); everything else is the web app, with unknown page paths falling back to its
//! `index.html` so that deep links work in a single-page app.

pub mod admin;
mod api;
pub mod auth;
pub mod blobs;
pub mod collect;
pub mod config;
pub mod db;
pub mod error;
mod health;
pub mod hints;
mod metrics;
pub mod styles;
mod turns;
mod web;

pub use config::{Config, Limits};

use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub dist_dir: PathBuf,
    pub limits: Limits,
    pub blobs: Arc<dyn blobs::BlobStore>,
    pub hints: hints::Hints,
    pub metrics: Arc<metrics::Metrics>,
    /// Where uploads are written while they arrive (same file system as the blob folder).
    pub temp_dir: PathBuf,
    /// Turns true when the server begins to shut down; open event streams end then.
    pub shutting_down: tokio::sync::watch::Receiver<bool>,
    /// Uploads of the same file to one library take turns (see `api/files.rs`).
    pub upload_turns: turns::Turns,
    /// Sessions signed out on this instance (token hashes) and accounts whose sessions all
    /// ended: their change-hint streams end at once (other instances' within a check).
    pub revoked: tokio::sync::broadcast::Sender<auth::Revoked>,
    /// The citation styles served to the web app (`api/styles.rs`).
    pub styles: styles::Catalog,
}

/// A temp file removed when dropped (unless it was moved away first).
pub struct TempPath(pub PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl AppState {
    /// A fresh path for an upload in progress.
    pub fn temp_file(&self) -> Result<TempPath, error::ApiError> {
        Ok(TempPath(self.temp_dir.join(format!(
            "upload-{}",
            hex::encode(rand::random::<[u8; 12]>())
        ))))
    }

    /// A write to the library committed: tell this instance's event streams. On PostgreSQL
    /// the writing transaction notified every instance already (this one included).
    pub fn published(&self, library_id: &str, version: u64) {
        if self.db.backend() == db::Backend::Sqlite {
            self.hints.publish(library_id, version);
        }
    }

    /// What these accounts' lists say changed (their libraries, a name, a role, an owner, the
    /// members, their invitations), committed: tell their account streams on every instance,
    /// so that their devices ask for the lists again (they ask only when told, or when their
    /// stream was down). Advice, like a hint: a notice that cannot be sent is logged.
    pub async fn lists_changed<'a>(&self, accounts: impl IntoIterator<Item = &'a str>) {
        for account in accounts {
            let key = hints::lists_key(account);
            match self.db.backend() {
                db::Backend::Sqlite => self.hints.publish(&key, 1),
                db::Backend::Postgres => {
                    if let Err(e) = self.db.notify(&format!("{key} 1")).await {
                        tracing::warn!("a change of an account's lists was not announced: {e}");
                    }
                }
            }
        }
    }
}

/// The whole HTTP surface: API, health check, metrics and the web app.
pub fn app(state: AppState, cors_origins: &[String]) -> Router {
    use axum::http::{header, HeaderValue};
    let (v1, openapi) = api::router();
    let openapi_json = Arc::new(api::document(&openapi));
    let mut api = v1
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&openapi_json);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .method_not_allowed_fallback(error::api_method_not_allowed)
        .route("/api", axum::routing::any(error::api_not_found))
        .route("/api/{*rest}", axum::routing::any(error::api_not_found))
        // The fastest level: a 50,000-reference pull is CPU-bound on the server at higher
        // levels, and the fastest still shrinks JSON several times over.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        // Request bodies may come gzipped, nothing else (and a 415 says so).
        // (Only the gzip decoder is built in: `decompression-gzip`.)
        .layer(tower_http::decompression::RequestDecompressionLayer::new().gzip(true))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let origins: Vec<HeaderValue> = cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    if !origins.is_empty() {
        use tower_http::cors::{AllowHeaders, AllowMethods, CorsLayer};
        api = api.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods(AllowMethods::mirror_request())
                .allow_headers(AllowHeaders::mirror_request())
                .max_age(std::time::Duration::from_secs(3600)),
        );
    }
    Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .merge(api)
        .fallback(web::serve_app)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    Database(db::DbError),
    Bind(SocketAddr, std::io::Error),
    Storage(PathBuf, std::io::Error),
    ObjectStore(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Database(e) => write!(f, "{e}"),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Storage(p, e) => write!(f, "cannot use {} for files: {e}", p.display()),
            StartError::ObjectStore(e) => write!(f, "cannot use the object store: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A server that has opened its database and bound its port, ready to serve.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    cors_origins: Vec<String>,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Open (creating on first start) the database and the file store, and bind the address.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let db = db::Db::open(&config.data_dir, config.database_url.as_deref())
            .await
            .map_err(StartError::Database)?;
        let files = config.data_dir.join("files");
        let blobs: Arc<dyn blobs::BlobStore> = match &config.s3_url {
            Some(url) => Arc::new(
                blobs::S3Store::new(url, config.s3_endpoint.as_deref())
                    .map_err(StartError::ObjectStore)?,
            ),
            None => Arc::new(
                blobs::DirStore::new(files.clone()).map_err(|e| StartError::Storage(files, e))?,
            ),
        };
        let temp_dir = config.data_dir.join("files").join(".incoming");
        std::fs::create_dir_all(&temp_dir).map_err(|e| StartError::Storage(temp_dir.clone(), e))?;
        let hints = hints::Hints::default();
        if let Some(url) = &config.database_url {
            hints.listen_postgres(url.clone());
        }
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| StartError::Bind(config.addr, e))?;
        let (shutdown_tx, shutting_down) = tokio::sync::watch::channel(false);
        Ok(Server {
            listener,
            state: AppState {
                db,
                dist_dir: config.dist.clone(),
                limits: config.limits.clone(),
                blobs,
                hints,
                metrics: Arc::default(),
                temp_dir,
                shutting_down,
                upload_turns: turns::Turns::default(),
                revoked: tokio::sync::broadcast::channel(256).0,
                styles: styles::Catalog::new(config.styles.clone()),
            },
            cors_origins: config.cors_origins.clone(),
            shutdown_tx,
        })
    }

    /// The service's state (its database, file store and turns), for a test or an admin task
    /// that must act as the running service does.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` completes, then finish the requests in flight (a batch being
    /// written commits) and close the database cleanly.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let db = self.state.db.clone();
        tokio::spawn(collect::run(self.state.clone()));
        let tx = self.shutdown_tx;
        let shutdown = async move {
            shutdown.await;
            // Event streams never end by themselves; this ends them.
            let _ = tx.send(true);
        };
        let result = axum::serve(self.listener, app(self.state, &self.cors_origins))
            .with_graceful_shutdown(shutdown)
            .await;
        db.close().await;
        result
    }
}

/// Completes on Ctrl-C or SIGTERM: what ends the server when run from a terminal or by a
/// service manager.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
