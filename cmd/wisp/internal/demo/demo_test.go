package demo_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

func TestDemoCampaignsAreValid(t *testing.T) {
	list, err := campaign.ParseList(demo.Campaigns, taxonomy.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 10 {
		t.Fatalf("demo has %d campaigns, want every scenario's", len(list))
	}
}

// TestClassPluginsMatchTheirManifests: the demo installs each plugin with
// the categories its manifest in plugins/ declares.
func TestClassPluginsMatchTheirManifests(t *testing.T) {
	for class, p := range demo.ClassPlugins() {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "plugins", p.Plugin, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Categories []uint32 `json:"categories"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Categories, p.Categories) {
			t.Errorf("%s: demo installs %s with categories %v, its manifest declares %v", class, p.Plugin, p.Categories, m.Categories)
		}
	}
}

// population runs the demo on a population just large enough that every
// class clears the campaigns' k = 50.
func population(t *testing.T, seed uint64) demo.Result {
	t.Helper()
	opts := demo.DefaultOptions()
	opts.Devices, opts.Seed = 560, seed
	var mu sync.Mutex
	phases := map[demo.Phase]int{}
	opts.Progress = func(ph demo.Phase, n, total int) {
		mu.Lock()
		defer mu.Unlock()
		phases[ph] = max(phases[ph], n)
	}
	res, err := demo.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if phases[demo.PhaseDevices] != opts.Devices || phases[demo.PhaseRelease] != 1 || phases[demo.PhaseCompile] == 0 {
		t.Errorf("progress per phase %v, want every phase to finish", phases)
	}
	return res
}

// TestPopulation runs the whole path on a mixed population over two seeds:
// every device class through the real device runtime and its real plugin,
// sealed reports over real HTTP into a real aggregator, offers picked on
// the devices from a signed catalogue.
func TestPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 1,120 devices through the device runtime; skipped with -short")
	}
	covered, rows := 0, 0
	for _, seed := range []uint64{1, 2} {
		res := population(t, seed)
		classes := 0
		devices := map[string]int{}
		for _, c := range res.DeviceClasses {
			devices[c.Class] = c.Devices
			if c.Devices == 0 || c.Reports < c.Devices {
				t.Errorf("seed %d: class %s: %d devices sent %d reports: every class must run and answer", seed, c.Class, c.Devices, c.Reports)
			}
			classes++
		}
		if classes != 6 {
			t.Errorf("seed %d: %d device classes, want 6", seed, classes)
		}
		answered := map[string]bool{}
		for _, s := range res.Segments {
			rows++
			if s.Covered {
				covered++
			}
			if s.CategoryName == "" || s.Class == "" {
				t.Errorf("seed %d: %s: category name %q, class %q: every row names both", seed, s.Campaign, s.CategoryName, s.Class)
			}
			if s.Reports < 50 {
				t.Errorf("seed %d: %s: %d reports: every scenario campaign must be answered and released", seed, s.Campaign, s.Reports)
				continue
			}
			answered[s.Campaign] = true
			answering := 0 // the devices of the classes that answer it ("speaker+tv")
			for _, c := range strings.Split(s.Class, "+") {
				answering += devices[c]
			}
			// The plugin scored: some of the class's devices, not all, clear a threshold.
			if s.Question == "threshold" && (s.Truth <= 0 || s.Truth >= float64(answering)) {
				t.Errorf("seed %d: %s: truth %v of %d %s devices: want some but not all", seed, s.Campaign, s.Truth, answering, s.Class)
			}
			if s.Reports != answering {
				t.Errorf("seed %d: %s: %d reports, want one from each of the %d %s devices", seed, s.Campaign, s.Reports, answering, s.Class)
			}
			// The interval is ±1.96 SE; 4 SE apart would be a 1-in-15,000 event.
			se := (s.CIHigh - s.CILow) / 2 / 1.96
			if !(se > 0) || math.Abs(s.Estimate-s.Truth) > 4*se {
				t.Errorf("seed %d: %s %s: estimate %.3f is more than 4 SE (%.3f) from the truth %v", seed, s.Campaign, s.CategoryName, s.Estimate, se, s.Truth)
			}
		}
		list, _ := campaign.ParseList(demo.Campaigns, taxonomy.Default())
		for _, c := range list {
			if !answered[c.ID] {
				t.Errorf("seed %d: campaign %s has no released segment", seed, c.ID)
			}
		}
		// Offers: counted by the simulation from the owners' hidden traits.
		for _, o := range res.Offers {
			if o.Shown == 0 || o.Precision < 0.8 || o.Recall < 0.5 {
				t.Errorf("seed %d: offer %s: shown %d, precision %.2f, recall %.2f: want shown, precision ≥ 0.8, recall ≥ 0.5", seed, o.Campaign, o.Shown, o.Precision, o.Recall)
			}
			if o.Shown+o.SuppressedByThreshold+o.SuppressedByCap+o.SuppressedByQuietHours != o.Moments {
				t.Errorf("seed %d: offer %s: %d moments, but %d shown and %d+%d+%d suppressed", seed, o.Campaign, o.Moments, o.Shown,
					o.SuppressedByThreshold, o.SuppressedByCap, o.SuppressedByQuietHours)
			}
			if o.SuppressedByThreshold == 0 || o.SuppressedByCap == 0 || o.SuppressedByQuietHours == 0 {
				t.Errorf("seed %d: offer %s: suppressed %d by threshold, %d by cap, %d by quiet hours: each rule should have refused some", seed, o.Campaign,
					o.SuppressedByThreshold, o.SuppressedByCap, o.SuppressedByQuietHours)
			}
		}
		a := res.AisleFour
		if a.Passes == 0 || a.SentByMarketer != 0 || a.SuppressedByThreshold == 0 || a.ShownAsRelevantOffer+a.SuppressedByThreshold+a.SuppressedByCap+a.SuppressedByQuiet != a.Passes {
			t.Errorf("seed %d: aisle-4 push %+v: every pass is accounted for, none sent, some suppressed", seed, a)
		}
		// What the devices sent, inspected on arrival.
		if res.ReportsReceived != res.Reports || res.ReportsCarryingMembership != 0 {
			t.Errorf("seed %d: %d reports received of %d sent, %d carrying membership: want all, and none", seed, res.ReportsReceived, res.Reports, res.ReportsCarryingMembership)
		}
	}
	// About the nominal 95% over both seeds; 80% leaves room for chance.
	if float64(covered) < 0.8*float64(rows) {
		t.Errorf("%d of %d intervals cover the truth, want about 95%%", covered, rows)
	}
}

func TestRejectsBadOptions(t *testing.T) {
	opts := demo.DefaultOptions()
	opts.Devices = 0
	if _, err := demo.Run(context.Background(), opts); err == nil {
		t.Fatal("Run accepted 0 devices")
	}
}

// BenchmarkDemo is one run of the demo on 1,000 devices.
func BenchmarkDemo(b *testing.B) {
	opts := demo.DefaultOptions()
	opts.Devices = 1000
	for b.Loop() {
		if _, err := demo.Run(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
}
