package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// TestTokensCreateTTL: `tokens create --ttl 720h` makes a token that
// expires 720 hours after its creation, and `tokens list` shows when.
func TestTokensCreateTTL(t *testing.T) {
	spec := "sqlite:" + filepath.Join(t.TempDir(), "agg.db")
	var info api.TokenInfo
	out := execute(t, "aggregator", "tokens", "create", "--store", spec, "--role", "marketer", "--tenant", "acme", "--ttl", "720h", "--json")
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.ExpiresAt == nil || info.ExpiresAt.Sub(info.CreatedAt) != 720*time.Hour {
		t.Fatalf("created %v, expires %v; want 720h later", info.CreatedAt, info.ExpiresAt)
	}
	list := execute(t, "aggregator", "tokens", "list", "--store", spec)
	if !strings.Contains(list, info.ExpiresAt.Format(time.RFC3339)) {
		t.Errorf("tokens list:\n%s\nwant the expiry %s", list, info.ExpiresAt.Format(time.RFC3339))
	}
	execute(t, "aggregator", "tokens", "create", "--store", spec, "--role", "operator")
	if list := execute(t, "aggregator", "tokens", "list", "--store", spec); !strings.Contains(list, "never") {
		t.Errorf("tokens list:\n%s\nwant a token that never expires", list)
	}
}
