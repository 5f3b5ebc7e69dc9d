package plugintest_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// TestRawEvents: a plugin that opts into summaries but breaks on raw
// batches passes its fixtures as a device runs it, and fails them under
// RawEvents; one that handles both (the fridge) passes both ways; a
// module that takes raw events already is told so.
func TestRawEvents(t *testing.T) {
	wasm, err := os.ReadFile("../../testdata/plugins/hostile/summaryonly.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m := sandbox.Manifest{Name: "summaryonly", Categories: []uint32{706}}
	fixtures := []plugintest.Fixture{{Name: "one", Events: []abi.Event{{Kind: 1, Value: 1}}, Only: true}}
	plugintest.New(t, wasm, m).Run(t, fixtures)

	raw, err := plugintest.RawEvents(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(wasm) || bytes.Contains(raw, []byte(abi.SummaryExport)) || bytes.Equal(raw, wasm) {
		t.Fatalf("RawEvents did not rename the %s export alone", abi.SummaryExport)
	}
	var r recorder
	plugintest.New(t, raw, m).Run(&r, fixtures)
	if len(r.errs) != 2 || !strings.Contains(r.errs[0], "ErrCodeBadInput") {
		t.Errorf("raw events: %q, want the plugin's ErrCodeBadInput in both rounds", r.errs)
	}

	fridgeRaw, err := plugintest.RawEvents(plugins.Fridge)
	if err != nil {
		t.Fatal(err)
	}
	plugintest.New(t, fridgeRaw, plugintest.ReadManifest(t, "../../plugins/fridge/manifest.json")).RunFile(t, "../../plugins/fridge/testdata/fixtures.json")

	if _, err := plugintest.RawEvents(plugins.FridgeEvents); !errors.Is(err, plugintest.ErrNoSummaries) {
		t.Errorf("RawEvents of a raw-events plugin: %v, want ErrNoSummaries", err)
	}
	if _, err := plugintest.RawEvents([]byte("not wasm")); err == nil {
		t.Error("RawEvents accepted a file that is not a module")
	}
}
