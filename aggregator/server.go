package aggregator

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// Config is what a server needs.
type Config struct {
	Store     store.Store
	Keys      []*wire.KeyPair // advertised and accepted HPKE keys
	Campaigns []campaign.Campaign
	Taxonomy  *taxonomy.Taxonomy
	Logger    *slog.Logger // nil: slog.Default()
	// MaxBodyBytes bounds a report batch body; 0 means 16 MiB.
	MaxBodyBytes int64
}

// Server serves the aggregator's HTTP API.
type Server struct {
	store     store.Store
	keys      map[uint8]*wire.KeyPair
	configs   wire.KeyConfigList
	campaigns map[string]*campaign.Campaign
	order     []string // campaign ids in configuration order
	tax       *taxonomy.Taxonomy
	log       *slog.Logger
	maxBody   int64
}

// New checks cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Taxonomy == nil || len(cfg.Keys) == 0 {
		return nil, errors.New("aggregator: config needs a store, a taxonomy and at least one key")
	}
	s := &Server{
		store:     cfg.Store,
		keys:      map[uint8]*wire.KeyPair{},
		campaigns: map[string]*campaign.Campaign{},
		tax:       cfg.Taxonomy,
		log:       cfg.Logger,
		maxBody:   cfg.MaxBodyBytes,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody == 0 {
		s.maxBody = 16 << 20
	}
	for _, k := range cfg.Keys {
		if _, dup := s.keys[k.Config.ID]; dup {
			return nil, fmt.Errorf("aggregator: two keys with id %d", k.Config.ID)
		}
		s.keys[k.Config.ID] = k
		s.configs.Configs = append(s.configs.Configs, k.Config)
	}
	for i := range cfg.Campaigns {
		c := &cfg.Campaigns[i]
		if err := c.Validate(cfg.Taxonomy); err != nil {
			return nil, fmt.Errorf("aggregator: %w", err)
		}
		if _, dup := s.campaigns[c.ID]; dup {
			return nil, fmt.Errorf("aggregator: duplicate campaign %q", c.ID)
		}
		s.campaigns[c.ID] = c
		s.order = append(s.order, c.ID)
	}
	return s, nil
}

// Handler returns the HTTP API:
//
//	GET  /v1/hpke-config   the key configs devices seal to (CBOR)
//	POST /v1/reports       a CBOR batch of sealed reports; JSON per-report results
//	GET  /v1/campaigns     the campaigns devices may answer (JSON)
//	GET  /v1/segments      every campaign's estimates per epoch (JSON)
//	GET  /healthz          liveness
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hpke-config", s.handleKeyConfig)
	mux.HandleFunc("POST /v1/reports", s.handleReports)
	mux.HandleFunc("GET /v1/campaigns", s.handleCampaigns)
	mux.HandleFunc("GET /v1/segments", s.handleSegments)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

func (s *Server) handleKeyConfig(w http.ResponseWriter, r *http.Request) {
	b, err := wire.Marshal(s.configs)
	if err != nil {
		s.problem(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write(b)
}

func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	list := make([]*campaign.Campaign, 0, len(s.order))
	for _, id := range s.order {
		list = append(list, s.campaigns[id])
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// problem writes an RFC 9457 problem document. Internal errors are logged,
// not shown.
func (s *Server) problem(w http.ResponseWriter, status int, title string, err error) {
	detail := ""
	if status >= 500 {
		s.log.Error(title, "err", err)
	} else if err != nil {
		detail = err.Error()
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
