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
//
// A batch's body is read before it asks for a slot, so a client that
// sends slowly holds a connection and a goroutine, never a slot: the body
// must arrive within BodyTimeout plus its length at BodyMinRate, and the
// bodies being read or processed hold at most BodyBytes between them
// (beyond that: 429).
type Admission struct {
	Concurrent int           // 0: 2 × GOMAXPROCS (one batch commits while another opens)
	Queue      int           // 0: 4 × Concurrent
	Wait       time.Duration // 0: 2 s
	// BodyTimeout is how long a batch's body may take beyond its length
	// at BodyMinRate; 0 means 10 s.
	BodyTimeout time.Duration
	// BodyMinRate is the slowest a body may arrive, in bytes per second,
	// once BodyTimeout is spent; 0 means 16 KiB/s.
	BodyMinRate int64
	// BodyBytes bounds the bytes of all batch bodies held at once (read
	// so far, or waiting and being processed); 0 means 64 MiB, and never
	// less than twice the largest body.
	BodyBytes int64
}

type admission struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	wait    time.Duration
	m       *metrics

	bodyTimeout time.Duration
	bodyMinRate int64
	bodyLeft    atomic.Int64 // of BodyBytes
}

// errOverloaded means a batch was turned away; the client retries later.
var errOverloaded = errors.New("aggregator: overloaded")

func newAdmission(a Admission, maxBody int64, m *metrics) *admission {
	if a.Concurrent <= 0 {
		a.Concurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if a.Queue <= 0 {
		a.Queue = 4 * a.Concurrent
	}
	if a.Wait <= 0 {
		a.Wait = 2 * time.Second
	}
	if a.BodyTimeout <= 0 {
		a.BodyTimeout = 10 * time.Second
	}
	if a.BodyMinRate <= 0 {
		a.BodyMinRate = 16 << 10
	}
	if a.BodyBytes <= 0 {
		a.BodyBytes = 64 << 20
	}
	a.BodyBytes = max(a.BodyBytes, 2*maxBody)
	ad := &admission{slots: make(chan struct{}, a.Concurrent), queue: int64(a.Queue), wait: a.Wait, m: m,
		bodyTimeout: a.BodyTimeout, bodyMinRate: a.BodyMinRate}
	ad.bodyLeft.Store(a.BodyBytes)
	return ad
}

// takeBytes reserves n bytes of the body budget; false if they are not
// free.
func (a *admission) takeBytes(n int64) bool {
	if a.bodyLeft.Add(-n) < 0 {
		a.bodyLeft.Add(n)
		return false
	}
	return true
}

// giveBytes returns n reserved bytes.
func (a *admission) giveBytes(n int64) { a.bodyLeft.Add(n) }

// bodyDeadline is when a body of which read bytes have arrived, and next
// more are asked for, must have them: BodyTimeout after it started plus
// the time its bytes take at BodyMinRate.
func (a *admission) bodyDeadline(start time.Time, read, next int64) time.Time {
	return start.Add(a.bodyTimeout + time.Duration(float64(read+next)/float64(a.bodyMinRate)*float64(time.Second)))
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
