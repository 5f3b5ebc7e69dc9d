package aggregator_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/proctest"
	"github.com/wisp-project/wisp/internal/wire"
)

// The crash test runs the aggregator in a helper process — this test
// binary re-executed with WISP_AGGREGATOR_HELPER set — so that it can be
// killed with SIGKILL: no deferred function, no graceful anything.
const helperEnv = "WISP_AGGREGATOR_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		if err := runHelper(spec); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// runHelper serves an aggregator on spec at a fixed clock (t0) and prints
// its address on stdout.
func runHelper(spec string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, spec)
	if err != nil {
		return err
	}
	tax := mustTax(&testing.T{})
	agg, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax, Campaigns: []campaign.Campaign{runners},
		Now: func() time.Time { return t0 }, Ingest: aggregator.Admission{Queue: 64}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return http.Serve(ln, agg.Handler())
}

type helper struct {
	child *proctest.Child
	url   string
}

func startHelper(t *testing.T, spec string) *helper {
	t.Helper()
	c := proctest.Start(t, []string{helperEnv + "=" + spec})
	addr := c.Line(t, "listening ")
	c.Drain()
	return &helper{child: c, url: "http://" + addr}
}

// TestKill9MidLoad kills the aggregator with SIGKILL while several clients
// upload, restarts it on the same store and checks that every report
// acknowledged before the kill is stored, and none is counted twice.
func TestKill9MidLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(t testing.TB) string
	}{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "crash.db") }},
		{"postgres", func(t testing.TB) string { return "postgres:" + storetest.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) { testKill9(t, tc.spec(t)) })
	}
}

func testKill9(t *testing.T, spec string) {
	ctx := context.Background()
	h := startHelper(t, spec)
	client := &host.Client{BaseURL: h.url}
	list, err := client.KeyConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n, batch, clients = 3000, 50, 4
	reporter := host.Reporter{Key: list.Configs[0]}
	reports := make([]wire.Envelope, n)
	for i := range reports {
		if reports[i], err = reporter.Report(&runners, runners.Epoch(t0), map[uint32]float32{410: float32(i%2) * 0.9}); err != nil {
			t.Fatal(err)
		}
	}
	acked := make([]atomic.Bool, n)
	var ackedBatches atomic.Int64
	var next atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= n {
					return
				}
				resp, err := client.Upload(ctx, reports[lo:lo+batch])
				if err != nil {
					select {
					case <-killed:
						return // expected: the server is gone
					default:
						t.Errorf("upload before the kill: %v", err)
						return
					}
				}
				for j, r := range resp.Results {
					if !r.Accepted {
						t.Errorf("report %d rejected before the kill: %s", lo+j, r.Reason)
					}
					acked[lo+j].Store(true)
				}
				ackedBatches.Add(1)
			}
		}()
	}
	uploading := make(chan struct{})
	go func() { wg.Wait(); close(uploading) }()
	for deadline := time.Now().Add(time.Minute); ackedBatches.Load() < 10; time.Sleep(time.Millisecond) {
		select {
		case <-uploading:
			t.Fatalf("the uploads ended after %d batches, before the kill", ackedBatches.Load())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("10 batches were not acknowledged within a minute")
		}
	}
	close(killed)
	if err := h.child.Cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	wg.Wait()
	h.child.Kill()
	before := 0
	for i := range acked {
		if acked[i].Load() {
			before++
		}
	}
	if before == 0 || before == n {
		t.Fatalf("%d of %d acknowledged before the kill: not mid-load", before, n)
	}

	h = startHelper(t, spec)
	client = &host.Client{BaseURL: h.url}
	after, committedUnacked := 0, 0
	for lo := 0; lo < n; lo += batch {
		resp, err := client.Upload(ctx, reports[lo:lo+batch])
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range resp.Results {
			switch {
			case acked[lo+j].Load() && r.Reason != api.ReasonReplay:
				t.Fatalf("report %d was acknowledged before the kill but is not in the store (%+v)", lo+j, r)
			case r.Accepted:
				after++
			case r.Reason == api.ReasonReplay && !acked[lo+j].Load():
				committedUnacked++ // committed, but the kill came before the answer
			case r.Reason != api.ReasonReplay:
				t.Fatalf("report %d: %+v", lo+j, r)
			}
		}
	}
	h.child.Kill()
	st := storetest.Open(t, spec)
	var stored int64
	if err := st.Tally(ctx, runners.ID, runners.Epoch(t0), func(_ store.Mechanism, _ []byte, k int64) error { stored += k; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged before SIGKILL, %d committed without an answer, %d stored after restart, %d stored in all", before, committedUnacked, after, stored)
	if stored != n || before+committedUnacked+after != n {
		t.Fatalf("%d reports stored, want %d: each exactly once", stored, n)
	}
}
