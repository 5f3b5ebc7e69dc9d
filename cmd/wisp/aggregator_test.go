package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// runAggregatorCLI runs the wisp CLI with args and returns its output.
func runAggregatorCLI(t *testing.T, ctx context.Context, out io.Writer, args ...string) error {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(io.Discard)
	return root.ExecuteContext(ctx)
}

// TestAggregatorServeAndAdmin starts `wisp aggregator serve` on a SQLite
// store, uses a token made by `wisp aggregator tokens create`, and stops
// the server the way SIGTERM does (its context ends): it must shut down
// cleanly, leaving a store the admin commands can open.
func TestAggregatorServeAndAdmin(t *testing.T) {
	spec := "sqlite:" + filepath.Join(t.TempDir(), "agg.db")
	var tok bytes.Buffer
	if err := runAggregatorCLI(t, context.Background(), &tok, "aggregator", "tokens", "create", "--store", spec, "--role", "operator", "--name", "t"); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(tok.String())
	if !strings.HasPrefix(token, "wisp_") {
		t.Fatalf("token %q", token)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, "aggregator", "serve", "--store", spec, "--addr", "127.0.0.1:0", "--log-level", "error")
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go io.Copy(io.Discard, pr)
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", 200},
		{"/v1/keys", token, 200},
		{"/v1/keys", "", 401},
		{"/v1/hpke-config", "", 200},
	} {
		req, _ := http.NewRequest("GET", url+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}

	var out bytes.Buffer
	if err := runAggregatorCLI(t, context.Background(), &out, "aggregator", "keys", "rotate", "--force", "--store", spec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "new, pending") || !strings.Contains(out.String(), "active") {
		t.Errorf("keys rotate printed:\n%s", out.String())
	}
	for _, want := range []string{"OHTTP key: no change", "OHTTP key 2: new, pending", "OHTTP key 2: pending until"} {
		args := []string{"aggregator", "keys", "rotate", "--ohttp", "--store", spec}
		if want != "OHTTP key: no change" {
			args = append(args, "--force")
		}
		out.Reset()
		if err := runAggregatorCLI(t, context.Background(), &out, args...); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), want) {
			t.Errorf("keys rotate --ohttp printed %q, want %q…", out.String(), want)
		}
	}
}

// TestAggregatorRelease: reports of an epoch that closed while no node was
// serving are released by `wisp aggregator release`, once, and deleted.
func TestAggregatorRelease(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agg.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	past := time.Now().Add(-72 * time.Hour)
	c := campaign.Campaign{ID: "runners", Name: "Runners", Epsilon: 1, EpochSeconds: 3600, K: 50,
		Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5}}
	srv := aggregatortest.Start(t, aggregator.Config{Store: st, Campaigns: []campaign.Campaign{c}, Now: func() time.Time { return past }}, nil)
	client := &host.Client{BaseURL: srv.URL}
	keys, err := client.KeyConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := host.Reporter{Key: keys.Configs[0]}
	var envs []wire.Envelope
	for i := range 3 {
		e, err := r.Report(&c, c.Epoch(past), map[uint32]float32{410: float32(i) / 2})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	if res, err := client.Upload(ctx, envs); err != nil || res.Accepted != 3 {
		t.Fatalf("upload: %+v, %v", res, err)
	}
	if rels, _ := st.Releases(ctx, c.ID); len(rels) != 0 {
		t.Fatalf("released before the command: %d", len(rels))
	}
	for range 2 { // a second pass releases nothing new
		if out := runWisp(t, "aggregator", "release", "--store", "sqlite:"+path); !strings.Contains(out, "1 epochs released in total") {
			t.Fatalf("release printed %q", out)
		}
	}
	rels, err := st.Releases(ctx, c.ID)
	if err != nil || len(rels) != 1 || rels[0].Epoch != c.Epoch(past) {
		t.Fatalf("releases %+v, %v; want epoch %d", rels, err, c.Epoch(past))
	}
	n := 0
	if err := st.Scan(ctx, c.ID, c.Epoch(past), func(store.Mechanism, []byte) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("%d reports left after the release, %v", n, err)
	}
}
