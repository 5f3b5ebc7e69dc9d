package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"
	"github.com/wisp-project/wisp/host/sandbox"
)

func testCatalogue() Catalogue {
	day := 24 * time.Hour
	return Catalogue{
		Creatives: []Creative{
			{ID: "shoes", Campaign: "run-shop", Categories: []uint32{410}, MinScore: 0.5, Cap: FrequencyCap{Max: 3, Window: day}},
			{ID: "socks", Campaign: "run-shop", Categories: []uint32{410}, MinScore: 0.7},
			{ID: "bikes", Campaign: "bike-shop", Categories: []uint32{625}, MinScore: 0.2, Cap: FrequencyCap{Max: 3, Window: day}},
			{ID: "gels", Campaign: "gel-maker", Categories: []uint32{410, 625}, MinScore: 0.1, Cap: FrequencyCap{Max: 4, Window: day}},
		},
		Cap:   FrequencyCap{Max: 5, Window: day},
		Quiet: QuietHours{From: 22 * 60, To: 7 * 60},
	}
}

func TestTargetingRelevantLocally(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(t, t.TempDir(), clock, nil) // Running ≈ 0.77, Cycling 0
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.SetCatalogue(ctx, testCatalogue()); err != nil {
		t.Fatal(err)
	}
	got, err := d.Relevant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.Creative.ID)
	}
	if want := "gels,shoes,socks"; strings.Join(ids, ",") != want {
		t.Errorf("relevant = %s, want %s (bikes needs Cycling)", strings.Join(ids, ","), want)
	}
	bikesOnly := testCatalogue()
	bikesOnly.Creatives = bikesOnly.Creatives[2:3]
	if err := d.SetCatalogue(ctx, bikesOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Pick(ctx); !errors.Is(err, ErrNothingRelevant) || !errors.Is(err, ErrFrequencyCap) || errors.Is(err, ErrAllCapped) {
		t.Errorf("Pick with only bikes (needs Cycling) = %v, want ErrNothingRelevant", err)
	}
}

func TestTargetingQuietHours(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(t, t.TempDir(), clock, nil)
	d.RunOnce(ctx)
	d.SetCatalogue(ctx, testCatalogue())
	tests := []struct {
		at    time.Duration // after 09:00
		quiet bool
	}{{0, false}, {12*time.Hour + 59*time.Minute, false}, {13 * time.Hour, true}, {21*time.Hour + 59*time.Minute, true}, {22 * time.Hour, false}}
	start := clock.Now()
	for _, tt := range tests {
		clock.t = start.Add(tt.at)
		_, err := d.Pick(ctx)
		if got := errors.Is(err, ErrQuietHours) && errors.Is(err, ErrFrequencyCap); got != tt.quiet {
			t.Errorf("at %s: Pick err = %v, want quiet=%v", clock.Now().Format("15:04"), err, tt.quiet)
		}
	}
}

// TestFrequencyCapsUnderConcurrency: many goroutines pick at once; the
// global cap (5 a day) and each campaign's cap hold exactly.
func TestFrequencyCapsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(t, t.TempDir(), clock, nil)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.SetCatalogue(ctx, testCatalogue()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	shown := map[string]int{}
	capped := 0
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := d.Pick(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrAllCapped) && errors.Is(err, ErrFrequencyCap):
				capped++
			case err != nil:
				t.Error(err)
			default:
				shown[c.Campaign]++
			}
		}()
	}
	wg.Wait()
	// gels, shoes and socks tie on relevance (Running ≈ 0.77); gels wins
	// the tie by id until its campaign cap (4), then run-shop fills the
	// global cap (5).
	if shown["gel-maker"] != 4 || shown["run-shop"] != 1 || len(shown) != 2 || capped != 27 {
		t.Errorf("shown %v, capped %d; want gel-maker 4 (its cap), run-shop 1 (the global cap of 5), 27 capped", shown, capped)
	}
	clock.Advance(24 * time.Hour) // a new window
	if _, err := d.Pick(ctx); err != nil {
		t.Errorf("after the cap window: %v", err)
	}
}

func TestSignedCatalogue(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthor(t)
	cfg := NewDeviceConfig().WithRuntime(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(a.key.Public()))).
		WithClock(clock.Now).WithCampaignKey(pub)
	d, err := Open(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	body, _ := json.Marshal(testCatalogue())
	sig := ed25519.Sign(priv, append([]byte(catalogueContext), body...))
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] ^= 1
	tests := []struct {
		name      string
		body, sig []byte
		ok        bool
	}{
		{"signed", body, sig, true},
		{"tampered", tampered, sig, false},
		{"unsigned", body, nil, false},
	}
	for _, tt := range tests {
		err := d.SetSignedCatalogue(ctx, tt.body, tt.sig)
		if got := err == nil; got != tt.ok || (!tt.ok && !errors.Is(err, ErrBadCatalogue)) {
			t.Errorf("%s: SetSignedCatalogue = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// A catalogue the device cannot honour as written is refused, not read
// loosely: before, a cap of -1 meant no cap at all.
func TestSetCatalogueRefusesWhatItCannotHonour(t *testing.T) {
	ctx := context.Background()
	d, _ := readyDevice(t, t.TempDir(), newFakeClock(), nil)
	for name, spoil := range map[string]func(*Catalogue){
		"negative global cap":      func(c *Catalogue) { c.Cap.Max = -1 },
		"negative global window":   func(c *Catalogue) { c.Cap.Window = -time.Hour },
		"negative creative cap":    func(c *Catalogue) { c.Creatives[0].Cap.Max = -3 },
		"negative creative window": func(c *Catalogue) { c.Creatives[2].Cap.Window = -1 },
		"quiet from before 00:00":  func(c *Catalogue) { c.Quiet.From = -60 },
		"quiet to past 24:00":      func(c *Catalogue) { c.Quiet.To = 24 * 60 },
		"min_score above 1":        func(c *Catalogue) { c.Creatives[1].MinScore = 1.5 },
		"duplicate id":             func(c *Catalogue) { c.Creatives[1].ID = c.Creatives[0].ID },
		"no categories":            func(c *Catalogue) { c.Creatives[3].Categories = nil },
	} {
		c := testCatalogue()
		spoil(&c)
		if err := d.SetCatalogue(ctx, c); !errors.Is(err, ErrBadCatalogue) {
			t.Errorf("%s: SetCatalogue = %v, want ErrBadCatalogue", name, err)
		}
	}
	if err := d.SetCatalogue(ctx, testCatalogue()); err != nil {
		t.Fatal(err)
	}
	edges := testCatalogue()
	edges.Quiet = QuietHours{From: 0, To: 24*60 - 1}
	if err := d.SetCatalogue(ctx, edges); err != nil {
		t.Errorf("quiet hours 00:00–23:59: %v", err)
	}
}
