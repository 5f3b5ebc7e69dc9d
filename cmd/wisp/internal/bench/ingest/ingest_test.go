package ingest_test

import (
	"context"
	"os"
	"testing"

	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
)

// TestRunSmall runs every measurement on a few reports: the figures are
// meaningless at this size, the plumbing is what is tested.
func TestRunSmall(t *testing.T) {
	rep, err := ingest.Run(context.Background(), ingest.Options{Reports: 300, Million: 500, MillionStore: "postgres",
		PostgresURL: postgresURL(t), Dir: t.TempDir(), Batch: 64, Clients: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hpke_open", "ingest_sqlite", "ingest_postgres", "population_end_to_end_postgres"}
	if len(rep.Results) != len(want) {
		t.Fatalf("results %+v", rep.Results)
	}
	for i, r := range rep.Results {
		if r.Name != want[i] || !(r.ReportsPerSecond > 0) {
			t.Errorf("result %d: %+v, want %s with a rate", i, r, want[i])
		}
		if (i == 1 || i == 2) && !(r.RatioToOpenBound > 0) {
			t.Errorf("%s has no ratio to the Open bound", r.Name)
		}
	}
}

// postgresURL is the test PostgreSQL, reached through a throwaway schema
// the benchmark does not use (it makes its own) — so the unreachable case
// skips or fails like every other PostgreSQL test.
func postgresURL(t *testing.T) string {
	storetest.PostgresDSN(t)
	if u := os.Getenv("WISP_POSTGRES_URL"); u != "" {
		return u
	}
	return storetest.DefaultPostgresURL
}
