-- A queued report's Privacy Pass report token (internal/privpass), once
-- the device has fetched it for a campaign that requires one: kept with
-- the report so a deferred or retried upload sends the same token (the
-- issuer signs one per device and campaign epoch). NULL: none yet, or the
-- campaign takes none.
ALTER TABLE outbox ADD COLUMN token BLOB;
