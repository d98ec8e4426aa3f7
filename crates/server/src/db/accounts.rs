//! Accounts, bearer tokens (as hashes) and failed sign-ins.
//!
//! Invariants: an account and its one library are made in one transaction; a token is found
//! only by its hash and only before it expires; nothing here sees a password or a token in
//! the clear.

use super::{is_unique_violation, new_id, to_i64, to_u64, Db};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub storage_limit: u64,
    pub reference_limit: Option<u64>,
    pub created_at: u64,
}

/// What creating an account can come to, apart from a database fault.
#[derive(Debug)]
pub enum CreateAccount {
    Created(AccountRow),
    EmailTaken,
}

/// The failed sign-ins recorded for one email.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignInFailures {
    pub failures: u64,
    pub last_failure: u64,
    pub locked_until: u64,
}

const ACCOUNT_COLUMNS: &str =
    "id, email, password_hash, storage_limit, reference_limit, created_at";

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<AccountRow, sqlx::Error> {
    Ok(AccountRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        storage_limit: to_u64(row.try_get("storage_limit")?),
        reference_limit: row
            .try_get::<Option<i64>, _>("reference_limit")?
            .map(to_u64),
        created_at: to_u64(row.try_get("created_at")?),
    })
}

impl Db {
    /// Make an account and its library.
    pub async fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        storage_limit: u64,
        reference_limit: Option<u64>,
        now: u64,
    ) -> Result<CreateAccount, sqlx::Error> {
        let account = AccountRow {
            id: new_id(),
            email: email.to_string(),
            password_hash: password_hash.to_string(),
            storage_limit,
            reference_limit,
            created_at: now,
        };
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, storage_limit, reference_limit, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&account.id)
        .bind(&account.email)
        .bind(&account.password_hash)
        .bind(to_i64(storage_limit))
        .bind(reference_limit.map(to_i64))
        .bind(to_i64(now))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(CreateAccount::EmailTaken),
            Err(e) => return Err(e),
        }
        sqlx::query(
            "INSERT INTO libraries (id, account_id, version, epoch, storage_used, created_at)
             VALUES ($1, $2, 0, 1, 0, $3)",
        )
        .bind(new_id())
        .bind(&account.id)
        .bind(to_i64(account.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CreateAccount::Created(account))
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<AccountRow>, sqlx::Error> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn account_by_id(&self, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Every account, oldest first.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, sqlx::Error> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, email");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Set a new password hash and sign out every session but `keep_token_hash`.
    pub async fn set_password(
        &self,
        account_id: &str,
        password_hash: &str,
        keep_token_hash: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tokens WHERE account_id = $1 AND token_hash <> $2")
            .bind(account_id)
            .bind(keep_token_hash.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Returns whether the account exists.
    pub async fn set_storage_limit(
        &self,
        account_id: &str,
        bytes: u64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE accounts SET storage_limit = $1 WHERE id = $2")
            .bind(to_i64(bytes))
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Returns whether the account exists.
    pub async fn set_reference_limit(
        &self,
        account_id: &str,
        limit: Option<u64>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE accounts SET reference_limit = $1 WHERE id = $2")
            .bind(limit.map(to_i64))
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_token(
        &self,
        token_hash: &str,
        account_id: &str,
        device_name: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), sqlx::Error> {
        // Expired tokens of this account go at the same time, so the table does not grow.
        sqlx::query("DELETE FROM tokens WHERE account_id = $1 AND expires_at <= $2")
            .bind(account_id)
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO tokens (token_hash, account_id, device_name, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(device_name)
        .bind(to_i64(now))
        .bind(to_i64(expires_at))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The account a token (by its hash) signs in, if it exists and has not expired.
    pub async fn token_account(
        &self,
        token_hash: &str,
        now: u64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT account_id FROM tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_i64(now))
        .fetch_optional(&self.pool)
        .await
    }

    /// Keep a one-use ticket (its hash) for a change-hint stream of `library_id`, good until
    /// `expires_at` and only while the session `token_hash` lasts. Expired tickets go.
    pub async fn add_stream_ticket(
        &self,
        ticket_hash: &str,
        token_hash: &str,
        library_id: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM stream_tickets WHERE expires_at <= $1")
            .bind(to_i64(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO stream_tickets (ticket_hash, token_hash, library_id, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_hash)
        .bind(token_hash)
        .bind(library_id)
        .bind(to_i64(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Use a stream ticket: its session's token hash and its library, once, if it has not
    /// expired (it is gone afterwards either way).
    pub async fn use_stream_ticket(
        &self,
        ticket_hash: &str,
        now: u64,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM stream_tickets WHERE ticket_hash = $1
             RETURNING token_hash, library_id, expires_at",
        )
        .bind(ticket_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if to_u64(row.try_get("expires_at")?) <= now {
            return Ok(None);
        }
        Ok(Some((
            row.try_get("token_hash")?,
            row.try_get("library_id")?,
        )))
    }

    pub async fn delete_token(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn sign_in_failures(&self, email: &str) -> Result<SignInFailures, sqlx::Error> {
        let row = sqlx::query(
            "SELECT failures, last_failure, locked_until FROM sign_in_failures WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(SignInFailures::default());
        };
        Ok(SignInFailures {
            failures: to_u64(row.try_get("failures")?),
            last_failure: to_u64(row.try_get("last_failure")?),
            locked_until: to_u64(row.try_get("locked_until")?),
        })
    }

    /// Count one sign-in attempt for `email` before its password is checked, in one statement
    /// (so concurrent attempts cannot overwrite each other's count): failures older than
    /// `window_ms` are forgotten first, and the attempt that reaches `lock_after` locks the
    /// email for `lock_for_ms`. A right password then clears the count. Returns the count
    /// with this attempt, and when the lock ends.
    pub async fn count_sign_in_attempt(
        &self,
        email: &str,
        now: u64,
        window_ms: u64,
        lock_after: u64,
        lock_for_ms: u64,
    ) -> Result<SignInFailures, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO sign_in_failures (email, failures, last_failure, locked_until)
             VALUES ($1, 1, CAST($2 AS BIGINT),
                     CASE WHEN CAST($4 AS BIGINT) <= 1
                          THEN CAST($2 AS BIGINT) + CAST($5 AS BIGINT) ELSE 0 END)
             ON CONFLICT (email) DO UPDATE SET
               failures = CASE
                 WHEN CAST($2 AS BIGINT) - sign_in_failures.last_failure > CAST($3 AS BIGINT)
                 THEN 1 ELSE sign_in_failures.failures + 1 END,
               last_failure = CAST($2 AS BIGINT),
               locked_until = CASE
                 WHEN (CASE
                         WHEN CAST($2 AS BIGINT) - sign_in_failures.last_failure
                              > CAST($3 AS BIGINT)
                         THEN 1 ELSE sign_in_failures.failures + 1 END) >= CAST($4 AS BIGINT)
                 THEN CAST($2 AS BIGINT) + CAST($5 AS BIGINT)
                 ELSE sign_in_failures.locked_until END
             RETURNING failures, last_failure, locked_until",
        )
        .bind(email)
        .bind(to_i64(now))
        .bind(to_i64(window_ms))
        .bind(to_i64(lock_after))
        .bind(to_i64(lock_for_ms))
        .fetch_one(&self.pool)
        .await?;
        Ok(SignInFailures {
            failures: to_u64(row.try_get("failures")?),
            last_failure: to_u64(row.try_get("last_failure")?),
            locked_until: to_u64(row.try_get("locked_until")?),
        })
    }

    pub async fn clear_sign_in_failures(&self, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE email = $1")
            .bind(email)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
