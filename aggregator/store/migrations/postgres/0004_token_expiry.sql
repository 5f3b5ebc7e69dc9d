-- A token may expire: NULL is never (every token created before this
-- migration).
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
