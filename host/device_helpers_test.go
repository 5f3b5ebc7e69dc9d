package host

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// workoutsWasm scores Running (410) and Cycling (625) from workout events.
//
//go:generate wat2wasm testdata/device_workouts.wat -o testdata/device_workouts.wasm
//go:embed testdata/device_workouts.wasm
var workoutsWasm []byte

// Event vocabulary of the workouts test plugin.
const (
	kindWorkout = 3
	codeRun     = 1
	codeRide    = 2
)

// testCampaigns are weekly campaigns over the workouts plugin's
// categories. Weekly epochs start on Thursdays 00:00 UTC (Unix time began
// on a Thursday).
var testCampaigns = []campaign.Campaign{
	{ID: "runners", Name: "Runners", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
	{ID: "cyclists", Name: "Cyclists", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 625, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// newFakeClock starts on Monday 2026-11-23 09:00 UTC, 2 days 15 hours before
// the weekly epoch ends.
func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testAggregator is a real aggregator on 127.0.0.1 behind a switch that
// makes it unreachable, counting what reaches it.
type testAggregator struct {
	URL     string
	key     []byte        // the campaign-signing key devices are provisioned with
	pair    *wire.KeyPair // the HPKE key it serves at /v1/hpke-config
	store   store.Store
	down    atomic.Bool
	uploads atomic.Int64 // POST /v1/reports that reached the aggregator

	// configs, if set, is served for GET /v1/campaign-configs instead of
	// the aggregator's own list: an aggregator that publishes new versions,
	// or a compromised one that holds the signing key.
	configs atomic.Pointer[api.SignedCampaignList]

	mu    sync.Mutex
	posts []post // every POST /v1/reports that reached the aggregator
}

// post is one upload as the aggregator saw it.
type post struct {
	at      time.Time // the test clock when it arrived
	reports int       // reports in the request
	body    []byte    // the request body
}

// serve makes the aggregator serve these campaigns, signed with its
// campaign-signing key (validated first, as the aggregator would).
func (a *testAggregator) serve(t testing.TB, campaigns ...campaign.Campaign) {
	t.Helper()
	// The aggregator keeps its signing key's seed in its store (no key
	// encryption key in tests): whoever has the store can sign.
	seed, err := a.store.Secret(context.Background(), "campaign-signing-key-ed25519-v1", []byte{0})
	if err != nil {
		t.Fatal(err)
	}
	list := signedList(t, ed25519.NewKeyFromSeed(seed), campaigns...)
	a.configs.Store(&list)
}

// uploadsSeen returns the uploads that reached the aggregator so far.
func (a *testAggregator) uploadsSeen() []post {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]post(nil), a.posts...)
}

func startTestAggregator(t testing.TB, clock *fakeClock) *testAggregator {
	t.Helper()
	return startTestAggregatorWith(t, clock, testCampaigns)
}

// startTestAggregatorWith is startTestAggregator with other campaigns.
func startTestAggregatorWith(t testing.TB, clock *fakeClock, campaigns []campaign.Campaign) *testAggregator {
	t.Helper()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &testAggregator{pair: key}
	srv := aggregatortest.Start(t, aggregator.Config{Keys: []*wire.KeyPair{key}, Campaigns: campaigns, Now: clock.Now},
		func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if a.down.Load() {
					// Unreachable: drop the connection without an answer.
					if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
						conn.Close()
					}
					return
				}
				if list := a.configs.Load(); list != nil && r.Method == http.MethodGet && r.URL.Path == "/v1/campaign-configs" {
					b, _ := json.Marshal(list)
					w.Header().Set("Content-Type", "application/json")
					w.Write(b)
					return
				}
				if r.Method == http.MethodPost {
					a.uploads.Add(1)
				}
				if r.Method == http.MethodPost && r.URL.Path == "/v1/reports" {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					n := -1
					if b, err := wire.DecodeBatch(body); err == nil {
						n = len(b.Reports)
					}
					a.mu.Lock()
					a.posts = append(a.posts, post{at: clock.Now(), reports: n, body: body})
					a.mu.Unlock()
				}
				h.ServeHTTP(w, r)
			})
		})
	a.URL, a.key, a.store = srv.URL, srv.SigningKey(), srv.Store
	return a
}

// stored counts the reports the aggregator holds for campaign and epoch.
func (a *testAggregator) stored(t testing.TB, campaign string, epoch uint32) int {
	t.Helper()
	n := 0
	if err := a.store.Scan(context.Background(), campaign, epoch, func(store.Mechanism, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// author signs the test plugin; the device trusts it.
type author struct {
	key            sandbox.PrivateKey
	signedManifest []byte
}

func newAuthor(t testing.TB) author {
	t.Helper()
	key, err := sandbox.GenerateKey(sandbox.Ed25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sandbox.SignManifest(sandbox.Manifest{Name: "workouts", Version: "1.0.0", Categories: []uint32{410, 625}}, workoutsWasm, key)
	if err != nil {
		t.Fatal(err)
	}
	return author{key: key, signedManifest: signed}
}

// testDevice opens a device in dir with a fake clock, trusting a, talking
// to agg (nil: no aggregator), with no send delay; opts change the
// configuration further.
func testDevice(t testing.TB, dir string, clock *fakeClock, a author, agg *testAggregator, opts ...func(DeviceConfig) DeviceConfig) *Device {
	t.Helper()
	cfg := NewDeviceConfig().
		WithRuntime(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(a.key.Public()))).
		WithClock(clock.Now).
		WithSendDelay(0)
	if agg != nil {
		cfg = cfg.WithAggregator(agg.URL, &http.Client{Timeout: 5 * time.Second}).WithCampaignKey(agg.key)
	}
	for _, o := range opts {
		cfg = o(cfg)
	}
	d, err := Open(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

// readyDevice is a device with the workouts plugin installed, the plugin
// and both campaigns consented, and a week of running.
func readyDevice(t testing.TB, dir string, clock *fakeClock, agg *testAggregator) (*Device, author) {
	t.Helper()
	ctx := context.Background()
	a := newAuthor(t)
	d := testDevice(t, dir, clock, a, agg)
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Purpose{PluginPurpose("workouts"), CampaignPurpose("runners"), CampaignPurpose("cyclists")} {
		if err := d.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, d, clock.Now(), 5, 40)
	return d, a
}

// recordRuns records n daily runs of minutes each, ending at end.
func recordRuns(t testing.TB, d *Device, end time.Time, n int, minutes float64) {
	t.Helper()
	var events []Event
	for i := range n {
		events = append(events, Event{Kind: kindWorkout, Code: codeRun, Time: end.Add(-time.Duration(i) * 24 * time.Hour), Value: minutes})
	}
	if err := d.RecordEvents(context.Background(), "workouts", events); err != nil {
		t.Fatal(err)
	}
}
