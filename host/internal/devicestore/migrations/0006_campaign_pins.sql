-- A campaign config is pinned per id: the first one the device verified is
-- kept until a config with a higher version replaces it, including while
-- the aggregator does not serve the id. Campaign consent is bound to the
-- digest of the question the owner agreed to (host: questionDigest).
ALTER TABLE campaigns ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- The question digest of spec; NULL on rows cached before this migration
-- until the host fills it in at open.
ALTER TABLE campaigns ADD COLUMN digest BLOB;
-- Whether the aggregator's last campaign list had the id; only served
-- campaigns are answered and shown.
ALTER TABLE campaigns ADD COLUMN served INTEGER NOT NULL DEFAULT 1;
-- When the device last refused a different config under this id and
-- version (0: never).
ALTER TABLE campaigns ADD COLUMN refused_at INTEGER NOT NULL DEFAULT 0;
-- For a campaign purpose: the question digest the owner agreed to. NULL on
-- consents given before this migration, or before the device knew the
-- campaign: the host binds them to the config it has (or first verifies).
ALTER TABLE consent ADD COLUMN digest BLOB;
