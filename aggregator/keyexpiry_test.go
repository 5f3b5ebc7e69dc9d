package aggregator_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// expiryWithin is how soon a key expired on one node must be refused on
// every other (issue 15, row 7: one second), plus slack for a loaded
// machine. The test asserts that it happens, polling until then.
const expiryWithin = time.Second + 2*time.Second

// TestKeyExpiryReachesEveryNode (issue 15, row 7): a key expired through
// node a's store connection is refused by node b within a second, though
// b's periodic refresh is an hour away (before the fix the key got
// through b for another 5–7 s); expiring the only active key is refused
// unless it is replaced in the same step, so /v1/hpke-config never goes
// empty; rotate --now advertises a new key at once.
func TestKeyExpiryReachesEveryNode(t *testing.T) {
	for _, tc := range sharedStores {
		t.Run(tc.name, func(t *testing.T) { testKeyExpiry(t, tc.spec(t)) })
	}
}

// sharedStores name a fresh store several nodes can share.
var sharedStores = []struct {
	name string
	spec func(t testing.TB) string
}{
	{"postgres", func(t testing.TB) string { return "postgres:" + storetest.PostgresDSN(t) }},
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "shared.db") }},
}

func testKeyExpiry(t *testing.T, spec string) {
	ctx := context.Background()
	clk := newClock()
	key, err := wire.GenerateKeyPair(7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	slow := func(c *aggregator.Config) { c.Refresh = time.Hour } // only the key watch can explain a quick reload
	a := newNode(t, storetest.Open(t, spec), clk, slow, func(c *aggregator.Config) {
		c.Keys = []*wire.KeyPair{key}
		c.Campaigns = []campaign.Campaign{runners}
	})
	b := newNode(t, storetest.Open(t, spec), clk, slow)
	sealedTo := func(cfg wire.KeyConfig) wire.Envelope {
		t.Helper()
		r := host.Reporter{Key: cfg}
		e, err := r.Report(&b.campaign, b.campaign.Epoch(clk.Now()), map[uint32]float32{410: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if res := b.upload(t, sealedTo(key.Config)).Results[0]; !res.Accepted {
		t.Fatalf("node b, key 7 active: %+v", res)
	}

	// The only active key cannot be expired alone.
	if _, err := a.agg.ExpireKey(ctx, 7, false); !errors.Is(err, store.ErrLastActiveKey) {
		t.Fatalf("expiring the only active key: %v, want ErrLastActiveKey", err)
	}
	if list := advertised(t, a); len(list) != 1 || list[0].ID != 7 {
		t.Fatalf("after the refused expiry, node a advertises %v, want key 7", list)
	}

	// rotate --now: a new key, active and advertised first at once; key 7
	// still accepted (the overlap).
	clk.Add(time.Minute)
	if _, err := a.agg.RotateNow(ctx); err != nil {
		t.Fatal(err)
	}
	list := advertised(t, a)
	if len(list) != 2 || list[1].ID != 7 {
		t.Fatalf("after rotate --now, node a advertises %v, want a new key then key 7", list)
	}
	fresh := list[0]
	if res := b.upload(t, sealedTo(key.Config)).Results[0]; !res.Accepted {
		t.Fatalf("node b, key 7 within the overlap: %+v", res)
	}

	// Key 7 is compromised: expired through node a's store connection, it
	// is refused by node b within a second.
	if _, err := a.agg.ExpireKey(ctx, 7, false); err != nil {
		t.Fatal(err)
	}
	refusedBy(t, b, func() wire.Envelope { return sealedTo(key.Config) })
	if res := b.upload(t, sealedTo(fresh)).Results[0]; !res.Accepted {
		t.Fatalf("node b, the new key: %+v", res)
	}

	// Expiring the now only active key with its replacement in one step:
	// never an empty config list, and b refuses the old key at once.
	changes, err := a.agg.ExpireKey(ctx, fresh.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	list = advertised(t, a)
	if len(list) != 1 || list[0].ID == fresh.ID || list[0].ID == 7 {
		t.Fatalf("after expire --replace (%v), node a advertises %v, want one new key", changes, list)
	}
	refusedBy(t, b, func() wire.Envelope { return sealedTo(fresh) })
	if res := b.upload(t, sealedTo(list[0])).Results[0]; !res.Accepted {
		t.Fatalf("node b, the replacement key: %+v", res)
	}
}

// advertised is f's GET /v1/hpke-config.
func advertised(t testing.TB, f *fixture) []wire.KeyConfig {
	t.Helper()
	list, err := f.client.KeyConfigs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list.Configs
}

// refusedBy sends f fresh reports from next until one is refused as
// key_expired, failing the test if none is within expiryWithin.
func refusedBy(t testing.TB, f *fixture, next func() wire.Envelope) {
	t.Helper()
	deadline := time.Now().Add(expiryWithin)
	for {
		res := f.upload(t, next()).Results[0]
		if !res.Accepted && res.Reason == api.ReasonKeyExpired {
			return
		}
		if !res.Accepted {
			t.Fatalf("rejected as %q (%s), want key_expired", res.Reason, res.Detail)
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired key still accepted by the other node after %v", expiryWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExpireReplaceOfExpiredKey: --replace on a key already expired is
// refused, rather than making a key under that id and expiring it.
func TestExpireReplaceOfExpiredKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.agg.ExpireKey(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	for range 254 { // walk the ids round to 1 again
		if _, err := f.agg.ExpireKey(ctx, advertised(t, f)[0].ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.agg.ExpireKey(ctx, 1, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replacing expired key 1: %v, want ErrNotFound", err)
	}
	if list := advertised(t, f); len(list) != 1 {
		t.Fatalf("advertised %v, want one active key", list)
	}
}

// BenchmarkKeyExpiryPropagation measures how long after node a commits a
// key's expiry node b first refuses a report sealed to it (ms/expiry;
// b polls every 5 ms). Each iteration makes a key active on a, expires
// the one before it and waits for b.
func BenchmarkKeyExpiryPropagation(b *testing.B) {
	for _, tc := range sharedStores {
		b.Run(tc.name, func(b *testing.B) {
			spec := tc.spec(b)
			ctx := context.Background()
			clk := newClock()
			slow := func(c *aggregator.Config) { c.Refresh = time.Hour }
			na := newNode(b, storetest.Open(b, spec), clk, slow, func(c *aggregator.Config) { c.Campaigns = []campaign.Campaign{runners} })
			nb := newNode(b, storetest.Open(b, spec), clk, slow)
			var total time.Duration
			for b.Loop() {
				old := advertised(b, na)[0]
				clk.Add(time.Second)
				if _, err := na.agg.RotateNow(ctx); err != nil {
					b.Fatal(err)
				}
				r := host.Reporter{Key: old}
				start := time.Now()
				if _, err := na.agg.ExpireKey(ctx, old.ID, false); err != nil {
					b.Fatal(err)
				}
				for {
					e, err := r.Report(&nb.campaign, nb.campaign.Epoch(clk.Now()), map[uint32]float32{410: 0.9})
					if err != nil {
						b.Fatal(err)
					}
					if res := nb.upload(b, e).Results[0]; res.Reason == api.ReasonKeyExpired {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/expiry")
		})
	}
}
