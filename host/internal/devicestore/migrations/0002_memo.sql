-- RAPPOR memoized answers (ldp.Memo): one permanent randomized
-- answer per campaign and true value.
CREATE TABLE memo (
	campaign TEXT NOT NULL,
	value    TEXT NOT NULL,
	answer   BLOB NOT NULL,
	PRIMARY KEY (campaign, value)
) WITHOUT ROWID;
