CREATE TABLE reports (
	id        bytea PRIMARY KEY,
	campaign  text NOT NULL,
	epoch     bigint NOT NULL,
	mechanism smallint NOT NULL,
	answer    bytea NOT NULL
);
CREATE INDEX reports_by_campaign_epoch ON reports (campaign, epoch);
