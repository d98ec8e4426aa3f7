-- Shared libraries (docs/sharing.md). Every library is owned by one account (`account_id`);
-- an account's personal library has no name and is the only one of its kind per account, a
-- shared library has a name. The same change is in migrations/sqlite/0005_*.sql.
ALTER TABLE libraries DROP CONSTRAINT libraries_account_id_key;
ALTER TABLE libraries ADD COLUMN name TEXT;
ALTER TABLE libraries ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX libraries_personal ON libraries (account_id) WHERE name IS NULL;
CREATE INDEX libraries_by_owner ON libraries (account_id);

-- Who may open a shared library besides its owner (docs/sharing.md). The owner is
-- `libraries.account_id` and has no row here; `role` is 'editor' or 'viewer'.
CREATE TABLE members (
    library_id TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (library_id, account_id)
);
CREATE INDEX members_by_account ON members (account_id);

-- Pending invitations, one per library and (normalised) email; accepting, declining or
-- revoking one deletes it, and one past `expires_at` can no longer be accepted. The invited
-- email may have no account yet. `invited_by` is the inviting account's id.
CREATE TABLE invitations (
    id         TEXT PRIMARY KEY NOT NULL,
    library_id TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX invitations_one_per_email ON invitations (library_id, email);
CREATE INDEX invitations_by_email ON invitations (email);

-- Attribution: which account wrote each object's current version, and when (Unix ms). NULL
-- for versions written before this migration.
ALTER TABLE objects ADD COLUMN changed_by TEXT;
ALTER TABLE objects ADD COLUMN changed_at BIGINT;
