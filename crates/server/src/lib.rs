//! refsync sync service.
//!
//! Owns the online copy of every library and serves the built web app from the same origin.
//! Invariants: every route under `/api` answers JSON (errors as `{code, message}`, see
//! [`error`]); everything else is the web app, with unknown page paths falling back to its
//! `index.html` so that deep links work in a single-page app.

pub mod config;
pub mod db;
pub mod error;
mod health;
mod web;

pub use config::Config;

use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub dist_dir: PathBuf,
}

/// The whole HTTP surface: API, health check and the web app.
pub fn app(state: AppState) -> Router {
    use axum::http::{header, HeaderValue};
    let api = Router::new().fallback(error::api_not_found);
    Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .nest("/api", api)
        .fallback(web::serve_app)
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
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Database(e) => write!(f, "{e}"),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A server that has opened its database and bound its port, ready to serve.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Open (creating on first start) the database under the data dir and bind the address.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let db = db::Db::open(&config.data_dir)
            .await
            .map_err(StartError::Database)?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| StartError::Bind(config.addr, e))?;
        Ok(Server {
            listener,
            state: AppState {
                db,
                dist_dir: config.dist.clone(),
            },
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` completes, then finish the requests in flight and close the
    /// database cleanly.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let db = self.state.db.clone();
        let result = axum::serve(self.listener, app(self.state))
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
