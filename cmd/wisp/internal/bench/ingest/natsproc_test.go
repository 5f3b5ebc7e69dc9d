package ingest_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
)

// TestServeCluster runs the child side of the benchmark's out-of-process
// cluster: it answers with three URLs of a working JetStream cluster and
// stops the servers once its input closes.
func TestServeCluster(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- ingest.ServeCluster(t.TempDir(), 3, inR, outW) }()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	urls := strings.TrimSpace(line)
	if n := len(strings.Split(urls, ",")); n != 3 {
		t.Fatalf("urls %q: %d nodes, want 3", urls, n)
	}
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatalf("an R3 stream on the cluster: %v", err)
	}
	nc.Close()
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cluster did not stop when its input closed")
	}
	if nc, err := nats.Connect(strings.Split(urls, ",")[0], nats.Timeout(time.Second)); err == nil {
		nc.Close()
		t.Fatal("a node still answers after ServeCluster returned")
	}
}
