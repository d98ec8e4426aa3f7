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
}
