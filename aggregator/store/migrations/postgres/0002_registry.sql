CREATE TABLE hpke_keys (
	id         smallint PRIMARY KEY CHECK (id BETWEEN 0 AND 255),
	private    bytea NOT NULL,
	state      text NOT NULL CHECK (state IN ('pending', 'active', 'expired')),
	created_at timestamptz NOT NULL,
	changed_at timestamptz NOT NULL
);
CREATE TABLE campaigns (
	id         text PRIMARY KEY,
	tenant     text NOT NULL,
	config     bytea NOT NULL,
	signature  bytea NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE TABLE releases (
	campaign    text NOT NULL,
	epoch       bigint NOT NULL,
	released_at timestamptz NOT NULL,
	body        bytea NOT NULL,
	PRIMARY KEY (campaign, epoch)
);
CREATE TABLE tokens (
	hash       bytea PRIMARY KEY,
	role       text NOT NULL,
	tenant     text NOT NULL,
	name       text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
