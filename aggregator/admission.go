package aggregator

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// Admission bounds ingest work so that overload turns into 429 + Retry-After
// instead of unbounded memory and latency: at most Concurrent batches are
// processed at once, at most Queue more wait, each for at most Wait.
type Admission struct {
	Concurrent int           // 0: 2 × GOMAXPROCS (one batch commits while another opens)
	Queue      int           // 0: 4 × Concurrent
	Wait       time.Duration // 0: 2 s
}

type admission struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	wait    time.Duration
	m       *metrics
}

// errOverloaded means a batch was turned away; the client retries later.
var errOverloaded = errors.New("aggregator: overloaded")

func newAdmission(a Admission, m *metrics) *admission {
	if a.Concurrent <= 0 {
		a.Concurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if a.Queue <= 0 {
		a.Queue = 4 * a.Concurrent
	}
	if a.Wait <= 0 {
		a.Wait = 2 * time.Second
	}
	return &admission{slots: make(chan struct{}, a.Concurrent), queue: int64(a.Queue), wait: a.Wait, m: m}
}

// acquire takes a slot, waiting in the bounded queue; release gives it back.
func (a *admission) acquire(ctx context.Context) (release func(), err error) {
	select {
	case a.slots <- struct{}{}:
		a.m.inflight.Inc()
		return a.release, nil
	default:
	}
	if a.waiting.Add(1) > a.queue {
		a.waiting.Add(-1)
		return nil, errOverloaded
	}
	a.m.queueDepth.Inc()
	defer func() { a.waiting.Add(-1); a.m.queueDepth.Dec() }()
	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		a.m.inflight.Inc()
		return a.release, nil
	case <-timer.C:
		return nil, errOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *admission) release() {
	<-a.slots
	a.m.inflight.Dec()
}
