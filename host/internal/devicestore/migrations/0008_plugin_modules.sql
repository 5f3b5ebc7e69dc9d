-- A plugin's module bytes move to a table of their own: an update of a
-- plugins row (its scoring progress, after every pass) rewrote the whole
-- row, the module's megabytes included.
CREATE TABLE plugin_modules (
	plugin TEXT PRIMARY KEY REFERENCES plugins (name) ON DELETE CASCADE,
	wasm   BLOB NOT NULL
);
INSERT INTO plugin_modules (plugin, wasm) SELECT name, wasm FROM plugins;
ALTER TABLE plugins DROP COLUMN wasm;
