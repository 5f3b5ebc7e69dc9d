package home_test

import (
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// TestFixtures runs the AssemblyScript build in the real host against its
// fixtures.
func TestFixtures(t *testing.T) {
	plugintest.New(t, plugins.Home, plugintest.ReadManifest(t, "manifest.json")).RunFile(t, "testdata/fixtures.json")
}

// TestReusedInstanceDoesNotLeak: the stub runtime never frees, so the
// plugin must allocate nothing per call. A thousand calls with batches that
// grow to the device's maximum run on the same 16-page cap.
func TestReusedInstanceDoesNotLeak(t *testing.T) {
	h := plugintest.New(t, plugins.Home, plugintest.ReadManifest(t, "manifest.json"))
	max := h.Plugin().Limits().MaxEvents
	for i := range 1000 {
		n := 1 + i*max/1000
		events := make([]abi.Event, n)
		for j := range events {
			events[j] = abi.Event{Kind: 1, Code: uint32(1 + j%5), Time: int64(j) * 60_000, Value: 3}
		}
		scores, err := h.Score(events)
		if err != nil {
			t.Fatalf("call %d (%d events): %v", i, n, err)
		}
		if scores[504] <= 0 {
			t.Fatalf("call %d: no rock score in %v", i, scores)
		}
	}
}
