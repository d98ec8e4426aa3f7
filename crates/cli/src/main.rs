//! `refsync`: the desktop side of a refsync library pair, on the command line.
//!
//! The library commands (import, export, edit, sync, ...) arrive with their issue; this entry
//! point fixes the binary's name, its help and its exit-code conventions (clap exits 2 on a
//! usage error, 0 for `--help` and `--version`).

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "refsync",
    version,
    about = "refsync: your reference library on the desktop, in sync with refsync online.",
    long_about = "refsync keeps a reference library in one SQLite file on your computer and \
                  syncs it with the refsync service, so the same references, groups and \
                  attachments appear in the browser and on every other device.",
    arg_required_else_help = true
)]
struct Cli {}

fn main() {
    Cli::parse();
}
