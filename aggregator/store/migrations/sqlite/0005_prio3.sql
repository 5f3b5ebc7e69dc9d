-- Two-aggregator (prio3) mode, issue 16. prio3_reports is both roles'
-- replay authority: one row per report id, with its preparation outcome.
-- The leader stores a report 'pending' with what preparation needs (the
-- public share, its own opened input share, the helper's sealed share) and
-- clears those once the report is prepared; the helper stores only
-- outcomes. 'aggregated' rows keep the prep message, so a repeated job
-- gets the same answer without being counted again.
CREATE TABLE prio3_reports (
	id       BLOB PRIMARY KEY,
	campaign TEXT NOT NULL,
	epoch    INTEGER NOT NULL,
	state    TEXT NOT NULL CHECK (state IN ('pending', 'aggregated', 'rejected')),
	public   BLOB,
	leader   BLOB,
	helper   BLOB,
	message  BLOB
) WITHOUT ROWID;
CREATE INDEX prio3_reports_by_batch ON prio3_reports (campaign, epoch, state);
-- One aggregator's share of a (campaign, epoch) batch: the sum of its out
-- shares (prio.AggShare encoding) and how many reports it holds; noised is
-- the share with this aggregator's central noise, written once, at
-- collection: a batch is collected once and never noised again.
CREATE TABLE prio3_aggregates (
	campaign     TEXT NOT NULL,
	epoch        INTEGER NOT NULL,
	reports      INTEGER NOT NULL,
	share        BLOB NOT NULL,
	noised       BLOB,
	collected_at INTEGER,
	PRIMARY KEY (campaign, epoch)
) WITHOUT ROWID;
