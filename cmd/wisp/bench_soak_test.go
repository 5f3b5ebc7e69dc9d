package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/soak"
)

// TestSoakSmall runs the soak for 20 s with a SIGKILL every 8 s (two,
// one per node, unless a loaded machine makes a restart slow): every
// report sent is stored exactly once and counted.
func TestSoakSmall(t *testing.T) {
	storetest.PostgresDSN(t) // skips (with the reason) or fails under CI when PostgreSQL is unreachable
	base := os.Getenv("WISP_POSTGRES_URL")
	if base == "" {
		base = storetest.DefaultPostgresURL
	}
	rep, err := soak.Run(context.Background(), soak.Options{Duration: 20 * time.Second, KillEvery: 8 * time.Second,
		Command: []string{os.Args[0]}, Env: []string{cliEnv + "=1"}, PostgresURL: base, Dir: t.TempDir(),
		Senders: 3, Batch: 10, Slow: 2, Progress: func(l string) { t.Log(l) }, NodeLog: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Kills < 1 {
		t.Errorf("%d kills, want at least 1", rep.Kills)
	}
	if rep.Sent == 0 || rep.ReplayedBatches == 0 || rep.MalformedSent == 0 || rep.SlowConnections == 0 {
		t.Errorf("some traffic is missing: %+v", rep)
	}
	if !rep.OK() {
		t.Errorf("not kept: sent %d, acknowledged %d + %d, stored %d, counted %d, lost %d, double %d, malformed refused %d of %d",
			rep.Sent, rep.Acknowledged, rep.CommittedUnanswered, rep.Stored, rep.Counted, rep.Lost, rep.Double, rep.MalformedRejected, rep.MalformedSent)
	}
	if rep.MaxRSSKiB[0] == 0 || rep.MaxRSSKiB[1] == 0 {
		t.Errorf("no RSS read: %v", rep.MaxRSSKiB)
	}
}
