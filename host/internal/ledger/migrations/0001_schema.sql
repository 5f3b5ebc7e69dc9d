-- The ledger's schema before it was versioned, verbatim (IF NOT EXISTS
-- included): on a ledger created then, at user_version 0, this file is a
-- no-op and the ledger is adopted at version 1 with its rows.

-- One row per report the device decided to send, written before the report
-- is queued. nano_eps is ε·10⁹, rounded up.
CREATE TABLE IF NOT EXISTS spend (
    id         INTEGER PRIMARY KEY,
    campaign   TEXT    NOT NULL,
    epoch      INTEGER NOT NULL,
    nano_eps   INTEGER NOT NULL CHECK (nano_eps > 0),
    at_unix_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_by_campaign ON spend (campaign, epoch);
CREATE INDEX IF NOT EXISTS spend_by_time ON spend (at_unix_ns);

-- Memoized randomized answers (RAPPOR permanent randomized response).
CREATE TABLE IF NOT EXISTS memo (
    campaign TEXT NOT NULL,
    value    TEXT NOT NULL,
    answer   BLOB NOT NULL,
    PRIMARY KEY (campaign, value)
);
