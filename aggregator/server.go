package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wisp-project/wisp/aggregator/dashboard"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
)

// Config is what a server needs. Only Store and Taxonomy are required.
type Config struct {
	Store store.Store
	// Keys are HPKE keys to make sure of at start: each is stored as
	// active unless the store already has a key with its id. With no keys
	// here and none in the store, New generates one active key.
	Keys []*KeyPair
	// Campaigns are operator-configured campaigns registered (signed) at
	// start for Tenant, unless a campaign with the same id exists.
	Campaigns []Campaign
	// Tenant owns Campaigns; "" means "default".
	Tenant   string
	Taxonomy *Taxonomy
	Logger   *slog.Logger // nil: slog.Default()
	// MaxBodyBytes bounds a report batch body; 0 means 16 MiB.
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now. Epoch rules and releases use it.
	Now func() time.Time
	// Policy bounds what marketers may create and when epochs close.
	Policy Policy
	// Rotation times the HPKE key rotation steps.
	Rotation Rotation
	// Ingest bounds concurrent work; beyond it clients get 429.
	Ingest Admission
	// Refresh is how often a node reloads keys and campaigns other nodes may
	// have changed; 0 means 10 s. Key changes arrive sooner, through
	// Server.WatchKeys. A report naming an unknown key or campaign
	// triggers an early reload before it is rejected, shared by the
	// requests that miss at once (at most ten a second).
	Refresh time.Duration
	// KeyEncryptionKey, 32 bytes, seals the HPKE private keys, the
	// campaign signing key and the OHTTP key before they are stored
	// (AES-256-GCM, bound to what each is); keys an older store holds in
	// the clear are sealed at start, in one transaction. nil stores them
	// in the clear: the serve command generates or requires a key and does
	// that only with --insecure-plaintext-keys. Every node needs the same.
	KeyEncryptionKey []byte
	// RequireOHTTP refuses report uploads (403) that do not come through
	// the Oblivious HTTP gateway, POST /v1/ohttp, i.e. through a relay.
	RequireOHTTP bool
	// Queue, if set, makes this node a front end: report uploads are
	// screened (version, key, campaign, epoch) and put into the queue,
	// acknowledged once it holds them, and opened and stored by queue
	// workers (IngestQueued) — see docs/SCALE.md.
	Queue Queue
	// Registry receives the server's Prometheus metrics; nil means a new
	// registry of its own. /metrics serves the registry either way when it
	// is a *prometheus.Registry.
	Registry *prometheus.Registry
	// Prio3 sets the server's role in the two-aggregator mode (prio3.go);
	// the zero value is a single LDP aggregator.
	Prio3 Prio3Options
	// IssuerClient fetches the token keys of the report-token issuers
	// campaigns name (reporttokens.go); nil means a client with a 10 s
	// timeout.
	IssuerClient *http.Client
}

// Policy is the operator's limits on campaigns created through the API,
// and the epoch rules applied to every campaign.
type Policy struct {
	MaxEpsilon      float64 // 0: campaign.MaxEpsilon
	MinEpochSeconds int64   // 0: 3600
	MaxEpochSeconds int64   // 0: 90 days
	MinK            int     // 0: 50
	// ClockSkew is how long before its epoch starts a report is accepted;
	// 0 means 5 minutes.
	ClockSkew time.Duration
	// Grace is how long after its epoch ends a report is still accepted
	// (devices send with jitter and retry); then the epoch is closed and
	// its result may be released. 0 means 1 hour.
	Grace time.Duration
	// KeepReports keeps an epoch's reports after its result is released.
	// By default they are deleted once the release is stored: the result
	// is immutable and late copies are refused by the epoch rules, so the
	// randomized answers serve nothing any more (data minimization).
	KeepReports bool
	// MaxNameBytes bounds a campaign's name; 0 means 200.
	MaxNameBytes int
	// MaxCategories bounds a top_k question's categories; 0 means 512
	// (the whole Interest tier of the IAB taxonomy is 497).
	MaxCategories int
	// MaxCampaignsPerTenant bounds the campaigns one tenant may register
	// through the API (operator-configured Config.Campaigns count, but are
	// never refused); 0 means 100. Every device downloads every campaign's
	// signed config, so this is what one marketer token can make them
	// fetch.
	MaxCampaignsPerTenant int
	// SensitiveCategories are taxonomy subtrees no API campaign may ask
	// about (a question on one of them, or a top_k set containing one);
	// nil means DefaultSensitiveCategories, an empty non-nil slice none.
	SensitiveCategories []uint32
	// RequireReportTokens refuses campaigns without report_tokens: through
	// the API, and at a prio3 helper from its leader, whose config would
	// otherwise decide whether the helper checks tokens at all.
	RequireReportTokens bool
}

// DefaultSensitiveCategories are the IAB Audience Taxonomy 1.1 Interest
// subtrees that amount to special categories of personal data (GDPR
// Art. 9): health (381 Health and Medical Services, 466 Medical Health,
// 550 Pharmaceuticals, Conditions, and Symptoms, 627 Disabled Sports),
// political opinions (529 Politics) and religious beliefs (503 Religious
// music). IAB 1.1 has no subtree for sexual orientation, ethnicity or trade
// union membership. Fitness (406 Healthy Living) is a lifestyle, not a
// health condition, and stays allowed. LDP alone does not make such a
// question acceptable; the two-aggregator mode may lift this later.
var DefaultSensitiveCategories = []uint32{381, 466, 503, 529, 550, 627}

func (p Policy) withDefaults() Policy {
	if p.MaxEpsilon == 0 {
		p.MaxEpsilon = campaign.MaxEpsilon
	}
	if p.MinEpochSeconds == 0 {
		p.MinEpochSeconds = 3600
	}
	if p.MaxEpochSeconds == 0 {
		p.MaxEpochSeconds = 90 * 24 * 3600
	}
	if p.MinK == 0 {
		p.MinK = 50
	}
	if p.ClockSkew == 0 {
		p.ClockSkew = 5 * time.Minute
	}
	if p.Grace == 0 {
		p.Grace = time.Hour
	}
	if p.MaxNameBytes == 0 {
		p.MaxNameBytes = 200
	}
	if p.MaxCategories == 0 {
		p.MaxCategories = 512
	}
	if p.MaxCampaignsPerTenant == 0 {
		p.MaxCampaignsPerTenant = 100
	}
	if p.SensitiveCategories == nil {
		p.SensitiveCategories = DefaultSensitiveCategories
	}
	return p
}

// Server serves the aggregator's HTTP API. Several servers (nodes) may
// share one store: everything they must agree on lives there.
type Server struct {
	store    store.Store // instrumented
	tax      *Taxonomy
	log      *slog.Logger
	maxBody  int64
	now      func() time.Time
	policy   Policy
	rotation Rotation
	refresh  time.Duration
	tenant   string

	signer     signer
	wrap       *keyWrapper
	state      atomic.Pointer[snapshot]
	reload     sync.Mutex // one reload at a time
	flightMu   sync.Mutex
	flight     *flight      // the reload that requests missing an id share, if one runs
	lastForced atomic.Int64 // unix ns when the last such reload started

	admit   *admission
	commits *groupCommit
	metrics *metrics

	gateway       atomic.Pointer[gatewayState] // ohttp.go
	gatewayReload sync.Mutex
	requireOHTTP  bool
	queue         Queue

	prio3     *prio3Server // prio3.go
	tokenKeys *tokenKeys   // reporttokens.go
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("aggregator: bad config")

// New checks cfg, makes sure the configured keys and campaigns are in the
// store, and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Taxonomy == nil {
		return nil, fmt.Errorf("%w: needs a store and a taxonomy", ErrConfig)
	}
	s := &Server{
		tax:      cfg.Taxonomy,
		log:      cfg.Logger,
		maxBody:  cfg.MaxBodyBytes,
		now:      cfg.Now,
		policy:   cfg.Policy.withDefaults(),
		rotation: cfg.Rotation.withDefaults(),
		refresh:  cfg.Refresh,
		tenant:   cfg.Tenant,

		requireOHTTP: cfg.RequireOHTTP,
		queue:        cfg.Queue,
		tokenKeys:    newTokenKeys(cfg.IssuerClient),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody == 0 {
		s.maxBody = 16 << 20
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.refresh == 0 {
		s.refresh = 10 * time.Second
	}
	if s.tenant == "" {
		s.tenant = "default"
	}
	var err error
	if s.prio3, err = newPrio3Server(cfg.Prio3); err != nil {
		return nil, err
	}
	if s.wrap, err = newKeyWrapper(cfg.KeyEncryptionKey); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(cfg.Registry)
	s.store = instrument(cfg.Store, s.metrics)
	s.admit = newAdmission(cfg.Ingest, s.maxBody, s.metrics)
	s.commits = &groupCommit{st: s.store}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.bootstrap(ctx, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// bootstrap stores the configured keys and campaigns and loads the state.
func (s *Server) bootstrap(ctx context.Context, cfg Config) error {
	if err := s.sealAtRest(ctx); err != nil {
		return err
	}
	var err error
	if s.signer, err = loadSigner(ctx, s.store, s.wrap); err != nil {
		return err
	}
	if err := s.loadGateway(ctx); err != nil {
		return err
	}
	for _, k := range cfg.Keys {
		if err := s.ensureKey(ctx, k); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i := range cfg.Campaigns {
		c := cfg.Campaigns[i]
		if err := c.Validate(cfg.Taxonomy); err != nil {
			return fmt.Errorf("aggregator: %w", err)
		}
		if err := s.checkRoleFor(&c); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("%w: duplicate campaign %q", ErrConfig, c.ID)
		}
		seen[c.ID] = true
		if err := s.register(ctx, &c, s.tenant); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	if err := s.reloadState(ctx); err != nil {
		return err
	}
	// An empty store gets one active key. Nodes started together all see
	// it empty and race for it: each inserts key 1 unless some key exists,
	// the first insert wins and the others read its key back
	// (insert-if-absent, then read), so none fails to start and there is
	// one key, not one per node. The signing seed is settled the same way,
	// by store.Secret.
	if len(s.state.Load().keys) == 0 {
		if err := s.firstKey(ctx); err != nil {
			return err
		}
		return s.reloadState(ctx)
	}
	return nil
}

// Handler returns the HTTP API. Device-facing routes need no credentials;
// marketer and operator routes need "Authorization: Bearer <token>".
//
//	GET    /v1/hpke-config            active HPKE key configs (CBOR)              device
//	POST   /v1/reports                a CBOR batch of sealed reports              device
//	GET    /v1/campaign-configs       signed campaign configs (JSON)              device
//	GET    /v1/campaign-signing-key   the Ed25519 key that signs them             device
//	GET    /v1/ohttp-keys             the OHTTP gateway's key configs             device
//	POST   /v1/ohttp                  OHTTP gateway: device routes, encapsulated  device (via a relay)
//	GET    /v1/campaigns              campaigns of the caller's tenant            marketer, operator
//	POST   /v1/campaigns              register a campaign                        marketer, operator
//	GET    /v1/campaigns/{id}         one campaign                               marketer (own), operator
//	GET    /v1/campaigns/{id}/results released results (?format=json|csv|openrtb) marketer (own), operator
//	GET    /v1/campaigns/{id}/batches a prio3 campaign's batches and their status marketer (own), operator
//	GET    /v1/segments               all released results the caller may see    marketer, operator
//	GET    /v1/whoami                 the token's role and tenant                marketer, operator
//	GET    /v1/policy                 the operator's campaign limits             marketer, operator
//	GET    /v1/metrics                this node's ingest counts, per campaign    marketer (own), operator
//	GET    /v1/keys                   HPKE key states                            operator
//	POST   /v1/keys/rotate            one key rotation step                      operator
//	GET    /v1/tokens                 API tokens (no secrets)                    operator
//	POST   /v1/tokens                 create a token                             operator
//	DELETE /v1/tokens/{id}            revoke a token                             operator
//	GET    /v1/openapi.json           the API description
//	GET    /metrics                   Prometheus metrics (node-wide)             operator
//	GET    /healthz                   health
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hpke-config", s.handleKeyConfig)
	mux.HandleFunc("POST /v1/reports", s.handleDirectReports)
	mux.HandleFunc("GET /v1/campaign-configs", s.handleSignedCampaigns)
	mux.HandleFunc("GET /v1/campaign-signing-key", s.handleSigningKey)
	mux.HandleFunc("GET /v1/ohttp-keys", s.handleOHTTPKeys)
	mux.HandleFunc("POST /v1/ohttp", s.handleOHTTP)
	mux.Handle("GET /v1/campaigns", s.auth(anyRole, s.handleListCampaigns))
	mux.Handle("POST /v1/campaigns", s.auth(anyRole, s.handleCreateCampaign))
	mux.Handle("GET /v1/campaigns/{id}", s.auth(anyRole, s.handleGetCampaign))
	mux.Handle("GET /v1/campaigns/{id}/results", s.auth(anyRole, s.handleResults))
	mux.Handle("GET /v1/campaigns/{id}/batches", s.auth(anyRole, s.handlePrio3Batches))
	mux.Handle("POST /v1/campaigns/{id}/{action}", s.auth(anyRole, s.handleLifecycle))
	mux.Handle("GET /v1/segments", s.auth(anyRole, s.handleSegments))
	mux.Handle("GET /v1/whoami", s.auth(anyRole, s.handleWhoAmI))
	mux.Handle("GET /v1/policy", s.auth(anyRole, s.handlePolicy))
	mux.Handle("GET /v1/metrics", s.auth(anyRole, s.handleIngestMetrics))
	mux.Handle("GET /v1/keys", s.auth(operatorOnly, s.handleListKeys))
	mux.Handle("POST /v1/keys/rotate", s.auth(operatorOnly, s.handleRotateKeys))
	mux.Handle("GET /v1/tokens", s.auth(operatorOnly, s.handleListTokens))
	mux.Handle("POST /v1/tokens", s.auth(operatorOnly, s.handleCreateToken))
	mux.Handle("DELETE /v1/tokens/{id}", s.auth(operatorOnly, s.handleDeleteToken))
	s.prio3Routes(mux) // POST /v1/prio3/…: leader ↔ helper, peer token
	mux.HandleFunc("GET /v1/openapi.json", handleOpenAPI)
	// Node-wide counts cover every tenant: operators only here, or
	// MetricsHandler on a listener of their own (serve --metrics-addr).
	mux.Handle("GET /metrics", s.auth(operatorOnly, s.metrics.handler().ServeHTTP))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.Handle(dashboard.Prefix, dashboard.HandlerFor(s.tax)) // the marketer dashboard (aggregator/dashboard)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, http.StatusNotFound, "no such endpoint", fmt.Errorf("%s %s", r.Method, r.URL.Path))
	})
	return s.logRequests(mux)
}

// Routes lists every authenticated route as "METHOD PATH" (for tests and
// documentation).
func Routes() []string {
	return []string{
		"GET /v1/campaigns", "POST /v1/campaigns", "GET /v1/campaigns/{id}", "GET /v1/campaigns/{id}/results", "POST /v1/campaigns/{id}/{action}",
		"GET /v1/campaigns/{id}/batches", "GET /v1/segments", "GET /v1/whoami", "GET /v1/policy", "GET /v1/metrics", "GET /metrics", "GET /v1/keys", "POST /v1/keys/rotate", "GET /v1/tokens", "POST /v1/tokens", "DELETE /v1/tokens/{id}",
	}
}

// MetricsHandler serves the Prometheus metrics without credentials, for a
// listener only the operator's scraper reaches (serve --metrics-addr); the
// API's own /metrics asks for an operator token.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

// handleIngestMetrics is this node's ingest counts of the campaigns the
// caller may see: what a marketer can know about their own campaigns'
// reports, and nothing about other tenants'.
func (s *Server) handleIngestMetrics(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.metrics.ingestFor(principalOf(r.Context())))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.problem(w, http.StatusServiceUnavailable, "store unavailable", err)
		return
	}
	w.Write([]byte("ok\n"))
}

// logRequests logs each request's method, path, status and duration — and
// nothing about the client: no address, no user agent.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (read
// deadlines of report bodies).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// defaultWorkers is how many goroutines open one batch's reports in parallel.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
