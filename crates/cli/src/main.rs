//! `refsync`: the desktop side of a refsync library pair, on the command line. Exit codes are
//! listed in `error.rs` (clap exits 2 on a usage error, 0 for `--help` and `--version`).

use clap::Parser;
use refsync_cli::args::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("refsync: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(refsync_cli::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refsync: {e}");
            ExitCode::from(e.code as u8)
        }
    }
}
