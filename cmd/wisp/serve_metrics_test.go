package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeMetricsAddr: with --metrics-addr the Prometheus series are
// served without credentials there, and on --addr only to an operator.
func TestServeMetricsAddr(t *testing.T) {
	spec := "sqlite:" + filepath.Join(t.TempDir(), "agg.db")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, "aggregator", "serve", "--store", spec, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "error")
		pw.Close()
	}()
	rd := bufio.NewReader(pr)
	var api, metrics string
	for metrics == "" {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("serve output ended before the metrics address: %v", err)
		}
		line = strings.TrimSpace(line)
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			api = u
		}
		if rest, ok := strings.CutPrefix(line, "metrics:"); ok {
			metrics = strings.Fields(rest)[0]
		}
	}
	go io.Copy(io.Discard, rd)
	for _, tc := range []struct {
		url  string
		want int
	}{{metrics, 200}, {api + "/metrics", 401}} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200) != strings.Contains(string(b), "wisp_ingest_reports_accepted_total") {
			t.Errorf("GET %s: %d %.100s, want %d", tc.url, resp.StatusCode, b, tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}
