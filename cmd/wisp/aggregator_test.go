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
}
