package aggregator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/ohttp"
	"github.com/wisp-project/wisp/internal/ohttp/relay"
	"github.com/wisp-project/wisp/internal/wire"
)

// obliviousClient talks to f's gateway directly (the relay is tested in
// host): every request encapsulated to the gateway's advertised key.
func obliviousClient(t *testing.T, url string) *http.Client {
	t.Helper()
	return &http.Client{Transport: &ohttp.Transport{Relay: url + "/v1/ohttp", Keys: func(ctx context.Context, _ bool) (ohttp.KeyConfig, error) {
		resp, err := http.Get(url + "/v1/ohttp-keys")
		if err != nil {
			return ohttp.KeyConfig{}, err
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != ohttp.KeysMediaType {
			t.Errorf("key configs served as %q", ct)
		}
		b, _ := io.ReadAll(resp.Body)
		cs, err := ohttp.ParseKeyConfigs(b)
		if err != nil {
			return ohttp.KeyConfig{}, err
		}
		return cs[0], nil
	}}}
}

func TestOHTTPGateway(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	st := sqliteStore(t)
	clk := newClock()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(c *aggregator.Config) {
		c.Keys, c.RequireOHTTP, c.KeyEncryptionKey = []*wire.KeyPair{key}, true, kek
		c.Campaigns = append(c.Campaigns, runners)
	}
	a, b := newNode(t, st, clk, edit), newNode(t, st, clk, edit)
	// One gateway key for the deployment: both nodes advertise the same.
	if ka, kb := a.agg.OHTTPKeyConfigs(), b.agg.OHTTPKeyConfigs(); len(ka) == 0 || !bytes.Equal(ka, kb) {
		t.Fatalf("nodes advertise different OHTTP keys: %x vs %x", ka, kb)
	}

	// A report sealed for node a, uploaded encapsulated to node b.
	rep := a.report(t, true)
	viaB := &host.Client{BaseURL: b.srv.URL, HTTP: obliviousClient(t, b.srv.URL)}
	resp, err := viaB.Upload(context.Background(), []wire.Envelope{rep})
	if err != nil || !resp.Results[0].Accepted {
		t.Fatalf("oblivious upload: %+v, %v", resp, err)
	}
	if _, err := viaB.KeyConfigs(context.Background()); err != nil {
		t.Fatalf("HPKE configs through the gateway: %v", err)
	}
	// The same report directly: refused, RequireOHTTP.
	if _, err := a.client.Upload(context.Background(), []wire.Envelope{rep}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("direct upload: %v, want 403", err)
	}

	// Only device routes answer through the gateway: an operator route is a
	// sealed 404, even with a valid token.
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+b.operator)
	r, err := obliviousClient(t, b.srv.URL).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /v1/keys through the gateway: %d, want 404", r.StatusCode)
	}
	// Garbage and a wrong key id are a clear 400.
	for _, body := range [][]byte{{1, 2, 3}, append([]byte{9, 0, 0x20, 0, 1, 0, 1}, make([]byte, 64)...)} {
		r, err := http.Post(b.srv.URL+"/v1/ohttp", ohttp.RequestMediaType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("%x: %d %s", body, r.StatusCode, msg)
		}
		if body[0] == 9 && !bytes.Contains(msg, []byte(ohttp.KeyProblemType)) {
			t.Fatalf("unknown key: %s, want the ohttp-key problem type", msg)
		}
	}
}

// Without RequireOHTTP, both ways work.
func TestOHTTPOptional(t *testing.T) {
	f := newFixture(t)
	if resp, err := f.client.Upload(context.Background(), []wire.Envelope{f.report(t, true)}); err != nil || !resp.Results[0].Accepted {
		t.Fatalf("direct: %+v, %v", resp, err)
	}
	c := &host.Client{BaseURL: f.srv.URL, HTTP: obliviousClient(t, f.srv.URL)}
	if resp, err := c.Upload(context.Background(), []wire.Envelope{f.report(t, true)}); err != nil || !resp.Results[0].Accepted {
		t.Fatalf("oblivious: %+v, %v", resp, err)
	}
}

// TestOHTTPKeyRotation rotates the gateway key under two nodes on one
// store, devices going through a real relay: the new key is accepted
// while pending but not advertised, then advertised by every node while
// the old one is still accepted for the overlap, then the old one is
// refused with the ohttp-key problem, and a device holding it fetches the
// new configuration and gets through.
func TestOHTTPKeyRotation(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	clk := newClock()
	rot := aggregator.Rotation{Pending: time.Hour, Overlap: 24 * time.Hour}
	edit := func(c *aggregator.Config) {
		c.RequireOHTTP, c.KeyEncryptionKey, c.Rotation = true, bytes.Repeat([]byte{7}, 32), rot
		c.Refresh = time.Nanosecond // every request sees the store and the clock as they are
		c.Campaigns = append(c.Campaigns, runners)
	}
	a, b := newNode(t, st, clk, edit), newNode(t, st, clk, edit)
	relaySrv := httptest.NewServer(&relay.Handler{Gateway: b.srv.URL + "/v1/ohttp", Client: relay.NewClient()})
	t.Cleanup(relaySrv.Close)
	upload := func(c *host.Client) error {
		t.Helper()
		resp, err := c.Upload(ctx, []wire.Envelope{a.report(t, true)})
		if err == nil && !resp.Results[0].Accepted {
			err = fmt.Errorf("rejected: %+v", resp.Results[0])
		}
		return err
	}
	// pinned seals to the key of configs, whatever the gateway says.
	pinned := func(configs []byte) *host.Client {
		cs, err := ohttp.ParseKeyConfigs(configs)
		if err != nil || len(cs) != 1 {
			t.Fatalf("advertised %x: %v, want one config", configs, err)
		}
		keys := func(context.Context, bool) (ohttp.KeyConfig, error) { return cs[0], nil }
		return &host.Client{BaseURL: b.srv.URL, HTTP: &http.Client{Transport: &ohttp.Transport{Relay: relaySrv.URL, Keys: keys}}}
	}
	device := &host.Client{BaseURL: b.srv.URL, Relay: relaySrv.URL}
	if err := upload(device); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	old := a.agg.OHTTPKeyConfigs()

	if changes, err := a.agg.RotateOHTTPKeys(ctx, false); err != nil || len(changes) != 0 {
		t.Fatalf("rotation of a young key: %v, %v; want no change", changes, err)
	}
	changes, err := a.agg.RotateOHTTPKeys(ctx, true)
	if err != nil || len(changes) != 1 || !strings.HasPrefix(changes[0], "OHTTP key 2: new, pending") {
		t.Fatalf("forced rotation: %v, %v", changes, err)
	}
	if again, err := a.agg.RotateOHTTPKeys(ctx, true); err != nil || len(again) != 1 || !strings.Contains(again[0], "pending until") {
		t.Fatalf("rotation with a key pending: %v, %v; want it left pending", again, err)
	}
	// Pending: not advertised by either node, but accepted. (Its config
	// comes from a node whose clock is an hour ahead.)
	ahead := newClock()
	ahead.Set(clk.Now().Add(time.Hour))
	next := newNode(t, st, ahead, edit).agg.OHTTPKeyConfigs()
	if !bytes.Equal(a.agg.OHTTPKeyConfigs(), old) || !bytes.Equal(b.agg.OHTTPKeyConfigs(), old) || bytes.Equal(next, old) {
		t.Fatal("the pending key is advertised, or is the old one")
	}
	if err := upload(pinned(next)); err != nil {
		t.Fatalf("sealed to the pending key: %v", err)
	}

	clk.Add(time.Hour) // advertised
	if !bytes.Equal(a.agg.OHTTPKeyConfigs(), next) || !bytes.Equal(b.agg.OHTTPKeyConfigs(), next) {
		t.Fatal("after Pending the nodes do not advertise the new key")
	}
	if err := upload(pinned(old)); err != nil {
		t.Fatalf("the old key in its overlap: %v", err)
	}
	if err := upload(device); err != nil { // still holding the old configuration
		t.Fatalf("device in the overlap: %v", err)
	}

	clk.Add(24 * time.Hour) // retired
	if err := upload(pinned(old)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("the retired key: %v, want 400 (ohttp-key problem)", err)
	}
	if err := upload(pinned(next)); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	if err := upload(device); err != nil { // refused, fetches the new configuration, retries
		t.Fatalf("device after the old key retired: %v", err)
	}
}
