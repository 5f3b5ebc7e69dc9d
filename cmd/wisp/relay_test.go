package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
)

// startRelay runs `wisp relay serve` on 127.0.0.1 with args until ctx
// ends, and returns its URL and where its error arrives.
func startRelay(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, append([]string{"relay", "serve", "--addr", "127.0.0.1:0"}, args...)...)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	return strings.Fields(strings.TrimPrefix(line, "relaying on "))[0], done
}

// TestRelayServe runs `wisp relay serve` in front of an aggregator, fetches
// the HPKE configs through it, and stops it the way SIGTERM does.
func TestRelayServe(t *testing.T) {
	agg := aggregatortest.Start(t, aggregator.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	relayURL, done := startRelay(t, ctx, "--gateway", agg.URL+"/v1/ohttp")
	c := &host.Client{BaseURL: agg.URL, Relay: relayURL}
	list, err := c.KeyConfigs(ctx)
	if err != nil || len(list.Configs) == 0 {
		t.Fatalf("HPKE configs through the relay: %+v, %v", list, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("relay serve: %v", err)
	}
	if err := runAggregatorCLI(t, context.Background(), io.Discard, "relay", "serve", "--gateway", "ftp://x"); err == nil {
		t.Fatal("relay serve accepted an ftp gateway")
	}
}
