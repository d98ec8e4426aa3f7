-- Accounts, sessions, libraries and their objects. The same text is in
-- migrations/postgres/0002_*.sql: every integer is BIGINT and every flag a BIGINT 0/1, so that
-- the Any driver reads the same Rust types from both databases. Times are milliseconds since
-- the Unix epoch.

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    storage_limit   BIGINT NOT NULL,
    -- NULL: no limit.
    reference_limit BIGINT,
    created_at      BIGINT NOT NULL
);

-- Bearer tokens, stored only as the SHA-256 of the token.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_name TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX tokens_by_account ON tokens (account_id);

-- Failed sign-ins per normalised email, for slowing down and then refusing guessing.
CREATE TABLE sign_in_failures (
    email        TEXT PRIMARY KEY NOT NULL,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

-- One library per account. `version` only goes up; `epoch` goes up on every reset.
CREATE TABLE libraries (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    epoch        BIGINT NOT NULL,
    storage_used BIGINT NOT NULL
);

-- Every object and tombstone (data NULL). kind: 0 reference, 1 group, 2 group set,
-- 3 attachment. `shared` mirrors a group's shared flag, which a wiping reset keeps;
-- `sha256` an attachment's file, so that files no attachment uses can be found.
CREATE TABLE objects (
    library_id TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    kind       BIGINT NOT NULL,
    key        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    shared     BIGINT NOT NULL,
    sha256     TEXT,
    data       TEXT,
    PRIMARY KEY (library_id, kind, key)
);
CREATE INDEX objects_by_version ON objects (library_id, version, kind, key);

-- Answers of applied batches, so that a retried batch is answered, not applied again.
CREATE TABLE batches (
    library_id      TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (library_id, idempotency_key)
);

-- Attachment bytes a library holds (the bytes are in the blob store under library/sha256).
CREATE TABLE files (
    library_id TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (library_id, sha256)
);

-- Syncs as clients reported them, for Sync Status (the latest 20 per device are kept).
CREATE TABLE sync_log (
    library_id    TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    device_name   TEXT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    sent          BIGINT NOT NULL,
    received      BIGINT NOT NULL,
    deleted       BIGINT NOT NULL,
    conflicts     BIGINT NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (library_id, device_id, started_at)
);
