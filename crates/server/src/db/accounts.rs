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
            "INSERT INTO libraries (id, account_id, version, epoch, storage_used)
             VALUES ($1, $2, 0, 1, 0)",
        )
        .bind(new_id())
        .bind(&account.id)
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

    pub async fn set_sign_in_failures(
        &self,
        email: &str,
        f: SignInFailures,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sign_in_failures (email, failures, last_failure, locked_until)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO UPDATE SET failures = $2, last_failure = $3, locked_until = $4",
        )
        .bind(email)
        .bind(to_i64(f.failures))
        .bind(to_i64(f.last_failure))
        .bind(to_i64(f.locked_until))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn clear_sign_in_failures(&self, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE email = $1")
            .bind(email)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
