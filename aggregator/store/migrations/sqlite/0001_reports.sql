CREATE TABLE reports (
	id        BLOB PRIMARY KEY,
	campaign  TEXT NOT NULL,
	epoch     INTEGER NOT NULL,
	mechanism INTEGER NOT NULL,
	answer    BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX reports_by_campaign_epoch ON reports (campaign, epoch);
