package queue_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/queue"
	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// TestQueueReportTokens: a front end checks report tokens' signatures (a
// missing or forged one is refused at once) and passes each with its
// report through the stream; the worker claims the nonce against the
// store, so a second report with a valid but already redeemed token —
// which the front end cannot tell — is not stored.
func TestQueueReportTokens(t *testing.T) {
	cl := queuetest.StartT(t, 1)
	cfg := queue.Config{AckWait: 3 * time.Second}
	spec := "postgres:" + storetest.PostgresDSN(t)

	makerPub, maker, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: storetest.Open(t, spec), Name: "issuer.test", Makers: []ed25519.PublicKey{makerPub}})
	if err != nil {
		t.Fatal(err)
	}
	is := httptest.NewServer(iss.Handler())
	t.Cleanup(is.Close)
	c := runners
	c.ReportTokens = &campaign.ReportTokens{IssuerURL: is.URL, IssuerName: "issuer.test"}

	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fe := startFrontEndWith(t, storetest.Open(t, spec), cl.URLs(), cfg, key, c)
	startWorker(t, storetest.Open(t, spec), cl.URLs(), cfg)
	reports := sealReports(t, fe, 4)
	epoch := c.Epoch(time.Now())
	cred, dkey, err := privpass.Provision(maker, "device-1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := privpass.FetchToken(context.Background(), http.DefaultClient, is.URL, "issuer.test", cred, dkey, c.ID, epoch, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forged := tok
	forged.Authenticator[0] ^= 1
	for i, want := range []struct {
		auth   string
		reason api.Reason
	}{
		{privpass.AuthorizationHeader(&tok), ""},
		{privpass.AuthorizationHeader(&tok), ""}, // reused: only the worker can tell
		{"", api.ReasonReportTokenMissing},
		{privpass.AuthorizationHeader(&forged), api.ReasonReportTokenInvalid},
	} {
		res := post(t, fe.url, reports[i], want.auth)
		if want.reason == "" && !res.Accepted || want.reason != "" && res.Reason != want.reason {
			t.Fatalf("report %d: %+v, want reason %q", i, res, want.reason)
		}
	}
	drained(t, cl.URLs(), cfg, time.Minute)
	st := storetest.Open(t, spec)
	n := 0
	if err := st.Scan(context.Background(), c.ID, epoch, func(store.Mechanism, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d reports stored, want 1 (the reused token's report is not)", n)
	}
}

// post uploads one report to a front end with an Authorization header
// ("" for none).
func post(t *testing.T, url string, e wire.Envelope, authorization string) api.Result {
	t.Helper()
	body, err := wire.EncodeBatch([]wire.Envelope{e})
	if err != nil {
		t.Fatal(err)
	}
	return aggregatortest.UploadOne(t, url, body, authorization)
}
