-- Report tokens (Privacy Pass, issue 16 item 7); see the SQLite file.
CREATE TABLE report_token_issuances (
	device    text NOT NULL,
	campaign  text NOT NULL,
	epoch     bigint NOT NULL,
	blinded   bytea NOT NULL,
	issued_at timestamptz NOT NULL,
	PRIMARY KEY (device, campaign, epoch)
);
CREATE TABLE report_token_nonces (
	campaign text NOT NULL,
	epoch    bigint NOT NULL,
	nonce    bytea NOT NULL,
	report   bytea NOT NULL,
	PRIMARY KEY (campaign, epoch, nonce)
);
ALTER TABLE prio3_reports ADD COLUMN token bytea;
