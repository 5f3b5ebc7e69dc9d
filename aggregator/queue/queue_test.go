package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wisp-project/wisp/aggregator/queue"
	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/wire"
)

// TestClusterFailures runs the queue flow on an in-process 3-node
// JetStream cluster with an R3 stream.
func TestClusterFailures(t *testing.T) {
	cl := queuetest.StartT(t, 3)
	flow(t, cl.URLs(), queue.Config{Replicas: 3, AckWait: 3 * time.Second}, cl)
}

// TestLocalNATSServer runs the same flow (without killing the server)
// against the machine's nats-server at 127.0.0.1:4222, on a stream of its
// own that it deletes afterwards.
func TestLocalNATSServer(t *testing.T) {
	const local = "nats://127.0.0.1:4222"
	nc, err := nats.Connect(local, nats.Timeout(2*time.Second))
	if err == nil {
		defer nc.Close()
		var js jetstream.JetStream
		if js, err = jetstream.New(nc); err == nil {
			_, err = js.AccountInfo(context.Background())
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no NATS JetStream at %s under CI (.ci/run starts nats-server): %v", local, err)
		}
		t.Skipf("no NATS JetStream at %s (start nats-server -js, or set CI=1 to make this fail): %v", local, err)
	}
	var b [4]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	cfg := queue.Config{Stream: "WISP_TEST_" + suffix, Subject: "wisp.test." + suffix, AckWait: 3 * time.Second}
	t.Cleanup(func() {
		js, _ := jetstream.New(nc)
		js.DeleteStream(context.Background(), cfg.Stream)
	})
	flow(t, local, cfg, nil)
}

// flow: two front ends publish, a worker process commits a batch and is
// killed -9 before it acks, an in-process worker takes over; under load
// the stream leader is killed (cl != nil) and one front end is closed
// with requests in flight. Afterwards every report is acknowledged and
// the store holds and counts each exactly once.
func flow(t *testing.T, urls string, cfg queue.Config, cl *queuetest.Cluster) {
	spec := "postgres:" + storetest.PostgresDSN(t)
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := startFrontEnd(t, storetest.Open(t, spec), urls, cfg, key)
	b := startFrontEnd(t, storetest.Open(t, spec), urls, cfg, nil)
	var mu sync.Mutex
	live := []*frontEnd{a, b}
	fronts := func() []*frontEnd { mu.Lock(); defer mu.Unlock(); return live }

	const n = 4000
	reports := sealReports(t, a, n)
	var d devices
	firstHalf := make(chan struct{})
	go func() { d.send(t, fronts, reports[:n/2], 100, 6); close(firstHalf) }()

	// The only worker so far commits one batch and hangs before its ack.
	child, _ := startChild(t, childSpec{URLs: urls, Queue: cfg, Store: spec})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	startWorker(t, storetest.Open(t, spec), urls, cfg)

	if cl != nil {
		nc, err := nats.Connect(urls)
		if err != nil {
			t.Fatal(err)
		}
		leader, err := cl.StreamLeader(context.Background(), nc, "WISP_REPORTS")
		nc.Close()
		if err != nil {
			t.Fatal(err)
		}
		cl.Kill(leader)
		t.Logf("killed stream leader n%d under load", leader+1)
		defer func() {
			if err := cl.Restart(leader); err != nil {
				t.Error(err)
			}
		}()
	}
	<-firstHalf
	secondHalf := make(chan struct{})
	go func() { d.send(t, fronts, reports[n/2:], 100, 6); close(secondHalf) }()
	a.hs.Close() // a front end dies with requests in flight
	mu.Lock()
	live = []*frontEnd{b}
	mu.Unlock()
	<-secondHalf

	drained(t, urls, cfg, 3*time.Minute)
	if len(d.acked) != n {
		t.Fatalf("%d of %d reports acknowledged", len(d.acked), n)
	}
	stored, counted := counts(t, storetest.Open(t, spec))
	if stored != n || counted != n {
		t.Fatalf("acknowledged %d, stored %d, counted %d: want all equal", n, stored, counted)
	}
}

// TestStoreOutage cuts PostgreSQL off from the front end and the worker
// (a TCP proxy on 127.0.0.1 that they reach it through is closed, with
// its connections; the shared server keeps running) while devices send:
// the front end keeps acknowledging into the stream, the worker stores
// nothing and retries, and after the store is back it catches up with
// nothing lost. The outage lasts as long as the devices take to send
// everything, not a fixed time.
func TestStoreOutage(t *testing.T) {
	cl := queuetest.StartT(t, 1)
	cfg := queue.Config{AckWait: 5 * time.Second}
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	via := "postgres:" + postgresVia(t, dsn, px.addr)
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fe := startFrontEnd(t, storetest.Open(t, via), cl.URLs(), cfg, key)
	reg := startWorker(t, storetest.Open(t, via), cl.URLs(), cfg)
	direct := storetest.Open(t, "postgres:"+dsn)

	const n, before = 2000, 400
	reports := sealReports(t, fe, n)
	fronts := func() []*frontEnd { return []*frontEnd{fe} }
	var d devices
	d.send(t, fronts, reports[:before], 100, 4)
	drained(t, cl.URLs(), cfg, time.Minute)

	px.down()
	d.send(t, fronts, reports[before:], 100, 4)
	if len(d.acked) != n {
		t.Fatalf("store down: %d of %d reports acknowledged", len(d.acked), n)
	}
	if stored, _ := counts(t, direct); stored != before {
		t.Fatalf("store down: %d reports stored, want the %d from before", stored, before)
	}
	// The worker keeps failing and fetching again; its lag shows the
	// reports waiting beyond the batch it holds.
	for deadline := time.Now().Add(time.Minute); metric(t, reg, "wisp_queue_batch_failures_total") == 0 || metric(t, reg, "wisp_queue_consumer_lag") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("store down with %d reports queued: %v failed commits, consumer lag %v; want both > 0", n-before,
				metric(t, reg, "wisp_queue_batch_failures_total"), metric(t, reg, "wisp_queue_consumer_lag"))
		}
	}
	// What the releasing worker reads: the backlog and its oldest report.
	q := openQueue(t, cl.URLs(), cfg)
	if waiting, oldest, err := q.Backlog(context.Background()); err != nil || waiting == 0 || oldest.IsZero() || time.Since(oldest) > time.Minute {
		t.Errorf("store down: backlog %d, oldest %v, %v; want the queued reports, accepted just now", waiting, oldest, err)
	}
	px.up(t)
	drained(t, cl.URLs(), cfg, 2*time.Minute)
	if waiting, oldest, err := q.Backlog(context.Background()); err != nil || waiting != 0 || !oldest.IsZero() {
		t.Errorf("drained: backlog %d, oldest %v, %v; want none", waiting, oldest, err)
	}
	stored, counted := counts(t, direct)
	if stored != n || counted != n {
		t.Fatalf("acknowledged %d, stored %d, counted %d: want all equal", n, stored, counted)
	}
}

// TestQueueFull fills a small stream with no worker running: front ends
// answer 429 with Retry-After: 5 (the devices keep their reports), and once a worker drains
// the stream every report is acknowledged and stored once.
func TestQueueFull(t *testing.T) {
	cl := queuetest.StartT(t, 1)
	cfg := queue.Config{MaxBytes: 64 << 10}
	spec := "postgres:" + storetest.PostgresDSN(t)
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fe := startFrontEnd(t, storetest.Open(t, spec), cl.URLs(), cfg, key)
	const n = 1500
	reports := sealReports(t, fe, n)
	var d devices
	done := make(chan struct{})
	go func() { d.send(t, func() []*frontEnd { return []*frontEnd{fe} }, reports, 50, 4); close(done) }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		d.mu.Lock()
		full := d.full
		d.mu.Unlock()
		if full > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no 429 with Retry-After: 5 from a full stream")
		}
	}
	startWorker(t, storetest.Open(t, spec), cl.URLs(), cfg)
	<-done
	drained(t, cl.URLs(), cfg, time.Minute)
	stored, counted := counts(t, storetest.Open(t, spec))
	if len(d.acked) != n || stored != n || counted != n {
		t.Fatalf("acknowledged %d, stored %d, counted %d: want %d each", len(d.acked), stored, counted, n)
	}
	t.Logf("%d answers were 429 queue full (%d busy in all)", d.full, d.busy)
}

// proxy forwards TCP connections to target until down, which closes its
// listener and every connection; up listens on the same address again.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
