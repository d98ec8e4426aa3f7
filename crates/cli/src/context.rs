//! What every command starts from: where the library and the config file are, the open
//! library, the clock and new keys; and how a person names a reference (a key or the start of
//! one) or a group (its name).

use crate::error::{CliError, Result};
use crate::store::{LibraryFile, Snapshot};
use refsync_core::{Group, Key};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `$XDG_DATA_HOME/refsync/library.refsync`, else `~/.local/share/refsync/library.refsync`.
pub fn default_library() -> PathBuf {
    base_dir("XDG_DATA_HOME", ".local/share").join("refsync/library.refsync")
}

/// `$XDG_CONFIG_HOME/refsync/config.json`, else `~/.config/refsync/config.json`.
pub fn default_config() -> PathBuf {
    base_dir("XDG_CONFIG_HOME", ".config").join("refsync/config.json")
}

fn base_dir(var: &str, under_home: &str) -> PathBuf {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(under_home),
    }
}

/// The config file: which service, which account. The session token is not here: it belongs
/// to one library and is kept in its file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                CliError::bad_input(format!(
                    "the config file {} cannot be read: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(CliError::bad_input(format!(
                "the config file {} cannot be read: {e}",
                path.display()
            ))),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::other(format!("cannot write {}: {e}", dir.display())))?;
        }
        let text =
            serde_json::to_string_pretty(self).map_err(|e| CliError::other(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))
    }
}

pub struct Context {
    /// The library a command works on: the personal library, or with `--shared NAME` the copy
    /// of that shared library beside it.
    pub library_path: PathBuf,
    /// The personal library (`--library`), whose session every shared library's copy uses.
    pub personal_path: PathBuf,
    pub config_path: PathBuf,
}

impl Context {
    pub async fn open(&self) -> Result<LibraryFile> {
        Ok(LibraryFile::open(&self.library_path).await?)
    }
}

/// Unix milliseconds now.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh key: now, and ten random bytes.
pub fn new_key() -> Key {
    Key::new(now_millis(), rand::random())
}

/// The one reference whose key is `text`, starts with it or ends with it (case does not
/// matter). Keys begin with the time they were made, so references imported together share
/// their first ten characters; their last characters are random, and a few of them name one.
pub fn find_reference(snap: &Snapshot, text: &str) -> Result<Key> {
    let wanted = text.trim().to_ascii_uppercase();
    if wanted.is_empty() {
        return Err(CliError::bad_input("an empty key"));
    }
    let hits: Vec<Key> = snap
        .references
        .iter()
        .map(|r| r.key)
        .filter(|k| k.as_str().starts_with(&wanted) || k.as_str().ends_with(&wanted))
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(CliError::not_found(format!(
            "no reference has the key {text}"
        ))),
        many => Err(CliError::bad_input(format!(
            "{text} is part of {} keys; give more of it",
            many.len()
        ))),
    }
}

/// Every reference `texts` name, in order (the first unknown one is an error, and then
/// nothing is changed).
pub fn find_references(snap: &Snapshot, texts: &[String]) -> Result<Vec<Key>> {
    texts.iter().map(|t| find_reference(snap, t)).collect()
}

/// The group called `name` (case does not matter), or the one whose key it is.
pub fn find_group<'a>(snap: &'a Snapshot, name: &str) -> Result<&'a Group> {
    let hits: Vec<&Group> = snap
        .groups
        .values()
        .filter(|g| g.name.eq_ignore_ascii_case(name.trim()) || g.key.as_str() == name)
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::not_found(format!(
            "there is no group called “{name}” (see `refsync group list`)"
        ))),
        _ => Err(CliError::bad_input(format!(
            "more than one group is called “{name}”; name it by its key (see `refsync group list --json`)"
        ))),
    }
}
