CREATE TABLE hpke_keys (
	id         INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 255),
	private    BLOB NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'active', 'expired')),
	created_at INTEGER NOT NULL,
	changed_at INTEGER NOT NULL
);
CREATE TABLE campaigns (
	id         TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	config     BLOB NOT NULL,
	signature  BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE releases (
	campaign    TEXT NOT NULL,
	epoch       INTEGER NOT NULL,
	released_at INTEGER NOT NULL,
	body        BLOB NOT NULL,
	PRIMARY KEY (campaign, epoch)
) WITHOUT ROWID;
CREATE TABLE tokens (
	hash       BLOB PRIMARY KEY,
	role       TEXT NOT NULL,
	tenant     TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
