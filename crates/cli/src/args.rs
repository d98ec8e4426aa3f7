//! The command line: every command, its options and its help with examples.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "refsync",
    version,
    about = "refsync: your reference library on the desktop, in sync with refsync online.",
    long_about = "refsync keeps a reference library in one SQLite file on your computer and \
                  syncs it with the refsync service, so the same references, groups and \
                  attachments appear in the browser and on every other device.",
    after_help = "Examples:\n  refsync init\n  refsync import pubmed.ris --group \"To read\"\n  \
                  refsync search kuhn\n  refsync link --server https://refsync.example.org --email me@example.org\n  \
                  refsync sync\n\nExit codes: 0 done, 2 usage, 3 not found, 4 bad input, 5 no connection, \
                  6 sign-in, 7 storage or reference limit, 8 relink required, 9 conflicts waiting, 10 library file, \
                  11 not allowed by your role in a shared library, 1 other.",
    arg_required_else_help = true
)]
pub struct Cli {
    /// The library file (default: refsync/library.refsync in your data folder).
    #[arg(long, global = true, env = "REFSYNC_LIBRARY", value_name = "PATH")]
    pub library: Option<PathBuf>,
    /// The config file with the service's address and your account (default:
    /// refsync/config.json in your config folder).
    #[arg(long, global = true, env = "REFSYNC_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Work on this shared library's copy (kept beside your library by `refsync sync`)
    /// instead of your own library: list, search, export, cite, add, edit...
    #[arg(long, global = true, value_name = "NAME")]
    pub shared: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make a new, empty library.
    #[command(after_help = "Examples:\n  refsync init\n  refsync init ~/papers/thesis.refsync")]
    Init {
        /// Where to make it (default: --library, or the one in your data folder).
        path: Option<PathBuf>,
    },
    /// Import references from RIS, BibTeX, EndNote XML, EndNote tagged, MEDLINE or CSL-JSON files.
    #[command(
        after_help = "Examples:\n  refsync import export.ris\n  refsync import a.bib b.bib --group Thesis"
    )]
    Import {
        /// The files (the format of each is recognized from its name and contents).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also put the imported references in this group (made if it does not exist).
        #[arg(long)]
        group: Option<String>,
        /// Leave out records already in the library (same DOI, PubMed id or ISBN, or nearly the same title, year and first author).
        #[arg(long, conflicts_with = "merge_duplicates")]
        skip_duplicates: bool,
        /// Merge records already in the library into the copy there (filling its empty fields, joining groups and keywords).
        #[arg(long)]
        merge_duplicates: bool,
    },
    /// Export references (not those in the Trash).
    #[command(
        after_help = "Examples:\n  refsync export --format bibtex -o library.bib\n  refsync export --format ris --group Thesis"
    )]
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Only this group's references (custom, smart or combination).
        #[arg(long)]
        group: Option<String>,
        /// Write here instead of to standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List references, newest first.
    #[command(
        after_help = "Examples:\n  refsync list\n  refsync list --group Thesis --sort year\n  refsync list --trash --json"
    )]
    List {
        #[command(flatten)]
        view: ListView,
    },
    /// Quick search: every word must appear in some field (author, title, year, journal, ...).
    #[command(
        after_help = "Examples:\n  refsync search kuhn 1962\n  refsync search \"scientific revolutions\" --json"
    )]
    Search {
        #[arg(required = true)]
        query: Vec<String>,
        #[command(flatten)]
        view: ListView,
    },
    /// Show one reference in full.
    #[command(after_help = "Examples:\n  refsync show TE0J3D\n  refsync show TE0J3D --json")]
    Show {
        /// Its key (as `list` shows it), or its start or its last few characters.
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a reference; prints its key.
    #[command(
        after_help = "Fields are named as in `refsync show --json` (title, year, journal, volume, pages, doi, ...), \
                      plus author (\"Family, Given; Family, Given\"), editor, keywords (\"a; b\"), type, rating (0-5) and read (yes/no).\n\n\
                      Examples:\n  refsync add title=\"The Structure of Scientific Revolutions\" author=\"Kuhn, Thomas S.\" year=1962 type=book"
    )]
    Add {
        /// field=value pairs.
        #[arg(required = true, value_name = "FIELD=VALUE")]
        fields: Vec<String>,
    },
    /// Change fields of a reference (an empty value removes the field).
    #[command(
        after_help = "Examples:\n  refsync edit TE0J3D year=1970 pages=\n  refsync edit TE0J3D keywords=\"paradigm; science\""
    )]
    Edit {
        key: String,
        #[arg(required = true, value_name = "FIELD=VALUE")]
        fields: Vec<String>,
    },
    /// Move references to the Trash (they keep their groups).
    #[command(after_help = "Examples:\n  refsync trash TE0J3D 8N0DCQ")]
    Trash {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Take references out of the Trash, or restore a backup (.zip) into an empty library.
    #[command(
        after_help = "Given keys, the references come back from the Trash; given one .zip file, the backup is restored \
                      (into an empty library only, so nothing here is overwritten or mixed with it).\n\n\
                      Examples:\n  refsync restore TE0J3D 8N0DCQ\n  refsync init new.refsync && refsync --library new.refsync restore backup.zip"
    )]
    Restore {
        /// Reference keys, or one backup file.
        #[arg(required = true, value_name = "KEY|FILE.zip")]
        items: Vec<String>,
    },
    /// Delete everything in the Trash for good (on every synced device too).
    #[command(after_help = "Examples:\n  refsync empty-trash --yes")]
    EmptyTrash {
        /// Do not ask first.
        #[arg(long)]
        yes: bool,
    },
    /// Delete references for good, with their attachments (on every synced device too).
    #[command(after_help = "Examples:\n  refsync delete TE0J3D --yes")]
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
        /// Do not ask first.
        #[arg(long)]
        yes: bool,
    },
    /// Custom groups: make, rename, delete, fill and list them.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Attach a file (a PDF, an image, ...) to a reference.
    #[command(after_help = "Examples:\n  refsync attach TE0J3D kuhn-1962.pdf")]
    Attach { key: String, file: PathBuf },
    /// List probable duplicates set by set (same DOI, PubMed id or ISBN, or nearly the same title, year and first author); merge a set, or mark it as not duplicates.
    #[command(
        after_help = "Each set is named by a short id (or its number in the list).\n\n\
                      Examples:\n  refsync duplicates\n  refsync duplicates merge 1a2b3c4d --keep TE0J3D\n  \
                      refsync duplicates merge 1a2b3c4d --keep TE0J3D title=TE0K11 journal=TE0K11\n  \
                      refsync duplicates not 1a2b3c4d\n  refsync duplicates again TE0J3D TE0K11"
    )]
    Duplicates {
        #[command(subcommand)]
        action: Option<DuplicatesCommand>,
        #[arg(long)]
        json: bool,
    },
    /// Cite references in a CSL style: the in-text citation (or footnote), then their bibliography entries.
    #[command(
        after_help = "A KEY may carry a page: KEY:12 or KEY:12-15. --style takes a built-in style or one of the library's own (see `refsync styles`), or a .csl file.\n\n\
                      Examples:\n  refsync cite TE0J3D --style apa\n  refsync cite TE0J3D:12 8N0DCQ --style chicago-author-date --format html\n  \
                      refsync cite TE0J3D --style my-journal.csl --locale en-GB"
    )]
    Cite {
        #[arg(required = true)]
        keys: Vec<String>,
        #[command(flatten)]
        style: StyleArgs,
    },
    /// A bibliography of the library (not the Trash) or of one group, in a CSL style.
    #[command(
        after_help = "Examples:\n  refsync bibliography --style apa\n  refsync bibliography --group Thesis --style ieee --format rtf -o thesis.rtf"
    )]
    Bibliography {
        /// Only this group's references (custom, smart or combination).
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        style: StyleArgs,
        /// Write a whole document here (.txt, .html or .rtf, as --format) instead of printing the entries.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Format Paper: a manuscript's temporary citations formatted in a CSL style, its bibliography added.
    #[command(
        after_help = "The manuscript is Word (.docx), OpenDocument (.odt), RTF (.rtf) or Markdown (.md, .txt). Temporary citations are EndNote's {Author, Year #Record} \
                      (several joined by ;, pages after @), pandoc's [@key], [see @key, p. 12; -@other] and @key, or a DOI \
                      ({10.1000/xyz}, [@doi:10.1000/xyz]). A citation matching no reference, or more than one, is left as typed \
                      and listed; everything else in the file is kept as it was.\n\n\
                      Examples:\n  refsync format-paper draft.md formatted.md --style apa\n  \
                      refsync format-paper thesis.rtf thesis-formatted.rtf --style chicago-notes --locale en-GB"
    )]
    FormatPaper {
        /// The manuscript with temporary citations.
        input: PathBuf,
        /// Where the formatted manuscript goes (never the input itself).
        output: PathBuf,
        #[command(flatten)]
        style: StyleArgs,
    },
    /// The citation styles: the library's own (synced), then the built-in ones; add a journal's .csl file to the library, or remove one.
    #[command(
        after_help = "A style added to the library syncs to every device linked to it (the web app's Cite dialog lists it too); \
                      --style then takes its title, its file's name or its lib:KEY.\n\n\
                      Examples:\n  refsync styles\n  refsync styles vancouver\n  refsync styles --add my-journal.csl\n  \
                      refsync styles --remove \"My Journal\""
    )]
    Styles {
        /// Only styles whose name or title holds this.
        filter: Option<String>,
        /// Keep this .csl file in the library (synced to your other devices).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["filter", "remove"])]
        add: Option<PathBuf>,
        /// Remove one of the library's own styles (by title, file name or lib:KEY).
        #[arg(long, value_name = "NAME", conflicts_with = "filter")]
        remove: Option<String>,
    },
    /// Link this library to your refsync account (the first sync merges both sides).
    #[command(
        after_help = "The password is asked for (or read from REFSYNC_PASSWORD); only a session token is kept, in the library file.\n\n\
                      Examples:\n  refsync link --server https://refsync.example.org --email me@example.org\n  \
                      refsync link --create-account --server http://127.0.0.1:8080 --email me@example.org"
    )]
    Link {
        /// The service's address (saved in the config file).
        #[arg(long)]
        server: Option<String>,
        /// Your account's email (saved in the config file).
        #[arg(long)]
        email: Option<String>,
        /// Make the account first.
        #[arg(long)]
        create_account: bool,
        /// Back the library up to this .zip first (a first link merges it with the online
        /// library). Without it, a terminal is asked.
        #[arg(long, value_name = "FILE")]
        backup: Option<std::path::PathBuf>,
    },
    /// Sync with the service: send what changed here, receive what changed elsewhere.
    #[command(
        after_help = "With --watch it keeps running: it syncs at once, then every 15 minutes (--every) and whenever another \
                      device changes the library, prints one line per sync, waits longer after each failed one, and stops \
                      on Ctrl-C.\n\nExamples:\n  refsync sync\n  refsync sync --watch\n  refsync sync --watch --every 5m"
    )]
    Sync {
        /// Keep syncing until Ctrl-C (the desktop's "Sync Automatically").
        #[arg(long)]
        watch: bool,
        /// With --watch: the time between syncs, as 30s, 5m or 1h.
        #[arg(long, value_parser = parse_every, default_value = "15m", requires = "watch")]
        every: std::time::Duration,
    },
    /// The sync status: the link, the last sync and the history of the last 20.
    #[command(after_help = "Examples:\n  refsync status\n  refsync status --json")]
    Status {
        #[arg(long)]
        json: bool,
    },
    /// References edited here and elsewhere between two syncs: compare and settle them.
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
    /// Break the link to the account (keeping this library); with --wipe-online, also empty the online library.
    #[command(
        after_help = "Other devices are then asked to link again instead of syncing stale data.\n\n\
                      Examples:\n  refsync reset --backup before-reset.zip\n  refsync reset --wipe-online --yes"
    )]
    Reset {
        /// Also delete every reference and group online (shared groups stay), and the online Trash.
        #[arg(long)]
        wipe_online: bool,
        /// Write a backup here first.
        #[arg(long, value_name = "FILE.zip")]
        backup: Option<PathBuf>,
        /// Do not ask first.
        #[arg(long)]
        yes: bool,
    },
    /// Back up the whole library (references, Trash, groups, attachments) to one .zip.
    #[command(
        after_help = "The same format as the web app's backup: each restores the other's.\n\nExamples:\n  refsync backup library-2026-11-24.zip"
    )]
    Backup { file: PathBuf },
    /// Copy references (with their attachments) into another library: a shared one, or your own.
    #[command(
        after_help = "Each copy is a new reference (new key, no groups) that remembers where it came from; the original stays. \
                      --to takes a shared library's name, or \"mine\" for your own library.\n\n\
                      Examples:\n  refsync copy TE0J3D 8N0DCQ --to \"Lab papers\"\n  refsync --shared \"Lab papers\" copy TE0J3D --to mine"
    )]
    Copy {
        #[arg(required = true)]
        keys: Vec<String>,
        /// The library to copy into.
        #[arg(long, value_name = "NAME")]
        to: String,
    },
    /// Shared libraries: make one, invite people as editors or viewers, see and change members, answer invitations.
    #[command(subcommand)]
    Share(ShareCommand),
}

/// `refsync share ...` (docs/sharing.md).
#[derive(Subcommand, Debug)]
pub enum ShareCommand {
    /// The libraries you can open: yours, then those shared with you or by you, with your role.
    #[command(after_help = "Examples:\n  refsync share list\n  refsync share list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new, empty shared library (you own it).
    #[command(after_help = "Examples:\n  refsync share create \"Lab papers\"")]
    Create { name: String },
    /// Invite someone by email as an editor (add, edit, delete) or a viewer (read, copy).
    #[command(
        after_help = "The invitation waits 14 days (or --days) for that email's account to accept it; the account may be made later.\n\n\
                      Examples:\n  refsync share invite \"Lab papers\" ana@example.org --role editor\n  \
                      refsync share invite \"Lab papers\" student@example.org --role viewer --days 30"
    )]
    Invite {
        name: String,
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: refsync_core::protocol::Role,
        /// Days the invitation waits (1-90).
        #[arg(long)]
        days: Option<u64>,
    },
    /// The members and their roles (and, for the owner, invitations not yet answered).
    #[command(after_help = "Examples:\n  refsync share members \"Lab papers\"")]
    Members {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a member another role (owner only).
    #[command(
        after_help = "Examples:\n  refsync share role \"Lab papers\" ana@example.org viewer"
    )]
    Role {
        name: String,
        email: String,
        #[arg(value_parser = parse_role)]
        role: refsync_core::protocol::Role,
    },
    /// Remove a member (owner only): their devices stop receiving the library.
    #[command(after_help = "Examples:\n  refsync share remove \"Lab papers\" ana@example.org")]
    Remove { name: String, email: String },
    /// Leave a shared library (your copy here is kept aside, no longer synced).
    #[command(after_help = "Examples:\n  refsync share leave \"Lab papers\"")]
    Leave { name: String },
    /// Invitations waiting for your answer.
    #[command(after_help = "Examples:\n  refsync share invitations")]
    Invitations {
        #[arg(long)]
        json: bool,
    },
    /// Accept an invitation (by the library's name or the invitation's id) and fetch the library.
    #[command(after_help = "Examples:\n  refsync share accept \"Lab papers\"")]
    Accept { invitation: String },
    /// Decline an invitation.
    #[command(after_help = "Examples:\n  refsync share decline \"Lab papers\"")]
    Decline { invitation: String },
    /// Who changed what lately in a shared library, newest first.
    #[command(after_help = "Examples:\n  refsync share activity \"Lab papers\" --limit 20")]
    Activity {
        name: String,
        #[arg(long, default_value = "20")]
        limit: usize,
    },
}

fn parse_role(text: &str) -> Result<refsync_core::protocol::Role, String> {
    match refsync_core::protocol::Role::parse(&text.trim().to_lowercase()) {
        Some(refsync_core::protocol::Role::Owner) | None => {
            Err("editor or viewer (a library has one owner)".into())
        }
        Some(role) => Ok(role),
    }
}

#[derive(Args, Debug)]
pub struct StyleArgs {
    /// A built-in style's name (apa, chicago-author-date, chicago-notes, mla, harvard-cite-them-right, vancouver, ieee, nature, american-medical-association, american-chemical-society, elsevier-harvard, ...), a style of the library's own (its title or file name; see `refsync styles`), or a .csl file.
    #[arg(long, default_value = "apa")]
    pub style: String,
    /// The language of the style's terms and dates (en-US, en-GB, de-DE, fr-FR, ...; default: the style's own).
    #[arg(long)]
    pub locale: Option<String>,
    /// text, html or rtf.
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Subcommand, Debug)]
pub enum DuplicatesCommand {
    /// Merge a set into one record: the kept record takes FIELD=KEY values from the others, fills its empty fields from them, and gets every group, keyword and attachment; the others go to the Trash (restore one to undo).
    Merge {
        /// The set's id or number, as `refsync duplicates` lists it.
        set: String,
        /// The record to keep.
        #[arg(long)]
        keep: String,
        /// FIELD=KEY: take this field from that record instead (title=TE0K11).
        picks: Vec<String>,
    },
    /// Mark a set as not duplicates: it is not listed again, on any device.
    Not {
        /// The set's id or number, as `refsync duplicates` lists it.
        set: String,
    },
    /// Undo `not`: these references may be listed as duplicates of one another again.
    Again {
        #[arg(required = true, num_args = 2..)]
        keys: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct ListView {
    /// Only this group's references.
    #[arg(long)]
    pub group: Option<String>,
    /// The Trash instead of the library.
    #[arg(long)]
    pub trash: bool,
    #[arg(long, value_enum, default_value = "added")]
    pub sort: SortBy,
    /// Oldest, or A to Z, first... the other way round.
    #[arg(long)]
    pub reverse: bool,
    /// JSON (every field) instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ListView {
    /// The library (not the Trash), or one group of it, by author: what an export or a
    /// bibliography takes.
    pub fn by_author(group: Option<&str>) -> ListView {
        ListView {
            group: group.map(str::to_string),
            trash: false,
            sort: SortBy::Author,
            reverse: false,
            json: false,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SortBy {
    Added,
    Author,
    Year,
    Title,
    Journal,
    Type,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Ris,
    Bibtex,
    EndnoteXml,
    Enw,
    CslJson,
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Make a custom group.
    #[command(
        after_help = "Examples:\n  refsync group create Thesis\n  refsync group create Methods --set Thesis-chapters"
    )]
    Create {
        name: String,
        /// Put it in this group set (made if it does not exist).
        #[arg(long)]
        set: Option<String>,
    },
    /// Rename a group.
    #[command(after_help = "Examples:\n  refsync group rename Thesis \"Thesis 2027\"")]
    Rename { name: String, new_name: String },
    /// Delete a group (its references stay in the library).
    #[command(after_help = "Examples:\n  refsync group delete Thesis")]
    Delete { name: String },
    /// Add references to a custom group.
    #[command(after_help = "Examples:\n  refsync group add Thesis TE0J3D 8N0DCQ")]
    Add {
        name: String,
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Take references out of a custom group.
    #[command(after_help = "Examples:\n  refsync group remove Thesis TE0J3D")]
    Remove {
        name: String,
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Every group, with its kind, set and number of references.
    #[command(after_help = "Examples:\n  refsync group list\n  refsync group list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConflictsCommand {
    /// The references in Sync Conflicts.
    #[command(after_help = "Examples:\n  refsync conflicts list")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Both versions of one, side by side, what differs marked with *.
    #[command(after_help = "Examples:\n  refsync conflicts show TE0J3D")]
    Show { key: String },
    /// Settle one: keep this library's version, the online one, or a merged one.
    #[command(
        after_help = "With --keep merged, the start is both sides' edits that do not clash, with the online value where they do; \
                      name rows to take from this library's version instead (local=ROW) or give a field its text (FIELD=VALUE).\n\n\
                      With --all, every conflict waiting is settled the same way (local or online), after a question \
                      (--yes skips it).\n\n\
                      Examples:\n  refsync conflicts resolve TE0J3D --keep local\n  \
                      refsync conflicts resolve TE0J3D --keep merged local=title pages=\"10-20\"\n  \
                      refsync conflicts resolve --all --keep online"
    )]
    Resolve {
        /// The conflict's reference key (not with --all).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        key: Option<String>,
        /// Settle every conflict waiting, all the same way.
        #[arg(long)]
        all: bool,
        /// With --all: do not ask first.
        #[arg(long, short = 'y', requires = "all")]
        yes: bool,
        #[arg(long, value_enum)]
        keep: Keep,
        /// For --keep merged: local=ROW and FIELD=VALUE.
        #[arg(value_name = "ROW")]
        picks: Vec<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Local,
    Online,
    Merged,
}

/// "30s", "5m", "1h" (at least 5 seconds, at most a day).
fn parse_every(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("“{text}” is not a time like 30s, 5m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("“{text}” is not a time like 30s, 5m or 1h")),
    };
    if !(5..=86_400).contains(&secs) {
        return Err("the time between syncs must be from 5s to 24h".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}
