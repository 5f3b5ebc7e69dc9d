package aggregator_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/privpass"
)

// testIssuer is a report-token issuer on real HTTP and a real SQLite store.
type testIssuer struct {
	url   string
	store store.Store
	maker ed25519.PrivateKey
}

const issuerName = "issuer.example"

func startIssuer(t testing.TB, now func() time.Time) *testIssuer {
	t.Helper()
	return startIssuerWith(t, now, 0)
}

// startIssuerWith is startIssuer letting a device have newKeys keys made
// a day (0: the default).
func startIssuerWith(t testing.TB, now func() time.Time, newKeys int) *testIssuer {
	t.Helper()
	makerPub, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := sqliteStore(t)
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: st, Name: issuerName, Makers: []ed25519.PublicKey{makerPub}, Now: now,
		KeyEncryptionKey: bytes.Repeat([]byte{7}, 32), NewKeysPerDevice: newKeys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	return &testIssuer{url: srv.URL, store: st, maker: maker}
}

// device provisions a device of the issuer's maker.
func (ti *testIssuer) device(t testing.TB, id string) (privpass.Credential, ed25519.PrivateKey) {
	t.Helper()
	cred, key, err := privpass.Provision(ti.maker, id)
	if err != nil {
		t.Fatal(err)
	}
	return cred, key
}

func (ti *testIssuer) token(t testing.TB, cred privpass.Credential, key ed25519.PrivateKey, campaign string, epoch uint32, now time.Time) (privpass.Token, error) {
	t.Helper()
	return privpass.FetchToken(context.Background(), http.DefaultClient, ti.url, issuerName, cred, key, campaign, epoch, now)
}

func statusOf(err error) int {
	var se *privpass.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// TestIssuerOncePerDeviceEpoch: a device gets one token per campaign
// epoch — a second request is refused 409, while another epoch, another
// campaign or another device gets its own; the token verifies under the
// epoch's key, which every asker gets the same, and not under another
// epoch's.
func TestIssuerOncePerDeviceEpoch(t *testing.T) {
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	cred, key := ti.device(t, "device-1")
	tok, err := ti.token(t, cred, key, "runners", 7, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ti.token(t, cred, key, "runners", 7, clk.Now()); statusOf(err) != http.StatusConflict {
		t.Fatalf("second token of the same epoch: %v, want 409", err)
	}
	for _, c := range []struct {
		campaign string
		epoch    uint32
	}{{"runners", 8}, {"cyclists", 7}} {
		if _, err := ti.token(t, cred, key, c.campaign, c.epoch, clk.Now()); err != nil {
			t.Fatalf("%s/%d: %v", c.campaign, c.epoch, err)
		}
	}
	cred2, key2 := ti.device(t, "device-2")
	if _, err := ti.token(t, cred2, key2, "runners", 7, clk.Now()); err != nil {
		t.Fatalf("another device: %v", err)
	}

	ctx := context.Background()
	k7, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, issuerName, "runners", 7)
	if err != nil {
		t.Fatal(err)
	}
	k7again, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, issuerName, "runners", 7)
	if err != nil || k7again.ID() != k7.ID() {
		t.Fatalf("the key changed between fetches: %v", err)
	}
	k8, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, issuerName, "runners", 8)
	if err != nil {
		t.Fatal(err)
	}
	if k8.ID() == k7.ID() {
		t.Fatal("two epochs share a token key")
	}
	ch7, _ := privpass.ReportChallenge(issuerName, "runners", 7).Marshal()
	if err := privpass.Verify(k7, &tok, ch7); err != nil {
		t.Fatalf("token does not verify under its epoch's key: %v", err)
	}
	if err := privpass.Verify(k8, &tok, ch7); !errors.Is(err, privpass.ErrInvalid) {
		t.Fatalf("token verifies under another epoch's key: %v", err)
	}
	if _, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, "someone-else", "runners", 7); err == nil {
		t.Fatal("a key from an issuer of another name was taken")
	}
}

// TestIssuerRetrySameRequest: a request repeated byte for byte (its answer
// was lost) is answered again, the same signature; it does not count as a
// second issuance.
func TestIssuerRetrySameRequest(t *testing.T) {
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	cred, key := ti.device(t, "device-1")
	k, err := privpass.DeviceKey(context.Background(), http.DefaultClient, ti.url, issuerName, cred, key, "runners", 3, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := privpass.ReportChallenge(issuerName, "runners", 3).Marshal()
	treq, pending, err := privpass.Begin(k, ch)
	if err != nil {
		t.Fatal(err)
	}
	body, err := privpass.SignIssuance(key, cred, "runners", 3, treq, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	post := func() (int, []byte) {
		resp, err := http.Post(ti.url+privpass.TokensPath, privpass.RequestMediaType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	s1, a1 := post()
	s2, a2 := post()
	if s1 != http.StatusOK || s2 != http.StatusOK || !bytes.Equal(a1, a2) {
		t.Fatalf("retry: %d then %d, same answer %v", s1, s2, bytes.Equal(a1, a2))
	}
	resp, err := privpass.ParseTokenResponse(a1)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pending.Finalize(resp)
	if err != nil {
		t.Fatal(err)
	}
	if err := privpass.Verify(k, &tok, ch); err != nil {
		t.Fatal(err)
	}
}

// TestIssuerRefusesForgedCredentials: a credential of a maker the issuer
// does not know, a request signed by another device's key, and a stale
// request are refused 403, and use up nothing.
func TestIssuerRefusesForgedCredentials(t *testing.T) {
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	forged, forgedKey, err := privpass.Provision(rogue, "device-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ti.token(t, forged, forgedKey, "runners", 1, clk.Now()); statusOf(err) != http.StatusForbidden {
		t.Fatalf("credential of an unknown maker: %v, want 403", err)
	}
	cred, key := ti.device(t, "device-1")
	_, otherKey := ti.device(t, "device-2")
	if _, err := ti.token(t, cred, otherKey, "runners", 1, clk.Now()); statusOf(err) != http.StatusForbidden {
		t.Fatalf("request signed by another device: %v, want 403", err)
	}
	if _, err := ti.token(t, cred, key, "runners", 1, clk.Now().Add(-time.Hour)); statusOf(err) != http.StatusForbidden {
		t.Fatalf("stale request: %v, want 403", err)
	}
	if _, err := ti.token(t, cred, key, "runners", 1, clk.Now()); err != nil {
		t.Fatalf("the real device, after the refusals: %v", err)
	}
}

// TestIssuerWrongKeyUsesNothing: a request blinded for another key (its
// truncated key id) is refused 400 before it is recorded; the device's
// real request for the epoch is then signed.
func TestIssuerWrongKeyUsesNothing(t *testing.T) {
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	cred, key := ti.device(t, "device-1")
	k, err := privpass.DeviceKey(context.Background(), http.DefaultClient, ti.url, issuerName, cred, key, "runners", 3, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := privpass.ReportChallenge(issuerName, "runners", 3).Marshal()
	treq, _, err := privpass.Begin(k, ch)
	if err != nil {
		t.Fatal(err)
	}
	treq.TruncatedKeyID ^= 1
	body, err := privpass.SignIssuance(key, cred, "runners", 3, treq, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ti.url+privpass.TokensPath, privpass.RequestMediaType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("request for another key: %d, want 400", resp.StatusCode)
	}
	if _, err := ti.token(t, cred, key, "runners", 3, clk.Now()); err != nil {
		t.Fatalf("the real request after it: %v", err)
	}
}

// TestIssuerKeysNeedACredential reproduces key flooding: a GET of a
// made-up campaign epoch used to make the issuer generate (and keep) an
// RSA key, for anyone, without end. Now a GET only reads (404 for a key
// no device asked for, nothing stored); a device with a credential has a
// key made (POST, signed), after which every asker gets the same key; a
// forged credential makes nothing; and one device can have only so many
// keys made a day (here 4).
func TestIssuerKeysNeedACredential(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	ti := startIssuerWith(t, clk.Now, 4)
	for epoch := range uint32(3) {
		if _, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, issuerName, "made-up", epoch); statusOf(err) != http.StatusNotFound {
			t.Fatalf("GET of a key no device asked for: %v, want 404", err)
		}
		if _, err := ti.store.LookupSecret(ctx, fmt.Sprintf("report-token-key/made-up/%d", epoch)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a GET stored a key for epoch %d (%v)", epoch, err)
		}
	}
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	forged, forgedKey, err := privpass.Provision(rogue, "device-9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, forged, forgedKey, "made-up", 0, clk.Now()); statusOf(err) != http.StatusForbidden {
		t.Fatalf("key request under a forged credential: %v, want 403", err)
	}
	cred, key := ti.device(t, "device-1")
	made, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, cred, key, "runners", 5, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	read, err := privpass.FetchKey(ctx, http.DefaultClient, ti.url, issuerName, "runners", 5)
	if err != nil || read.ID() != made.ID() {
		t.Fatalf("GET after the device had it made: %v, same key %v", err, err == nil && read.ID() == made.ID())
	}
	other, otherKey := ti.device(t, "device-2")
	again, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, other, otherKey, "runners", 5, clk.Now())
	if err != nil || again.ID() != made.ID() {
		t.Fatalf("another device's key of the same epoch: %v", err)
	}
	// device-1 made one; 3 more are allowed today, then 429.
	for epoch := uint32(100); epoch < 103; epoch++ {
		if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, cred, key, "runners", epoch, clk.Now()); err != nil {
			t.Fatalf("key %d of the day: %v", epoch-98, err)
		}
	}
	if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, cred, key, "runners", 103, clk.Now()); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("the 5th new key of the day: %v, want 429", err)
	}
	if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, cred, key, "runners", 101, clk.Now()); err != nil {
		t.Fatalf("a key already made is still served: %v", err)
	}
	if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, other, otherKey, "runners", 103, clk.Now()); err != nil {
		t.Fatalf("another device's new key: %v", err)
	}
	clk.Add(24 * time.Hour)
	if _, err := privpass.DeviceKey(ctx, http.DefaultClient, ti.url, issuerName, cred, key, "runners", 104, clk.Now()); err != nil {
		t.Fatalf("the next day: %v", err)
	}
}

// TestIssuerKeepsMakersApart: device ids are each maker's own. Before,
// the issuer recorded issuances by id alone, so maker B's "device-1" was
// refused 409 once maker A's "device-1" had its token — and a maker could
// use up other makers' devices by naming its own alike. Now each maker's
// devices have their token each, and the once-per-epoch rule holds within
// a maker.
func TestIssuerKeepsMakersApart(t *testing.T) {
	clk := newClock()
	aPub, a, _ := ed25519.GenerateKey(rand.Reader)
	bPub, b, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: sqliteStore(t), Name: issuerName, Makers: []ed25519.PublicKey{aPub, bPub},
		Now: clk.Now, KeyEncryptionKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	token := func(maker ed25519.PrivateKey) error {
		cred, key, err := privpass.Provision(maker, "device-1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = privpass.FetchToken(context.Background(), http.DefaultClient, srv.URL, issuerName, cred, key, "runners", 7, clk.Now())
		return err
	}
	if err := token(a); err != nil {
		t.Fatalf("maker A's device-1: %v", err)
	}
	if err := token(b); err != nil {
		t.Fatalf("maker B's device-1, after maker A's: %v, want its own token", err)
	}
	if err := token(a); statusOf(err) != http.StatusConflict {
		t.Fatalf("maker A's device-1 again: %v, want 409", err)
	}
}
