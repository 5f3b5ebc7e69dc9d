package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadOnlyCommandsCreateNoStore: the admin commands on a store that
// does not exist fail with "no such store" and create no file.
func TestReadOnlyCommandsCreateNoStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "typo.db")
	spec := "sqlite:" + db
	for _, args := range [][]string{
		{"aggregator", "tokens", "list", "--store", spec},
		{"aggregator", "tokens", "list", "--store", spec, "--json"},
		{"aggregator", "tokens", "revoke", strings.Repeat("ab", 32), "--store", spec},
		{"aggregator", "keys", "list", "--store", spec},
		{"aggregator", "keys", "rotate", "--store", spec},
		{"aggregator", "keys", "expire", "1", "--store", spec},
		{"aggregator", "release", "--store", spec},
	} {
		out, err := runErr(t, args...)
		if err == nil || !strings.Contains(err.Error(), "no such store") {
			t.Errorf("wisp %s: %v\n%s\nwant no such store", strings.Join(args, " "), err, out)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("wisp %s left %v behind", strings.Join(args, " "), ents)
		}
	}
}

// TestFailedStartsLeaveNothing: a serve that cannot listen and a device
// init that fails (a bad duration, a missing trust file, an unreachable
// aggregator) leave no store and no directory.
func TestFailedStartsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := runErr(t, "aggregator", "serve", "--addr", ln.Addr().String(), "--store", "sqlite:"+filepath.Join(dir, "a.db")); err == nil ||
		!strings.Contains(err.Error(), "--addr") {
		t.Errorf("serve on a taken port: %v", err)
	}
	if _, err := runErr(t, "aggregator", "serve", "--addr", "127.0.0.1:0", "--grace", "soon", "--store", "sqlite:"+filepath.Join(dir, "a.db")); err == nil {
		t.Error("serve --grace soon: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed serves left %v behind", ents)
	}
	dev := filepath.Join(dir, "new", "device")
	for _, args := range [][]string{
		{"--retention", "30x"},
		{"--retention", "-1h"},
		{"--daily-epsilon", "-1"},
		{"--trust", filepath.Join(dir, "missing.txt")},
		{"--aggregator", "http://127.0.0.1:1"},
		{"--campaign-key", "not base64!"},
	} {
		out, err := runErr(t, append([]string{"device", "--dir", dev, "init"}, args...)...)
		if err == nil {
			t.Errorf("device init %s: no error\n%s", strings.Join(args, " "), out)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("device init %s: %v; left %v behind", strings.Join(args, " "), err, ents)
		}
	}
	// An existing, empty directory stays, and stays empty.
	must(t, os.MkdirAll(dev, 0o700))
	if _, err := runErr(t, "device", "--dir", dev, "init", "--trust", filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("device init --trust missing.txt: no error")
	}
	if ents, err := os.ReadDir(dev); err != nil || len(ents) != 0 {
		t.Errorf("device init in an existing directory: %v, left %v", err, ents)
	}
}

// TestDurationsTakeDays: --retention takes days, on init and on one plugin.
func TestDurationsTakeDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"30d", 720 * time.Hour}, {"1d12h", 36 * time.Hour}, {"1.5d", 36 * time.Hour}, {"90m", 90 * time.Minute}} {
		if got, err := parseDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "d", "30x", "-1d", "1d-2h", "abc"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q): no error", bad)
		}
	}
	dev := filepath.Join(t.TempDir(), "dev")
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned", "--retention", "30d", "--send-delay", "1d")
	b, err := os.ReadFile(filepath.Join(dev, deviceSettingsFile))
	must(t, err)
	if !strings.Contains(string(b), `"retention": "720h0m0s"`) || !strings.Contains(string(b), `"send_delay": "24h0m0s"`) {
		t.Errorf("device.json:\n%s", b)
	}
	runWisp(t, "device", "--dir", dev, "install", "fitness")
	runWisp(t, "device", "--dir", dev, "plugins", "fitness", "--retention", "7d") // says what it deleted (on stderr with --json)
	out := runWisp(t, "device", "--dir", dev, "plugins", "--json")
	var plugins []struct {
		Name      string        `json:"name"`
		Retention time.Duration `json:"retention_ns"`
	}
	if err := json.Unmarshal([]byte(out), &plugins); err != nil || len(plugins) != 1 || plugins[0].Retention != 7*24*time.Hour {
		t.Errorf("device plugins --json after --retention 7d: %v\n%s", err, out)
	}
}

// TestJSONListings: tokens list, keys list, device plugins and consent
// history print JSON arrays with --json (an empty array when empty).
func TestJSONListings(t *testing.T) {
	dir := t.TempDir()
	spec := "sqlite:" + filepath.Join(dir, "agg.db")
	runWisp(t, "aggregator", "tokens", "create", "--store", spec, "--role", "marketer", "--tenant", "acme", "--name", "dash")
	var tokens []struct{ ID, Role, Tenant, Name, Token string }
	decodeJSON(t, runWisp(t, "aggregator", "tokens", "list", "--store", spec, "--json"), &tokens)
	if len(tokens) != 1 || len(tokens[0].ID) != 64 || tokens[0].Role != "marketer" || tokens[0].Tenant != "acme" || tokens[0].Token != "" {
		t.Errorf("tokens list --json: %+v", tokens)
	}
	if _, err := runErr(t, "aggregator", "tokens", "revoke", "xyz123", "--store", spec); err == nil || !strings.Contains(err.Error(), "unique prefix") {
		t.Errorf("revoke xyz123: %v", err)
	}
	if out := runWisp(t, "aggregator", "tokens", "revoke", tokens[0].ID[:8], "--store", spec); !strings.Contains(out, "revoked token "+tokens[0].ID) {
		t.Errorf("revoke by prefix: %s", out)
	}
	decodeJSON(t, runWisp(t, "aggregator", "tokens", "list", "--store", spec, "--json"), &tokens)
	if len(tokens) != 0 {
		t.Errorf("after revoke: %+v", tokens)
	}
	var keys []struct {
		ID    int    `json:"id"`
		State string `json:"state"`
	}
	decodeJSON(t, runWisp(t, "aggregator", "keys", "list", "--store", spec, "--json"), &keys)
	if len(keys) == 0 || keys[0].State == "" {
		t.Errorf("keys list --json: %+v", keys)
	}
	dev := filepath.Join(dir, "dev")
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")
	var none []any
	if decodeJSON(t, runWisp(t, "device", "--dir", dev, "plugins", "--json"), &none); none == nil || len(none) != 0 {
		t.Errorf("device plugins --json on a new device: %v, want []", none)
	}
	if decodeJSON(t, runWisp(t, "device", "--dir", dev, "consent", "history", "--json"), &none); none == nil || len(none) != 0 {
		t.Errorf("consent history --json on a new device: %v, want []", none)
	}
	runWisp(t, "device", "--dir", dev, "install", "fitness")
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness")
	var history []struct {
		Purpose any       `json:"purpose"`
		Granted bool      `json:"granted"`
		At      time.Time `json:"at"`
	}
	decodeJSON(t, runWisp(t, "device", "--dir", dev, "consent", "history", "--json"), &history)
	if len(history) != 1 || !history[0].Granted || history[0].At.IsZero() {
		t.Errorf("consent history --json: %+v", history)
	}
}

func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("not JSON (%v):\n%s", err, out)
	}
}
