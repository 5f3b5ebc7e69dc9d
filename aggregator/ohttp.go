package aggregator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
// HPKE keys (a key must not serve two protocols with one HPKE label). The
// first node that starts makes key 1; RotateOHTTPKeys adds successors.
// They are kept in the store's secrets, sealed with the key encryption key
// like the others, so every node has the same ones: "ohttp-key/ID" holds
// the private key and "ohttp-key/ID/since" when it was made (key 1, made
// at the first start, dates itself Pending earlier: advertised at once).
// Nothing is ever updated; every node derives the same states from those
// times and Config.Rotation, the timings of the HPKE keys:
//
//   - pending: a key made less than Pending ago is accepted but not
//     advertised, so every node has loaded it (within Config.Refresh)
//     before a device can seal to it;
//   - advertised: the newest key that is not pending is the one
//     GET /v1/ohttp-keys serves;
//   - retired: an older key is still accepted until the advertised one
//     has been advertised for Overlap (devices cache the key
//     configuration for a day), then refused with the "ohttp-key"
//     problem, on which devices fetch the configuration again.

// ohttpPrefix is the name prefix of the gateway keys' secrets.
const ohttpPrefix = "ohttp-key/"

func ohttpLabel(id uint8) string      { return fmt.Sprintf("%s%d", ohttpPrefix, id) }
func ohttpSinceLabel(id uint8) string { return ohttpLabel(id) + "/since" }

// ohttpOverhead is what encapsulation adds to a body: header, enc, tag and
// the Binary HTTP framing of a request with a few fields.
const ohttpOverhead = 4 << 10

// ErrNoOHTTPKeyID reports that the gateway key ids 1–255 are used up.
var ErrNoOHTTPKeyID = errors.New("aggregator: no free OHTTP gateway key id")

// gatewayState is the gateway as one load of the stored keys built it.
type gatewayState struct {
	handler *ohttp.GatewayHandler
	keys    []byte // application/ohttp-keys: the advertised key
	loaded  time.Time
}

// ohttpKey is a stored gateway key and when it was made.
type ohttpKey struct {
	id    uint8
	since time.Time
	pair  *ohttp.KeyPair
}

// loadGateway makes sure the store has a gateway key and builds the
// gateway. Key 1 is advertised at once: it is made "Pending ago".
func (s *Server) loadGateway(ctx context.Context) error {
	if err := s.storeOHTTPKey(ctx, 1, s.now().Add(-s.rotation.Pending)); err != nil { // the first node's key wins
		return err
	}
	return s.reloadGateway(ctx)
}

// storeOHTTPKey stores a fresh key under id, made at since, unless the
// store has one. The time goes first: a node that sees the key sees when
// it was made. Two nodes making the same id at once agree on the first.
func (s *Server) storeOHTTPKey(ctx context.Context, id uint8, since time.Time) error {
	v, err := s.wrap.seal(ohttpSinceLabel(id), []byte(since.UTC().Format(time.RFC3339Nano)))
	if err != nil {
		return err
	}
	if _, err := s.store.Secret(ctx, ohttpSinceLabel(id), v); err != nil {
		return err
	}
	fresh, err := ohttp.GenerateKeyPair(id, nil)
	if err != nil {
		return err
	}
	priv, err := fresh.MarshalPrivateKey()
	if err != nil {
		return err
	}
	sealed, err := s.wrap.seal(ohttpLabel(id), priv)
	if err != nil {
		return err
	}
	_, err = s.store.Secret(ctx, ohttpLabel(id), sealed)
	return err
}

// ohttpKeys reads the stored gateway keys, oldest first.
func (s *Server) ohttpKeys(ctx context.Context) ([]ohttpKey, error) {
	secrets, err := s.store.Secrets(ctx, ohttpPrefix)
	if err != nil {
		return nil, err
	}
	var keys []ohttpKey
	for name, v := range secrets {
		n, err := strconv.ParseUint(strings.TrimPrefix(name, ohttpPrefix), 10, 8)
		if err != nil {
			continue // a "/since" entry, read with its key
		}
		id := uint8(n)
		priv, err := s.wrap.open(name, v)
		if err != nil {
			return nil, err
		}
		pair, err := ohttp.NewKeyPair(id, hpke.KEM_X25519_HKDF_SHA256, priv, []ohttp.Algorithms{ohttp.DefaultAlgorithms})
		if err != nil {
			return nil, fmt.Errorf("aggregator: stored OHTTP key %d: %w", id, err)
		}
		k := ohttpKey{id: id, pair: pair}
		if v, ok := secrets[ohttpSinceLabel(id)]; ok {
			t, err := s.wrap.open(ohttpSinceLabel(id), v)
			if err != nil {
				return nil, err
			}
			if k.since, err = time.Parse(time.RFC3339Nano, string(t)); err != nil {
				return nil, fmt.Errorf("aggregator: stored OHTTP key %d: time: %w", id, err)
			}
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ohttpKey) int { return cmp.Or(a.since.Compare(b.since), cmp.Compare(a.id, b.id)) })
	return keys, nil
}

// ohttpStates splits keys (oldest first) at now into the advertised one
// and the accepted ones (pending, advertised, and older ones in their
// overlap); advertised is -1 only if every key is pending.
func (s *Server) ohttpStates(keys []ohttpKey, now time.Time) (advertised int, accepted []*ohttp.KeyPair) {
	advertised = -1
	for i, k := range keys {
		if now.Sub(k.since) >= s.rotation.Pending {
			advertised = i
		}
	}
	for i, k := range keys {
		if i >= advertised || advertised < 0 ||
			now.Sub(keys[advertised].since.Add(s.rotation.Pending)) < s.rotation.Overlap {
			accepted = append(accepted, k.pair)
		}
	}
	return advertised, accepted
}

// reloadGateway builds the gateway from the stored keys as of now.
func (s *Server) reloadGateway(ctx context.Context) error {
	keys, err := s.ohttpKeys(ctx)
	if err != nil {
		return err
	}
	advertised, accepted := s.ohttpStates(keys, s.now())
	if advertised < 0 {
		advertised = 0 // a node's clock behind the one that made key 1: serve it anyway
	}
	g, err := ohttp.NewGateway(accepted...)
	if err != nil {
		return err
	}
	list, err := ohttp.MarshalKeyConfigs([]ohttp.KeyConfig{keys[advertised].pair.Config})
	if err != nil {
		return err
	}
	s.gateway.Store(&gatewayState{loaded: time.Now(), keys: list, handler: &ohttp.GatewayHandler{Gateway: g, Target: s.deviceHandler(),
		MaxRequestBytes: s.maxBody + ohttpOverhead, MaxResponseBytes: 64 << 20}})
	return nil
}

// currentGateway returns the gateway, rebuilt first if it is older than
// Config.Refresh (new keys from other nodes; keys whose state the clock
// moved on), by one request at a time; a failed rebuild keeps the old one.
func (s *Server) currentGateway(ctx context.Context) *gatewayState {
	g := s.gateway.Load()
	if time.Since(g.loaded) < s.refresh || !s.gatewayReload.TryLock() {
		return g
	}
	defer s.gatewayReload.Unlock()
	if err := s.reloadGateway(ctx); err != nil {
		s.log.Warn("reloading the OHTTP gateway keys", "err", err)
	}
	return s.gateway.Load()
}

// RotateOHTTPKeys makes a new pending gateway key when the advertised one
// is older than Rotation.Every, or with force, unless one is pending
// already. It returns what changed, in words; the states of the keys
// follow from the clock (see above), on every node.
func (s *Server) RotateOHTTPKeys(ctx context.Context, force bool) ([]string, error) {
	keys, err := s.ohttpKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	advertised, _ := s.ohttpStates(keys, now)
	changes := []string{}
	switch newest := keys[len(keys)-1]; {
	case advertised < len(keys)-1:
		changes = append(changes, fmt.Sprintf("OHTTP key %d: pending until %s", newest.id, newest.since.Add(s.rotation.Pending).UTC().Format(time.RFC3339)))
	case force || now.Sub(newest.since.Add(s.rotation.Pending)) >= s.rotation.Every:
		used := map[uint8]bool{}
		for _, k := range keys {
			used[k.id] = true
		}
		id := newest.id + 1
		for id == 0 || used[id] {
			if id++; id == newest.id {
				return nil, ErrNoOHTTPKeyID
			}
		}
		if err := s.storeOHTTPKey(ctx, id, now); err != nil {
			return nil, err
		}
		changes = append(changes, fmt.Sprintf("OHTTP key %d: new, pending; advertised from %s; key %d accepted until %s", id,
			now.Add(s.rotation.Pending).UTC().Format(time.RFC3339), newest.id, now.Add(s.rotation.Pending+s.rotation.Overlap).UTC().Format(time.RFC3339)))
	}
	return changes, s.reloadGateway(ctx)
}

// OHTTPKeyConfigs returns the gateway's key configuration list
// (application/ohttp-keys), as GET /v1/ohttp-keys serves it.
func (s *Server) OHTTPKeyConfigs() []byte {
	return append([]byte(nil), s.currentGateway(context.Background()).keys...)
}

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
	w.Write(s.currentGateway(r.Context()).keys)
}

func (s *Server) handleOHTTP(w http.ResponseWriter, r *http.Request) {
	s.currentGateway(r.Context()).handler.ServeHTTP(w, r)
}

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
