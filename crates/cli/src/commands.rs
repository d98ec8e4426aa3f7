//! Every command, by what it works on: the library itself, groups, syncing, backups.
//! [`run`] sends a parsed command line to its command.

pub mod backup;
pub mod cite;
pub mod groups;
pub mod library;
pub mod share;
pub mod sync;

use crate::args::{Cli, Command};
use crate::context::{default_config, default_library, Context};
use crate::error::Result;

pub async fn run(cli: Cli) -> Result<()> {
    let personal_path = cli.library.unwrap_or_else(default_library);
    let library_path = match &cli.shared {
        Some(name) => share::find_copy(&personal_path, name).await?,
        None => personal_path.clone(),
    };
    let cx = Context {
        library_path,
        personal_path,
        config_path: cli.config.unwrap_or_else(default_config),
    };
    match cli.command {
        Command::Init { path } => library::init(&cx, path).await,
        Command::Import {
            files,
            group,
            skip_duplicates,
            merge_duplicates,
        } => {
            let existing = match (skip_duplicates, merge_duplicates) {
                (true, _) => library::Existing::Skip,
                (_, true) => library::Existing::Merge,
                _ => library::Existing::Import,
            };
            library::import(&cx, &files, group.as_deref(), existing).await
        }
        Command::Export {
            format,
            group,
            output,
        } => library::export(&cx, format, group.as_deref(), output.as_deref()).await,
        Command::List { view } => library::list(&cx, &view, None).await,
        Command::Search { query, view } => library::list(&cx, &view, Some(&query.join(" "))).await,
        Command::Show { key, json } => library::show(&cx, &key, json).await,
        Command::Add { fields } => library::add(&cx, &fields).await,
        Command::Edit { key, fields } => library::edit(&cx, &key, &fields).await,
        Command::Trash { keys } => library::trash(&cx, &keys, true).await,
        Command::Restore { items } => match items.as_slice() {
            [one] if one.to_ascii_lowercase().ends_with(".zip") => {
                backup::restore(&cx, std::path::Path::new(one)).await
            }
            keys => library::trash(&cx, keys, false).await,
        },
        Command::EmptyTrash { yes } => library::empty_trash(&cx, yes).await,
        Command::Delete { keys, yes } => library::delete(&cx, &keys, yes).await,
        Command::Group(g) => groups::run(&cx, &g).await,
        Command::Attach { key, file } => library::attach(&cx, &key, &file).await,
        Command::Duplicates { action, json } => library::duplicates(&cx, action, json).await,
        Command::Cite { keys, style } => cite::cite(&cx, &keys, &style).await,
        Command::Bibliography {
            group,
            style,
            output,
        } => cite::bibliography(&cx, group.as_deref(), &style, output.as_deref()).await,
        Command::FormatPaper {
            input,
            output,
            style,
        } => cite::format_paper(&cx, &input, &output, &style).await,
        Command::Styles {
            filter,
            add,
            remove,
        } => match (add, remove) {
            (Some(file), _) => cite::add_style(&cx, &file).await,
            (None, Some(name)) => cite::remove_style(&cx, &name).await,
            (None, None) => cite::styles(&cx, filter.as_deref()).await,
        },
        Command::Link {
            server,
            email,
            create_account,
            backup,
        } => sync::link(&cx, server, email, create_account, backup).await,
        Command::Sync { watch: false, .. } => sync::sync(&cx).await,
        Command::Sync { watch: true, every } => sync::watch(&cx, every).await,
        Command::Status { json } => sync::status(&cx, json).await,
        Command::Conflicts(c) => sync::conflicts(&cx, &c).await,
        Command::Reset {
            wipe_online,
            backup,
            yes,
        } => sync::reset(&cx, wipe_online, backup, yes).await,
        Command::Backup { file } => backup::backup(&cx, &file).await,
        Command::Share(s) => share::run(&cx, &s).await,
        Command::Copy { keys, to } => share::copy(&cx, &keys, &to).await,
    }
}
