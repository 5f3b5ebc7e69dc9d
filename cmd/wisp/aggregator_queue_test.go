package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
)

// TestAggregatorQueueMode runs `wisp aggregator serve --queue` and
// `wisp aggregator work` on an in-process JetStream server and one
// PostgreSQL store: a device's reports are acknowledged by the front end
// and stored by the worker, each once.
func TestAggregatorQueueMode(t *testing.T) {
	spec := "postgres:" + storetest.PostgresDSN(t)
	nats := queuetest.StartT(t, 1).URLs()
	camp := campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 8, EpochSeconds: 3600, K: 3}
	b, err := json.Marshal([]campaign.Campaign{camp})
	if err != nil {
		t.Fatal(err)
	}
	camps := filepath.Join(t.TempDir(), "campaigns.json")
	if err := os.WriteFile(camps, b, 0o600); err != nil {
		t.Fatal(err)
	}
	kek := filepath.Join(t.TempDir(), "wisp.kek") // every node of a deployment needs the same
	if err := os.WriteFile(kek, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runAggregatorCLI(t, context.Background(), io.Discard, "aggregator", "work", "--store", "sqlite:"+filepath.Join(t.TempDir(), "x.db"), "--queue", nats); err == nil ||
		!strings.Contains(err.Error(), "postgres") {
		t.Errorf("work on SQLite: %v, want a refusal naming postgres", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- runAggregatorCLI(t, ctx, pw, "aggregator", "serve", "--store", spec, "--key-encryption-key-file", kek, "--queue", nats, "--campaigns", camps, "--addr", "127.0.0.1:0", "--log-level", "error")
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go io.Copy(io.Discard, pr)
	worked := make(chan error, 1)
	go func() {
		worked <- runAggregatorCLI(t, ctx, io.Discard, "aggregator", "work", "--store", spec, "--key-encryption-key-file", kek, "--queue", nats, "--log-level", "error")
	}()

	client := &host.Client{BaseURL: url}
	list, err := client.KeyConfigs(ctx)
	if err != nil || len(list.Configs) == 0 {
		t.Fatalf("key configs: %v %v", list, err)
	}
	r := host.Reporter{Key: list.Configs[0]}
	epoch := camp.Epoch(time.Now())
	const n = 300
	var batch []host.Envelope
	for range n {
		e, err := r.Report(&camp, epoch, map[uint32]float32{410: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	resp, err := client.Upload(ctx, batch)
	if err != nil || resp.Accepted != n {
		t.Fatalf("upload: %+v %v", resp, err)
	}
	if again, err := client.Upload(ctx, batch); err != nil || again.Accepted != 0 || again.Rejected != n {
		t.Fatalf("resend: %+v %v, want every report a replay", again, err)
	}

	st := storetest.Open(t, spec)
	var stored int64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		stored = 0
		err := st.Tally(ctx, camp.ID, epoch, func(_ store.Mechanism, _ []byte, k int64) error { stored += k; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if stored >= n {
			break
		}
	}
	if stored != n {
		t.Fatalf("stored %d of %d acknowledged reports", stored, n)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if err := <-worked; err != nil {
		t.Errorf("work: %v", err)
	}
}
