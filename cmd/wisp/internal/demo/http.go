package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// aggregatorProc is the in-process aggregator on a real 127.0.0.1
// listener, behind the demo's inspection of every upload, beside the
// catalogue it publishes.
type aggregatorProc struct {
	url   string
	srv   *aggregator.Server
	http  *http.Server
	store store.Store
	token string       // an operator token, to read every tenant's results
	skew  atomic.Int64 // nanoseconds the aggregator's clock runs ahead
	dp    map[string]bool

	ingestNanos atomic.Int64 // time spent handling uploads

	mu         sync.Mutex
	received   int // reports that arrived
	membership int // of them, anything but a DP answer to a campaign
}

// cataloguePath serves the signed catalogue; its signature is in the
// Wisp-Signature header (base64).
const cataloguePath = "/demo/catalogue"

func startAggregator(ctx context.Context, dbPath string, tax *taxonomy.Taxonomy, campaigns []campaign.Campaign, peer aggregator.Prio3Options) (*aggregatorProc, error) {
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &aggregatorProc{store: st, dp: map[string]bool{}}
	for _, c := range campaigns {
		a.dp[c.ID] = true
	}
	now := func() time.Time { return time.Now().Add(time.Duration(a.skew.Load())) }
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: campaigns, Taxonomy: tax, Now: now,
		Prio3: peer, Logger: slog.New(slog.DiscardHandler)}) // the demo prints its own account
	if err != nil {
		st.Close()
		return nil, err
	}
	tok, err := srv.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleOperator, Name: "demo"})
	if err != nil {
		st.Close()
		return nil, err
	}
	cat, sig, err := signCatalogue(ctx, st, srv.SigningKey())
	if err != nil {
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", a.inspect(srv.Handler()))
	mux.HandleFunc("GET "+cataloguePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Wisp-Signature", base64.StdEncoding.EncodeToString(sig))
		w.Write(cat)
	})
	if a.http, a.url, err = serveLocal(mux); err != nil {
		st.Close()
		return nil, err
	}
	a.srv, a.token = srv, tok.Token
	return a, nil
}

// serveLocal serves h on a fresh 127.0.0.1 port: the demo's aggregator,
// helper and issuer. It returns the server and its base URL.
func serveLocal(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return hs, "http://" + ln.Addr().String(), nil
}

// signCatalogue signs the demo's catalogue as the aggregator's operator
// would: with the campaign-signing key, whose seed the aggregator keeps in
// its store (the demo sets no key-encryption key, so it is stored as is).
func signCatalogue(ctx context.Context, st store.Store, pub ed25519.PublicKey) (catalogueJSON, sig []byte, err error) {
	seed, err := st.Secret(ctx, "campaign-signing-key-ed25519-v1", []byte{0}) // returns the stored one
	if err != nil {
		return nil, nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("demo: the aggregator's signing key is stored sealed (%d bytes)", len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		return nil, nil, fmt.Errorf("demo: the stored signing key is not the one the aggregator advertises")
	}
	if catalogueJSON, err = json.Marshal(catalogue()); err != nil {
		return nil, nil, err
	}
	return catalogueJSON, ed25519.Sign(priv, append([]byte("wisp creative catalogue v1\x00"), catalogueJSON...)), nil
}

// signedCatalogue fetches the catalogue over HTTP, as a device maker's app
// would; every device verifies the signature itself.
func (a *aggregatorProc) signedCatalogue(ctx context.Context) (catalogueJSON, sig []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+cataloguePath, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: catalogue: %w", err)
	}
	defer resp.Body.Close()
	if catalogueJSON, err = io.ReadAll(resp.Body); err != nil {
		return nil, nil, err
	}
	sig, err = base64.StdEncoding.DecodeString(resp.Header.Get("Wisp-Signature"))
	return catalogueJSON, sig, err
}

// inspect looks at every upload before the aggregator does, to show what
// devices send: each report must be a DP answer to one of the demo's
// campaigns, and no upload may name an offer or a creative (which would
// tell that the device matched it). It also times the aggregator's
// handling of uploads.
func (a *aggregatorProc) inspect(next http.Handler) http.Handler {
	var names [][]byte
	for _, o := range offers {
		names = append(names, []byte(o.creative.ID), []byte(o.creative.Campaign))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/reports" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		received, membership := 0, 0
		if batch, err := wire.DecodeBatch(body); err == nil {
			for _, raw := range batch.Reports {
				received++
				id, err := reportCampaign(raw)
				if err != nil || !a.dp[id] {
					membership++
					continue
				}
				for _, n := range names {
					if bytes.Contains(raw, n) {
						membership++
						break
					}
				}
			}
		}
		a.mu.Lock()
		a.received += received
		a.membership += membership
		a.mu.Unlock()
		start := time.Now()
		next.ServeHTTP(w, r)
		a.ingestNanos.Add(int64(time.Since(start)))
	})
}

// reportCampaign is the campaign an LDP envelope or a prio3 report names.
func reportCampaign(raw []byte) (string, error) {
	if m, err := wire.PeekMode(raw); err == nil && m == wire.ModePrio3 {
		r, err := wire.DecodePrio3Report(raw)
		return r.Campaign, err
	}
	env, err := wire.DecodeEnvelope(raw)
	return env.Campaign, err
}

// inspected returns how many reports arrived and how many of them carried
// anything but a DP answer.
func (a *aggregatorProc) inspected() (received, membership int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.received, a.membership
}

// closeEpochs advances the aggregator's clock past the release time of
// every epoch that has started so far.
func (a *aggregatorProc) closeEpochs(campaigns []campaign.Campaign) {
	var longest int64
	for _, c := range campaigns {
		longest = max(longest, c.EpochSeconds)
	}
	a.skew.Store(int64(time.Duration(longest)*time.Second + 2*time.Hour))
}

// segments runs a release pass (what the serve loop does every minute),
// then reads the released segments over HTTP as a marketer would.
func (a *aggregatorProc) segments(ctx context.Context) ([]aggregator.Segment, error) {
	if err := a.srv.ReleaseDue(ctx); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/v1/segments", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: segments: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("demo: segments: %s", resp.Status)
	}
	var body aggregator.SegmentsResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("demo: segments: %w", err)
	}
	return body.Segments, nil
}

func (a *aggregatorProc) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
	a.store.Close()
}
