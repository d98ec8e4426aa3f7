//! Admin subcommands of the server binary: accounts made, listed and changed from a shell on
//! the server, against the same database the service uses.
//!
//! Invariant: passwords come from `REFSYNC_PASSWORD` or one line of standard input, never
//! from the command line (where `ps` and shell history would keep them).

use crate::auth::{check_new_password, hash_password, normalize_email, now_millis};
use crate::db::{CreateAccount, Db};
use crate::error::ApiError;
use std::io::BufRead;

#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Make an account (the password is read from REFSYNC_PASSWORD or standard input).
    Create {
        email: String,
        /// Storage quota in bytes (the server's default when absent).
        #[arg(long)]
        storage_limit: Option<u64>,
    },
    /// Set a new password (read from REFSYNC_PASSWORD or standard input); signs out every session.
    ResetPassword { email: String },
    /// Set the storage quota in bytes.
    SetQuota { email: String, bytes: u64 },
    /// Set the most references the account may hold ("none" for no limit).
    SetReferenceLimit { email: String, limit: String },
    /// List every account with its library's size.
    List,
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("REFSYNC_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn message(e: ApiError) -> String {
    match e {
        ApiError::Invalid(m) => m,
        other => format!("{other:?}"),
    }
}

async fn account(db: &Db, email: &str) -> Result<crate::db::AccountRow, String> {
    let email = normalize_email(email).map_err(message)?;
    db.account_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account for {email}"))
}

/// Run one admin command; what it prints is for people, the `Err` is the error message.
pub async fn run(
    db: &Db,
    command: AccountCommand,
    default_storage_limit: u64,
) -> Result<String, String> {
    match command {
        AccountCommand::Create {
            email,
            storage_limit,
        } => {
            let email = normalize_email(&email).map_err(message)?;
            let password = read_password()?;
            check_new_password(&password).map_err(message)?;
            let hash = hash_password(password).await.map_err(message)?;
            match db
                .create_account(
                    &email,
                    &hash,
                    storage_limit.unwrap_or(default_storage_limit),
                    None,
                    now_millis(),
                )
                .await
                .map_err(|e| e.to_string())?
            {
                CreateAccount::Created(a) => Ok(format!("created account {} ({})", a.email, a.id)),
                CreateAccount::EmailTaken => Err(format!("an account for {email} exists already")),
            }
        }
        AccountCommand::ResetPassword { email } => {
            let a = account(db, &email).await?;
            let password = read_password()?;
            check_new_password(&password).map_err(message)?;
            let hash = hash_password(password).await.map_err(message)?;
            db.set_password(&a.id, &hash, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "new password set for {}; every session signed out",
                a.email
            ))
        }
        AccountCommand::SetQuota { email, bytes } => {
            let a = account(db, &email).await?;
            db.set_storage_limit(&a.id, bytes)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("storage limit of {} set to {bytes} bytes", a.email))
        }
        AccountCommand::SetReferenceLimit { email, limit } => {
            let a = account(db, &email).await?;
            let limit = match limit.as_str() {
                "none" => None,
                n => Some(
                    n.parse::<u64>()
                        .map_err(|_| format!("{n:?} is not a number or \"none\""))?,
                ),
            };
            db.set_reference_limit(&a.id, limit)
                .await
                .map_err(|e| e.to_string())?;
            Ok(match limit {
                Some(n) => format!("{} may hold at most {n} references", a.email),
                None => format!("{} may hold any number of references", a.email),
            })
        }
        AccountCommand::List => {
            let mut out = format!(
                "{:<40} {:>10} {:>14} {:>14}\n",
                "email", "references", "storage used", "storage limit"
            );
            for a in db.accounts().await.map_err(|e| e.to_string())? {
                let lib = db
                    .library_of_account(&a.id)
                    .await
                    .map_err(|e| e.to_string())?;
                let refs = db
                    .reference_count(&lib.id)
                    .await
                    .map_err(|e| e.to_string())?;
                out.push_str(&format!(
                    "{:<40} {:>10} {:>14} {:>14}\n",
                    a.email, refs, lib.storage_used, a.storage_limit
                ));
            }
            Ok(out.trim_end().to_string())
        }
    }
}
