package host

import (
	"context"
	"runtime"
)

// callSlots bounds the plugin calls running at once across a Runtime: a
// call holds a token for as long as it runs Wasm code.
type callSlots chan struct{}

// newCallSlots returns n slots, or GOMAXPROCS−1 (at least 1) if n ≤ 0.
func newCallSlots(n int) callSlots {
	if n <= 0 {
		n = max(1, runtime.GOMAXPROCS(0)-1)
	}
	return make(callSlots, n)
}

// acquire waits for a slot as long as ctx allows.
func (s callSlots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s callSlots) release() { <-s }
