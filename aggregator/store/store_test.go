package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "agg.db") })
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) string { return "postgres:" + storetest.PostgresDSN(t) })
}

func TestOpenRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "sqlite:", "mysql:x", "postgres"} {
		if _, err := store.Open(context.Background(), spec); !errors.Is(err, store.ErrSpec) {
			t.Errorf("Open(%q) = %v, want ErrSpec", spec, err)
		}
	}
}

// TestSQLiteFileIsPrivate: a new store file, and the WAL and shared-memory
// files SQLite makes beside it, are readable by their owner only.
func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agg.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Secret(context.Background(), "x", []byte("y")); err != nil { // a write makes the WAL
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
