package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
)

// tokenCampaigns are the campaigns a --mode prio3 run asks with report
// tokens (docs/AGGREGATOR.md "Report tokens"): one LDP campaign and its
// prio3 twin, to show both modes take them. Each token costs the issuer
// one RSA-2048 signature, so the demo does not put every campaign behind
// tokens.
var tokenCampaigns = []string{"runners", "runners" + twinSuffix}

// issuerName is the demo issuer's issuer_name.
const issuerName = "issuer.demo.wisp.example"

// issuerProc is the report-token issuer: the device maker's service, on its
// own store and 127.0.0.1 listener. The demo is also the device maker: it
// provisions every simulated device with a credential under maker.
type issuerProc struct {
	url    string
	maker  ed25519.PrivateKey
	store  store.Store
	http   *http.Server
	issued atomic.Int64 // tokens signed (200s of POST /v1/report-tokens)
}

// startIssuer starts the issuer on dbPath. Its clock is the devices'
// simulated one (now), which their issuance requests are dated by.
func startIssuer(ctx context.Context, dbPath string, now func() time.Time) (*issuerProc, error) {
	pub, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: st, Name: issuerName, Makers: []ed25519.PublicKey{pub},
		Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		return nil, err
	}
	i := &issuerProc{maker: maker, store: st}
	inner := iss.Handler()
	i.http, i.url, err = serveLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(sw, r)
		if r.Method == http.MethodPost && r.URL.Path == privpass.TokensPath && sw.status == http.StatusOK {
			i.issued.Add(1)
		}
	}))
	if err != nil {
		st.Close()
		return nil, err
	}
	return i, nil
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// requireTokens puts the campaigns named in tokenCampaigns behind this
// issuer.
func (i *issuerProc) requireTokens(campaigns []campaign.Campaign) {
	for j := range campaigns {
		for _, id := range tokenCampaigns {
			if campaigns[j].ID == id {
				campaigns[j].ReportTokens = &campaign.ReportTokens{IssuerURL: i.url, IssuerName: issuerName}
			}
		}
	}
}

// provision is the device maker's step for simulated device id.
func (i *issuerProc) provision(cfg host.DeviceConfig, id string) (host.DeviceConfig, error) {
	cred, key, err := host.ProvisionDevice(i.maker, id)
	if err != nil {
		return cfg, err
	}
	return cfg.WithDeviceCredential(cred, key), nil
}

func (i *issuerProc) close() {
	i.http.Close()
	i.store.Close()
}

// TokensOutcome is what the issuer did in a --mode prio3 run.
type TokensOutcome struct {
	Issuer    string   `json:"issuer"`
	Campaigns []string `json:"campaigns"`
	// Issued is how many tokens the issuer signed: one per device and
	// campaign epoch that answered a token campaign.
	Issued int64 `json:"issued"`
	// Reports is how many reports of those campaigns the aggregator
	// counted; each carried its own token, so it is at most Issued.
	Reports int `json:"reports"`
}

// outcome counts the issuer's tokens against the token campaigns' reports.
func (i *issuerProc) outcome(segs []SegmentOutcome) *TokensOutcome {
	o := &TokensOutcome{Issuer: i.url, Campaigns: tokenCampaigns, Issued: i.issued.Load()}
	counted := map[string]bool{}
	for _, s := range segs {
		if slices.Contains(tokenCampaigns, s.Campaign) && !counted[s.Campaign] {
			counted[s.Campaign] = true
			o.Reports += s.Reports
		}
	}
	return o
}
