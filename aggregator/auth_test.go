package aggregator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
)

// TestAuthorizationMatrix calls every authenticated endpoint as every kind
// of caller: nobody, a forged token, an operator, a marketer of the
// campaign's tenant and a marketer of another tenant.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t) // runners belongs to tenant "acme"
	lifecycleCalls := 0
	ctx := context.Background()
	token := func(role api.Role, tenant string) string {
		info, err := f.agg.CreateToken(ctx, api.CreateTokenRequest{Role: role, Tenant: tenant, Name: string(role) + "-" + tenant})
		if err != nil {
			t.Fatal(err)
		}
		return info.Token
	}
	callers := []struct{ name, token string }{
		{"nobody", ""},
		{"forged", "wisp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"operator", f.operator},
		{"acme", token(api.RoleMarketer, "acme")},
		{"globex", token(api.RoleMarketer, "globex")},
	}
	n := 0
	newCampaign := func(tenant string) any {
		n++
		c := campaign.Campaign{ID: fmt.Sprintf("c%d", n), Name: "x", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
			Epsilon: 1, EpochSeconds: 3600, K: 50}
		b, _ := json.Marshal(c)
		return api.CreateCampaignRequest{Campaign: b, Tenant: tenant}
	}
	throwaway := func() string {
		info, err := f.agg.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "x", Name: "throwaway"})
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	// want[i] is the status for callers[i]: nobody, forged, operator, acme, globex.
	tests := []struct {
		route string
		path  func() string
		body  func(caller string) any
		want  [5]int
	}{
		{"GET /v1/campaigns", nil, nil, [5]int{401, 401, 200, 200, 200}},
		{"POST /v1/campaigns", nil, func(caller string) any {
			if caller == "operator" {
				return newCampaign("globex")
			}
			return newCampaign("")
		}, [5]int{401, 401, 201, 201, 201}},
		{"GET /v1/campaigns/{id}", func() string { return "/v1/campaigns/runners" }, nil, [5]int{401, 401, 200, 200, 404}},
		{"GET /v1/campaigns/{id}/results", func() string { return "/v1/campaigns/runners/results" }, nil, [5]int{401, 401, 200, 200, 404}},
		{"POST /v1/campaigns/{id}/{action}", func() string {
			// One call per caller, in order: the operator pauses, acme's
			// marketer resumes, globex's is told there is no such campaign.
			action := []string{"pause", "pause", "pause", "resume", "pause"}[lifecycleCalls%5]
			lifecycleCalls++
			return "/v1/campaigns/runners/" + action
		}, nil, [5]int{401, 401, 200, 200, 404}},
		{"GET /v1/segments", nil, nil, [5]int{401, 401, 200, 200, 200}},
		{"GET /v1/whoami", nil, nil, [5]int{401, 401, 200, 200, 200}},
		{"GET /v1/policy", nil, nil, [5]int{401, 401, 200, 200, 200}},
		{"GET /v1/metrics", nil, nil, [5]int{401, 401, 200, 200, 200}},
		{"GET /metrics", nil, nil, [5]int{401, 401, 200, 403, 403}},
		{"GET /v1/keys", nil, nil, [5]int{401, 401, 200, 403, 403}},
		{"POST /v1/keys/rotate", nil, nil, [5]int{401, 401, 200, 403, 403}},
		{"GET /v1/tokens", nil, nil, [5]int{401, 401, 200, 403, 403}},
		{"POST /v1/tokens", nil, func(string) any { return api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "acme", Name: "new"} },
			[5]int{401, 401, 201, 403, 403}},
		{"DELETE /v1/tokens/{id}", func() string { return "/v1/tokens/" + throwaway() }, nil, [5]int{401, 401, 204, 403, 403}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		lifecycleCalls = 0
		covered[tt.route] = true
		method, path, _ := strings.Cut(tt.route, " ")
		for i, c := range callers {
			p := path
			if tt.path != nil {
				p = tt.path()
			}
			var body any
			if tt.body != nil {
				body = tt.body(c.name)
			}
			if got, b := f.do(t, method, p, c.token, body); got != tt.want[i] {
				t.Errorf("%s as %s: status %d, want %d (%s)", tt.route, c.name, got, tt.want[i], b)
			}
		}
	}
	for _, r := range aggregator.Routes() {
		if !covered[r] {
			t.Errorf("route %s is not in the matrix", r)
		}
	}
}

// TestTenantsAreIsolated checks what each tenant's lists contain.
func TestTenantsAreIsolated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	globex, err := f.agg.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "globex", Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	f.upload(t, f.report(t, true), f.report(t, true), f.report(t, false))
	f.closeEpoch()
	f.releaseDue(t)
	for _, tc := range []struct {
		token string
		want  int
	}{{f.operator, 1}, {globex.Token, 0}} {
		_, b := f.do(t, "GET", "/v1/campaigns", tc.token, nil)
		var list []api.CampaignInfo
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		_, b = f.do(t, "GET", "/v1/segments", tc.token, nil)
		var segs aggregator.SegmentsResponse
		if err := json.Unmarshal(b, &segs); err != nil {
			t.Fatal(err)
		}
		if len(list) != tc.want || len(segs.Segments) != tc.want {
			t.Errorf("campaigns %d and segments %d visible, want %d", len(list), len(segs.Segments), tc.want)
		}
	}
	if status, _ := f.do(t, "GET", "/v1/campaigns/runners/results?format=csv", globex.Token, nil); status != http.StatusNotFound {
		t.Errorf("another tenant's export: status %d, want 404", status)
	}
}
