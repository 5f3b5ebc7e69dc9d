package host

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"testing"
	"time"
)

// tableCounts reads the device's SQLite files directly, not through the
// device, so a Forget is checked against what is really on disk.
func tableCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for file, tables := range map[string][]string{
		DeviceDB: {"events", "profile", "outbox", "answers", "impressions", "plugins", "consent_history", "egress"},
		LedgerDB: {"memo"},
	} {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, file)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, table := range tables {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
	}
	return out
}

func TestRetentionDeletesOldEvents(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	dir := t.TempDir()
	d, _ := readyDevice(t, dir, clock, nil) // 5 daily runs, the oldest 4 days ago
	tests := []struct {
		advance time.Duration
		want    int
	}{
		{0, 5},
		{25 * 24 * time.Hour, 5}, // oldest is 29 days old
		{2 * 24 * time.Hour, 4},  // oldest two are 31 and 30 days + 1h… 30d+ is deleted
		{10 * 24 * time.Hour, 0}, // all older than 30 days
	}
	for i, tt := range tests {
		clock.Advance(tt.advance)
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := tableCounts(t, dir)["events"]; got != tt.want {
			t.Errorf("step %d (%v): %d events on disk, want %d", i, clock.Now(), got, tt.want)
		}
	}
	// A shorter retention applies at once.
	recordRuns(t, d, clock.Now(), 3, 30)
	if err := d.SetRetention(ctx, "workouts", 36*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := tableCounts(t, dir)["events"]; got != 2 {
		t.Errorf("after SetRetention(36h): %d events, want 2", got)
	}
}

func TestProfileDecaysWithoutEvidence(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(t, t.TempDir(), clock, nil)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := d.Interests(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 200.0 / 260 // 5 runs of 40 minutes: m / (m + 60)
	if math.Abs(first[0].Score-want) > 1e-6 {
		t.Fatalf("score = %v, want %v", first[0].Score, want)
	}
	clock.Advance(7 * 24 * time.Hour) // one half-life
	later, err := d.Interests(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(later[0].Score-want/2) > 1e-6 {
		t.Errorf("after a half-life score = %v, want %v", later[0].Score, want/2)
	}
}

func TestForgetLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	dir := t.TempDir()
	d, _ := readyDevice(t, dir, clock, agg)
	if _, err := d.Flush(ctx); err != nil { // answer both campaigns, send them
		t.Fatal(err)
	}
	d.cfg = d.cfg.WithSendDelay(time.Hour)
	clock.Advance(7 * 24 * time.Hour) // next epoch: answers queued, not sent
	recordRuns(t, d, clock.Now(), 2, 30)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	before := tableCounts(t, dir)
	for _, table := range []string{"events", "profile", "outbox", "answers", "memo"} {
		if before[table] == 0 {
			t.Fatalf("before Forget, %s is empty: the test proves nothing (%v)", table, before)
		}
	}

	// One plugin: its events, profile and the queued reports about its
	// categories go.
	if err := d.Forget(ctx, "workouts"); err != nil {
		t.Fatal(err)
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := tableCounts(t, dir)
	for _, table := range []string{"events", "profile", "outbox"} {
		if after[table] != 0 || st.Stored[table] != 0 {
			t.Errorf("after Forget(workouts): %s has %d rows on disk, status says %d; want 0", table, after[table], st.Stored[table])
		}
	}

	// Everything: answers and memoized answers go too; what protects and
	// informs the owner stays.
	if err := d.Forget(ctx, ""); err != nil {
		t.Fatal(err)
	}
	after = tableCounts(t, dir)
	for _, table := range []string{"events", "profile", "outbox", "answers", "impressions", "memo"} {
		if after[table] != 0 {
			t.Errorf("after Forget(all): %s has %d rows, want 0", table, after[table])
		}
	}
	for _, table := range []string{"plugins", "consent_history", "egress"} {
		if after[table] != before[table] && table != "egress" {
			t.Errorf("Forget(all) changed %s: %d → %d rows", table, before[table], after[table])
		}
	}
	// The ledger stays: the forgotten epoch is not answered again.
	recordRuns(t, d, clock.Now(), 2, 30)
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 0 {
		t.Errorf("after Forget the device answered %d campaigns again in the same epoch", sum.Answered)
	}
}
