//! Passwords, bearer tokens and who is asking.
//!
//! Invariants: passwords are stored only as argon2id hashes (PHC strings); a token is 256
//! random bits given to the client once and stored only as its SHA-256; a request is signed
//! in only by an unexpired token sent in the `Authorization` header, never in a URL (which
//! proxies and browsers log); the one route EventSource must open without headers, the
//! change-hint stream, takes instead a one-use ticket for that library, good for a minute and
//! only while its session lasts; a library route answers 404 unless the token's account is a
//! member of the library (its owner, or an editor or viewer of a shared one), so nobody can
//! even learn which library ids exist, and 403 `forbidden` when the member's role does not
//! allow the action (`Role::allows`, the one role matrix).

use crate::error::ApiError;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use refsync_core::protocol::{Action, Role, MIN_PASSWORD_LEN};
use sha2::{Digest, Sha256};

/// Longest password accepted (argon2 would take any, but a megabyte "password" is an attack).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Lower-cased, trimmed, and checked to look like an address.
pub fn normalize_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(email)
    } else {
        Err(ApiError::Invalid(format!(
            "{:?} is not an email address.",
            email.chars().take(100).collect::<String>()
        )))
    }
}

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(ApiError::Invalid(format!(
            "The password must have at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::Invalid(format!(
            "The password must have at most {MAX_PASSWORD_LEN} bytes."
        )));
    }
    Ok(())
}

/// An argon2id hash of the password (slow on purpose: run it off the async threads).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// Whether the password matches the stored hash.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| {
            ApiError::Internal(format!("a stored password hash is unreadable: {e}"))
        })?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// A new token (given to the client) and its hash (stored).
pub fn new_token() -> (String, String) {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A signed-in request: the account its token belongs to.
#[derive(Clone, Debug)]
pub struct Authed {
    pub account_id: String,
    pub token_hash: String,
}

/// A session ending, or an account's way into a library closing: the change-hint streams it
/// opened end too (see `api/events.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// An account removed from a shared library (or leaving it, or the library deleted for it).
    Member {
        library_id: String,
        account_id: String,
    },
    /// A shared library deleted: every member's streams of it end.
    Library(String),
    /// One session, signed out.
    Token(String),
    /// Every session of an account but `keep` (a password changed).
    Account {
        account_id: String,
        keep: Option<String>,
    },
}

impl Revoked {
    /// Whether this ends a stream of `library_id` opened by the session `token_hash` of
    /// `account_id`.
    pub fn ends(&self, account_id: &str, token_hash: &str, library_id: &str) -> bool {
        match self {
            Revoked::Member {
                library_id: l,
                account_id: a,
            } => l == library_id && a == account_id,
            Revoked::Library(l) => l == library_id,
            Revoked::Token(t) => t == token_hash,
            Revoked::Account {
                account_id: a,
                keep,
            } => a == account_id && keep.as_deref() != Some(token_hash),
        }
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

async fn session(state: &AppState, token_hash: String) -> Result<Authed, ApiError> {
    match state.db.token_account(&token_hash, now_millis()).await? {
        Some(account_id) => Ok(Authed {
            account_id,
            token_hash,
        }),
        None => Err(ApiError::Auth(
            "Your session has expired or was signed out. Sign in again.".into(),
        )),
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts) else {
            return Err(ApiError::Auth(
                "Sign in first (no Authorization: Bearer token was sent).".into(),
            ));
        };
        session(state, token_hash(&token)).await
    }
}

/// Who opens a change-hint stream: a bearer token, or a one-use stream ticket in the query
/// (`?ticket=`), which also names the one library it opens.
pub struct StreamAuthed {
    pub authed: Authed,
    /// The library a ticket was made for (`None`: signed in by the header).
    pub ticket_library: Option<String>,
}

impl FromRequestParts<AppState> for StreamAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            return Ok(StreamAuthed {
                authed: session(state, token_hash(&token)).await?,
                ticket_library: None,
            });
        }
        let ticket = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("ticket="))
                .filter(|t| !t.is_empty())
        });
        let Some(ticket) = ticket else {
            return Err(ApiError::Auth(
                "Sign in first: send a bearer token, or a stream ticket as ?ticket=.".into(),
            ));
        };
        let Some((token_hash, library_id)) = state
            .db
            .use_stream_ticket(&self::token_hash(ticket), now_millis())
            .await?
        else {
            return Err(ApiError::Auth(
                "This stream ticket was used already, has expired, or was never given; ask for a new one.".into(),
            ));
        };
        Ok(StreamAuthed {
            authed: session(state, token_hash).await?,
            ticket_library: Some(library_id),
        })
    }
}

impl Authed {
    /// The signed-in account (gone only if deleted since the token was checked).
    pub async fn account(&self, state: &AppState) -> Result<crate::db::AccountRow, ApiError> {
        state
            .db
            .account_by_id(&self.account_id)
            .await?
            .ok_or_else(|| ApiError::Auth("This account no longer exists.".into()))
    }

    /// The library at `library_id`, if this account is a member of it (any role); else 404.
    pub async fn library(
        &self,
        state: &AppState,
        library_id: &str,
    ) -> Result<crate::db::LibraryRow, ApiError> {
        self.member_of(state, library_id, Action::Read)
            .await
            .map(|a| a.library)
    }

    /// The library and this account's role there, if it is a member and the role allows
    /// `action`: 404 for a non-member, 403 `forbidden` (naming the role) for a member whose
    /// role does not allow it.
    pub async fn member_of(
        &self,
        state: &AppState,
        library_id: &str,
        action: Action,
    ) -> Result<crate::db::Access, ApiError> {
        let access = state
            .db
            .access(library_id, &self.account_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        if access.role.allows(action) {
            Ok(access)
        } else {
            Err(forbidden(access.role))
        }
    }
}

/// The refusal of an action a role does not allow, in words.
pub fn forbidden(role: Role) -> ApiError {
    ApiError::Forbidden(format!(
        "You are {} of this library: {}.",
        match role {
            Role::Owner => "the owner",
            Role::Editor => "an editor",
            Role::Viewer => "a viewer",
        },
        role.describe()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.ORG ").unwrap(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "ada@x@y.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough password").is_ok());
    }

    #[test]
    fn tokens_are_random_and_stored_as_hashes() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, ha);
        assert_eq!(token_hash(&a), ha);
    }
}
