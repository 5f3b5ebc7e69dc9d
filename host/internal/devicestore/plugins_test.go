package devicestore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// TestPluginsCategoriesOneStatement: Plugins returns each plugin's own
// categories in order (nil for none) from one statement, with no
// transaction.
func TestPluginsCategoriesOneStatement(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, p := range []devicestore.Plugin{
		{Name: "b", Categories: []uint32{1200, 7, 410}},
		{Name: "a", Categories: []uint32{4294967295, 3}},
		{Name: "c"},
	} {
		p.Installed = now
		if err := s.PutPlugin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	list, err := s.Plugins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]uint32{}
	var names []string
	for _, p := range list {
		got[p.Name], names = p.Categories, append(names, p.Name)
	}
	want := map[string][]uint32{"a": {3, 4294967295}, "b": {7, 410, 1200}, "c": nil}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Fatalf("plugins %v with categories %v, want a, b, c with %v", names, got, want)
	}
	if st := s.Stats().Sub(before); st.Writes != 0 || st.Reads != 0 || st.Implicit != 1 {
		t.Fatalf("Plugins ran %+v, want one statement on its own", st)
	}
}

// TestCampaignByID: the one pinned campaign asked for, as Campaigns lists
// it, and ErrNotFound for an id not pinned.
func TestCampaignByID(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	sync := devicestore.CampaignSync{
		Put: []devicestore.Campaign{
			{ID: "x", Spec: []byte(`{"id":"x"}`), Fetched: now, Version: 2, Digest: []byte{1}},
			{ID: "y", Spec: []byte(`{"id":"y"}`), Fetched: now, Version: 5, Digest: []byte{2}},
		},
		Served: []string{"x", "y"},
		Meta:   map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2")},
	}
	before := s.Stats()
	if err := s.SyncCampaigns(ctx, sync, now); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats().Sub(before); st.Writes != 1 {
		t.Fatalf("a sync with meta values began %d write transactions, want 1", st.Writes)
	}
	for k, v := range sync.Meta {
		if got, err := s.Meta(ctx, k); err != nil || string(got) != string(v) {
			t.Fatalf("meta %s = %q, %v; want %q", k, got, err, v)
		}
	}
	all, err := s.Campaigns(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("campaigns %v, %v", all, err)
	}
	y, err := s.CampaignByID(ctx, "y")
	if err != nil || !reflect.DeepEqual(y, all[1]) || y.Version != 5 {
		t.Fatalf("campaign y %+v, %v; want %+v", y, err, all[1])
	}
	if _, err := s.CampaignByID(ctx, "z"); !errors.Is(err, devicestore.ErrNotFound) {
		t.Fatalf("campaign z: %v, want ErrNotFound", err)
	}
}
