package queue_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/queue"
	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
)

// TestWorkerStopHandsBack stops a worker while it holds two batches — the
// one it is ingesting and the one it prefetched — and checks that another
// worker gets all of them at once, long before the ack wait would have
// redelivered them.
func TestWorkerStopHandsBack(t *testing.T) {
	cl := queuetest.StartT(t, 1)
	cfg := queue.Config{AckWait: time.Minute}
	q := openQueue(t, cl.URLs(), cfg)
	const n, batch = 40, 10
	sealed := make([]aggregator.Sealed, n)
	for i := range sealed {
		rand.Read(sealed[i].ID[:])
		sealed[i] = aggregator.Sealed{ID: sealed[i].ID, Campaign: "c", Envelope: sealed[i].ID[:], AcceptedAt: time.Now()}
	}
	if _, err := q.Enqueue(context.Background(), sealed); err != nil {
		t.Fatal(err)
	}

	// Worker A blocks in its first batch until it is stopped.
	started := make(chan struct{})
	var once sync.Once
	a, err := queue.NewWorker(q, func(ctx context.Context, r []aggregator.Queued) (int, error) {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return 0, ctx.Err()
	}, queue.WorkerOptions{Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopA := context.WithCancel(context.Background())
	aDone := make(chan struct{})
	go func() { a.Run(actx); close(aDone) }()
	<-started
	nc, err := nats.Connect(cl.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, "WISP_REPORTS", "wisp-workers")
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 2*batch {
			break // the batch being ingested and the prefetched one
		}
		if ctx.Err() != nil {
			t.Fatalf("worker A holds %d reports, want %d", info.NumAckPending, 2*batch)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopA()
	<-aDone

	// Worker B must see every report well within the one-minute ack wait.
	var mu sync.Mutex
	seen := map[string]bool{}
	b, err := queue.NewWorker(q, func(ctx context.Context, r []aggregator.Queued) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range r {
			seen[string(m.Envelope)] = true
		}
		return len(r), nil
	}, queue.WorkerOptions{Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	bctx, stopB := context.WithCancel(context.Background())
	bDone := make(chan struct{})
	go func() { b.Run(bctx); close(bDone) }()
	defer func() { stopB(); <-bDone }()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker B saw %d of %d reports in 15 s: worker A's batches were not handed back when it stopped", got, n)
		}
	}
}
