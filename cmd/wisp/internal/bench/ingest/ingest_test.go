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

// TestRunQueueSmall runs the queue measurements on a few reports: each
// role is there with a rate, and the worker with its ratio to the bound.
func TestRunQueueSmall(t *testing.T) {
	rep, err := ingest.Run(context.Background(), ingest.Options{Reports: 300, Queue: true,
		PostgresURL: postgresURL(t), Dir: t.TempDir(), Batch: 64, Clients: 3})
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{"hpke_open": ingest.RoleWorker, "ingest_sqlite": ingest.RoleSingleProcess, "ingest_postgres": ingest.RoleSingleProcess,
		"queue_front_end": ingest.RoleFrontEnd, "queue_worker": ingest.RoleWorker, "queue_end_to_end_1w": ingest.RoleEndToEnd, "queue_end_to_end_2w": ingest.RoleEndToEnd}
	if len(rep.Results) != len(roles) {
		t.Fatalf("results %+v", rep.Results)
	}
	for _, r := range rep.Results {
		if roles[r.Name] != r.Role || !(r.ReportsPerSecond > 0) {
			t.Errorf("%+v: want role %q and a rate", r, roles[r.Name])
		}
		if r.Name == "queue_worker" && !(r.RatioToOpenBound > 0 && r.RatioToAdjacentBound > 0) {
			t.Errorf("queue_worker has no ratio to the Open bound or to the bound beside it: %+v", r)
		}
	}
}
