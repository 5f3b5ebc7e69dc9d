package aggregator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/ohttp"
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
