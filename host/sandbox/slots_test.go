package sandbox

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlotsBound: many goroutines through a 3-slot semaphore never hold
// more than 3 at once, and none is left waiting (a lost wake-up would hang
// the test).
func TestSlotsBound(t *testing.T) {
	s := newSlots(3)
	var in, peak atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 200 {
				if err := s.acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				in.Add(-1)
				s.release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak %d holders of 3 slots", p)
	}
	// Full: a waiter gives up with its context.
	for range 3 {
		s.acquire(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("acquire on full slots: %v, want DeadlineExceeded", err)
	}
}
