-- Report tokens (Privacy Pass, issue 16 item 7). report_token_issuances is
-- an issuer's record of the one token it signed per (device, campaign,
-- epoch): the SHA-256 of the blinded message it signed, so a retry of the
-- same request gets the same answer and any other is refused.
CREATE TABLE report_token_issuances (
	device    TEXT NOT NULL,
	campaign  TEXT NOT NULL,
	epoch     INTEGER NOT NULL,
	blinded   BLOB NOT NULL,
	issued_at INTEGER NOT NULL,
	PRIMARY KEY (device, campaign, epoch)
) WITHOUT ROWID;
-- report_token_nonces is an aggregator's record of the token nonces it has
-- redeemed, per campaign epoch, each with the report that redeemed it: a
-- claim by the same report again (a resent upload, a repeated job) holds,
-- a claim by any other report is a reused token.
CREATE TABLE report_token_nonces (
	campaign TEXT NOT NULL,
	epoch    INTEGER NOT NULL,
	nonce    BLOB NOT NULL,
	report   BLOB NOT NULL,
	PRIMARY KEY (campaign, epoch, nonce)
) WITHOUT ROWID;
-- The leader keeps a pending prio3 report's token to forward it to the
-- helper with the report; cleared with the shares once prepared.
ALTER TABLE prio3_reports ADD COLUMN token BLOB;
