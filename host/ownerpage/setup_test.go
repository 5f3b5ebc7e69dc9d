package ownerpage_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/ownerpage"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// clock is a clock the test moves by hand; it starts on Monday 2026-11-23
// 09:00 UTC, within a weekly epoch.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// The categories the workouts plugin scores.
const (
	running = 410 // Interest | Healthy Living | Fitness and Exercise | Running and Jogging
	cycling = 625 // Interest | Sports | Cycling
)

// campaigns are weekly yes/no questions the workouts plugin can answer.
var campaigns = []campaign.Campaign{
	{ID: "runners", Name: "Running shoes", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: running, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
	{ID: "cyclists", Name: "Bike fitting", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: cycling, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
}

// world is a real aggregator (counting every request that reaches it), a
// device with the workouts plugin that answered both campaigns once, and
// the owner's page served on 127.0.0.1.
type world struct {
	clock    *clock
	agg      *aggregatortest.Server
	requests atomic.Int64 // every request that reached the aggregator
	dev      *host.Device
	page     *ownerpage.Page
	url      string // the page's base URL, ending in /
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{clock: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w.agg = aggregatortest.Start(t, aggregator.Config{Keys: []*wire.KeyPair{key}, Campaigns: campaigns, Now: w.clock.Now},
		func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				w.requests.Add(1)
				h.ServeHTTP(rw, r)
			})
		})
	cfg := host.NewDeviceConfig().WithUnsignedPlugins(true).WithClock(w.clock.Now).WithSendDelay(0).
		WithAggregator(w.agg.URL, &http.Client{Timeout: 5 * time.Second}).WithCampaignKey(w.agg.SigningKey())
	if w.dev, err = host.Open(ctx, t.TempDir(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.dev.Close(ctx) })
	// The host's tests' WAT plugin: it scores Running (410) and Cycling
	// (625) from workouts, and compiles in milliseconds.
	wasm, err := os.ReadFile("../testdata/device_workouts.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.dev.InstallUnsigned(ctx, sandbox.Manifest{Name: "workouts", Version: "1.0.0", Categories: []uint32{running, cycling}}, wasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []host.Purpose{host.PluginPurpose("workouts"), host.CampaignPurpose("runners"), host.CampaignPurpose("cyclists")} {
		if err := w.dev.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var events []host.Event
	for i := range 5 { // five runs of 45 minutes, one a day
		events = append(events, host.Event{Kind: 3, Code: 1, Time: w.clock.Now().Add(-time.Duration(i) * 24 * time.Hour), Value: 45})
	}
	if err := w.dev.RecordEvents(ctx, "workouts", events); err != nil {
		t.Fatal(err)
	}
	if sum, err := w.dev.RunOnce(ctx); err != nil || sum.Answered != 2 || sum.Sent != 2 {
		t.Fatalf("first pass: %+v, %v; want both campaigns answered and sent", sum, err)
	}
	if w.page, err = ownerpage.New(w.dev, ownerpage.Options{}); err != nil {
		t.Fatal(err)
	}
	w.url = serve(t, w.page)
	return w
}

// serve runs h on 127.0.0.1 for the test and returns its base URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// stored counts the reports the aggregator holds for a campaign's epoch.
func (w *world) stored(t *testing.T, id string, at time.Time) int {
	t.Helper()
	n := 0
	err := w.agg.Store.Scan(context.Background(), id, campaigns[0].Epoch(at), func(store.Mechanism, []byte) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}
