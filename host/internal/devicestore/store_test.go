package devicestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

func mustOpen(t *testing.T) (*devicestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "device.db")
	s, err := devicestore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestRetainDeletesOldEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if err := s.PutPlugin(ctx, devicestore.Plugin{Name: "p", Retention: 30 * 24 * time.Hour, Installed: now, Categories: []uint32{410}}); err != nil {
		t.Fatal(err)
	}
	events := []devicestore.Event{
		{Kind: 1, At: now.Add(-31 * 24 * time.Hour)},
		{Kind: 1, At: now.Add(-29 * 24 * time.Hour)},
		{Kind: 1, At: now},
	}
	if err := s.SetConsent(ctx, "plugin:p", true, false, now.Add(-40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvents(ctx, "p", events, now.Add(-40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Retain(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := s.Counts(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [2]int{n, counts["events"]}, [2]int{1, 2}; got != want {
		t.Errorf("deleted, left = %v, want %v", got, want)
	}
}
