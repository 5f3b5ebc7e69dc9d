-- Two-aggregator (prio3) mode, issue 16; see the SQLite file for the model.
CREATE TABLE prio3_reports (
	id       bytea PRIMARY KEY,
	campaign text NOT NULL,
	epoch    bigint NOT NULL,
	state    text NOT NULL CHECK (state IN ('pending', 'aggregated', 'rejected')),
	public   bytea,
	leader   bytea,
	helper   bytea,
	message  bytea
);
CREATE INDEX prio3_reports_by_batch ON prio3_reports (campaign, epoch, state);
CREATE TABLE prio3_aggregates (
	campaign     text NOT NULL,
	epoch        bigint NOT NULL,
	reports      bigint NOT NULL,
	share        bytea NOT NULL,
	noised       bytea,
	collected_at timestamptz,
	PRIMARY KEY (campaign, epoch)
);
