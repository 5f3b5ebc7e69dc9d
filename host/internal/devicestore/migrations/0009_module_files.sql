-- A plugin's module moves out of the database into a file named by its
-- SHA-256 (host.Device's modules/ folder): writing megabytes into the WAL,
-- then again at the checkpoint, was most of an install's cost. A row keeps
-- the digest, which the module read back must hash to. Rows from before
-- keep their bytes in wasm, with an empty sha256, until the device moves
-- them out (Store.MoveModuleOut).
ALTER TABLE plugin_modules ADD COLUMN sha256 BLOB NOT NULL DEFAULT x'';
