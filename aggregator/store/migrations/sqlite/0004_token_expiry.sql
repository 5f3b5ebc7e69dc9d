-- A token may expire: expires_at in Unix nanoseconds, 0 for never (every
-- token created before this migration).
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
