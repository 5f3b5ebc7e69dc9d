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

// TestRelayServe runs `wisp relay serve` in front of an aggregator, fetches
// the HPKE configs through it, and stops it the way SIGTERM does.
func TestRelayServe(t *testing.T) {
	agg := aggregatortest.Start(t, aggregator.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, "relay", "serve", "--addr", "127.0.0.1:0", "--gateway", agg.URL+"/v1/ohttp")
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	relayURL := strings.Fields(strings.TrimPrefix(line, "relaying on "))[0]
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
