package aggregator_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/api"
)

// TestMetricsNotPublic: the node-wide Prometheus series (every tenant's
// report counts) are not public on the API listener: 401 without a token,
// 403 for a marketer, served to an operator, and without credentials only
// on a listener of their own (MetricsHandler, serve --metrics-addr).
func TestMetricsNotPublic(t *testing.T) {
	f := newFixture(t)
	f.upload(t, f.report(t, true))
	if status, b := f.do(t, "GET", "/metrics", "", nil); status != http.StatusUnauthorized || strings.Contains(string(b), "wisp_ingest") {
		t.Errorf("GET /metrics without a token: %d %.200s", status, b)
	}
	if status, b := f.do(t, "GET", "/metrics", f.srv.Token(t, api.RoleMarketer, "acme"), nil); status != http.StatusForbidden {
		t.Errorf("GET /metrics as a marketer: %d %.200s", status, b)
	}
	if status, b := f.do(t, "GET", "/metrics", f.operator, nil); status != http.StatusOK || !strings.Contains(string(b), "wisp_ingest_reports_accepted_total 1") {
		t.Errorf("GET /metrics as the operator: %d %.200s", status, b)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := aggregator.NewHTTPServer(f.agg.MetricsHandler(), aggregator.HTTPOptions{})
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "wisp_ingest_reports_accepted_total 1") {
		t.Errorf("metrics listener: %d %.200s", resp.StatusCode, b)
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/v1/campaigns"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("metrics listener serves the API: %v %v", resp, err)
	}
}

// TestIngestMetricsPerTenant: GET /v1/metrics shows a marketer their own
// campaigns' counts only — accepted and rejected by reason — and another
// tenant's marketer nothing of them.
func TestIngestMetricsPerTenant(t *testing.T) {
	f := newFixture(t) // runners belongs to acme
	r := f.report(t, true)
	f.upload(t, r, f.report(t, false))
	f.upload(t, r) // a replay
	read := func(token string) api.IngestMetrics {
		t.Helper()
		status, b := f.do(t, "GET", "/v1/metrics", token, nil)
		var m api.IngestMetrics
		if err := json.Unmarshal(b, &m); status != http.StatusOK || err != nil {
			t.Fatalf("GET /v1/metrics: %d %s", status, b)
		}
		return m
	}
	acme := read(f.srv.Token(t, api.RoleMarketer, "acme"))
	if len(acme.Campaigns) != 1 || acme.Campaigns[0].Campaign != "runners" || acme.Campaigns[0].Accepted != 2 ||
		acme.Campaigns[0].Rejected[api.ReasonReplay] != 1 {
		t.Errorf("acme sees %+v, want runners: 2 accepted, 1 replay", acme.Campaigns)
	}
	if globex := read(f.srv.Token(t, api.RoleMarketer, "globex")); len(globex.Campaigns) != 0 {
		t.Errorf("globex sees %+v, want nothing", globex.Campaigns)
	}
	if op := read(f.operator); len(op.Campaigns) != 1 || op.Campaigns[0].Tenant != "acme" {
		t.Errorf("operator sees %+v", op.Campaigns)
	}
}
