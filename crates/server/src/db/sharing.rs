//! Who may open which library, in which role: shared libraries, members, invitations, and a
//! library's activity.
//!
//! Invariants: a library's owner is `libraries.account_id` and is never in `members`; every
//! change of membership (role, removal, transfer, acceptance) takes the library row's write
//! lock first, as a batch and an upload do before they check the writer's role inside their own
//! transaction, so a write is never applied under a role that was already taken away; an
//! invitation is accepted only by the account whose email it names, before it expires, once.

use super::library::{kind_from_code, library_from_row, LibraryRow, LIBRARY_COLUMNS_L};
use super::{new_id, to_i64, to_u64, Db};
use refsync_core::protocol::{ActivityEntry, Invitation, LibrarySummary, Member, Role};
use refsync_core::{Key, ObjectKind};
use sqlx::Row;

/// A library as one account may open it.
#[derive(Clone, Debug)]
pub struct Access {
    pub library: LibraryRow,
    pub role: Role,
}

/// What inviting someone came to.
#[derive(Debug)]
pub enum InvitationOutcome {
    /// Made, or the pending one for that email renewed with the new role and expiry.
    Invited(Invitation),
    /// That email's account is a member already.
    AlreadyMember,
}

fn role_from_text(text: &str) -> Result<Role, sqlx::Error> {
    Role::parse(text).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {text:?}").into()))
}

fn invitation_from_row(row: &sqlx::any::AnyRow) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        id: row.try_get("id")?,
        library_id: row.try_get("library_id")?,
        library_name: row
            .try_get::<Option<String>, _>("library_name")?
            .unwrap_or_default(),
        email: row.try_get("email")?,
        role: role_from_text(&row.try_get::<String, _>("role")?)?,
        invited_by: row
            .try_get::<Option<String>, _>("invited_by_email")?
            .unwrap_or_default(),
        created_at: to_u64(row.try_get("created_at")?),
        expires_at: to_u64(row.try_get("expires_at")?),
    })
}

const INVITATION_SELECT: &str = "SELECT i.id, i.library_id, l.name AS library_name, i.email,
        i.role, a.email AS invited_by_email, i.created_at, i.expires_at
     FROM invitations i JOIN libraries l ON l.id = i.library_id
     LEFT JOIN accounts a ON a.id = i.invited_by";

/// Take the library row's write lock for the rest of the transaction (SQLite: the database's).
async fn lock_library(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    library_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE libraries SET version = version WHERE id = $1")
        .bind(library_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The role `account_id` has in `library_id`, read inside a transaction that holds the
/// library's lock (batches and uploads check it there).
pub(super) async fn role_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    library_id: &str,
    account_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT l.account_id, m.role FROM libraries l
         LEFT JOIN members m ON m.library_id = l.id AND m.account_id = $2
         WHERE l.id = $1",
    )
    .bind(library_id)
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.try_get::<String, _>("account_id")? == account_id {
        return Ok(Some(Role::Owner));
    }
    row.try_get::<Option<String>, _>("role")?
        .map(|r| role_from_text(&r))
        .transpose()
}

impl Db {
    /// The library, if `account_id` may open it, with their role there.
    pub async fn access(
        &self,
        library_id: &str,
        account_id: &str,
    ) -> Result<Option<Access>, sqlx::Error> {
        let sql = format!(
            "SELECT {LIBRARY_COLUMNS_L}, m.role FROM libraries l
             LEFT JOIN members m ON m.library_id = l.id AND m.account_id = $2
             WHERE l.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(library_id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let library = library_from_row(&row)?;
        let role = if library.account_id == account_id {
            Some(Role::Owner)
        } else {
            row.try_get::<Option<String>, _>("role")?
                .map(|r| role_from_text(&r))
                .transpose()?
        };
        Ok(role.map(|role| Access { library, role }))
    }

    /// A new, empty shared library owned by `owner`.
    pub async fn create_shared_library(
        &self,
        owner: &str,
        name: &str,
        now: u64,
    ) -> Result<LibraryRow, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO libraries (id, account_id, version, epoch, storage_used, name, created_at)
             VALUES ($1, $2, 0, 1, 0, $3, $4)",
        )
        .bind(&id)
        .bind(owner)
        .bind(name)
        .bind(to_i64(now))
        .execute(&self.pool)
        .await?;
        self.library(&id)
            .await?
            .ok_or_else(|| sqlx::Error::Protocol("a library just made is gone".into()))
    }

    /// Every library `account_id` may open: the personal one first, then shared ones by name.
    pub async fn libraries_of(&self, account_id: &str) -> Result<Vec<LibrarySummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT l.id, l.name, l.version, o.email AS owner,
                    CASE WHEN l.account_id = $1 THEN 'owner' ELSE m.role END AS role,
                    l.refs AS refs,
                    1 + (SELECT COUNT(*) FROM members y WHERE y.library_id = l.id) AS people
             FROM libraries l
             JOIN accounts o ON o.id = l.account_id
             LEFT JOIN members m ON m.library_id = l.id AND m.account_id = $1
             WHERE l.account_id = $1 OR m.account_id IS NOT NULL
             ORDER BY CASE WHEN l.name IS NULL THEN 0 ELSE 1 END, l.name, l.id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LibrarySummary {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    role: role_from_text(&row.try_get::<String, _>("role")?)?,
                    owner: row.try_get("owner")?,
                    version: to_u64(row.try_get("version")?),
                    references: to_u64(row.try_get("refs")?),
                    members: to_u64(row.try_get("people")?),
                })
            })
            .collect()
    }

    /// The id and version of every library `account_id` may open (what an account's
    /// change-hint stream follows: no counts, it is read every few seconds per stream).
    pub async fn library_versions_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<(String, u64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT l.id, l.version FROM libraries l
             WHERE l.account_id = $1
                OR EXISTS (SELECT 1 FROM members m WHERE m.library_id = l.id AND m.account_id = $1)
             ORDER BY l.id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, to_u64(row.try_get("version")?))))
            .collect()
    }

    pub async fn rename_library(&self, library_id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE libraries SET name = $1 WHERE id = $2 AND name IS NOT NULL")
            .bind(name)
            .bind(library_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Delete a shared library and everything in it; the files whose bytes to remove.
    pub async fn delete_library(&self, library_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_library(&mut tx, library_id).await?;
        let files = sqlx::query_scalar("SELECT sha256 FROM files WHERE library_id = $1")
            .bind(library_id)
            .fetch_all(&mut *tx)
            .await?;
        // Objects, batches, files, the sync log, members and invitations go by cascade.
        sqlx::query("DELETE FROM libraries WHERE id = $1 AND name IS NOT NULL")
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(files)
    }

    /// The owner first, then the members by email.
    pub async fn members(&self, library_id: &str) -> Result<Vec<Member>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT a.id, a.email, 'owner' AS role, l.created_at AS joined_at, 0 AS rank
               FROM libraries l JOIN accounts a ON a.id = l.account_id WHERE l.id = $1
             UNION ALL
             SELECT a.id, a.email, m.role, m.joined_at, 1 AS rank
               FROM members m JOIN accounts a ON a.id = m.account_id WHERE m.library_id = $1
             ORDER BY rank, email",
        )
        .bind(library_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Member {
                    account_id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    role: role_from_text(&row.try_get::<String, _>("role")?)?,
                    joined_at: to_u64(row.try_get("joined_at")?),
                })
            })
            .collect()
    }

    /// Give a member (not the owner) another role; whether they were a member.
    pub async fn set_role(
        &self,
        library_id: &str,
        account_id: &str,
        role: Role,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_library(&mut tx, library_id).await?;
        let done =
            sqlx::query("UPDATE members SET role = $1 WHERE library_id = $2 AND account_id = $3")
                .bind(role.as_str())
                .bind(library_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remove a member (or let them leave); whether they were one.
    pub async fn remove_member(
        &self,
        library_id: &str,
        account_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_library(&mut tx, library_id).await?;
        let done = sqlx::query("DELETE FROM members WHERE library_id = $1 AND account_id = $2")
            .bind(library_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hand a shared library to one of its members; the old owner stays as an editor. Whether
    /// `to` was a member.
    pub async fn transfer(&self, library_id: &str, to: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_library(&mut tx, library_id).await?;
        let old_owner: String = sqlx::query_scalar(
            "SELECT account_id FROM libraries WHERE id = $1 AND name IS NOT NULL",
        )
        .bind(library_id)
        .fetch_one(&mut *tx)
        .await?;
        let was_member =
            sqlx::query("DELETE FROM members WHERE library_id = $1 AND account_id = $2")
                .bind(library_id)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if !was_member {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE libraries SET account_id = $1 WHERE id = $2")
            .bind(to)
            .bind(library_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO members (library_id, account_id, role, joined_at)
             SELECT $1, $2, 'editor', created_at FROM libraries WHERE id = $1",
        )
        .bind(library_id)
        .bind(&old_owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Delete an account: its shared libraries handed to a member (`hand_over`: the
    /// longest-standing editor, else viewer) or deleted, then the account with its personal
    /// library, sessions and memberships, in one transaction. What happened to each shared
    /// library (name, new owner's email or `None` for deleted, id), and the files of every
    /// library deleted as (library id, SHA-256), for the blob store.
    pub async fn delete_account(
        &self,
        account_id: &str,
        hand_over: bool,
    ) -> Result<(Vec<(String, Option<String>, String)>, Vec<(String, String)>), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The account's row first: a sign-in, an invitation's acceptance or a hand-over to it
        // waits, and finds it gone.
        sqlx::query("UPDATE accounts SET storage_limit = storage_limit WHERE id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let owned = sqlx::query("SELECT id, name FROM libraries WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut outcome = Vec::new();
        let mut gone = Vec::new();
        for row in owned {
            let id: String = row.try_get("id")?;
            let name: Option<String> = row.try_get("name")?;
            lock_library(&mut tx, &id).await?;
            let heir = match (&name, hand_over) {
                (Some(_), true) => sqlx::query(
                    "SELECT m.account_id, a.email FROM members m JOIN accounts a ON a.id = m.account_id
                     WHERE m.library_id = $1
                     ORDER BY CASE WHEN m.role = 'editor' THEN 0 ELSE 1 END, m.joined_at, m.account_id
                     LIMIT 1",
                )
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>("account_id")?, r.try_get::<String, _>("email")?)))
                .transpose()?,
                _ => None,
            };
            match heir {
                Some((heir, email)) => {
                    sqlx::query("DELETE FROM members WHERE library_id = $1 AND account_id = $2")
                        .bind(&id)
                        .bind(&heir)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE libraries SET account_id = $1 WHERE id = $2")
                        .bind(&heir)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    outcome.push((name.unwrap_or_default(), Some(email), id));
                }
                None => {
                    let files: Vec<String> =
                        sqlx::query_scalar("SELECT sha256 FROM files WHERE library_id = $1")
                            .bind(&id)
                            .fetch_all(&mut *tx)
                            .await?;
                    gone.extend(files.into_iter().map(|sha| (id.clone(), sha)));
                    sqlx::query("DELETE FROM libraries WHERE id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(name) = name {
                        outcome.push((name, None, id));
                    }
                }
            }
        }
        // Sessions, memberships and stream tickets go by cascade.
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((outcome, gone))
    }

    /// Invite `email` (normalised) to a library, or renew the pending invitation for it.
    pub async fn invite(
        &self,
        library_id: &str,
        email: &str,
        role: Role,
        invited_by: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<InvitationOutcome, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_library(&mut tx, library_id).await?;
        let member: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts a WHERE a.email = $2 AND (
                 EXISTS (SELECT 1 FROM libraries l WHERE l.id = $1 AND l.account_id = a.id)
              OR EXISTS (SELECT 1 FROM members m WHERE m.library_id = $1 AND m.account_id = a.id))",
        )
        .bind(library_id)
        .bind(email)
        .fetch_one(&mut *tx)
        .await?;
        if member > 0 {
            tx.rollback().await?;
            return Ok(InvitationOutcome::AlreadyMember);
        }
        sqlx::query(
            "INSERT INTO invitations (id, library_id, email, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (library_id, email) DO UPDATE SET role = excluded.role,
               invited_by = excluded.invited_by, created_at = excluded.created_at,
               expires_at = excluded.expires_at",
        )
        .bind(new_id())
        .bind(library_id)
        .bind(email)
        .bind(role.as_str())
        .bind(invited_by)
        .bind(to_i64(now))
        .bind(to_i64(expires_at))
        .execute(&mut *tx)
        .await?;
        let sql = format!("{INVITATION_SELECT} WHERE i.library_id = $1 AND i.email = $2");
        let row = sqlx::query(&sql)
            .bind(library_id)
            .bind(email)
            .fetch_one(&mut *tx)
            .await?;
        let invitation = invitation_from_row(&row)?;
        tx.commit().await?;
        Ok(InvitationOutcome::Invited(invitation))
    }

    /// A library's invitations not yet expired, newest first.
    pub async fn library_invitations(
        &self,
        library_id: &str,
        now: u64,
    ) -> Result<Vec<Invitation>, sqlx::Error> {
        self.pending("i.library_id = $1", library_id, now).await
    }

    /// The invitations addressed to `email` not yet expired, newest first.
    pub async fn invitations_for(
        &self,
        email: &str,
        now: u64,
    ) -> Result<Vec<Invitation>, sqlx::Error> {
        self.pending("i.email = $1", email, now).await
    }

    /// The invitations not yet expired where `condition` (on `$1`) holds, newest first.
    async fn pending(
        &self,
        condition: &str,
        value: &str,
        now: u64,
    ) -> Result<Vec<Invitation>, sqlx::Error> {
        let sql = format!(
            "{INVITATION_SELECT} WHERE {condition} AND i.expires_at > $2
             ORDER BY i.created_at DESC, i.library_id, i.email"
        );
        let rows = sqlx::query(&sql)
            .bind(value)
            .bind(to_i64(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    /// Withdraw an invitation of `library_id`; the email it was addressed to, `None` if there
    /// was no such invitation.
    pub async fn revoke_invitation(
        &self,
        library_id: &str,
        invitation_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM invitations WHERE id = $1 AND library_id = $2 RETURNING email",
        )
        .bind(invitation_id)
        .bind(library_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("email")).transpose()
    }

    /// Accept (`accept`) or decline an invitation addressed to `email`, unexpired; the library
    /// it opens when accepted. `None`: no such invitation for this email (or it expired).
    pub async fn answer_invitation(
        &self,
        invitation_id: &str,
        account_id: &str,
        email: &str,
        accept: bool,
        now: u64,
    ) -> Result<Option<(String, Role)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT library_id, role FROM invitations
             WHERE id = $1 AND email = $2 AND expires_at > $3",
        )
        .bind(invitation_id)
        .bind(email)
        .bind(to_i64(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let library_id: String = row.try_get("library_id")?;
        let role = role_from_text(&row.try_get::<String, _>("role")?)?;
        lock_library(&mut tx, &library_id).await?;
        // Deleted first: of two answers at once, only the one that deletes it goes on.
        let taken = sqlx::query("DELETE FROM invitations WHERE id = $1")
            .bind(invitation_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !taken {
            tx.rollback().await?;
            return Ok(None);
        }
        if accept && role_in(&mut tx, &library_id, account_id).await?.is_none() {
            sqlx::query(
                "INSERT INTO members (library_id, account_id, role, joined_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&library_id)
            .bind(account_id)
            .bind(role.as_str())
            .bind(to_i64(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some((library_id, role)))
    }

    /// The latest changes of a library, newest first, at most `limit`, older than `before`
    /// (a version, kind and key: the last entry of the previous page).
    pub async fn activity(
        &self,
        library_id: &str,
        before: Option<(u64, ObjectKind, Key)>,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, sqlx::Error> {
        let select = "SELECT o.kind, o.key, o.version, o.data, o.changed_at, a.email
             FROM objects o LEFT JOIN accounts a ON a.id = o.changed_by
             WHERE o.library_id = $1";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match before {
            None => {
                sqlx::query(&format!(
                    "{select} ORDER BY o.version DESC, o.kind DESC, o.key DESC LIMIT $2"
                ))
                .bind(library_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some((v, kind, key)) => {
                sqlx::query(&format!(
                    "{select} AND (o.version, o.kind, o.key) < ($2, $3, $4)
                     ORDER BY o.version DESC, o.kind DESC, o.key DESC LIMIT $5"
                ))
                .bind(library_id)
                .bind(to_i64(v))
                .bind(super::library::kind_code(kind))
                .bind(key.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let kind = kind_from_code(row.try_get("kind")?)?;
                let data: Option<String> = row.try_get("data")?;
                Ok(ActivityEntry {
                    kind,
                    key: Key::parse(&row.try_get::<String, _>("key")?)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    version: to_u64(row.try_get("version")?),
                    changed_by: row.try_get("email")?,
                    changed_at: row
                        .try_get::<Option<i64>, _>("changed_at")?
                        .map_or(0, to_u64),
                    deleted: data.is_none(),
                    title: data.as_deref().and_then(|d| title_of(kind, d)),
                })
            })
            .collect()
    }
}

/// A reference's title or a group's (or group set's, or style's) name, from its stored JSON.
fn title_of(kind: ObjectKind, data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let text = match kind {
        ObjectKind::Reference => value.get("fields")?.get("title")?.as_str()?,
        ObjectKind::Attachment => value.get("file_name")?.as_str()?,
        ObjectKind::Style => value.get("title")?.as_str()?,
        ObjectKind::Group | ObjectKind::GroupSet => value.get("name")?.as_str()?,
    };
    let text: String = text.chars().take(200).collect();
    (!text.is_empty()).then_some(text)
}
