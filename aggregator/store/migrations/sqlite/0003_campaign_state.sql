-- A campaign's lifecycle: active (devices fetch and answer it), paused (its
-- config is withdrawn; reports for epochs after the pause are refused),
-- archived (paused for good, hidden from default lists). state_changed_at
-- is when it entered its state (Unix nanoseconds; 0 for campaigns created
-- before lifecycles, which are active).
ALTER TABLE campaigns ADD COLUMN state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'archived'));
ALTER TABLE campaigns ADD COLUMN state_changed_at INTEGER NOT NULL DEFAULT 0;
