package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/ohttp"
	"github.com/wisp-project/wisp/internal/ohttp/relay"
	"github.com/wisp-project/wisp/internal/wire"
)

// seen is one request as the aggregator's outermost handler saw it.
type seen struct {
	remote, method, path string
	header               http.Header
	status               int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// TestDeviceThroughRelay: a device on 127.0.0.3 answers two campaigns
// through a relay on 127.0.0.2 to an aggregator on 127.0.0.1 that takes
// reports only through its OHTTP gateway. The aggregator counts the
// reports and never sees 127.0.0.3 on any request that carries or fetches
// anything of the device's, nor stores it; the relay sees the device but
// cannot read or change what it forwards.
func TestDeviceThroughRelay(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()

	// The aggregator, its SQLite file where the test can read it, and a log
	// of every request with its remote address and all its headers.
	dbPath := filepath.Join(t.TempDir(), "aggregator.db")
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []seen
	srv := aggregatortest.Start(t, aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: testCampaigns, Now: clock.Now, RequireOHTTP: true},
		func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sw := &statusWriter{ResponseWriter: w, status: 200}
				h.ServeHTTP(sw, r)
				mu.Lock()
				log = append(log, seen{r.RemoteAddr, r.Method, r.URL.Path, r.Header.Clone(), sw.status})
				mu.Unlock()
			})
		})
	logged := func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), log...) }

	// The relay on 127.0.0.2, with a switch that flips one byte of what it
	// forwards, and a record of what it saw.
	var flip atomic.Bool
	var relayMu sync.Mutex
	var relayRemotes []string
	var lastBody []byte
	rh := &relay.Handler{Gateway: srv.URL + "/v1/ohttp"}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	rs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		relayMu.Lock()
		relayRemotes = append(relayRemotes, r.RemoteAddr)
		lastBody = append([]byte(nil), b...)
		relayMu.Unlock()
		if flip.Load() && len(b) > 0 {
			b[len(b)/2] ^= 0x01
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		rh.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go rs.Serve(ln)
	defer rs.Close()
	relayURL := "http://" + ln.Addr().String() + "/"

	// The device dials from 127.0.0.3.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}).DialContext}}
	a := newAuthor(t)
	cfg := NewDeviceConfig().
		WithRuntime(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(a.key.Public()))).
		WithClock(clock.Now).WithSendDelay(0).
		WithAggregator(srv.URL, hc).WithCampaignKey(srv.SigningKey()).
		WithRelay(relayURL)
	d, err := Open(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Purpose{PluginPurpose("workouts"), CampaignPurpose("runners"), CampaignPurpose("cyclists")} {
		if err := d.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, d, clock.Now(), 5, 40)

	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 2 || sum.Sent != 2 {
		t.Fatalf("answered %d, sent %d, want 2 and 2 (%+v)", sum.Answered, sum.Sent, sum)
	}
	epoch := testCampaigns[0].Epoch(clock.Now())
	count := func(c string) int {
		n := 0
		if err := st.Scan(ctx, c, epoch, func(store.Mechanism, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("runners") != 1 || count("cyclists") != 1 {
		t.Fatalf("stored %d runners, %d cyclists reports, want 1 and 1", count("runners"), count("cyclists"))
	}

	// The relay saw the device ...
	relayMu.Lock()
	for _, r := range relayRemotes {
		if !strings.HasPrefix(r, "127.0.0.3:") {
			t.Errorf("relay saw %s, want the device's 127.0.0.3", r)
		}
	}
	captured := lastBody
	relayMu.Unlock()
	// ... the aggregator did not. The device fetched the gateway's public
	// key configuration directly, once (that is all it reveals: this
	// address runs Wisp); everything else — HPKE configs, campaigns, the
	// upload — came through the relay, as POST /v1/ohttp with nothing but
	// the content type and length.
	var direct, oblivious int
	for _, s := range logged() {
		deviceAddr := strings.HasPrefix(s.remote, "127.0.0.3:") || strings.Contains(strings.Join(flatten(s.header), " "), "127.0.0.3")
		switch {
		case s.path == "/v1/ohttp-keys" && s.method == http.MethodGet:
			direct++
			if !strings.HasPrefix(s.remote, "127.0.0.3:") {
				t.Errorf("key fetch from %s: the device does not dial from 127.0.0.3", s.remote)
			}
		case deviceAddr:
			t.Errorf("aggregator saw the device's address on %s %s: %s %v", s.method, s.path, s.remote, s.header)
		case s.path == "/v1/ohttp":
			oblivious++
			for k := range s.header {
				if k != "Content-Type" && k != "Content-Length" {
					t.Errorf("forwarded request has header %s: %v", k, s.header)
				}
			}
		default:
			t.Errorf("device request reached the aggregator outside the gateway: %s %s", s.method, s.path)
		}
	}
	if direct != 1 || oblivious < 3 {
		t.Fatalf("%d direct key fetches, %d oblivious requests; want 1 and at least 3 (HPKE configs, campaigns, upload)", direct, oblivious)
	}

	// Tampering: a captured encapsulated request with one byte flipped is
	// refused in the clear with a 4xx, and stores nothing.
	for _, i := range []int{0, 1, 8, len(captured) / 2, len(captured) - 1} {
		bad := append([]byte(nil), captured...)
		bad[i] ^= 0x01
		resp, err := http.Post(srv.URL+"/v1/ohttp", ohttp.RequestMediaType, bytes.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("flipped byte %d: status %d, want 4xx", i, resp.StatusCode)
		}
	}
	// The relay flipping a byte of a real upload: the gateway refuses it,
	// the device learns the upload failed, the store is unchanged.
	flip.Store(true)
	camp := testCampaigns[0]
	env, err := (&Reporter{Key: key.Config}).Report(&camp, epoch, map[uint32]float32{410: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	envs := []Envelope{env}
	c := &Client{BaseURL: srv.URL, HTTP: hc, Relay: relayURL}
	if _, err := c.Upload(ctx, envs); !errors.Is(err, ohttp.ErrRefused) {
		t.Fatalf("upload through a tampering relay: %v, want ErrRefused", err)
	}
	if count("runners") != 1 {
		t.Fatal("a tampered upload was stored")
	}
	flip.Store(false)
	if resp, err := c.Upload(ctx, envs); err != nil || !resp.Results[0].Accepted {
		t.Fatalf("the same upload through an honest relay: %+v, %v", resp, err)
	}
	if count("runners") != 2 {
		t.Fatal("the honest upload was not stored")
	}
	// A direct upload is refused: this aggregator requires the gateway.
	if _, err := (&Client{BaseURL: srv.URL, HTTP: hc}).Upload(ctx, envs); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("direct upload: %v, want 403", err)
	}

	// Nothing the aggregator stored holds the device's address.
	st.Close()
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("127.0.0.3")) || bytes.Contains(b, []byte{127, 0, 0, 3}) {
			t.Errorf("%s contains the device's address", filepath.Base(p))
		}
	}
}

func flatten(h http.Header) []string {
	var out []string
	for k, vs := range h {
		out = append(out, k)
		out = append(out, vs...)
	}
	return out
}
