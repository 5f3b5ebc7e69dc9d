package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/aggregator/store"
)

func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func report(id byte, campaign string, epoch uint32, answer byte) store.Report {
	return store.Report{ID: [16]byte{id}, Campaign: campaign, Epoch: epoch, Mechanism: 1, Answer: []byte{answer}}
}

// testStore is the behaviour every Store must have.
func testStore(t *testing.T, s store.Store) {
	ctx := context.Background()
	fresh, err := s.Insert(ctx, []store.Report{report(1, "a", 5, 1), report(2, "a", 5, 0), report(3, "a", 6, 1), report(4, "b", 5, 1), report(1, "b", 9, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, true, true, false}; !equal(fresh, want) {
		t.Fatalf("fresh = %v, want %v (same id in one batch is a replay)", fresh, want)
	}
	fresh, err = s.Insert(ctx, []store.Report{report(2, "a", 5, 1), report(7, "a", 5, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true}; !equal(fresh, want) {
		t.Fatalf("fresh = %v, want %v (replay across batches)", fresh, want)
	}
	epochs, err := s.Epochs(ctx, "a")
	if err != nil || len(epochs) != 2 || epochs[0] != 5 || epochs[1] != 6 {
		t.Fatalf("Epochs(a) = %v, %v; want [5 6]", epochs, err)
	}
	var n, ones int
	err = s.Scan(ctx, "a", 5, func(mech uint8, answer []byte) error {
		n++
		ones += int(answer[0])
		return nil
	})
	if err != nil || n != 3 || ones != 2 {
		t.Fatalf("Scan(a, 5) saw %d reports with %d ones (%v); want 3 and 2 (replay must not overwrite)", n, ones, err)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSQLite(t *testing.T) {
	testStore(t, openSQLite(t, filepath.Join(t.TempDir(), "reports.db")))
}

func TestSQLiteSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reports.db")
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(ctx, []store.Report{report(1, "a", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openSQLite(t, path)
	fresh, err := s2.Insert(ctx, []store.Report{report(1, "a", 1, 1)})
	if err != nil || fresh[0] {
		t.Fatalf("after reopen, replay not detected: %v %v", fresh, err)
	}
}
