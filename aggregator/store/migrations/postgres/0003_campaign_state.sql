-- A campaign's lifecycle (see the SQLite migration of the same number).
-- state_changed_at is NULL for campaigns created before lifecycles, which
-- are active.
ALTER TABLE campaigns ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'archived'));
ALTER TABLE campaigns ADD COLUMN state_changed_at timestamptz;
