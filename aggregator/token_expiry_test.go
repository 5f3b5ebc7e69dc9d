package aggregator_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// TestTokenExpires: a token created with a TTL works until then, and from
// then on gets 401 with a problem saying when it expired.
func TestTokenExpires(t *testing.T) {
	f := newFixture(t)
	status, b := f.do(t, "POST", "/v1/tokens", f.operator, api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "acme", Name: "q3", TTLSeconds: 3600})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	var info api.TokenInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	want := t0.Add(time.Hour)
	if info.ExpiresAt == nil || !info.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v, want %v", info.ExpiresAt, want)
	}
	f.clock.Add(time.Hour - time.Second)
	if status, b := f.do(t, "GET", "/v1/whoami", info.Token, nil); status != http.StatusOK {
		t.Fatalf("a second before expiry: %d %s", status, b)
	}
	f.clock.Add(time.Second)
	status, b = f.do(t, "GET", "/v1/campaigns", info.Token, nil)
	var p struct{ Detail, Reason string }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusUnauthorized || p.Reason != "token_expired" || p.Detail != "token expired at 2026-06-01T01:00:00Z; ask the operator for a new one" {
		t.Errorf("at expiry: %d %s", status, b)
	}
	// The operator still lists it, with its expiry, to revoke it.
	_, b = f.do(t, "GET", "/v1/tokens", f.operator, nil)
	var list []api.TokenInfo
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tok := range list {
		found = found || tok.ID == info.ID && tok.ExpiresAt != nil && tok.ExpiresAt.Equal(want)
	}
	if !found {
		t.Errorf("GET /v1/tokens: %s, want %s with its expiry", b, info.ID)
	}
	if status, b := f.do(t, "POST", "/v1/tokens", f.operator, api.CreateTokenRequest{Role: api.RoleOperator, Name: "x", TTLSeconds: -1}); status != http.StatusBadRequest {
		t.Errorf("negative ttl: %d %s", status, b)
	}
}
