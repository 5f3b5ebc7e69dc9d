package aggregator

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cloudflare/circl/hpke"

	"github.com/wisp-project/wisp/internal/ohttp"
)

// The Oblivious HTTP gateway (RFC 9458). Devices that use a relay seal
// their requests to the gateway key and POST them to the relay, which
// forwards them to POST /v1/ohttp: the relay learns the device's address
// but not the request, the aggregator the request but not the address.
// The gateway opens the request and serves it with the device routes only
// (HPKE configs, report upload, campaign configs); anything else is 404,
// sealed.
//
// The gateway key is an X25519 key of its own, separate from the report
// HPKE keys (a key must not serve two protocols with one HPKE label). It
// is made by the first node that starts and kept in the store's secrets,
// sealed with the key encryption key like the others, so every node has
// the same one. It is not rotated: replacing it means deleting the
// "ohttp-key/1" secret and restarting every node (devices refetch the key
// configuration when the gateway refuses theirs).

// ohttpKeyID is the gateway key's id in its key configuration.
const ohttpKeyID = 1

func ohttpLabel(id uint8) string { return fmt.Sprintf("ohttp-key/%d", id) }

// ohttpOverhead is what encapsulation adds to a body: header, enc, tag and
// the Binary HTTP framing of a request with a few fields.
const ohttpOverhead = 4 << 10

// loadGateway makes sure the store has the gateway key and builds the gateway.
func (s *Server) loadGateway(ctx context.Context) error {
	fresh, err := ohttp.GenerateKeyPair(ohttpKeyID, nil)
	if err != nil {
		return err
	}
	priv, err := fresh.MarshalPrivateKey()
	if err != nil {
		return err
	}
	label := ohttpLabel(ohttpKeyID)
	sealed, err := s.wrap.seal(label, priv)
	if err != nil {
		return err
	}
	stored, err := s.store.Secret(ctx, label, sealed) // the first node's key wins
	if err != nil {
		return err
	}
	if priv, err = s.wrap.open(label, stored); err != nil {
		return err
	}
	key, err := ohttp.NewKeyPair(ohttpKeyID, hpke.KEM_X25519_HKDF_SHA256, priv, []ohttp.Algorithms{ohttp.DefaultAlgorithms})
	if err != nil {
		return fmt.Errorf("aggregator: stored OHTTP key: %w", err)
	}
	g, err := ohttp.NewGateway(key)
	if err != nil {
		return err
	}
	if s.ohttpKeys, err = g.KeyConfigs(); err != nil {
		return err
	}
	s.gateway = &ohttp.GatewayHandler{Gateway: g, Target: s.deviceHandler(),
		MaxRequestBytes: s.maxBody + ohttpOverhead, MaxResponseBytes: 64 << 20}
	return nil
}

// OHTTPKeyConfigs returns the gateway's key configuration list
// (application/ohttp-keys), as GET /v1/ohttp-keys serves it.
func (s *Server) OHTTPKeyConfigs() []byte { return append([]byte(nil), s.ohttpKeys...) }

// deviceHandler serves the inner requests of the gateway: the device
// routes and nothing else.
func (s *Server) deviceHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hpke-config", s.handleKeyConfig)
	mux.HandleFunc("POST /v1/reports", s.handleReports)
	mux.HandleFunc("GET /v1/campaign-configs", s.handleSignedCampaigns)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, http.StatusNotFound, "not a device endpoint", fmt.Errorf("%s %s", r.Method, r.URL.Path))
	})
	return mux
}

// handleOHTTPKeys serves the gateway's key configuration. It is public
// and the same for every device, so it may be cached (and served by a CDN).
func (s *Server) handleOHTTPKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", ohttp.KeysMediaType)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(s.ohttpKeys)
}

func (s *Server) handleOHTTP(w http.ResponseWriter, r *http.Request) { s.gateway.ServeHTTP(w, r) }

// errNotOblivious refuses a direct upload when Config.RequireOHTTP is set.
var errNotOblivious = errors.New("this aggregator takes reports only through its OHTTP gateway (POST /v1/ohttp via a relay)")

// handleDirectReports is POST /v1/reports reached directly, not through
// the gateway.
func (s *Server) handleDirectReports(w http.ResponseWriter, r *http.Request) {
	if s.requireOHTTP && !ohttp.ViaGateway(r.Context()) {
		s.problem(w, http.StatusForbidden, "reports must come through the OHTTP gateway", errNotOblivious)
		return
	}
	s.handleReports(w, r)
}
