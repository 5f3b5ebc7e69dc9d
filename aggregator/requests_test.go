package aggregator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

func campaignRequest(t *testing.T, id, tenant string) api.CreateCampaignRequest {
	t.Helper()
	b, err := json.Marshal(campaign.Campaign{ID: id, Name: "x", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 3600, K: 50})
	if err != nil {
		t.Fatal(err)
	}
	return api.CreateCampaignRequest{Campaign: b, Tenant: tenant}
}

// TestCreateOtherTenantsCampaignID: a marketer whose campaign id belongs
// to another tenant gets 404, as reading that campaign answers — not 409
// "already exists", which would confirm it exists; the owner still gets
// 409, and so does the operator, who sees every tenant.
func TestCreateOtherTenantsCampaignID(t *testing.T) {
	f := newFixture(t)
	acme, globex := f.srv.Token(t, api.RoleMarketer, "acme"), f.srv.Token(t, api.RoleMarketer, "globex")
	if status, b := f.do(t, "POST", "/v1/campaigns", acme, campaignRequest(t, "spring", "")); status != http.StatusCreated {
		t.Fatalf("acme creates spring: %d %s", status, b)
	}
	status, b := f.do(t, "POST", "/v1/campaigns", globex, campaignRequest(t, "spring", ""))
	if status != http.StatusNotFound || strings.Contains(string(b), "exists") {
		t.Errorf("globex creates acme's spring: %d %s, want 404", status, b)
	}
	if status, _ := f.do(t, "GET", "/v1/campaigns/spring", globex, nil); status != http.StatusNotFound {
		t.Errorf("globex reads acme's spring: %d, want 404", status)
	}
	if status, b := f.do(t, "POST", "/v1/campaigns", acme, campaignRequest(t, "spring", "")); status != http.StatusConflict {
		t.Errorf("acme creates spring again: %d %s, want 409", status, b)
	}
	if status, b := f.do(t, "POST", "/v1/campaigns", f.operator, campaignRequest(t, "spring", "globex")); status != http.StatusConflict {
		t.Errorf("the operator creates spring for globex: %d %s, want 409", status, b)
	}
}

// post sends body with Content-Type ctype ("" for none).
func post(t *testing.T, url, token, ctype string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestContentTypeChecked: a POST body of another media type than the
// endpoint takes gets a 415 problem; the types clients send are served.
func TestContentTypeChecked(t *testing.T) {
	f := newFixture(t)
	camp, err := json.Marshal(campaignRequest(t, "typed", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := json.Marshal(api.CreateTokenRequest{Role: api.RoleOperator, Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := wire.EncodeBatch([]wire.Envelope{f.report(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, ctype string
		body        []byte
		want        int
	}{
		{"/v1/campaigns", "text/plain", camp, http.StatusUnsupportedMediaType},
		{"/v1/campaigns", "", camp, http.StatusUnsupportedMediaType},
		{"/v1/campaigns", "application/x-www-form-urlencoded", camp, http.StatusUnsupportedMediaType},
		{"/v1/tokens", "text/plain", token, http.StatusUnsupportedMediaType},
		{"/v1/reports", "application/json", batch, http.StatusUnsupportedMediaType},
		{"/v1/reports", "", batch, http.StatusUnsupportedMediaType},
		{"/v1/campaigns", "application/json; charset=utf-8", camp, http.StatusCreated},
		{"/v1/tokens", "application/json", token, http.StatusCreated},
		{"/v1/reports", "application/cbor", batch, http.StatusOK},
	} {
		status, ctype, b := post(t, f.srv.URL+tc.path, f.operator, tc.ctype, tc.body)
		if status != tc.want {
			t.Errorf("POST %s as %q: %d %s, want %d", tc.path, tc.ctype, status, b, tc.want)
		}
		if status == http.StatusUnsupportedMediaType && (ctype != "application/problem+json" || !strings.Contains(string(b), "this endpoint takes")) {
			t.Errorf("POST %s as %q: 415 as %s %s, want a problem saying what it takes", tc.path, tc.ctype, ctype, b)
		}
	}
}

// TestOpenAPIDescribesDeviceRoutes: the unauthenticated routes are in
// openapi.json too (Routes lists only the authenticated ones).
func TestOpenAPIDescribesDeviceRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(aggregator.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"GET /v1/hpke-config", "POST /v1/reports", "GET /v1/campaign-configs", "GET /v1/campaign-signing-key",
		"GET /v1/ohttp-keys", "POST /v1/ohttp", "GET /healthz"} {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not describe %s", r)
		}
	}
}

// TestGarbageBatchAnswerBounded: 10 KB of garbage gets an answer no
// larger than itself — a whole-batch 400 when its items are too short to
// be reports (it was 1.5 MB of per-report results), and per-report
// results without repeated details when they are report-sized.
func TestGarbageBatchAnswerBounded(t *testing.T) {
	f := newFixture(t)
	tiny := make([][]byte, 10000) // 10,000 one-byte items: CBOR 0
	for i := range tiny {
		tiny[i] = []byte{0}
	}
	junk := make([][]byte, 100) // 100 byte strings of 98 bytes: report-sized, not reports
	for i := range junk {
		junk[i] = append([]byte{0x58, 98}, bytes.Repeat([]byte{byte(i)}, 98)...)
	}
	for name, items := range map[string][][]byte{"tiny": tiny, "junk": junk} {
		body, err := wire.EncodeRawBatch(items)
		if err != nil {
			t.Fatal(err)
		}
		status, _, b := post(t, f.srv.URL+"/v1/reports", "", "application/cbor", body)
		if len(b) > len(body) {
			t.Errorf("%s: %d-byte batch got a %d-byte answer (%d)", name, len(body), len(b), status)
		}
		if name == "tiny" && status != http.StatusBadRequest {
			t.Errorf("tiny: %d %.200s, want 400", status, b)
		}
		if name == "junk" {
			var resp api.IngestResponse
			if err := json.Unmarshal(b, &resp); status != http.StatusOK || err != nil || resp.Rejected != 100 || resp.DetailsOmitted != 97 {
				t.Errorf("junk: %d %v; rejected %d, details omitted %d; want 200, 100 rejected, 97 omitted", status, err, resp.Rejected, resp.DetailsOmitted)
			}
		}
	}
}

// TestReportSizeEnforced: a report padded to another size than its
// campaign's report_size is rejected (wrong_report_size), before
// decryption; one of the right size is accepted.
func TestReportSizeEnforced(t *testing.T) {
	f := newFixture(t)
	right := f.report(t, true)
	f.campaign.ReportSize = 2 * f.campaign.PaddedSize() // what a device with another idea of the campaign would seal
	wrong := f.report(t, true)
	resp := f.upload(t, wrong, right)
	if r := resp.Results[0]; r.Accepted || r.Reason != api.ReasonReportSize || !strings.Contains(r.Detail, "report_size 64") {
		t.Errorf("wrong size: %+v", r)
	}
	if !resp.Results[1].Accepted {
		t.Errorf("right size: %+v", resp.Results[1])
	}
}
