//! `refsync-server`: run the sync service and serve the web app.

use clap::Parser;
use refsync_server::{shutdown_signal, Config, Server};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "refsync-server",
    version,
    about = "The refsync sync service: holds the online copy of every library and serves the web app.",
    after_help = "Examples:\n  refsync-server\n  refsync-server --addr 0.0.0.0:8080 --data-dir /var/lib/refsync --dist /srv/refsync/dist"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();

    let server = match Server::start(&cli.config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("refsync-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("refsync-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !cli.config.dist.join("index.html").is_file() {
        tracing::warn!(
            "no web app in {}: pages will say how to build it (cargo xtask serve)",
            cli.config.dist.display()
        );
    }
    tracing::info!(data_dir = %cli.config.data_dir.display(), "database ready");
    println!("refsync is running at http://{addr}/  (Ctrl-C to stop)");

    match server.serve(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refsync-server: {e}");
            ExitCode::FAILURE
        }
    }
}
