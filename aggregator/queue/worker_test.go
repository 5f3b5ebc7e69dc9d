package queue_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

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
	js := jetStream(t, cl.URLs())
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

// TestWorkerReadsHeaders checks what a worker hands to ingest from each
// message: the envelope, the front end's acceptance time and the token
// from their headers, and for a message without them the time the stream
// stored it and no token. The server's status replies (a pull that
// expired short of its batch) are not reports, and every message is acked
// after the commit.
func TestWorkerReadsHeaders(t *testing.T) {
	cl := queuetest.StartT(t, 1)
	q := openQueue(t, cl.URLs(), queue.Config{})
	accepted := time.Date(2026, 3, 1, 12, 0, 0, 7, time.UTC)
	var sealed []aggregator.Sealed
	for i := range 3 {
		s := aggregator.Sealed{Campaign: "c", AcceptedAt: accepted, Envelope: []byte{byte(i), 'e'}}
		rand.Read(s.ID[:])
		if i > 0 {
			s.Token = []byte{byte(i), 't'}
		}
		sealed = append(sealed, s)
	}
	if _, err := q.Enqueue(context.Background(), sealed); err != nil {
		t.Fatal(err)
	}
	js := jetStream(t, cl.URLs())
	before := time.Now()
	if _, err := js.Publish(context.Background(), "wisp.reports.bare.0", []byte("bare")); err != nil {
		t.Fatal(err)
	}

	got := make(chan []aggregator.Queued, 4)
	w, err := queue.NewWorker(q, func(ctx context.Context, r []aggregator.Queued) (int, error) {
		got <- r
		return len(r), nil
	}, queue.WorkerOptions{Batch: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	byEnv := map[string]aggregator.Queued{}
	for len(byEnv) < 4 {
		select {
		case r := <-got:
			for _, m := range r {
				byEnv[string(m.Envelope)] = m
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("worker handed over %d of 4 reports in 15 s", len(byEnv))
		}
	}
	for i, s := range sealed {
		m, ok := byEnv[string(s.Envelope)]
		if !ok {
			t.Fatalf("report %d not handed over", i)
		}
		if !m.AcceptedAt.Equal(accepted) || string(m.Token) != string(s.Token) {
			t.Errorf("report %d: accepted at %v, token %q; want %v, %q", i, m.AcceptedAt, m.Token, accepted, s.Token)
		}
	}
	if _, ok := byEnv[""]; ok {
		t.Error("a pull's status reply was handed over as a report")
	}
	bare := byEnv["bare"]
	if bare.Token != nil || bare.AcceptedAt.Before(before.Add(-time.Second)) || bare.AcceptedAt.After(time.Now()) {
		t.Errorf("message without headers: accepted at %v (published at %v), token %q; want the stream's time, no token", bare.AcceptedAt, before, bare.Token)
	}
	drained(t, cl.URLs(), queue.Config{}, 15*time.Second)
}
