package plugin

import (
	"context"
	"errors"
	"testing"

	"github.com/wisp-project/wisp/plugins"
)

// TestWazeroBaseline makes the raw-wazero ABI call the benchmark compares
// with, and checks that a failure is an error, not a panic.
func TestWazeroBaseline(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []wazeroMode{bare, closeOnDone} {
		fn, closeFn, err := wazeroScorer(ctx, mode, plugins.FridgeEvents, fridgeWeek(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(); err != nil {
			t.Errorf("%s: %v", mode, err)
		}
		closeFn()
	}
	// A module without the ABI's exports is refused with an error.
	empty := []byte("\x00asm\x01\x00\x00\x00")
	if _, _, err := wazeroScorer(ctx, bare, empty, nil); err == nil {
		t.Error("a module without wisp_buffer and wisp_score was accepted")
	}
}

func TestTimeInterleavedStopsAtAnError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, _, err := timeInterleaved(func() error { return nil }, func() error {
		if calls++; calls > 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("timeInterleaved = %v, want the call's error", err)
	}
}
