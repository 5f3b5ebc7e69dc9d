-- The device store's first schema. Times are Unix milliseconds.
CREATE TABLE plugins (
	name         TEXT PRIMARY KEY,
	version      TEXT NOT NULL,
	author       TEXT NOT NULL,     -- author key text; '' for an unsigned development plugin
	author_name  TEXT NOT NULL,     -- the trust store's comment for the key
	manifest     BLOB NOT NULL,     -- the (signed) manifest file as installed
	wasm         BLOB NOT NULL,
	retention_ms INTEGER NOT NULL,
	installed_at INTEGER NOT NULL,
	scored_seq   INTEGER NOT NULL DEFAULT 0  -- last event seq the profile reflects
);
CREATE TABLE plugin_categories (
	plugin   TEXT NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
	category INTEGER NOT NULL,
	PRIMARY KEY (plugin, category)
) WITHOUT ROWID;
CREATE TABLE events (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	plugin TEXT NOT NULL,
	kind   INTEGER NOT NULL,
	code   INTEGER NOT NULL,
	at     INTEGER NOT NULL,
	value  REAL NOT NULL
);
CREATE INDEX events_by_plugin_at ON events (plugin, at);
CREATE TABLE profile (
	plugin     TEXT NOT NULL,
	category   INTEGER NOT NULL,
	value      REAL NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (plugin, category)
) WITHOUT ROWID;
CREATE TABLE consent (
	purpose    TEXT PRIMARY KEY,     -- 'plugin:<name>' or 'campaign:<id>'
	granted    INTEGER NOT NULL,
	changed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE consent_history (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	purpose TEXT NOT NULL,
	granted INTEGER NOT NULL,
	erased  INTEGER NOT NULL,
	at      INTEGER NOT NULL
);
CREATE TABLE campaigns (
	id         TEXT PRIMARY KEY,
	spec       BLOB NOT NULL,        -- the campaign's JSON as the aggregator served it
	fetched_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE answers (
	campaign    TEXT NOT NULL,
	epoch       INTEGER NOT NULL,
	epsilon     REAL NOT NULL,
	answered_at INTEGER NOT NULL,
	PRIMARY KEY (campaign, epoch)
) WITHOUT ROWID;
CREATE TABLE outbox (
	report_id    BLOB PRIMARY KEY,
	campaign     TEXT NOT NULL,
	epoch        INTEGER NOT NULL,
	category     INTEGER NOT NULL,  -- the question's category, so revoking a plugin finds its reports
	envelope     BLOB NOT NULL,     -- sealed; the device cannot read it back
	size         INTEGER NOT NULL,
	dummy        INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	not_before   INTEGER NOT NULL,  -- randomized send delay
	next_attempt INTEGER NOT NULL,  -- backoff
	expires_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	in_flight    INTEGER NOT NULL DEFAULT 0  -- claimed by a sender; in doubt after a crash
) WITHOUT ROWID;
CREATE TABLE egress (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	report_id BLOB NOT NULL,
	campaign  TEXT NOT NULL,
	epoch     INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	dummy     INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	outcome   TEXT NOT NULL        -- accepted, duplicate, rejected:<reason>, dropped:<why>
);
CREATE UNIQUE INDEX egress_once ON egress (report_id);
CREATE TABLE catalogue (
	id   TEXT PRIMARY KEY,
	spec BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE impressions (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	creative TEXT NOT NULL,
	campaign TEXT NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX impressions_by_campaign ON impressions (campaign, at);
