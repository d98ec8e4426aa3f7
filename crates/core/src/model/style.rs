//! A citation style kept in the library: a person's own `.csl` file (their journal's), synced
//! like every object so that it formats on each of their devices, offline too.
//!
//! Invariant: `xml` is the file's text as added (a style that did not parse is never added:
//! each client checks it with the formatter first); `title` is what the formatter read from
//! it, so pickers can list styles without parsing any.

use crate::Key;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Style {
    pub key: Key,
    /// The style's own title (`<info><title>`), as listed in style pickers.
    pub title: String,
    /// The name of the file it came from.
    #[serde(default)]
    pub file_name: String,
    /// The CSL 1.0 style, as the file held it.
    pub xml: String,
    #[serde(default)]
    pub date_modified: u64,
}

impl Style {
    /// The name a library style goes by where a style is named in text (a picker's value, a
    /// preference, the CLI's `--style`): `lib:` and its key.
    pub fn name(&self) -> String {
        format!("{}{}", LIBRARY_STYLE, self.key)
    }

    /// The key a name of [`Style::name`]'s form holds; None for any other name (a built-in
    /// style's, a repository style's).
    pub fn key_in_name(name: &str) -> Option<Key> {
        Key::parse(name.strip_prefix(LIBRARY_STYLE)?).ok()
    }
}

/// The prefix of a library style's name ([`Style::name`]).
pub const LIBRARY_STYLE: &str = "lib:";
