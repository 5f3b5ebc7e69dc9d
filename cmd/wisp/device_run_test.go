package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceRunVerbose: device run -v shows the plugins' wisp.log lines
// on stderr; without -v they are not shown.
func TestDeviceRunVerbose(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	wasm, err := filepath.Abs("../../testdata/plugins/hostile/logflood.wasm")
	must(t, err)
	manifest := filepath.Join(dir, "m.json")
	must(t, os.WriteFile(manifest, []byte(`{"name":"chatty","version":"1.0.0","abi":1,"categories":[706]}`), 0o644))
	events := filepath.Join(dir, "e.jsonl")
	must(t, os.WriteFile(events, []byte(`{"plugin":"chatty","kind":1,"ago":"1h","value":5}`+"\n"), 0o644))
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")
	runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest)
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:chatty")
	runWisp(t, "device", "--dir", dev, "events", "import", events)
	run := func(args ...string) string {
		root := newRootCmd()
		var out, errOut bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(append([]string{"device", "--dir", dev, "run"}, args...))
		root.Execute() // the plugin never returns: the pass reports its timeout
		return errOut.String()
	}
	if quiet := run(); strings.Contains(quiet, "level=DEBUG") {
		t.Errorf("device run without -v showed plugin logs:\n%.500s", quiet)
	}
	loud := run("-v")
	if !strings.Contains(loud, "level=DEBUG") {
		t.Errorf("device run -v showed no plugin log line:\n%.500s", loud)
	}
}
