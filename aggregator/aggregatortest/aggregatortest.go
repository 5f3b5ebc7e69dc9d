// Package aggregatortest starts a real aggregator for the tests of code
// that talks to one — devices, the CLI, the dashboard, the server's own
// HTTP tests: an embedded SQLite store, real HTTP on 127.0.0.1, everything
// closed when the test ends. It replaces the store-key-server-listener
// setup each of those tests used to copy.
package aggregatortest

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
)

// Server is a running aggregator.
type Server struct {
	*aggregator.Server
	// URL is the base URL, http://127.0.0.1:port.
	URL string
	// Store is the server's store (cfg.Store, or the SQLite store Start
	// opened).
	Store store.Store
}

// Start runs an aggregator for t. Zero fields of cfg are filled in: Store
// with an SQLite store in t.TempDir() (closed at cleanup), Taxonomy with
// the IAB Audience Taxonomy 1.1. wrap, if not nil, wraps the server's
// handler (to count requests or cut the network in a test).
func Start(t testing.TB, cfg aggregator.Config, wrap func(http.Handler) http.Handler) *Server {
	t.Helper()
	return StartHTTP(t, cfg, aggregator.HTTPOptions{}, wrap)
}

// StartHTTP is Start with the HTTP server's limits (the defaults of
// aggregator.NewHTTPServer, as the serve command uses, when zero); with
// opts.TLS the URL is https://.
func StartHTTP(t testing.TB, cfg aggregator.Config, opts aggregator.HTTPOptions, wrap func(http.Handler) http.Handler) *Server {
	t.Helper()
	if cfg.Store == nil {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "aggregator.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	if cfg.Taxonomy == nil {
		cfg.Taxonomy = aggregator.DefaultTaxonomy()
	}
	srv, err := aggregator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Like a serving node, it watches the store for key changes.
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); srv.WatchKeys(ctx) }()
	t.Cleanup(func() { cancel(); <-watched })
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := aggregator.NewHTTPServer(h, opts)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	scheme := "http://"
	if opts.TLS != nil {
		scheme = "https://"
	}
	return &Server{Server: srv, URL: scheme + ln.Addr().String(), Store: cfg.Store}
}

// Token creates a bearer token for role and tenant ("" for an operator).
func (s *Server) Token(t testing.TB, role aggregator.Role, tenant string) string {
	t.Helper()
	info, err := s.CreateToken(context.Background(), aggregator.CreateTokenRequest{Role: role, Tenant: tenant, Name: string(role) + " " + tenant})
	if err != nil {
		t.Fatal(err)
	}
	return info.Token
}
