package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
)

// tokenIssuer is a real report-token issuer on 127.0.0.1 that a test can
// make unreachable.
type tokenIssuer struct {
	url   string
	maker ed25519.PrivateKey
	store store.Store
	down  atomic.Bool
	asked atomic.Int64 // token requests that reached it (not key requests)
}

// recorded is how the issuer records the device of its maker with id:
// under the maker's key's first 8 bytes.
func (ti *tokenIssuer) recorded(id string) string {
	return hex.EncodeToString(ti.maker.Public().(ed25519.PublicKey)[:8]) + "/" + id
}

func startTokenIssuer(t testing.TB, clock *fakeClock) *tokenIssuer {
	t.Helper()
	makerPub, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: st, Name: "issuer.example", Makers: []ed25519.PublicKey{makerPub},
		Now: clock.Now, KeyEncryptionKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ti := &tokenIssuer{maker: maker, store: st}
	h := iss.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == privpass.TokensPath {
			ti.asked.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ti.url = srv.URL
	return ti
}

// TestReportTokensEndToEnd: a real device answers a token-requiring LDP
// campaign, fetches its one token for the epoch from the real issuer when
// the report leaves, and the real aggregator takes the report. The issuer
// being down leaves the report queued with its charge made once; the
// aggregator being down after the token was fetched makes the retry send
// the stored token (a second issuance would be refused 409); a device
// without a credential does not answer such a campaign at all.
func TestReportTokensEndToEnd(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ti := startTokenIssuer(t, clock)
	c := testCampaigns[0]
	c.ReportTokens = &campaign.ReportTokens{IssuerURL: ti.url, IssuerName: "issuer.example"}
	agg := startTestAggregatorWith(t, clock, []campaign.Campaign{c})
	cred, key, err := privpass.Provision(ti.maker, "device-42")
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg, func(cfg DeviceConfig) DeviceConfig {
		return cfg.WithDeviceCredential(cred, key).WithDummyReports(1) // dummies asked for, never sent for this campaign
	})
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Purpose{PluginPurpose("workouts"), CampaignPurpose("runners")} {
		if err := d.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, d, clock.Now(), 5, 40)
	epoch := c.Epoch(clock.Now())

	ti.down.Store(true)
	sum, _ := d.Flush(ctx)
	if sum.Answered != 1 || sum.Dummies != 0 || agg.uploads.Load() != 0 || agg.stored(t, "runners", epoch) != 0 {
		t.Fatalf("issuer down: answered %d (%d dummies), %d uploads, want 1 answer queued and nothing sent", sum.Answered, sum.Dummies, agg.uploads.Load())
	}
	entries, err := d.ledger.Entries(ctx, time.Time{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("ledger: %d entries (%v), want the one charge made at answer time", len(entries), err)
	}

	ti.down.Store(false)
	agg.down.Store(true)
	clock.Advance(3 * time.Hour)
	if _, err := d.Flush(ctx); err == nil {
		t.Fatal("the upload to a down aggregator succeeded")
	}
	if ti.asked.Load() != 1 {
		t.Fatalf("%d token requests reached the issuer, want 1", ti.asked.Load())
	}

	agg.down.Store(false)
	clock.Advance(3 * time.Hour)
	sum, err = d.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := agg.stored(t, "runners", epoch); got != 1 || sum.Answered != 0 {
		t.Fatalf("aggregator up: %d stored, %d answered again; want the one report, not answered twice", got, sum.Answered)
	}
	if ti.asked.Load() != 1 {
		t.Fatalf("the retry asked the issuer again (%d requests): the stored token must be re-sent", ti.asked.Load())
	}
	if entries, _ := d.ledger.Entries(ctx, time.Time{}); len(entries) != 1 {
		t.Fatalf("ledger: %d entries after delivery, want 1", len(entries))
	}
	// The issuer recorded device-42's one issuance for the epoch.
	other := sha256.Sum256([]byte("another blinded message"))
	rec, err := ti.store.RecordIssuance(ctx, store.Issuance{Device: ti.recorded("device-42"), Campaign: "runners", Epoch: epoch, Blinded: other[:], IssuedAt: clock.Now()})
	if err != nil || bytes.Equal(rec.Blinded, other[:]) {
		t.Fatalf("the issuer has no issuance for device-42 in epoch %d (%v)", epoch, err)
	}

	// Without a credential: the campaign is not answered (its reports
	// would be refused), and nothing is charged.
	plain := testDevice(t, t.TempDir(), clock, a, agg)
	if _, err := plain.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Purpose{PluginPurpose("workouts"), CampaignPurpose("runners")} {
		if err := plain.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, plain, clock.Now(), 5, 40)
	sum, err = plain.Flush(ctx)
	if err != nil || sum.Answered != 0 {
		t.Fatalf("a device without a credential answered %d (%v), want 0", sum.Answered, err)
	}
	if entries, _ := plain.ledger.Entries(ctx, time.Time{}); len(entries) != 0 {
		t.Fatalf("a device without a credential was charged %d times", len(entries))
	}
}
