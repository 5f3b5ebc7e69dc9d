package sandbox

import (
	"context"
	"runtime"
	"sync/atomic"
)

// slots is a counting semaphore whose uncontended path is two atomic
// operations (a channel semaphore cost a plugin call ~60 ns per slot, a
// third of an empty call). Waiters sleep on wake, which release signals.
type slots struct {
	used    atomic.Int32
	waiters atomic.Int32 // acquirers about to sleep; release signals only if any
	max     int32
	wake    chan struct{}
}

func newSlots(n int) *slots { return &slots{max: int32(max(1, n)), wake: make(chan struct{}, 1)} }

// newCallSlots bounds the plugin calls running at once across a Runtime to
// n, or GOMAXPROCS−1 (at least 1) if n ≤ 0.
func newCallSlots(n int) *slots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0) - 1
	}
	return newSlots(n)
}

// acquire takes a slot, waiting as long as ctx allows.
func (s *slots) acquire(ctx context.Context) error {
	if s.tryAcquire() {
		return nil
	}
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		// Checked again after counting itself a waiter: a release that
		// saw no waiters had already freed its slot.
		if s.tryAcquire() {
			if s.used.Load() < s.max {
				s.signal() // pass on a wake-up this waiter may have consumed
			}
			return nil
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *slots) tryAcquire() bool {
	for {
		u := s.used.Load()
		if u >= s.max {
			return false
		}
		if s.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

func (s *slots) release() {
	s.used.Add(-1)
	if s.waiters.Load() > 0 {
		s.signal()
	}
}

func (s *slots) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
