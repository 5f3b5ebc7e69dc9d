package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
	"github.com/wisp-project/wisp/plugins"
)

// runWisp runs `wisp args...` in process, on a fresh command tree.
func runWisp(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		t.Fatalf("wisp %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestDeviceWalkthrough follows docs/DEVICE.md: a local aggregator, a signed
// fitness plugin, a device that answers two campaigns, the owner's view,
// revoke and forget.
func TestDeviceWalkthrough(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	camps, err := campaign.ParseList(demo.Campaigns, tax)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "agg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, _ := wire.GenerateKeyPair(1, rand.Reader)
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: camps, Taxonomy: tax})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()

	// The plugin author's side (wisp plugin keygen and sign do the same;
	// called directly, without the files they would write).
	author, err := sandbox.GenerateKey(sandbox.Ed25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "trust.txt")
	os.WriteFile(trust, []byte(author.Public().String()+" test author\n"), 0o644)
	mb, err := os.ReadFile("../../plugins/fitness/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sandbox.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	signedBytes, err := sandbox.SignManifest(m, plugins.Fitness, author)
	if err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(dir, "fitness.manifest.json")
	os.WriteFile(signed, signedBytes, 0o644)
	var out string

	dev := filepath.Join(dir, "dev")
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(`{"plugin": "fitness", "kind": 3, "code": 1, "ago": "144h", "value": 45}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "96h", "value": 40}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "48h", "value": 50}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "2h", "value": 35}
`), 0o644)
	for _, args := range [][]string{
		{"device", "init", "--dir", dev, "--aggregator", url, "--trust", trust},
		{"device", "install", "--dir", dev, "../../plugins/dist/fitness.wasm", "--manifest", signed},
		{"device", "consent", "grant", "--dir", dev, "plugin:fitness", "campaign:runners", "campaign:fitness-fans"},
		{"device", "events", "import", "--dir", dev, events},
		{"device", "run", "--dir", dev},
		{"device", "run", "--dir", dev, "--flush"},
	} {
		runWisp(t, args...)
	}
	var status host.Status
	if err := json.Unmarshal([]byte(runWisp(t, "device", "status", "--dir", dev, "--json")), &status); err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{}
	for _, s := range status.Sent {
		sent[s.Campaign] = s.OutcomeText()
	}
	if sent["runners"] != "accepted" || sent["fitness-fans"] != "accepted" || len(sent) != 2 {
		t.Errorf("sent log %v, want runners and fitness-fans accepted", sent)
	}
	if len(status.Interests) == 0 || status.Interests[0].Category != 410 {
		t.Errorf("top interest %+v, want Running and Jogging (410)", status.Interests)
	}
	text := runWisp(t, "device", "status", "--dir", dev, "--json=false") // a fresh tree: no flag outlives its Execute
	for _, want := range []string{"fitness 1.0.0, signed by", "Running and Jogging", "runners, 156 bytes: accepted", "allowed campaign runners"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	runWisp(t, "device", "consent", "revoke", "--dir", dev, "--erase", "plugin:fitness")
	out = runWisp(t, "device", "forget", "--dir", dev, "--all")
	if !strings.Contains(out, "events           0 → 0") || !strings.Contains(out, "answers          2 → 0") {
		t.Errorf("forget output:\n%s", out)
	}
}
