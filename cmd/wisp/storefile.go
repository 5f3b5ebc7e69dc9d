package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wisp-project/wisp/aggregator/store"
)

// sqlitePath is the file of a sqlite:PATH store spec, or "" for another kind.
func sqlitePath(spec string) string {
	if p, ok := strings.CutPrefix(spec, "sqlite:"); ok {
		return strings.TrimPrefix(p, "file:")
	}
	return ""
}

// sqliteFile is the database file of a sqlite:PATH store spec without
// its ?options, or "" for another kind or an in-memory database.
func sqliteFile(spec string) string {
	p, _, _ := strings.Cut(sqlitePath(spec), "?")
	if p == ":memory:" {
		return ""
	}
	return p
}

// mustExist refuses a SQLite store whose file does not exist, so a
// command that only reads (tokens list, keys list) never creates one from
// a typo. (A PostgreSQL database is created by its operator, not by us.)
func mustExist(spec string) error {
	p := sqliteFile(spec)
	if p == "" {
		return nil
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no such store: %s (there is no file %s; `wisp aggregator serve --store %s` creates one)", spec, p, spec)
	}
	return nil
}

// openExisting opens a store that must already exist.
func openExisting(ctx context.Context, spec string) (store.Store, error) {
	if err := mustExist(spec); err != nil {
		return nil, err
	}
	return store.Open(ctx, spec)
}

// undoNewStore returns a function that removes the SQLite store spec
// names (and its -wal and -shm files) if it does not exist now: a command
// that creates a store and then fails calls it, leaving nothing behind.
func undoNewStore(spec string) func() {
	p := sqlitePath(spec)
	if p == "" || p == ":memory:" || strings.ContainsRune(p, '?') {
		return func() {}
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		return func() {}
	}
	return func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(p + suffix)
		}
	}
}

// undoNewDir returns a function that removes what was created in dir
// since the call: dir itself if it did not exist, else the entries that
// are new. device init calls it when it fails.
func undoNewDir(dir string) func() {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		// Remove the topmost directory we create, not only dir.
		top := dir
		for parent := filepath.Dir(top); parent != top; parent = filepath.Dir(top) {
			if _, err := os.Stat(parent); err == nil {
				break
			}
			top = parent
		}
		return func() { os.RemoveAll(top) }
	}
	had := map[string]bool{}
	for _, e := range entries {
		had[e.Name()] = true
	}
	return func() {
		now, _ := os.ReadDir(dir)
		for _, e := range now {
			if !had[e.Name()] {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
	}
}
