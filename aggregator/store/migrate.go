package store

import (
	"embed"

	"github.com/wisp-project/wisp/internal/migrate"
)

// Migrations are numbered SQL files, one directory per dialect, applied in
// order by package migrate and never edited once released: a schema
// change is a new file in both directories.
//
//go:embed migrations
var migrationFS embed.FS

// migrations returns dialect's migrations in order.
func migrations(dialect string) ([]migrate.Migration, error) {
	return migrate.Load(migrationFS, "migrations/"+dialect)
}
