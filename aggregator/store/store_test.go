package store_test

import (
	"context"
	"errors"
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
