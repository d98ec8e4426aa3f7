-- One-use tickets that open a library's change-hint stream: EventSource cannot send headers,
-- and a session token in a URL would end up in proxies' and browsers' logs. A ticket is good
-- for one stream of one library, for a minute, and only while its session lasts. Stored as
-- the SHA-256 of the ticket.
CREATE TABLE stream_tickets (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL REFERENCES tokens (token_hash) ON DELETE CASCADE,
    library_id  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
