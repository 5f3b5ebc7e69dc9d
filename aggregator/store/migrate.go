package store

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// Migrations are numbered SQL files, one directory per dialect, applied in
// order and never edited once released: a schema change is a new file.
//
//go:embed migrations
var migrationFS embed.FS

// migrations returns dialect's migration scripts in order.
func migrations(dialect string) ([]string, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	scripts := make([]string, len(names))
	for i, n := range names {
		if want := fmt.Sprintf("%04d_", i+1); len(n) < 5 || n[:5] != want {
			return nil, fmt.Errorf("store: migration %s/%s is not numbered %s", dialect, n, want)
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+n)
		if err != nil {
			return nil, err
		}
		scripts[i] = string(b)
	}
	return scripts, nil
}
