package aggregator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// tokenFixture is an aggregator whose runners campaign takes reports with
// report tokens only, and the issuer it names.
type tokenFixture struct {
	*fixture
	issuer *testIssuer
}

func newTokenFixture(t testing.TB) *tokenFixture {
	t.Helper()
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	c := runners
	c.ReportTokens = &campaign.ReportTokens{IssuerURL: ti.url, IssuerName: issuerName}
	f := newNode(t, sqliteStore(t), clk, func(cfg *aggregator.Config) {
		cfg.Campaigns = []campaign.Campaign{c}
	})
	f.campaign = c
	return &tokenFixture{fixture: f, issuer: ti}
}

// send uploads one report with authorization as its Authorization header
// ("" for none) and returns its result.
func (f *tokenFixture) send(t testing.TB, e wire.Envelope, authorization string) api.Result {
	t.Helper()
	body, err := wire.EncodeBatch([]wire.Envelope{e})
	if err != nil {
		t.Fatal(err)
	}
	return aggregatortest.UploadOne(t, f.srv.URL, body, authorization)
}

// token gets a token for a fresh device of the issuer's maker.
func (f *tokenFixture) token(t testing.TB, device, campaignID string, epoch uint32) privpass.Token {
	t.Helper()
	cred, key := f.issuer.device(t, device)
	tok, err := f.issuer.token(t, cred, key, campaignID, epoch, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *tokenFixture) stored(t testing.TB, epoch uint32) int64 {
	t.Helper()
	var n int64
	if err := f.store.Tally(context.Background(), f.campaign.ID, epoch, func(_ store.Mechanism, _ []byte, k int64) error { n += k; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReportTokensAtIngest: a report of a token campaign is taken with a
// valid token for its campaign epoch, once; a reused token, a missing
// one and forged ones (a flipped bit, another epoch's, another campaign's,
// one of an issuer of the same name but another key, bytes that are no
// token) are refused with their reason, and nothing of them is stored. The
// same report resent with its token is a replay, not a reuse.
func TestReportTokensAtIngest(t *testing.T) {
	f := newTokenFixture(t)
	epoch := f.campaign.Epoch(f.clock.Now())
	tok := f.token(t, "device-1", "runners", epoch)
	first := f.report(t, true)
	if res := f.send(t, first, privpass.AuthorizationHeader(&tok)); !res.Accepted {
		t.Fatalf("report with a valid token: %+v", res)
	}
	if res := f.send(t, first, privpass.AuthorizationHeader(&tok)); res.Reason != api.ReasonReplay {
		t.Fatalf("the same report resent with its token: %+v, want replay", res)
	}
	if res := f.send(t, f.report(t, true), privpass.AuthorizationHeader(&tok)); res.Reason != api.ReasonReportTokenReused {
		t.Fatalf("another report with the same token: %+v, want %s", res, api.ReasonReportTokenReused)
	}
	if res := f.send(t, f.report(t, true), ""); res.Reason != api.ReasonReportTokenMissing {
		t.Fatalf("no token: %+v, want %s", res, api.ReasonReportTokenMissing)
	}

	flipped := f.token(t, "device-2", "runners", epoch)
	flipped.Authenticator[17] ^= 1
	nonce := f.token(t, "device-3", "runners", epoch)
	nonce.Nonce[0] ^= 1
	otherEpoch := f.token(t, "device-4", "runners", epoch+1)
	otherCampaign := f.token(t, "device-5", "cyclists", epoch)
	// An issuer of the same name with keys of its own: the aggregator
	// fetched this epoch's key from the campaign's issuer, not from it.
	rogue := startIssuer(t, f.clock.Now)
	rc, rk := rogue.device(t, "device-6")
	rogueTok, err := rogue.token(t, rc, rk, "runners", epoch, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Marshal()
	for name, h := range map[string]string{
		"flipped authenticator bit": privpass.AuthorizationHeader(&flipped),
		"flipped nonce bit":         privpass.AuthorizationHeader(&nonce),
		"another epoch's token":     privpass.AuthorizationHeader(&otherEpoch),
		"another campaign's token":  privpass.AuthorizationHeader(&otherCampaign),
		"another issuer's key":      privpass.AuthorizationHeader(&rogueTok),
		"truncated token":           `PrivateToken token="` + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]) + `"`,
		"not base64":                `PrivateToken token="!!"`,
	} {
		if res := f.send(t, f.report(t, true), h); res.Reason != api.ReasonReportTokenInvalid {
			t.Errorf("%s: %+v, want %s", name, res, api.ReasonReportTokenInvalid)
		}
	}
	if n := f.stored(t, epoch); n != 1 {
		t.Fatalf("%d reports stored, want 1 (the one with a valid token)", n)
	}
}

// TestSybilCannotPad: without a device credential an attacker gets no
// token — the issuer refuses its own maker key — so its made-up reports
// are all refused; with one real credential it gets one token per epoch,
// so it adds at most one report, however many it sends.
func TestSybilCannotPad(t *testing.T) {
	f := newTokenFixture(t)
	epoch := f.campaign.Epoch(f.clock.Now())
	for i := range 2 { // two honest devices
		tok := f.token(t, "honest-"+string(rune('a'+i)), "runners", epoch)
		if res := f.send(t, f.report(t, true), privpass.AuthorizationHeader(&tok)); !res.Accepted {
			t.Fatalf("honest report: %+v", res)
		}
	}
	rogue := startIssuer(t, f.clock.Now) // the attacker's own "maker"
	for i := range 10 {
		fc, fk := rogue.device(t, "sybil-"+string(rune('a'+i)))
		if _, err := f.issuer.token(t, fc, fk, "runners", epoch, f.clock.Now()); statusOf(err) != http.StatusForbidden {
			t.Fatalf("issuer gave a token to a forged credential: %v", err)
		}
		if res := f.send(t, f.report(t, true), ""); res.Accepted {
			t.Fatal("a report without a token was stored")
		}
	}
	// One stolen credential: one token this epoch, and that is all.
	cred, key := f.issuer.device(t, "stolen")
	tok, err := f.issuer.token(t, cred, key, "runners", epoch, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.send(t, f.report(t, true), privpass.AuthorizationHeader(&tok))
		if _, err := f.issuer.token(t, cred, key, "runners", epoch, f.clock.Now()); statusOf(err) != http.StatusConflict {
			t.Fatalf("second token for one credential: %v", err)
		}
	}
	if n := f.stored(t, epoch); n != 3 {
		t.Fatalf("%d reports stored, want 3: two honest devices and one per stolen credential", n)
	}
}

// TestReportTokenIssuerDown: while the issuer's key cannot be fetched the
// upload is answered 503 and nothing is stored (the device sends again).
func TestReportTokenIssuerDown(t *testing.T) {
	clk := newClock()
	c := runners
	c.ReportTokens = &campaign.ReportTokens{IssuerURL: "http://127.0.0.1:1", IssuerName: issuerName}
	f := newNode(t, sqliteStore(t), clk, func(cfg *aggregator.Config) { cfg.Campaigns = []campaign.Campaign{c} })
	f.campaign = c
	ti := startIssuer(t, clk.Now)
	cred, key := ti.device(t, "device-1")
	tok, err := ti.token(t, cred, key, "runners", c.Epoch(clk.Now()), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := wire.EncodeBatch([]wire.Envelope{f.report(t, true)})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/reports", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cbor")
	req.Header.Set("Authorization", privpass.AuthorizationHeader(&tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("issuer down: %d, want 503", resp.StatusCode)
	}
	tf := &tokenFixture{fixture: f}
	if n := tf.stored(t, c.Epoch(clk.Now())); n != 0 {
		t.Fatalf("%d stored while the issuer was down", n)
	}
}

// TestTokenForAnEpochWithoutKey: a token under a key the campaign's issuer
// never made (no device of its asked for that epoch) is refused as
// invalid, at once — the issuer's 404 is an answer, not an outage to wait
// out — and the issuer makes no key for the aggregator's asking.
func TestTokenForAnEpochWithoutKey(t *testing.T) {
	f := newTokenFixture(t)
	epoch := f.campaign.Epoch(f.clock.Now())
	rogue := startIssuer(t, f.clock.Now)
	rc, rk := rogue.device(t, "device-1")
	tok, err := rogue.token(t, rc, rk, "runners", epoch, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res := f.send(t, f.report(t, true), privpass.AuthorizationHeader(&tok)); res.Reason != api.ReasonReportTokenInvalid {
		t.Fatalf("token under a key the issuer never made: %+v, want %s", res, api.ReasonReportTokenInvalid)
	}
	if _, err := privpass.FetchKey(context.Background(), http.DefaultClient, f.issuer.url, issuerName, "runners", epoch); statusOf(err) != http.StatusNotFound {
		t.Fatalf("after the aggregator asked, the issuer's key: %v, want still 404", err)
	}
	if n := f.stored(t, epoch); n != 0 {
		t.Fatalf("%d reports stored", n)
	}
}
