//! `refsync-server`: run the sync service and serve the web app, or administer accounts.

use clap::{Parser, Subcommand};
use refsync_server::admin::AccountCommand;
use refsync_server::{shutdown_signal, Config, Server};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "refsync-server",
    version,
    about = "The refsync sync service: holds the online copy of every library and serves the web app.",
    after_help = "Examples:\n  refsync-server\n  refsync-server --addr 0.0.0.0:8080 --data-dir /var/lib/refsync --dist /srv/refsync/dist\n  refsync-server --database-url postgres://refsync@db/refsync\n  echo 'a long password' | refsync-server account create ada@example.org\n  refsync-server account set-quota ada@example.org 5000000000\n  refsync-server account list"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (what happens with no subcommand).
    Serve,
    /// Make, change and list accounts.
    #[command(subcommand)]
    Account(AccountCommand),
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
    match cli.command {
        None | Some(Command::Serve) => serve(cli.config).await,
        Some(Command::Account(command)) => {
            let db = match refsync_server::db::Db::open(
                &cli.config.data_dir,
                cli.config.database_url.as_deref(),
            )
            .await
            {
                Ok(db) => db,
                Err(e) => {
                    eprintln!("refsync-server: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result =
                refsync_server::admin::run(&db, command, cli.config.limits.storage_limit).await;
            db.close().await;
            match result {
                Ok(out) => {
                    println!("{out}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("refsync-server: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let server = match Server::start(&config).await {
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
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            "no web app in {}: pages will say how to build it (cargo xtask serve)",
            config.dist.display()
        );
    }
    tracing::info!(
        database = %refsync_server::db::redact_url(
            config.database_url.as_deref().unwrap_or(&config.data_dir.display().to_string())
        ),
        "database ready"
    );
    println!("refsync is running at http://{addr}/  (Ctrl-C to stop)");

    match server.serve(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refsync-server: {e}");
            ExitCode::FAILURE
        }
    }
}
