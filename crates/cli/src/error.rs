//! One error type for every command, and the exit code each kind means. Scripts can rely on
//! the codes; people read the message.
//!
//! | code | meaning |
//! | ---: | --- |
//! | 0 | done |
//! | 1 | anything else (the message says what) |
//! | 2 | the command line is wrong (clap's usage errors) |
//! | 3 | not found: no library at that path, no such reference or group |
//! | 4 | bad input: a file that cannot be read or imported, a field or value refsync does not know |
//! | 5 | the service could not be reached (try again later) |
//! | 6 | not signed in, wrong password, or the sign-in expired |
//! | 7 | the account's storage or reference limit is reached (what was refused stays in this library) |
//! | 8 | the library was reset on another device: link again |
//! | 9 | conflicts are waiting (`refsync conflicts list`) |
//! | 10 | the library file could not be read or written |
//! | 11 | your role in a shared library does not allow it (a viewer's edit) |

use crate::store::StoreError;
use refsync_core::sync::{ErrorKind, SyncError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Other = 1,
    NotFound = 3,
    BadInput = 4,
    Connection = 5,
    Auth = 6,
    StorageLimit = 7,
    RelinkRequired = 8,
    Conflicts = 9,
    Local = 10,
    /// The account's role in a shared library does not allow it.
    Forbidden = 11,
}

#[derive(Debug)]
pub struct CliError {
    pub code: Code,
    pub message: String,
}

impl CliError {
    pub fn new(code: Code, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> CliError {
        CliError::new(Code::NotFound, message)
    }

    pub fn bad_input(message: impl Into<String>) -> CliError {
        CliError::new(Code::BadInput, message)
    }

    pub fn other(message: impl Into<String>) -> CliError {
        CliError::new(Code::Other, message)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> CliError {
        let code = match e {
            StoreError::Missing(_) => Code::NotFound,
            StoreError::NotALibrary(..) => Code::BadInput,
            StoreError::Io(_) => Code::Local,
            StoreError::ReadOnly(_) => Code::Forbidden,
        };
        CliError::new(code, e.to_string())
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> CliError {
        let (code, advice) = match e.kind {
            ErrorKind::Connection => (
                Code::Connection,
                "Nothing was lost; run `refsync sync` again when the service can be reached.",
            ),
            ErrorKind::Auth => (
                Code::Auth,
                "Run `refsync sync` again to sign in (it asks for your password).",
            ),
            ErrorKind::StorageLimit => (
                Code::StorageLimit,
                "The files stay in this library; free some online storage or ask for a larger limit.",
            ),
            ErrorKind::RelinkRequired => (
                Code::RelinkRequired,
                "The online library was reset from another device. Run `refsync link` to link this library again (what is here is merged into it).",
            ),
            ErrorKind::Local => (Code::Local, ""),
            ErrorKind::Forbidden => (
                Code::Forbidden,
                "Your role in this shared library does not allow that; what you changed stays here.",
            ),
            ErrorKind::ReferenceLimit => (Code::StorageLimit, ""),
            ErrorKind::TooLarge => (
                Code::BadInput,
                "The file stays in this library; the service takes no file this large.",
            ),
            ErrorKind::NotFound => (
                Code::NotFound,
                "The online library is gone, or this account no longer belongs to it.",
            ),
            ErrorKind::Server | ErrorKind::Invalid => (Code::Other, ""),
        };
        let mut message = format!("sync failed: {}", e.message);
        if !advice.is_empty() {
            message.push_str(&format!("\n{advice}"));
        }
        CliError::new(code, message)
    }
}

pub type Result<T> = std::result::Result<T, CliError>;
