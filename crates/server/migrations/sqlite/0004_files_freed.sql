-- Files no attachment object of their library names any more (Trash included): `freed_at`
-- is when that began (Unix ms). A freed file no longer counts against the storage used, and
-- the collector removes its row and bytes once the grace period has passed; a write or an
-- upload that names it before then counts it again. NULL: named, or just uploaded.
ALTER TABLE files ADD COLUMN freed_at BIGINT;
CREATE INDEX files_freed ON files (freed_at) WHERE freed_at IS NOT NULL;
CREATE INDEX objects_by_file ON objects (library_id, sha256) WHERE sha256 IS NOT NULL;
