package aggregator

import (
	"context"
	"sync"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
)

// groupCommit merges the inserts of batches that arrive while another
// commit is running into one transaction. A transaction has a fixed cost —
// lock, WAL write of the pages it touched, fsync — that one device's batch
// of a few hundred reports cannot amortize; batches committed together
// share it. Each batch is still acknowledged only after the transaction
// holding its reports has committed, and if it fails, every batch in it
// fails (nothing of them was stored).
type groupCommit struct {
	st      store.Store
	mu      sync.Mutex
	pending []*commitReq
	leading bool
}

type commitReq struct {
	reports []store.Report
	fresh   []bool
	err     error
	done    chan struct{}
}

// maxGroup bounds the reports of one merged transaction.
const maxGroup = 20000

// insert commits reports, possibly together with other batches.
func (g *groupCommit) insert(ctx context.Context, reports []store.Report) ([]bool, error) {
	req := &commitReq{reports: reports, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		g.lead()
	}
	select {
	case <-req.done:
		return req.fresh, req.err
	case <-ctx.Done():
		// The group may still commit these reports; they are just not
		// acknowledged, and the device's retry will meet them as replays.
		return nil, ctx.Err()
	}
}

// lead commits pending groups until none is left. The caller's own batch
// is in the first group; later groups are committed by a new goroutine so
// the caller can answer its client.
func (g *groupCommit) lead() {
	g.mu.Lock()
	var group []*commitReq
	n := 0
	for len(g.pending) > 0 && (n == 0 || n+len(g.pending[0].reports) <= maxGroup) {
		group = append(group, g.pending[0])
		n += len(g.pending[0].reports)
		g.pending = g.pending[1:]
	}
	g.mu.Unlock()

	all := group[0].reports // a group of one (a queue worker's batch) is not copied
	if len(group) > 1 {
		all = make([]store.Report, 0, n)
		for _, r := range group {
			all = append(all, r.reports...)
		}
	}
	// The group outlives any one request: commit with a context of its own.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	fresh, err := g.st.Insert(ctx, all)
	cancel()
	off := 0
	for _, r := range group {
		if err != nil {
			r.err = err
		} else {
			r.fresh = fresh[off : off+len(r.reports)]
		}
		off += len(r.reports)
		close(r.done)
	}

	g.mu.Lock()
	more := len(g.pending) > 0
	if !more {
		g.leading = false
	}
	g.mu.Unlock()
	if more {
		go g.lead()
	}
}
