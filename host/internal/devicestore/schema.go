package devicestore

import (
	"embed"

	"github.com/wisp-project/wisp/internal/migrate"
)

// The schema is the numbered files in migrations/ (package migrate), applied
// in order; PRAGMA user_version records how many ran. Times are Unix
// milliseconds. Never edit a shipped migration: add a file.
//
//go:embed migrations
var migrationFS embed.FS

var migrations = migrate.MustLoad(migrationFS, "migrations")
